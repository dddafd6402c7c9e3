"""PyTorch dynamic int8: Linear weights stored as int8, activations quantized on the fly (CPU only)."""
from __future__ import annotations

import warnings

from tradeoff.bench.backends.eager import Eager


class TorchInt8(Eager):
    def __init__(self):
        super().__init__("torch-int8", "int8")

    def unavailable(self, device: str) -> str | None:
        if device != "cpu":
            return f"torch-int8: dynamic int8 quantization runs on CPU only, not {device}"
        import torch

        if "none" in (torch.backends.quantized.engine or "none"):
            return "torch-int8: this torch build has no quantized engine"
        return None

    def transform(self, model, device: str):
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
