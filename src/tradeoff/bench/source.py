"""A model to benchmark: its ref, config, role and where its weights come from.

Random weights are built from the exact config with a fixed seed, so an exported ONNX file of
the same config and seed can be cached and reused across runs and processes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tradeoff.models.refs import ModelRef, parse_ref


@dataclass
class Source:
    ref_text: str
    weights: str = "random"  # random | pretrained
    seed: int = 0

    @cached_property
    def ref(self) -> ModelRef:
        return parse_ref(self.ref_text)

    @property
    def name(self) -> str:
        return self.ref.name

    @cached_property
    def config(self):
        return self.ref.config()

    @cached_property
    def role(self) -> str:
        return self.ref.role(self.config)

    @property
    def task(self) -> str:
        return "causal-lm" if self.role == "decoder" else "base"

    def build(self, dtype=None):
        """The torch model (eval mode): random weights from the config, or the real ones."""
        import torch

        dtype = dtype or torch.float32
        if self.weights == "pretrained":
            from tradeoff.models.load import load_pretrained

            return load_pretrained(self.ref, task=self.task, dtype=dtype)
        from tradeoff.models.load import build_random

        return build_random(self.ref, task=self.task, dtype=dtype, seed=self.seed, config=self.config)

    def weights_path(self) -> Path | None:
        """The user's weight files, when they exist here (a folder with weights, a GGUF file)."""
        if self.ref.kind == "gguf":
            return Path(self.ref.location)
        if self.ref.kind == "folder":
            return Path(self.ref.location)
        if self.weights == "pretrained" or self.ref.kind == "catalog":  # installed weights, even when we time random ones
            from tradeoff.models.weights import local_weights

            return local_weights(self.ref, assemble=False)
        return None

    def cache_key(self) -> str:
        """Identity of the weights: same config + seed (random) or same files (pretrained)."""
        import torch

        ident = {"config": self.config.to_dict(), "weights": self.weights, "seed": self.seed, "torch": torch.__version__}
        if self.weights == "pretrained":
            path = self.weights_path()
            ident["files"] = [(str(p), p.stat().st_size, p.stat().st_mtime) for p in sorted(Path(path).rglob("*")) if p.is_file()] if path else None
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def max_positions(self) -> int:
        return self.anatomy(128).max_context

    def anatomy(self, seq_len: int):
        from tradeoff.anatomy import anatomy_of

        return anatomy_of(self.config, self.name, seq_len=seq_len)

    @cached_property
    def flops_model(self) -> tuple[float, float, float]:
        """(a, b, head): forward FLOPs of one token at context L ~ a + b*L; `head` is the LM head's share
        (computed for the last prompt token only during prefill)."""
        f1, f2 = self.anatomy(64).flops_per_token, self.anatomy(128).flops_per_token
        b = (f2 - f1) / 64
        head = 2.0 * self.config.hidden_size * self.config.vocab_size if self.role == "decoder" else 0.0
        return f1 - 64 * b, b, head

    def forward_flops(self, batch: int, seq_len: int) -> float:
        """FLOPs of one forward pass over a batch of `seq_len`-token sequences (prefill for decoders)."""
        a, b, head = self.flops_model
        per_seq = sum(a + b * (i + 1) for i in range(seq_len))  # causal: token i attends to i+1 keys
        if self.role == "encoder":
            per_seq = seq_len * (a + b * seq_len)
        return batch * (per_seq - (seq_len - 1) * head)

    def decode_flops(self, batch: int, context: int) -> float:
        a, b, _ = self.flops_model
        return batch * (a + b * context)
