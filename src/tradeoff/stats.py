"""Intervals for every measured number: bootstrap (percentile) over independent or paired samples.

One resampling routine serves latency medians, accuracy, F1 and ratios, so every interval in
tradeoff means the same thing: a 95% percentile-bootstrap interval, seeded and reproducible.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from tradeoff.record import Metric


def bootstrap(statistic: Callable[..., float], *samples, n_boot: int = 2000, confidence: float = 0.95,
              seed: int = 0, paired: bool = True) -> tuple[float, float, float]:
    """(point, low, high) of `statistic(*samples)`.

    paired=True resamples the same indices in every sample (the same examples scored by two
    models, or A/B timings taken in alternation); paired=False resamples each independently.
    """
    arrays = [np.asarray(s) for s in samples]
    if any(len(a) == 0 for a in arrays):
        raise ValueError("bootstrap needs at least one observation per sample")
    if paired and len({len(a) for a in arrays}) != 1:
        raise ValueError("paired samples must have equal lengths")
    point = float(statistic(*arrays))
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        if paired:
            idx = rng.integers(0, len(arrays[0]), len(arrays[0]))
            stats[b] = statistic(*[a[idx] for a in arrays])
        else:
            stats[b] = statistic(*[a[rng.integers(0, len(a), len(a))] for a in arrays])
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(stats, [alpha, 1 - alpha])
    return point, float(low), float(high)


def metric(statistic: Callable[..., float], *samples, unit: str = "", **kw) -> Metric:
    point, low, high = bootstrap(statistic, *samples, **kw)
    return Metric(value=point, unit=unit, low=low, high=high)
