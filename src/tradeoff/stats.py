"""Intervals for every measured number: bootstrap (percentile) over independent or paired samples, and
the exact binomial interval for a plain proportion.

One resampling routine serves latency medians, F1 and ratios: a 95% percentile-bootstrap interval,
seeded and reproducible. A proportion (accuracy) gets the exact Clopper-Pearson interval instead,
because the bootstrap of 30 out of 30 is [100, 100]: every resample is perfect, yet 30 trials cannot
tell 100% from 90%.
"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from tradeoff.record import Metric


def bootstrap(statistic: Callable[..., float], *samples, n_boot: int = 2000, confidence: float = 0.95,
              seed: int = 0, paired: bool = True) -> tuple[float, float, float]:
    """(point, low, high) of `statistic(*samples)`.

    paired=True resamples the same indices in every sample (the same examples scored by two
    models, or A/B timings taken in alternation); paired=False resamples each independently.
    """
    point, stats = resamples(statistic, *samples, n_boot=n_boot, seed=seed, paired=paired)
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(stats, [alpha, 1 - alpha])
    return point, float(low), float(high)


def studentized_mean(values, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) by the bootstrap-t: the mean's interval from the resampled distribution of
    (mean* - mean) / se*, so the skew of per-row values (squared errors) widens the side it stretches. The
    percentile bootstrap of an STS-B-like MSE covered 92.6% at 400 rows (`benchmarks/coverage.py`). One row or
    equal values (se 0) give no spread to scale t by: both ends are open (-inf, inf; printed "?"), since a
    zero-width interval would claim certainty no sample of rows gives."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = float(x.mean())
    se = float(x.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    if not se > 0:
        return mean, -np.inf, np.inf
    rng = np.random.default_rng(seed)
    t = []
    for chunk in np.array_split(np.arange(n_boot), max(1, n_boot * n // 2_000_000)):  # at most ~16 MB at once
        xb = x[rng.integers(0, n, (len(chunk), n))]
        sb = xb.std(axis=1, ddof=1) / np.sqrt(n)
        with np.errstate(divide="ignore", invalid="ignore"):  # a resample of equal values: t is +-inf, kept
            t.append((xb.mean(axis=1) - mean) / sb)
    alpha = (1 - confidence) / 2
    t_low, t_high = np.nanquantile(np.concatenate(t), [alpha, 1 - alpha])
    return mean, mean - float(t_high) * se, mean - float(t_low) * se


def resamples(statistic: Callable[..., float], *samples, n_boot: int = 2000, seed: int = 0,
              paired: bool = True) -> tuple[float, np.ndarray]:
    """`statistic(*samples)` and its n_boot bootstrap values (resampled as `bootstrap` does), for a p-value."""
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
    return point, stats


@functools.lru_cache(maxsize=4096)
def order_statistic_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int, int]:
    """0-based ranks (lo, hi) of the order statistics x_(lo) <= xi_q <= x_(hi) that cover the q-quantile of n
    independent samples at `confidence`, whatever their distribution; lo < 0 or hi >= n: that end is unbounded.
    Cached: the bench's stop rule asks after every round."""
    from scipy.stats import binom

    alpha = (1 - confidence) / 2
    # x_(l) (1-based) <= quantile unless B <= l-1; the largest l with P(B <= l-1) <= alpha is ppf(alpha).
    # x_(u) >= quantile unless B >= u; the smallest u with P(B >= u) <= alpha is ppf(1 - alpha) + 1.
    return int(binom.ppf(alpha, n, q)) - 1, int(binom.ppf(1 - alpha, n, q))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: rejecting those under alpha keeps the chance of
    any false rejection in the family at alpha, whatever the dependence between the tests."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [1.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def exact_proportion(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval of successes / trials; [0, 1] when there were no trials.
    From the beta quantiles directly: scipy's binomtest(...).proportion_ci gives the same ends 100x slower."""
    from scipy.stats import beta

    k, n, alpha = int(successes), int(trials), 1 - confidence
    if n == 0:
        return 0.0, 1.0
    low = float(beta.ppf(alpha / 2, k, n - k + 1)) if k > 0 else 0.0
    high = float(beta.ppf(1 - alpha / 2, k + 1, n - k)) if k < n else 1.0
    return low, high


def log_t_interval(samples, confidence: float = 0.95) -> tuple[float, float, float]:
    """(geometric mean, low, high): Student's t interval on log values, for positive samples too few for a
    bootstrap. The geometric mean is the median when the values are log-normal, as timings roughly are; the
    percentile bootstrap of 3 timings is their [min, max], which covers the median 75% of the time, not 95%."""
    from scipy.stats import t

    logs = np.log(np.asarray(samples, dtype=float))
    n = len(logs)
    centre = float(logs.mean())
    if n < 2:
        return float(np.exp(centre)), float("nan"), float("nan")
    half = float(t.ppf(0.5 + confidence / 2, n - 1) * logs.std(ddof=1) / np.sqrt(n))
    return float(np.exp(centre)), float(np.exp(centre - half)), float(np.exp(centre + half))


def jackknife_interval(point: float, leave_one_out, confidence: float = 0.95, transform=None,
                       inverse=None) -> tuple[float, float] | None:
    """(low, high): `transform(point)` ± Student's t (n - 1 df) times the jackknife standard error from the n
    leave-one-out values, mapped back by `inverse`; None where a transformed value is not finite."""
    from scipy.stats import t

    f, back = transform or (lambda v: v), inverse or (lambda v: v)
    with np.errstate(divide="ignore", invalid="ignore"):
        loo, centre = f(np.asarray(leave_one_out, dtype=float)), f(np.float64(point))
    n = len(loo)
    if n < 4 or not np.isfinite(centre) or not np.all(np.isfinite(loo)):
        return None
    half = float(t.ppf(0.5 + confidence / 2, n - 1)) * float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))
    return float(back(centre - half)), float(back(centre + half))


def fisher_z_interval(point: float, leave_one_out, confidence: float = 0.95) -> tuple[float, float] | None:
    """(low, high) of a correlation: `jackknife_interval` on Fisher's z; None at |r| = 1 or on constant data. The
    percentile bootstrap of a Pearson correlation of 100 skewed, heteroscedastic rows covered 88%; this ~95%."""
    return jackknife_interval(point, leave_one_out, confidence, np.arctanh, np.tanh)


def metric(statistic: Callable[..., float], *samples, unit: str = "", **kw) -> Metric:
    point, low, high = bootstrap(statistic, *samples, **kw)
    return Metric(value=point, unit=unit, low=low, high=high)
