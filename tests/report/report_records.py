"""Records as bench and eval write them, for testing decide / claims / report on known numbers."""
import numpy as np

from tradeoff.record import Metric, Record

ENV = {"cpu": "test CPU", "cores": 2, "threads": 2, "ram_gb": 24, "torch": "2.13.0", "transformers": "5.23.0"}


def bench(model, backend, p50, mem, weights="random", seed=0):
    rng = np.random.default_rng(seed)
    samples = list(rng.normal(p50, p50 * 0.02, 30))
    return Record(kind="bench", model=model, weights=weights, env=ENV,
                  cell={"backend": backend, "device": "cpu", "batch": 1, "seq_len": 128, "workload": "fixed"},
                  metrics={"latency_p50_ms": Metric(value=p50, unit="ms", low=p50 * 0.98, high=p50 * 1.02),
                           "latency_p95_ms": Metric(value=p50 * 1.1, unit="ms"),
                           "throughput_per_s": Metric(value=1000 / p50, unit="samples/s"),
                           "peak_rss_mb": Metric(value=mem, unit="MB")},
                  details={"samples_ms": samples})


def speedup(model, baseline, value, low, high, backend="eager"):
    return Record(kind="bench", model=model, weights="random", env=ENV,
                  cell={"backend": backend, "device": "cpu", "batch": 1, "seq_len": 128, "workload": "paired", "baseline": baseline},
                  metrics={"speedup": Metric(value=value, low=low, high=high), "memory_ratio": Metric(value=0.62, low=0.6, high=0.64)})


def evaluation(model, acc, data="fine_foods", n=400, seed=0):
    """An eval record as evaluate.run_cell writes it: per-example scores kept for paired comparisons."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, n)
    right = np.arange(n) < round(acc * n)  # the first acc*n examples are right: models nest, as real ones mostly do
    y_pred = np.where(right, y_true, 1 - y_true)
    return Record(kind="eval", model=model, weights="pretrained", env=ENV,
                  cell={"task": "classification", "data": data, "mode": "finetune"},
                  metrics={"accuracy": Metric(value=acc * 100, unit="%", low=acc * 100 - 2, high=acc * 100 + 2)},
                  details={"task": "classification", "mode": "finetune", "seed": 0, "n": n,
                           "scores": {"y_true": y_true.tolist(), "y_pred": y_pred.tolist()}})
