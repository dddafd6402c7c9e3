"""Get a model into memory: random weights from an exact config (speed and memory only), or
pretrained weights from the folder `models.weights` finds (packaged, assembled, or the Hugging Face cache).

Encoders load as their base model (no task head) unless a task asks for one; decoders load
with their LM head, as released.
"""
from __future__ import annotations

import pickle

import torch

from tradeoff.models.refs import ModelRef

TASK_CLASSES = {
    "base": "AutoModel",
    "causal-lm": "AutoModelForCausalLM",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "masked-lm": "AutoModelForMaskedLM",
}


def auto_class(task: str):
    import transformers

    return getattr(transformers, TASK_CLASSES[task])


def default_task(role: str) -> str:
    return "causal-lm" if role == "decoder" else "base"


def build_random(ref: ModelRef, task: str | None = None, dtype: torch.dtype = torch.float32,
                 seed: int = 0, config=None, **config_overrides):
    """Exact architecture with random weights: honest for size, speed and memory, never for accuracy."""
    config = config or ref.config()
    for k, v in config_overrides.items():
        setattr(config, k, v)
    task = task or default_task(ref.role(config))
    torch.manual_seed(seed)
    model = auto_class(task).from_config(config, dtype=dtype)
    return model.eval()


def build_meta(config, role: str):
    """Instantiate on the meta device: exact parameter shapes at zero memory (Llama-2-70B included)."""
    with torch.device("meta"):
        return auto_class(default_task(role)).from_config(config)


def _as_ref(ref) -> ModelRef:
    from tradeoff.models.refs import parse_ref

    return ref if isinstance(ref, ModelRef) else parse_ref(str(ref))


def load_pretrained(ref, task: str = "base", num_labels: int | None = None, dtype: torch.dtype = torch.float32, **kwargs):
    """Real pretrained weights (assembled and cached on first use); BadInput with an install hint if absent.

    A task head that the checkpoint lacks (e.g. a classifier on a sentence encoder) starts random,
    which is what fine-tuning wants; `num_labels` sizes it.
    """
    from transformers.utils import logging as hf_logging

    from tradeoff.errors import BadInput, first_line
    from tradeoff.models.weights import require_weights

    if task not in TASK_CLASSES:
        raise BadInput(f"unknown task {task!r}", f"use one of {', '.join(TASK_CLASSES)}")
    folder = require_weights(_as_ref(ref))
    if num_labels is not None:
        kwargs["num_labels"] = num_labels
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized head" notices are expected here
    try:
        model = auto_class(task).from_pretrained(str(folder), dtype=dtype, **kwargs)
    except pickle.UnpicklingError:
        raise BadInput(f"refusing to load pickled weights in {folder}: they hold more than tensors, and unpickling could run code",
                       "use safetensors weights (or convert them where you trust the source)") from None
    except Exception as e:  # safetensors and torch raise many types for a damaged file
        if type(e).__name__ not in ("SafetensorError", "HeaderTooLarge", "RuntimeError", "EOFError", "OSError") \
                or "out of memory" in str(e).lower():
            raise
        raise BadInput(f"weights in {folder} are truncated or corrupt: {first_line(e, 200)}",
                       "re-download or re-save the model") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    return model.eval()


def load_tokenizer(ref):
    """The tokenizer shipped with the weights; decoders without a pad token pad with EOS."""
    from transformers import AutoTokenizer

    from tradeoff.models.weights import require_weights

    tokenizer = AutoTokenizer.from_pretrained(str(require_weights(_as_ref(ref))))
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
