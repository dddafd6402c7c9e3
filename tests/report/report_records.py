"""Records as bench and eval write them, for testing decide / claims / report on known numbers."""
import zlib

import numpy as np

from tradeoff.record import Metric, Record

ENV = {"cpu": "test CPU", "cores": 2, "threads": 2, "ram_gb": 24, "torch": "2.13.0", "transformers": "5.23.0"}


def _cell(backend, batch, seq_len, workload):
    return {"backend": backend, "device": "cpu", "batch": batch, "seq_len": seq_len, "workload": workload}


def bench(model, backend, p50, mem, weights="random", seed=0, batch=1, seq_len=128, workload="fixed"):
    """A bench record; workload="generate" gives a decoder's time to first token as its latency."""
    rng = np.random.default_rng(seed)
    samples = list(rng.normal(p50, p50 * 0.02, 30))
    prefix = "ttft" if workload == "generate" else "latency"
    metrics = {f"{prefix}_p50_ms": Metric(value=p50, unit="ms", low=p50 * 0.98, high=p50 * 1.02),
               f"{prefix}_p95_ms": Metric(value=p50 * 1.1, unit="ms"),
               "throughput_per_s": Metric(value=1000 / p50, unit="samples/s"),
               "peak_rss_mb": Metric(value=mem, unit="MB"),
               "baseline_rss_mb": Metric(value=mem * 0.4, unit="MB"), "model_memory_mb": Metric(value=mem * 0.6, unit="MB")}
    if workload == "generate":
        metrics["decode_tokens_per_s"] = Metric(value=20.0, unit="tokens/s", low=19.0, high=21.0)
    return Record(kind="bench", model=model, weights=weights, env=ENV, cell=_cell(backend, batch, seq_len, workload),
                  metrics=metrics, details={"samples_ms": samples})


def speedup(model, baseline, value, low, high, backend="eager", batch=1, seq_len=128):
    """The paired ratio as bench stores it: the cell of the two timings it came from, plus the baseline."""
    return Record(kind="bench", model=model, weights="random", env=ENV,
                  cell={**_cell(backend, batch, seq_len, "fixed"), "baseline": baseline},
                  metrics={"speedup": Metric(value=value, low=low, high=high), "memory_ratio": Metric(value=0.62, low=0.6, high=0.64)})


def estimate(model, p50, weight_mb, batch=1, seq_len=128):
    """What compare.estimate_record stores for a model too heavy to run: a lower bound, no interval."""
    return Record(kind="bench", model=model, weights="estimate", env=ENV, cell=_cell("estimate", batch, seq_len, "fixed"),
                  metrics={"latency_p50_ms": Metric(value=p50, unit="ms"), "weight_mb": Metric(value=weight_mb, unit="MB")},
                  details={"how": "forward FLOPs / FLOP/s; memory = bf16 weights only"})


def _rows(data, n):
    """The same data name and count is the same rows, as the eval stage's test_rows says."""
    return {"source": f"/data/{data}.jsonl", "sha256": f"{zlib.crc32(data.encode()):08x}", "n": n,
            "split": f"first {n} rows of {data}", "rows_sha256": f"{zlib.crc32(f'{data}:{n}'.encode()):016x}"}


def evaluation(model, acc, data="fine_foods", n=400, seed=0, mode="finetune", backend="eager", errors="nested",
               agreement=None):
    """An eval record as evaluate.run_cell writes it: per-example scores kept for paired comparisons.

    errors="nested": the first acc*n examples are right (models nest, as a student and its teacher mostly do);
    "random": which examples are wrong depends on the model and seed (independent models, e.g. an encoder
    and a zero-shot decoder)."""
    y_true = np.random.default_rng(zlib.crc32(data.encode())).integers(0, 2, n)  # the rows' labels: the same for every model
    k = round(acc * n)
    if errors == "nested":
        right = np.arange(n) < k
    else:
        right = np.zeros(n, dtype=bool)
        right[np.random.default_rng(zlib.crc32(f"{model}:{seed}".encode())).permutation(n)[:k]] = True
    y_pred = np.where(right, y_true, 1 - y_true)
    details = {"task": "classification", "mode": mode, "seed": seed, "n": n, "data": f"/data/{data}.jsonl",
               "test_rows": _rows(data, n), "scores": {"y_true": y_true.tolist(), "y_pred": y_pred.tolist()}}
    if backend != "eager":
        details.update(backend=backend, agreement_with_eager=agreement if agreement is not None else 90.0)
    return Record(kind="eval", model=model, weights="pretrained", env=ENV,
                  cell={"task": "classification", "data": data, "mode": mode, "seed": seed, "backend": backend},
                  metrics={"accuracy": Metric(value=acc * 100, unit="%", low=acc * 100 - 2, high=acc * 100 + 2)},
                  details=details)


def ner_evaluation(model, data="wnut17", n=200, hits=0.4, seed=0):
    """An NER eval record: per-sentence entity counts, entity F1 the primary metric."""
    rng = np.random.default_rng(zlib.crc32(f"{model}:{data}".encode()))
    gold = rng.integers(0, 3, n)
    tp = np.minimum(gold, rng.binomial(gold, hits))
    fn, fp = gold - tp, rng.integers(0, 2, n)
    f1 = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum()) * 100
    return Record(kind="eval", model=model, weights="pretrained", env=ENV,
                  cell={"task": "ner", "data": data, "mode": "finetune", "seed": seed, "backend": "eager"},
                  metrics={"entity_f1": Metric(value=f1, unit="%", low=f1 - 3, high=f1 + 3),
                           "entity_precision": Metric(value=50.0, unit="%"), "entity_recall": Metric(value=40.0, unit="%")},
                  details={"task": "ner", "mode": "finetune", "seed": seed, "n": n, "data": f"/data/{data}",
                           "test_rows": _rows(data, n),
                           "scores": {"tp": tp.tolist(), "fp": fp.tolist(), "fn": fn.tolist()}})


def capacity(model, backend, qps, low, high, p99_ms=100.0, max_batch=8):
    """A server-workload record as the capacity search stores it, with two trials for the load curve."""
    trials = [{"rate": qps / 2, "p99_ms": p99_ms * 0.4, "p99_low_ms": p99_ms * 0.35, "p99_high_ms": p99_ms * 0.45, "overloaded": False},
              {"rate": qps, "p99_ms": p99_ms * 0.9, "p99_low_ms": p99_ms * 0.8, "p99_high_ms": p99_ms * 0.95, "overloaded": False},
              {"rate": qps * 2, "p99_ms": None, "p99_low_ms": None, "p99_high_ms": None, "overloaded": True}]
    cell = {**_cell(backend, max_batch, 128, "server"), "dataset": "sst2", "p99_ms": p99_ms, "max_wait_ms": 5.0}
    return Record(kind="bench", model=model, weights="random", env=ENV, cell=cell,
                  metrics={"max_qps": Metric(value=qps, unit="queries/s", low=low, high=high),
                           "serve_p99_ms": Metric(value=p99_ms * 0.9, unit="ms"), "peak_rss_mb": Metric(value=700.0, unit="MB")},
                  details={"trials": trials, "cannot_sustain": False})


def token_capacity(model, backend, qps, low, high, ttft_ms=2000.0, tpot_ms=200.0, output_tokens=8, max_batch=8):
    """A decoder's server-workload record (served token by token) as the capacity search stores it."""
    def trial(rate, share, overloaded=False):
        keys = {}
        for name, bound in (("ttft", ttft_ms), ("tpot", tpot_ms)):
            for end, f in (("", 1.0), ("_low", 0.9), ("_high", 1.1)):
                keys[f"{name}_p99{end}_ms"] = None if overloaded else bound * share * f
        return {"rate": rate, "overloaded": overloaded, **keys}
    trials = [trial(qps / 2, 0.4), trial(qps, 0.85), trial(qps * 2, 0.0, overloaded=True)]
    cell = {**_cell(backend, max_batch, 128, "server"), "dataset": "sst2", "output_tokens": output_tokens,
            "ttft_ms": ttft_ms, "tpot_ms": tpot_ms, "max_wait_ms": 5.0}
    return Record(kind="bench", model=model, weights="random", env=ENV, cell=cell,
                  metrics={"max_qps": Metric(value=qps, unit="queries/s", low=low, high=high),
                           "serve_ttft_p99_ms": Metric(value=ttft_ms * 0.85, unit="ms"),
                           "peak_rss_mb": Metric(value=900.0, unit="MB")},
                  details={"trials": trials, "cannot_sustain": False, "output_tokens": output_tokens})
