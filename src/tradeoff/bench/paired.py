"""Speed ratios from interleaved rounds: each round's baseline time over the model's time.

Rounds are paired (the two calls ran back to back), so the interval is over rounds, not single
timings, and noise that hits both calls of a round cancels in their ratio.
"""
from __future__ import annotations

import numpy as np

from tradeoff.bench import timing
from tradeoff.record import Metric


def speedup(baseline_s, model_s) -> Metric:
    """Median over rounds of baseline/model time with its paired 95% interval (x > 1: faster): the rounds'
    ratios are the samples (`timing.median_metric`), so noise a round's two calls share cancels."""
    return timing.median_metric(np.asarray(baseline_s, dtype=float) / np.asarray(model_s, dtype=float), unit="x")


def speedups(seconds: dict[str, list[float]], baseline: str) -> dict[str, Metric]:
    """Every other model's speed-up over `baseline`, from one interleaved run."""
    return {name: speedup(seconds[baseline], s) for name, s in seconds.items() if name != baseline}
