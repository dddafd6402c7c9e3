"""Fast scoring: tokenise once, sort by length into buckets, pad each batch only to its own longest
sequence, run under `torch.inference_mode`, and put results back in the caller's order.

Padding to the batch's own length (rather than a fixed max_length, or to the longest in a random
batch) halves the tokens computed on short texts such as SST-2. Batches of short texts then hold
more rows, up to the padded size of the first (longest) batch, since small matrix products run at
fewer tokens/s (`benchmarks/eval_throughput.py` measures the whole path against fixed batches), and
memory never exceeds what the first batch needed.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch


def length_buckets(lengths: list[int], batch_size: int, max_tokens: int | None = None) -> Iterator[list[int]]:
    """Index batches of similar length, longest first (a memory error shows up at once, not at the end).

    Each batch has at least `batch_size` examples and grows while rows x longest stays within
    `max_tokens` (default: the first batch's padded size, so no batch needs more memory than it).
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    if not order:
        return
    budget = max_tokens or batch_size * max(1, lengths[order[0]])
    start = 0
    while start < len(order):
        rows = max(batch_size, budget // max(1, lengths[order[start]]))
        yield order[start:start + rows]
        start += rows


def pad_batch(tokenizer, encodings: list[dict], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    batch = tokenizer.pad(encodings, padding=True, return_tensors="pt")
    return {k: v.to(device) for k, v in batch.items()}


def _tokenize(tokenizer, texts: list, **kw):
    """The tokenizer on texts, or on (text, text_pair) pairs as pairs (the model's separator and segment ids)."""
    if texts and isinstance(texts[0], tuple):
        first, second = (list(part) for part in zip(*texts))
        return tokenizer(first, second, **kw)
    return tokenizer(texts, **kw)


def encode(tokenizer, texts: list, max_length: int | None = None, **kw) -> list[dict]:
    """Token ids per text (or per pair, the longer text truncated first), truncated to the model's limit, without
    padding."""
    limit = max_length or min(getattr(tokenizer, "model_max_length", 512) or 512, 512)
    enc = _tokenize(tokenizer, texts, truncation="longest_first", max_length=limit, **kw)
    return [{k: enc[k][i] for k in enc.keys()} for i in range(len(texts))]


def truncated_rows(tokenizer, texts: list, max_length: int) -> int:
    """How many of the texts (or pairs) `encode` cuts to fit max_length tokens: each record counts what it did not read."""
    return sum(len(ids) > max_length for ids in _tokenize(tokenizer, texts, verbose=False)["input_ids"])


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


def logits(model, tokenizer, texts: list, batch_size: int = 32, max_length: int | None = None,
           forward: Callable[[dict], torch.Tensor] | None = None) -> np.ndarray:
    """Classification logits, one row per text; `forward(batch)` replaces the eager model (a backend)."""
    fn = (lambda m, b: forward(b)) if forward else classify_logits
    return run_batches(model, tokenizer, encode(tokenizer, texts, max_length), fn, batch_size)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the last hidden states over real (non-pad) tokens: the sentence-transformers embedding."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)


def embeddings(model, tokenizer, texts: list, batch_size: int = 32, max_length: int | None = None,
               forward: Callable[[dict], torch.Tensor] | None = None) -> np.ndarray:
    def fn(m, b):
        return mean_pool(forward(b) if forward else m(**b).last_hidden_state, b["attention_mask"])

    return run_batches(model, tokenizer, encode(tokenizer, texts, max_length), fn, batch_size)


def _reads_first_token_only(model) -> bool:
    """A BERT-structured classifier: its pooler reads position 0 of the last layer and nothing else."""
    base = getattr(model, "bert", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    return (type(model).__name__ == "BertForSequenceClassification" and base.pooler is not None and bool(layers)
            and not model.config.is_decoder and not model.config.chunk_size_feed_forward
            and hasattr(layers[-1].attention.self, "query") and model.config._attn_implementation in ("sdpa", "eager"))


def _first_token_forward(layer):
    """The last BERT layer computed for position 0 only: keys and values still come from every position,
    but the query, attention output and feed-forward run on one row instead of L (exact: same function)."""
    attn = layer.attention.self

    def forward(hidden_states, attention_mask=None, *args, **kwargs):
        first = hidden_states[:, :1]
        heads = (hidden_states.shape[0], -1, attn.num_attention_heads, attn.attention_head_size)
        q = attn.query(first).view(heads).transpose(1, 2)
        k = attn.key(hidden_states).view(heads).transpose(1, 2)
        v = attn.value(hidden_states).view(heads).transpose(1, 2)
        if attention_mask is not None and attention_mask.dim() == 4:
            attention_mask = attention_mask[:, :, :1, :]
        context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, scale=attn.scaling)
        attended = layer.attention.output(context.transpose(1, 2).reshape(first.shape), first)
        return layer.output(layer.intermediate(attended), attended)

    return forward


def classify_logits(model, batch: dict) -> torch.Tensor:
    """`model(**batch).logits`, skipping the last layer's work on positions the classifier never reads
    (for BERT-style models: ~1/num_layers of the compute, 14% for a 6-layer MiniLM)."""
    if not _reads_first_token_only(model):
        return model(**batch).logits
    last = model.bert.encoder.layer[-1]
    last.forward = _first_token_forward(last)
    try:
        return model(**batch).logits
    finally:
        del last.forward  # back to the class's forward
