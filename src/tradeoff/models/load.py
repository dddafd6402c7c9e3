"""Get a model into memory: random weights from an exact config (speed and memory only), or
pretrained weights from a local folder.

Encoders load as their base model (no task head) unless a task asks for one; decoders load
with their LM head, as released.
"""
from __future__ import annotations

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
