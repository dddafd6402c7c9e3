"""Timing that copes with a noisy machine: warm-up, interleaved rounds, adaptive stopping, noise flags.

Every model in a cell is timed in the same loop, one call each per round with the order
reversed every other round (A B, B A, ...), so slow drifts and neighbours' bursts hit all of
them alike. The loop stops when every median's 95% interval (and every ratio's) is within
±target, or when the time budget is spent. Stopping when an interval happens to be narrow picks
intervals that are too narrow (93% coverage of a speed-up on log-normal timings, 88% of a median
on two-mode ones), so once the rule holds the same number of rounds is timed afresh and every
interval comes from those confirming rounds alone: their count was fixed before they ran, so
their intervals keep 95%. The budget is looked at before the rule: a round that spends it ends
the loop whatever its intervals, so nothing is confirmed then (a cell whose rounds cost seconds
is not timed twice over).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import psutil

from tradeoff import stats
from tradeoff.record import Metric

CV_NOISY = 0.10  # coefficient of variation above which timings are flagged
FOREIGN_NOISY = 0.25  # share of the machine's CPU time used by other processes
MIN_FOR_INTERVAL = 3  # fewer samples get a point value and no interval
# Fewer samples have no distribution-free 95% interval of their median ([min, max] of 5 covers it 94% of the time,
# of 3 only 75%, yet that is what a percentile bootstrap of 3 gives).
SMALL_SAMPLE = 6
PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}


class Timer:
    """Wall time of one call: perf_counter on CPU, CUDA events (after a sync) on a GPU."""

    def __init__(self, device: str = "cpu"):
        self.cuda = device == "cuda"
        if self.cuda:
            import torch

            self._torch = torch
            self._start = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)

    def time(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        if self.cuda:
            self._torch.cuda.synchronize()
            self._start.record()
            out = fn()
            self._end.record()
            self._end.synchronize()
            return self._start.elapsed_time(self._end) / 1e3, out
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out


def quantile_interval(samples, q: float, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """The distribution-free interval of the q-quantile from order statistics: [x_(l), x_(u)] with the count of
    samples below the true quantile ~ Bin(n, q). An end no order statistic can bound at this confidence is None
    (the p99 of fewer than 368 samples has no upper end). It covers at `confidence` or more for independent
    samples from any continuous distribution; a bootstrap of a tail never passes the sample's maximum, so its p99
    of 10 timings covered under 10% of the time."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n == 0:
        return None, None
    lo, hi = stats.order_statistic_ranks(n, q, confidence)
    return (float(x[lo]) if lo >= 0 else None), (float(x[hi]) if hi < n else None)


def median_interval(samples, confidence: float = 0.95) -> tuple[float, float] | None:
    """The distribution-free interval of the median (`quantile_interval`), or None under SMALL_SAMPLE samples,
    for which none exists at 95%. A percentile bootstrap of 6-8 timings covered the median under 93% of the time."""
    n = len(samples)
    if n < SMALL_SAMPLE:
        return None
    low, high = quantile_interval(samples, 0.5, confidence)
    return None if low is None or high is None else (low, high)


def median_halfwidth(samples) -> float:
    """Relative half-width of `median_interval`; inf until there are enough samples for one. Cheap enough to
    evaluate after every round (the stop rule)."""
    found = median_interval(samples)
    med = float(np.median(samples)) if len(samples) else 0.0
    return (found[1] - found[0]) / 2 / abs(med) if found and med else float("inf")


@dataclass
class Run:
    """The outcome of timing several callables together."""

    seconds: dict[str, list[float]]  # per name, one entry per round (aligned across names)
    extras: dict[str, list[Any]]  # per name, what each call returned (e.g. per-token stamps)
    stop_reason: str
    elapsed_s: float
    foreign_load: float
    loadavg: float
    warmup_calls: dict[str, int] = field(default_factory=dict)
    pilot_rounds: int = 0  # rounds the stop rule looked at before the reported ones (0: it never held)
    warmup_s: float = 0.0  # wall time of the warm-up calls (elapsed_s counts the timed rounds only)

    @property
    def round_s(self) -> float:
        """What one interleaved round costs here: the sum of every callable's median call."""
        return float(sum(np.median(s) for s in self.seconds.values() if len(s)))

    @property
    def how(self) -> str:
        """How the reported rounds were chosen (records say it)."""
        if self.pilot_rounds:
            return (f"the stop rule held after {self.pilot_rounds} rounds; intervals from the "
                    f"{len(next(iter(self.seconds.values()), []))} rounds timed after it")
        return f"stopped at the {self.stop_reason}; intervals from every round"


class Load:
    """CPU time the rest of the machine used while we measured (other processes = foreign load)."""

    def __init__(self):
        self.proc = psutil.Process()

    def __enter__(self):
        self.t0, self.sys0, self.own0 = time.perf_counter(), psutil.cpu_times(), self._own()
        return self

    def _own(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        sys1 = psutil.cpu_times()
        busy = (sys1.user + sys1.system + getattr(sys1, "nice", 0)) - (self.sys0.user + self.sys0.system + getattr(self.sys0, "nice", 0))
        foreign = max(0.0, busy - (self._own() - self.own0))
        self.foreign = foreign / max(wall * (psutil.cpu_count() or 1), 1e-9)
        return False


def measure(calls: dict[str, Callable[[], Any]], *, device: str = "cpu", budget_s: float = 15.0,
            target: float = 0.03, min_rounds: int = SMALL_SAMPLE, max_rounds: int = 1000, warmup_s: float | dict[str, float] = 1.0,
            min_warmup: int = 1, baseline: str | None = None) -> Run:
    """Warm each callable up, then time them in alternating order until the stop rule holds.

    Neither the budget nor convergence stops the loop before `min_rounds` (SMALL_SAMPLE by default: the
    fewest rounds with a distribution-free interval of a median); `warmup_s` may be given per callable
    (e.g. less for one already called once).
    """
    timer = Timer(device)
    names = list(calls)
    warm = dict.fromkeys(names, 0)
    t_warm = time.perf_counter()
    for name in names:  # warm-up: at least min_warmup calls and warmup_s seconds per callable
        t0 = time.perf_counter()
        warm_for = warmup_s.get(name, 0.0) if isinstance(warmup_s, dict) else warmup_s
        while warm[name] < min_warmup or time.perf_counter() - t0 < warm_for:
            timer.time(calls[name])
            warm[name] += 1
            if time.perf_counter() - t0 > budget_s / 4:
                break
    seconds = {n: [] for n in names}
    extras = {n: [] for n in names}
    reason, pilot = "max rounds", 0
    t_start = time.perf_counter()
    warm_s = t_start - t_warm

    def one_round(r: int) -> None:
        for name in (names if r % 2 == 0 else names[::-1]):
            dt, out = timer.time(calls[name])
            seconds[name].append(dt)
            extras[name].append(out)

    with Load() as load:
        for r in range(max_rounds):
            one_round(r)
            if r + 1 < min_rounds:
                continue
            if time.perf_counter() - t_start >= budget_s:  # first: a stop the intervals did not choose
                reason = "budget"
                break
            if _converged(seconds, baseline, target):
                reason = "converged"
                break
        if reason == "converged":  # confirm: as many fresh rounds, their intervals the ones reported
            pilot, least = len(seconds[names[0]]), max(min_rounds, SMALL_SAMPLE)
            seconds, extras = {n: [] for n in names}, {n: [] for n in names}
            for r in range(max(pilot, least)):
                one_round(r)
                if r + 1 >= least and time.perf_counter() - t_start >= budget_s:
                    reason = "budget (while confirming)"
                    break
    return Run(seconds, extras, reason, time.perf_counter() - t_start, load.foreign,
               os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0, warm, pilot, warm_s)


def _converged(seconds: dict[str, list[float]], baseline: str | None, target: float) -> bool:
    if any(median_halfwidth(s) > target for s in seconds.values()):
        return False
    if baseline in seconds:
        base = np.asarray(seconds[baseline])
        return all(median_halfwidth(base / np.asarray(s)) <= target for n, s in seconds.items() if n != baseline)
    return True



def interval_how(n: int) -> str:
    """How a median's interval over `n` rounds was made (records say it)."""
    if n < MIN_FOR_INTERVAL:
        return f"none ({n} rounds)"
    if n < SMALL_SAMPLE:
        return f"t interval on log values ({n} rounds: too few for a distribution-free one)"
    return "order statistics (distribution-free)"


def median_metric(samples, unit: str = "") -> Metric:
    """A median with its 95% interval: order statistics from SMALL_SAMPLE samples on, below that (from
    MIN_FOR_INTERVAL) a t interval on log values (timings and their ratios are positive and roughly log-normal),
    else none."""
    x = np.asarray(samples, dtype=float)
    m = Metric(value=float(np.median(x)), unit=unit)
    found, method = median_interval(x), "order_statistic_median"
    if found is None and len(x) >= MIN_FOR_INTERVAL and np.all(x > 0):
        found, method = stats.log_t_interval(x)[1:], "log_t"
    return m.model_copy(update={"low": found[0], "high": found[1], "method": method}) if found else m


def latency_metrics(samples, unit_scale: float = 1e3, unit: str = "ms", prefix: str = "latency") -> dict[str, Metric]:
    """p50 with its 95% interval (`median_metric`); p90/p95/p99 with order-statistic ones (`quantile_interval`),
    an end too few calls cannot bound left open; the mean and std as points (the bootstrap of a mean of timings
    with bursts covered 76% at 10 rounds, 88% at 30)."""
    x = np.asarray(samples, dtype=float) * unit_scale
    out = {f"{prefix}_p50_{unit}": median_metric(x, unit)}
    for name, q in PERCENTILES.items():
        if name != "p50":
            low, high = quantile_interval(x, q / 100)
            out[f"{prefix}_{name}_{unit}"] = Metric(value=float(np.percentile(x, q)), unit=unit, low=low, high=high,
                                                    method="order_statistic_quantile")
    out[f"{prefix}_mean_{unit}"] = Metric(value=float(np.mean(x)), unit=unit)
    out[f"{prefix}_std_{unit}"] = Metric(value=float(np.std(x, ddof=1)) if len(x) > 1 else 0.0, unit=unit)
    return out


def noise(samples, run: Run, target: float) -> dict:
    """Why these timings should be read with care (empty `reasons` = a quiet measurement)."""
    x = np.asarray(samples, dtype=float)
    cv = float(np.std(x, ddof=1) / np.mean(x)) if len(x) > 1 and np.mean(x) > 0 else 0.0
    reasons = []
    if cv > CV_NOISY:
        reasons.append(f"high variation (CV {cv:.0%})")
    if run.foreign_load > FOREIGN_NOISY:
        reasons.append(f"other processes used {run.foreign_load:.0%} of the CPUs")
    hw = median_halfwidth(x)
    if hw > target:
        reasons.append("median interval " + ("undefined (too few runs)" if hw == float("inf") else f"±{hw:.1%}") + f" > ±{target:.0%} when the budget ran out")
    short = [f"CV {cv:.0%}" if cv > CV_NOISY else "", f"load {run.foreign_load:.0%}" if run.foreign_load > FOREIGN_NOISY else "",
             (f"CI ±{hw:.1%}" if hw != float("inf") else "CI n/a") if hw > target else ""]
    return {"noisy": bool(reasons), "reasons": reasons, "short": ", ".join(s for s in short if s), "cv": cv, "foreign_load": run.foreign_load,
            "loadavg": run.loadavg, "median_halfwidth": None if hw == float("inf") else hw}
