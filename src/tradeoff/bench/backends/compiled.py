"""torch.compile (inductor): opt-in, since compiling BERT on CPU takes ~48 s cold."""
from __future__ import annotations

import shutil

from tradeoff.bench.backends.eager import Eager


class Compiled(Eager):
    scores_accuracy = False  # the same function as eager after ~48 s of compiling: nothing to learn in eval

    def __init__(self):
        super().__init__("compile", "fp32")

    def unavailable(self, device: str) -> str | None:
        reason = super().unavailable(device)
        if reason:
            return reason
        import torch

        if not hasattr(torch, "compile"):
            return "compile: this torch has no torch.compile"
        if device == "cpu" and not any(shutil.which(c) for c in ("cc", "gcc", "clang", "c++", "g++")):
            return "compile: no C/C++ compiler on PATH for inductor's CPU code"
        return None

    def transform(self, model, device: str):
        import torch

        model.forward = torch.compile(model.forward, dynamic=False)
        return model
