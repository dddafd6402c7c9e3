"""Speed ratios from interleaved rounds: each round's baseline time over the model's time.

Rounds are paired (the two calls ran back to back), so the bootstrap resamples rounds, not
single timings, and noise that hits both calls of a round cancels in their ratio.
"""
from __future__ import annotations

import numpy as np

from tradeoff import stats
from tradeoff.bench.timing import MIN_FOR_INTERVAL
from tradeoff.record import Metric


def speedup(baseline_s, model_s, n_boot: int = 2000) -> Metric:
    """Median over rounds of baseline/model time, with a paired 95% bootstrap interval (x > 1: faster)."""
    base, model = np.asarray(baseline_s, dtype=float), np.asarray(model_s, dtype=float)
    if len(base) < MIN_FOR_INTERVAL:
        return Metric(value=float(np.median(base / model)), unit="x")
    return stats.metric(lambda b, m: np.median(b / m), base, model, unit="x", paired=True, n_boot=n_boot)


def speedups(seconds: dict[str, list[float]], baseline: str) -> dict[str, Metric]:
    """Every other model's speed-up over `baseline`, from one interleaved run."""
    return {name: speedup(seconds[baseline], s) for name, s in seconds.items() if name != baseline}
