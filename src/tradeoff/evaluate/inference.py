"""Fast scoring: tokenise once, sort by length into buckets, pad each batch only to its own longest
sequence, run under `torch.inference_mode`, and put results back in the caller's order.

Padding to the batch's own length (rather than a fixed max_length, or to the longest in a random
batch) is where most of the speed over a naive loop comes from on short texts such as SST-2.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch


def length_buckets(lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Index batches of similar length, longest first (a memory error shows up at once, not at the end)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def pad_batch(tokenizer, encodings: list[dict], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    batch = tokenizer.pad(encodings, padding=True, return_tensors="pt")
    return {k: v.to(device) for k, v in batch.items()}


def encode(tokenizer, texts: list[str], max_length: int | None = None, **kw) -> list[dict]:
    """Token ids per text, truncated to the model's limit, without padding."""
    limit = max_length or min(getattr(tokenizer, "model_max_length", 512) or 512, 512)
    enc = tokenizer(texts, truncation=True, max_length=limit, **kw)
    return [{k: enc[k][i] for k in enc.keys()} for i in range(len(texts))]


def run_batches(model, tokenizer, encodings: list[dict], fn: Callable[[object, dict], torch.Tensor],
                batch_size: int = 32) -> np.ndarray:
    """fn(model, padded batch) -> one row per example; rows come back in the order of `encodings`."""
    device = next(model.parameters()).device
    out: list[np.ndarray | None] = [None] * len(encodings)
    model.eval()
    with torch.inference_mode():
        for idx in length_buckets([len(e["input_ids"]) for e in encodings], batch_size):
            rows = fn(model, pad_batch(tokenizer, [encodings[i] for i in idx], device)).float().cpu().numpy()
            for i, row in zip(idx, rows):
                out[i] = row
    return np.stack(out)


def logits(model, tokenizer, texts: list[str], batch_size: int = 32, max_length: int | None = None) -> np.ndarray:
    """Classification logits, one row per text."""
    return run_batches(model, tokenizer, encode(tokenizer, texts, max_length), lambda m, b: m(**b).logits, batch_size)


def mean_pooled(model, batch: dict) -> torch.Tensor:
    """Mean of the last hidden states over real (non-pad) tokens: the sentence-transformers embedding."""
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)


def embeddings(model, tokenizer, texts: list[str], batch_size: int = 32, max_length: int | None = None) -> np.ndarray:
    return run_batches(model, tokenizer, encode(tokenizer, texts, max_length), mean_pooled, batch_size)
