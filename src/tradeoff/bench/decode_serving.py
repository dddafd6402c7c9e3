"""Decoders served token by token under MLPerf LoadGen's Server scenario: time to first token (TTFT) and time
per output token (TPOT) under load, and the most queries/s a decoder sustains with both p99s within their bounds
(MLPerf's Llama 2 70B Server bounds: TTFT p99 2 s, TPOT p99 200 ms).

A request is a prompt of a text's token count (SST-2 validation by default) and a fixed number of output tokens.
The server batches statically with a KV cache: a batch forms as on the encoder server (`--max-batch`, or the
oldest request waited `--max-wait-ms`), its prompts are left-padded and prefilled together, the first token of
every request in it is reported to LoadGen (FirstTokenComplete), then the batch decodes one token per step, each
step reading the cache, until every request has its output tokens; requests that arrive meanwhile wait for the
next batch. LoadGen judges TTFT and TPOT (its verdict, early stopping); tradeoff keeps each p50 / p99 with the
busy-period interval of the encoder server (`serving.load_quantile_interval`), TTFT from LoadGen's scheduled
arrival, TPOT as (last token - first token) / (tokens - 1), as LoadGen counts it.

Greedy decoding with EOS disabled, so every request generates exactly its output tokens: random weights may
emit EOS at once, and the cost of a reply is its length, not its words. Speed only: no quality is measured.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from tradeoff.bench import serving
from tradeoff.errors import BadInput

TTFT_MS = 2000.0  # MLPerf Inference Llama 2 70B, Server scenario: TTFT p99
TPOT_MS = 200.0  # and TPOT p99
OUTPUT_TOKENS = 32


def check(ttft_ms: float, tpot_ms: float, output_tokens: int) -> None:
    """Bad decoder-serving settings, found before any model loads."""
    for name, value, hint in (("--ttft-ms", ttft_ms, f"e.g. --ttft-ms {TTFT_MS:g} (MLPerf's Llama 2 bound)"),
                              ("--tpot-ms", tpot_ms, f"e.g. --tpot-ms {TPOT_MS:g} (MLPerf's Llama 2 bound)")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
            raise BadInput(f"{name} must be a positive number, got {value}", hint)
    if isinstance(output_tokens, bool) or not isinstance(output_tokens, int) or output_tokens < 1:
        raise BadInput(f"--output-tokens must be a positive integer, got {output_tokens}", f"e.g. --output-tokens {OUTPUT_TOKENS}")


def check_model(model, name: str = "the model") -> None:
    """A decoder served token by token needs its KV cache: without one every step recomputes the whole context."""
    config = getattr(model, "config", None)
    if config is None or not getattr(config, "is_decoder", False) and "CausalLM" not in type(model).__name__:
        raise BadInput(f"{name} is not a decoder: only decoders are served token by token",
                       "serve encoders with --workload server and no --output-tokens")
    if not getattr(config, "use_cache", True):
        raise BadInput(f"{name} has no KV cache (use_cache is off in its config): it cannot be served token by token",
                       "turn use_cache on in the model's config")


def decoder_batch(model, prompt_lengths: np.ndarray, output_tokens: int, seed: int = 0,
                  device: str = "cpu") -> Callable[[np.ndarray, Callable[[], None]], int]:
    """`run_batch(sample indices, first)` for the LoadGen batcher: prompts of `prompt_lengths[index % n]` random
    token ids, left-padded to the batch's longest, prefilled with the KV cache; `first()` once the first tokens
    are out; then `output_tokens - 1` greedy steps on the cache. Returns the tokens generated per request."""
    import torch

    check_model(model)
    lengths = np.asarray(prompt_lengths, dtype=int)
    vocab = int(model.config.vocab_size)
    g = torch.Generator().manual_seed(seed)
    width = int(lengths.max())
    ids = torch.randint(min(5, vocab - 1), vocab, (1024, width), generator=g)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run_batch(indices: np.ndarray, first: Callable[[], None]) -> int:
        lens = torch.as_tensor(lengths[np.asarray(indices) % len(lengths)])
        longest = int(lens.max())
        positions = torch.arange(longest)
        mask = (positions[None, :] >= (longest - lens)[:, None]).long()  # left padding
        batch = ids[torch.as_tensor(np.asarray(indices) % len(ids)), :longest]
        with torch.inference_mode():
            out = model(input_ids=batch.to(device), attention_mask=mask.to(device), use_cache=True)
            cache = out.past_key_values
            token = out.logits[:, -1:].argmax(-1)
            sync()
            first()
            for _ in range(output_tokens - 1):
                mask = torch.cat([mask, torch.ones(len(lens), 1, dtype=mask.dtype)], dim=1)
                out = model(input_ids=token, attention_mask=mask.to(device), past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                token = out.logits[:, -1:].argmax(-1)
            sync()
        return output_tokens

    return run_batch


@dataclass
class TokenTrial(serving.Served):
    """One LoadGen run of a decoder at one rate; duck-types `serving.Trial` for `serving.search`, judged against
    its own (TTFT, TPOT) bounds whatever bound the search passes."""

    rate: float
    latencies: np.ndarray  # scheduled arrival to the last token, s (nan: unserved)
    ttft: np.ndarray  # scheduled arrival to the first token, s
    tpot: np.ndarray  # s per output token after the first
    tokens: np.ndarray
    schedule_errors: np.ndarray
    batch_sizes: list[int]
    elapsed_s: float
    overloaded: bool
    arrivals: np.ndarray
    bounds_s: tuple[float, float]  # (TTFT, TPOT) p99 bounds
    seed: int | None = None
    loadgen: dict | None = None
    log_dir: str | None = None

    @cached_property
    def busy_periods(self) -> int:
        return len(serving.busy_starts(self.arrivals, self.latencies))

    def _interval(self, values: np.ndarray, q: float, confidence: float) -> tuple[float, float, float]:
        x = np.sort(np.where(np.isfinite(values), values, np.inf))
        return serving.load_quantile_interval(x, self.busy_periods, q, confidence)

    def ttft_quantile(self, q: float, confidence: float = serving.CONFIDENCE) -> tuple[float, float, float]:
        return self._interval(self.ttft, q, confidence)

    def tpot_quantile(self, q: float, confidence: float = serving.CONFIDENCE) -> tuple[float, float, float]:
        return self._interval(self.tpot, q, confidence)

    def quantile(self, q: float, confidence: float = serving.CONFIDENCE) -> tuple[float, float, float]:
        """The whole request's latency (for the search's messages; the verdict is on TTFT and TPOT)."""
        return self._interval(self.latencies, q, confidence)

    def sustained(self, bound_s: float | None = None) -> bool:
        """VALID under LoadGen, not overloaded, and both p99s within their bounds."""
        ttft, tpot = self.bounds_s
        return (not self.overloaded and self.verdict in (None, "VALID")
                and self.ttft_quantile(serving.QUANTILE)[0] <= ttft and self.tpot_quantile(serving.QUANTILE)[0] <= tpot)

    def surely_sustained(self, bound_s: float | None = None, confidence: float = serving.CONFIDENCE) -> bool:
        ttft, tpot = self.bounds_s
        return (self.sustained() and self.ttft_quantile(serving.QUANTILE, confidence)[2] <= ttft
                and self.tpot_quantile(serving.QUANTILE, confidence)[2] <= tpot)

    def surely_failed(self, bound_s: float | None = None, confidence: float = serving.CONFIDENCE) -> bool:
        ttft, tpot = self.bounds_s
        return (self.overloaded or self.ttft_quantile(serving.QUANTILE, confidence)[1] > ttft
                or self.tpot_quantile(serving.QUANTILE, confidence)[1] > tpot)

    def summary(self, bound_s: float | None = None) -> dict:
        ms = serving._ms
        out = {"rate": round(self.rate, 3), "seed": self.seed, "busy_periods": self.busy_periods, "offered": self.offered,
               "served": self.served, "achieved_qps": round(self.achieved_qps, 3), "overloaded": self.overloaded,
               "sustained": self.sustained(), "mean_batch": round(float(np.mean(self.batch_sizes or [0])), 3),
               "max_batch_used": max(self.batch_sizes or [0]), "output_tokens": int(self.tokens.max(initial=0)),
               "elapsed_s": round(self.elapsed_s, 3)}
        for name, fn in (("ttft", self.ttft_quantile), ("tpot", self.tpot_quantile)):
            for q, label in ((0.5, "p50"), (serving.QUANTILE, "p99")):
                point, low, high = fn(q)
                out.update({f"{name}_{label}_ms": ms(point), f"{name}_{label}_low_ms": ms(low),
                            f"{name}_{label}_high_ms": ms(high)})
        lg = self.loadgen or {}
        out.update({"loadgen_verdict": lg.get("verdict"), "invalid_reason": lg.get("invalid_reason"),
                    "early_stopping_ttft": lg.get("early_stopping_ttft"), "early_stopping_tpot": lg.get("early_stopping_tpot"),
                    "loadgen_ttft_p99_ms": _ns_ms(lg.get("ttft_p99_ns")), "loadgen_tpot_p99_ms": _ns_ms(lg.get("tpot_p99_ns")),
                    "loadgen_tokens_per_s": lg.get("completed_tokens_per_s"), "loadgen_library": lg.get("library"),
                    "log_dir": self.log_dir})
        return out


def _ns_ms(ns) -> float | None:
    return round(ns / 1e6, 4) if isinstance(ns, (int, float)) else None


def serve(run_batch: Callable, rate: float, queries: int, max_batch: int, max_wait_s: float, abort_after_s: float,
          ttft_s: float, tpot_s: float, min_duration_s: float = serving.MIN_DURATION_S, seed: int = 0,
          log_dir: str | None = None, samples: int | None = None) -> TokenTrial:
    """One trial of a decoder under LoadGen's Server scenario with token latencies: TTFT and TPOT p99 targets."""
    from tradeoff.bench import loadgen

    run = loadgen.server_run(run_batch, rate, queries, ttft_s, min_duration_s, max_batch, max_wait_s, abort_after_s,
                             seed, log_dir, samples or loadgen.LIBRARY, token_bounds=(ttft_s, tpot_s))
    tokens = run.tokens if run.tokens is not None else np.zeros(len(run.latencies_s), dtype=int)
    ttft = run.latencies_s - run.decode_s
    tpot = np.where(tokens > 1, run.decode_s / np.maximum(tokens - 1, 1), 0.0)
    tpot[~np.isfinite(run.latencies_s)] = np.nan
    done = run.scheduled_s + run.latencies_s
    elapsed = float(np.nanmax(done)) if np.isfinite(done).any() else 0.0
    return TokenTrial(rate, run.latencies_s, ttft, tpot, tokens, run.issue_delays_s, run.batch_sizes, elapsed,
                      run.overloaded, run.scheduled_s, (ttft_s, tpot_s), seed, run.loadgen, run.log_dir)


def capacity(run_batch: Callable, name: str, start_qps: float, max_batch: int, max_wait_s: float, ttft_s: float,
             tpot_s: float, budget_s: float, min_queries: int = serving.MIN_QUERIES,
             min_duration_s: float = serving.MIN_DURATION_S, base_seed: int = 0, max_trials: int = serving.MAX_TRIALS,
             on_status: Callable[[str], None] = lambda _: None) -> serving.Capacity:
    """The most queries/s the decoder sustains with TTFT and TPOT p99 within their bounds: `serving.search` over
    LoadGen trials (each its own seed from `base_seed`); the Capacity's bound is the TTFT bound."""
    trials = iter(range(10**6))
    abort_s = max(10 * ttft_s, 1.0)

    def run(rate: float, queries: int = 0) -> TokenTrial:
        seed = serving.trial_seed(base_seed, name, next(trials))
        n = max(min_queries, math.ceil(rate * min_duration_s), queries)
        return serve(run_batch, rate, n, max_batch, max_wait_s, abort_s, ttft_s, tpot_s, min_duration_s, seed)

    return serving.search({name: run}, ttft_s, {name: start_qps}, budget_s, max_trials=max_trials, on_status=on_status)[name]


@dataclass
class Estimate:
    """A decoder's serving figures from bytes and FLOPs alone: an estimate, never a measurement."""

    model: str
    dtype: str
    batch: int
    prompt_tokens: int
    output_tokens: int
    bandwidth_bps: float  # measured on this machine
    flops_per_s: float  # measured matmul peak on this machine
    tpot_s: float
    prefill_s: float
    batch_s: float  # one static batch start to end
    qps: float  # batch / batch_s: the most static batches of this size can complete
    ttft_worst_s: float  # a request arriving just after a batch started: that batch, then its own prefill

    def as_dict(self) -> dict:
        return {"estimate": True, **{k: v for k, v in self.__dict__.items()}}


def estimate(source, batch: int, prompt_tokens: int, output_tokens: int, bandwidth_bps: float, flops_per_s: float,
             bytes_per_param: float = 2.0) -> Estimate:
    """Static batching of `batch` requests: every decode step reads all the weights once plus each request's KV
    cache (at the context's midpoint), so TPOT = bytes / bandwidth; prefill = its FLOPs / the matmul peak; a
    batch takes prefill + (output - 1) x TPOT, and a request arriving just after one started waits it out before
    its own prefill. Bandwidth-bound decode is the rule on CPUs and GPUs alike at small batches; queueing beyond
    one batch is left out, so the QPS is an upper end."""
    a = source.anatomy(prompt_tokens + output_tokens)
    kv = (a.kv_cache_bytes_per_token or 0.0) * bytes_per_param / 2  # anatomy counts fp16 (2 bytes)
    context = prompt_tokens + output_tokens / 2
    step_bytes = a.parameters * bytes_per_param + batch * context * kv
    tpot = step_bytes / bandwidth_bps
    prefill = source.forward_flops(batch, prompt_tokens) / flops_per_s
    took = prefill + (output_tokens - 1) * tpot
    dtype = {2.0: "bf16", 4.0: "fp32", 1.0: "int8"}.get(bytes_per_param, f"{bytes_per_param:g} B/param")
    return Estimate(source.name, dtype, batch, prompt_tokens, output_tokens, bandwidth_bps, flops_per_s, tpot, prefill,
                    took, batch / took, took + prefill)
