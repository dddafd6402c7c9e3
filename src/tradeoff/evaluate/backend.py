"""Score a trained model through a bench backend (ONNX, int8, bf16) and say how often it agrees with eager.

The point is the deployment question: "if I serve this model quantized, what accuracy do I keep?"
The backend's predictions give the metric; eager's predictions on the same examples give the
agreement %, so a backend that silently changes answers shows up at once.
"""
from __future__ import annotations

import copy
import hashlib
import warnings
from typing import Callable

import numpy as np
import torch

from tradeoff.bench.backends import EVAL_NAMES, RETIRED, get
from tradeoff.errors import BadInput
from tradeoff.evaluate import inference

BACKENDS = EVAL_NAMES


def check(name: str) -> str:
    if name not in BACKENDS:
        raise BadInput(f"unknown eval backend {name!r}", RETIRED.get(name) or f"use one of {', '.join(BACKENDS)}")
    reason = get(name).unavailable("cpu")
    if reason:
        raise BadInput(reason, "install what it names, or use --backend eager")
    return name


def forward_fn(model, name: str) -> Callable[[dict], torch.Tensor]:
    """batch -> the model's first output (classification logits, or the last hidden state of a base model)."""
    from tradeoff.bench.backends.eager import DTYPES, Eager

    backend = get(name)
    if isinstance(backend, Eager):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            twin = backend.transform(copy.deepcopy(model).to(getattr(torch, DTYPES[backend.dtype])).eval(), "cpu")
        classifier = hasattr(twin, "classifier")
        return lambda batch: inference.classify_logits(twin, batch) if classifier else twin(**batch)[0]
    return _onnx_forward(model, backend)


def _onnx_forward(model, backend) -> Callable[[dict], torch.Tensor]:
    from tradeoff.bench.backends import forward_module
    from tradeoff.bench.backends.onnx import export_module, open_session
    from tradeoff.paths import cache_dir

    folder = cache_dir() / "onnx-eval" / weights_digest(model)
    limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
    path = backend.files(folder, lambda target: export_module(forward_module(model, "encoder"), target, limit),
                         type(model).__name__, model.config.model_type)
    session = open_session(path, "cpu", torch.get_num_threads())

    def forward(batch):
        feed = {k: batch[k].numpy() for k in ("input_ids", "attention_mask")}
        return torch.from_numpy(session.run(None, feed)[0])

    return forward


def weights_digest(model) -> str:
    """Identity of a trained model (class, config and every tensor), so its export is made once."""
    h = hashlib.sha256(type(model).__name__.encode())
    h.update(model.config.to_json_string().encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:20]


def agreement(ours: np.ndarray, eager: np.ndarray) -> dict:
    same = np.asarray(ours) == np.asarray(eager)
    return {"agreement_with_eager": round(100.0 * float(same.mean()), 2), "agreement_n": int(same.size)}
