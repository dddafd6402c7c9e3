"""The backend registry: the one place a backend is named. Bench, eval, the CLI's choices and help, and
capabilities (`generates`, `scores_accuracy`) all derive from `REGISTRY`; adding a backend is a module beside
`eager.py` plus one line here.
"""
from __future__ import annotations

from tradeoff.bench.backends.base import Backend, CannotRun, Loaded, forward_module
from tradeoff.bench.backends.compiled import Compiled
from tradeoff.bench.backends.eager import Eager
from tradeoff.bench.backends.onnx import Onnx
from tradeoff.errors import BadInput

REGISTRY: dict[str, Backend] = {b.name: b for b in (
    Eager("eager", "fp32"),
    Eager("eager-bf16", "bf16"),
    Compiled(),
    Onnx("onnx", int8=False),
    Onnx("onnx-int8", int8=True),
)}
NAMES = tuple(REGISTRY)
DEFAULT = ("eager", "onnx", "onnx-int8")  # what `tradeoff bench` times unless told; torch.compile costs ~48 s cold on CPU: opt in
EVAL_NAMES = tuple(n for n, b in REGISTRY.items() if b.scores_accuracy)
# Names that once existed: asking for one says why it is gone, not just "unknown".
RETIRED = {"torch-int8": "torch-int8 was removed: torch.ao.quantization is deprecated, and torchao's int8 is slower "
                         "than fp32 on CPUs without VNNI (docs/methodology/bench.md); use onnx-int8"}

__all__ = ["Backend", "CannotRun", "Loaded", "forward_module", "REGISTRY", "NAMES", "DEFAULT", "EVAL_NAMES", "RETIRED", "get"]


def get(name: str) -> Backend:
    if name not in REGISTRY:
        raise BadInput(f"unknown backend {name!r}", RETIRED.get(name) or f"use one or more of {', '.join(NAMES)}")
    return REGISTRY[name]
