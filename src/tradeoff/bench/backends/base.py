"""What every backend is: `unavailable(device)` says why one cannot run here, `prepare(source)` does one-off work
(an export) that the runner keeps out of the measured process, and `load(source, device, threads)` returns a `Loaded`
model whose `forward` runs one inference.

Every backend runs the same computation (`ForwardOnly`): an encoder's hidden states, or a
decoder's prefill (logits for the last token only, as generation does).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


class CannotRun(Exception):
    """This backend cannot run this model (e.g. its ONNX export fails): the cell is skipped with why."""


@dataclass
class Loaded:
    forward: Callable[[Any], Any]  # one inference on inputs made by `prepare`
    prepare: Callable[[dict], Any]  # torch CPU tensors -> what `forward` takes (device, numpy)
    dtype: str
    attention: str  # attention implementation actually used
    param_bytes: int | None = None
    artifact: Path | None = None  # a file this backend made (ONNX model), for its on-disk size
    generate: Callable[..., list[float]] | None = None  # (inputs, new_tokens) -> token timestamps
    # decoders served token by token: (prompt lengths, output tokens, seed) -> run_batch(indices, first) for LoadGen
    token_batches: Callable[..., Callable] | None = None
    details: dict = field(default_factory=dict)


class Backend:
    name: str = ""
    dtype: str = "fp32"
    generates: bool = False  # can time KV-cache generation (the generate workload), not only forward passes
    scores_accuracy: bool = True  # eval can score a classifier through it (`tradeoff eval --backend`)

    def unavailable(self, device: str) -> str | None:
        """Why this backend cannot run on `device` here, or None."""
        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                return "cuda: not available on this machine"
        return None

    def needs_prepare(self, source) -> bool:
        """Whether `prepare` has work to do for this model (its artifact is not cached yet)."""
        return False

    def prepare(self, source, status: Callable[[str], None] = lambda _: None) -> None:
        """One-off work before loading (an ONNX export, a quantization). The runner does it in a child
        process, so neither its time nor its memory is counted as serving the model."""

    def load(self, source, device: str, threads: int, status: Callable[[str], None] = lambda _: None) -> Loaded:
        raise NotImplementedError


def forward_module(model, role: str):
    """The computation every backend times, as a module (so ONNX export sees the same graph)."""
    import torch

    class ForwardOnly(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            if role == "decoder":
                return self.inner(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, logits_to_keep=1).logits
            return self.inner(input_ids=input_ids, attention_mask=attention_mask)[0]

    return ForwardOnly(model).eval()
