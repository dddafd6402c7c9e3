"""Coverage of every interval the tool prints: simulate each kind with a known truth over many seeds and count
how often the printed interval holds the truth.

Each kind (`tradeoff.coverage.KINDS`) is made by the project's own functions on simulated data: log-normal
timings (CV 10%) with bursts shared by a round, bursts of one call and a slow drift for latency; the real stop
loop (`timing.measure`, its clock replaced by the simulated times) for adaptive stopping; skewed classes,
heteroscedastic regression and small and large row counts for quality; a fake foreign load for hardware peaks.
Serving kinds come from `benchmarks/coverage_serving.py` (`parts(fast)`) when it is there. A kind passes at 94%
or more; kinds printed without an interval are checked against their own promise (share of runs keeping it).
Each group is split into independent parts run over `--jobs` processes (2 by default), each seeding its own
draws, so the table is that of a serial run (`--jobs 1`) and only the wall time changes.

    .venv/bin/python benchmarks/coverage.py [--fast] [--only GROUP] [--markdown] [--jobs N]
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import math
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from tradeoff import coverage as registry

PASS_AT = 0.94
TRUTH_DRAWS = 400_000


# -- simulated timings ----------------------------------------------------------------------------

def noise(rng, rounds: int, calls: int = 1, drift: float = 0.05, round_burst: float = 0.05, call_burst: float = 0.02,
          cv: float = 0.10):
    """Multiplicative factors, shape (rounds, calls): log-normal per call (coefficient of variation `cv`), a burst
    shared by a round's calls (a neighbour), a burst of one call, and a linear drift of ±drift/2 over the run."""
    f = np.exp(math.sqrt(math.log(1 + cv ** 2)) * rng.standard_normal((rounds, calls)))
    shared = np.where(rng.random((rounds, 1)) < round_burst, rng.uniform(1.3, 2.5, (rounds, 1)), 1.0)
    own = np.where(rng.random((rounds, calls)) < call_burst, rng.uniform(1.2, 2.0, (rounds, calls)), 1.0)
    ramp = 1 + drift * (np.arange(rounds) / max(rounds - 1, 1) - 0.5)
    return f * shared * own * ramp[:, None]


def truth_of(statistic, rounds: int, drift: float, calls: int = 1, seed: int = 12345, cv: float = 0.10) -> float:
    """`statistic` of the marginal distribution over a run of `rounds` rounds (the drift makes it depend on them)."""
    rng = np.random.default_rng(seed)
    reps = max(1, TRUTH_DRAWS // rounds)
    x = noise(rng, rounds * reps, calls, drift=0.0, cv=cv)
    ramp = 1 + drift * (np.tile(np.arange(rounds), reps) / max(rounds - 1, 1) - 0.5)
    return float(statistic(x * ramp[:, None]))


def covers(m, truth: float) -> bool | None:
    """Whether a Metric's interval holds the truth (an open end holds everything); None when it has no interval."""
    low = m.low if m.low is not None and m.low == m.low else None
    high = m.high if m.high is not None and m.high == m.high else None
    if low is None and high is None:
        return None
    return (low is None or low <= truth) and (high is None or truth <= high)


def tally(hits: list) -> tuple[float, int, int]:
    """(coverage among intervals printed, seeds, seeds printing none)."""
    shown = [h for h in hits if h is not None]
    return (float(np.mean(shown)) if shown else float("nan")), len(hits), len(hits) - len(shown)


def row(kind: str, setting: str, hits: list, note: str = "", seeds: int | None = None) -> dict:
    cov, n, none = tally(hits)
    extra = [note] if note else []
    if none:
        extra.append(f"{none} of {n} printed no interval")
    return {"kind": kind, "setting": setting + (f" ({'; '.join(extra)})" if extra else ""), "seeds": seeds or n,
            "coverage": cov, "method": registry.kind(kind).method}


# -- latency --------------------------------------------------------------------------------------

def latency_rows(seeds: int, round_counts=(10, 30, 100, 500), few=(3, 4, 5)) -> list[dict]:
    """500 rounds: a single-stream run's least, its queries one after another in one run under the same noise."""
    from tradeoff.bench import timing, workloads

    out = []
    for rounds in round_counts:
        truths = {name: truth_of(lambda x, q=q: np.percentile(x[:, 0], q), rounds, 0.05) for name, q in timing.PERCENTILES.items()}
        hits = {name: [] for name in truths} | {"throughput": []}
        for s in range(seeds):
            x = noise(np.random.default_rng(s), rounds)[:, 0] * 0.030
            m = timing.latency_metrics(x)
            for name in truths:
                hits[name].append(covers(m[f"latency_{name}_ms"], truths[name] * 30.0))
            p50 = m["latency_p50_ms"]
            tput = workloads.inverse(p50.model_copy(update={"value": p50.value / 1e3, "low": p50.low / 1e3, "high": p50.high / 1e3}), 1, "samples/s")
            hits["throughput"].append(covers(tput, 1 / (truths["p50"] * 0.030)))
        setting = f"{rounds} rounds, CV 10%, bursts, drift 5%"
        out += [row(f"latency {name}", setting, hits[name]) for name in truths]
        out.append(row("throughput", setting, hits["throughput"]))
    for rounds in few:
        truth = truth_of(lambda x: np.median(x[:, 0]), rounds, 0.0)
        hits = [covers(timing.median_metric(noise(np.random.default_rng(s), rounds, drift=0.0)[:, 0]), truth) for s in range(seeds)]
        out.append(row("latency p50 (3-5 rounds)", f"{rounds} rounds, CV 10%, bursts", hits))
    return out


def speedup_rows(seeds: int) -> list[dict]:
    from tradeoff.bench import paired

    out = []
    for rounds, ratio in ((10, 2.0), (30, 2.0), (100, 1.2)):
        truth = truth_of(lambda x: np.median(x[:, 0] / x[:, 1]), rounds, 0.05, calls=2) * ratio
        hits = []
        for s in range(seeds):
            f = noise(np.random.default_rng(s), rounds, calls=2)
            hits.append(covers(paired.speedup(0.3 * f[:, 0] * ratio, 0.3 * f[:, 1]), truth))
        out.append(row("speed-up", f"{rounds} rounds, true {ratio:g}x, CV 10%, shared bursts", hits))
    return out


class _SimTimer:
    """A Timer whose calls return their simulated duration."""

    def __init__(self, device: str = "cpu"):
        pass

    def time(self, fn):
        return fn(), None


def two_modes(rng, rounds: int, calls: int = 1):
    """Timings with two modes 20% apart, half the calls in each (a fast and a slow path, two kinds of core), each
    mode log-normal with CV 4%, plus the bursts of `noise`."""
    mode = np.where(rng.random((rounds, calls)) < 0.5, 1.0, 1.2)
    return mode * noise(rng, rounds, calls, drift=0.0, cv=0.04)


SHAPES = {"CV 10%, bursts": lambda rng, rounds, calls: noise(rng, rounds, calls, drift=0.0),
          "two modes 20% apart, bursts": two_modes}


def adaptive_rows(seeds: int, settings=(("CV 10%, bursts", 0.03, 250, True), ("CV 10%, bursts", 0.03, 40, True),
                                        ("two modes 20% apart, bursts", 0.03, 1000, False),
                                        ("two modes 20% apart, bursts", 0.05, 300, True))) -> list[dict]:
    """The real stop loop (`timing.measure`) on simulated timings, per setting (shape, target, most rounds, A/B pair
    or one model alone); no drift, so the truth does not depend on when it stops."""
    from tradeoff.bench import paired, timing

    out = []
    real = timing.Timer
    timing.Timer = _SimTimer
    try:
        for shape, target, cap, pair in settings:
            draw = SHAPES[shape]
            big = draw(np.random.default_rng(4242), TRUTH_DRAWS, 2)
            truth_med, truth_ratio = float(np.median(big[:, 0])), float(np.median(big[:, 0] / big[:, 1]))
            p50, ratio, rounds = [], [], []
            for s in range(seeds):
                f = draw(np.random.default_rng(s), 2 * cap, 2)  # enough for the rounds that confirm
                it = {"a": iter(0.06 * f[:, 0]), "b": iter(0.03 * f[:, 1])} if pair else {"a": iter(0.06 * f[:, 0])}
                run = timing.measure({n: (lambda n=n: next(it[n])) for n in it}, budget_s=1e9, target=target,
                                     max_rounds=cap, warmup_s=0.0, min_warmup=0, baseline="a" if pair else None)
                rounds.append(len(run.seconds["a"]) + getattr(run, "pilot_rounds", 0))
                p50 += [covers(timing.median_metric(run.seconds[n]), truth_med * (0.06 if n == "a" else 0.03)) for n in it]
                if pair:
                    ratio.append(covers(paired.speedup(run.seconds["a"], run.seconds["b"]), truth_ratio * 2))
            setting = (f"{shape}, {'A/B pair' if pair else 'one model'}, target ±{target:.0%}, at most {cap} rounds "
                       f"(median {int(np.median(rounds))} timed)")
            out.append(row("adaptive stopping (p50, speed-up)", "p50, " + setting, p50, seeds=seeds))
            if pair:
                out.append(row("adaptive stopping (p50, speed-up)", "speed-up, " + setting, ratio))
    finally:
        timing.Timer = real
    return out


# -- quality --------------------------------------------------------------------------------------

def _classes(rng, n: int, prior, confusion):
    """Labels from `prior` and predictions from each label's row of `confusion`."""
    y = rng.choice(len(prior), n, p=prior)
    cum = np.cumsum(confusion, axis=1)
    pred = (rng.random(n)[:, None] > cum[y]).sum(axis=1)
    return y, np.minimum(pred, len(prior) - 1)


def _macro_f1_truth(prior, confusion) -> float:
    joint = np.asarray(prior)[:, None] * np.asarray(confusion)
    tp, t, p = np.diag(joint), joint.sum(1), joint.sum(0)
    return float(np.mean(2 * tp / (t + p)))


def _regression(rng, n: int, rho_noise: float):
    """STS-B-like: scores 0-5 piled at the ends, predictions with noise growing with the score."""
    target = 5 * rng.beta(0.7, 0.7, n)
    prediction = target + rho_noise * (0.5 + target / 5) * rng.standard_normal(n)
    return target, prediction


def _pearson_truth(rho_noise: float) -> float:
    t, p = _regression(np.random.default_rng(999), 2_000_000, rho_noise)
    return float(np.corrcoef(t, p)[0, 1])


def accuracy_rows(seeds: int) -> list[dict]:
    from tradeoff.evaluate import metrics

    out = []
    for n, p in ((50, 0.9), (200, 0.97), (872, 0.75)):
        hits = []
        for s in range(seeds):
            rng = np.random.default_rng(s)
            y = rng.integers(0, 2, n)
            pred = np.where(rng.random(n) < p, y, 1 - y)
            hits.append(covers(metrics.compute("accuracy", {"y_true": y, "y_pred": pred}), 100 * p))
        out.append(row("accuracy", f"n {n}, true {p:.0%}", hits))
    return out


PRIOR, CONFUSION = [0.7, 0.2, 0.1], [[0.9, 0.07, 0.03], [0.25, 0.7, 0.05], [0.2, 0.2, 0.6]]


def macro_f1_rows(boot_seeds: int, n: int) -> list[dict]:
    from tradeoff.evaluate import metrics

    f1 = 100 * _macro_f1_truth(PRIOR, CONFUSION)
    hits = [covers(metrics.compute("macro_f1", dict(zip(("y_true", "y_pred"), _classes(np.random.default_rng(s), n, PRIOR, CONFUSION)))), f1)
            for s in range(boot_seeds)]
    return [row("F1, MCC, perplexity", f"macro-F1, n {n}, classes 70/20/10%", hits)]


def pearson_rows(seeds: int, n: int) -> list[dict]:
    from tradeoff.evaluate import metrics

    rho = _pearson_truth(1.0)
    hits = [covers(metrics.compute("pearson", dict(zip(("target", "prediction"), _regression(np.random.default_rng(s), n, 1.0)))), rho)
            for s in range(seeds)]
    return [row("correlations", f"Pearson, n {n}, STS-B-like, true {rho:.2f}", hits)]


def _binary(rng, n: int, positive: float, sensitivity: float, specificity: float):
    """Two classes, `positive` of them class 1, each predicted right with its own rate."""
    y = (rng.random(n) < positive).astype(int)
    right = rng.random(n) < np.where(y == 1, sensitivity, specificity)
    return {"y_true": y, "y_pred": np.where(right, y, 1 - y)}


def _documents(rng, n: int):
    """Perplexity windows: token counts log-normal around 300, each window's mean NLL its own (hard and easy text)."""
    tokens = np.maximum(1, rng.lognormal(np.log(300), 0.6, n)).astype(int)
    nll = tokens * rng.gamma(16.0, 3.2 / 16.0, n)
    return {"nll": nll, "tokens": tokens}


def _entities(rng, n: int):
    """NER sentences: Poisson(1.5) gold entities, each found with probability 0.8, Poisson(0.3) spurious ones."""
    gold = rng.poisson(1.5, n)
    tp = rng.binomial(gold, 0.8)
    return {"tp": tp, "fp": rng.poisson(0.3, n), "fn": gold - tp}


def _mse_truth() -> float:
    """The MSE of `_regression`'s predictions at noise scale 1 (`_correlated`'s at scale c: c^2 times it)."""
    t, pr = _regression(np.random.default_rng(998), 2_000_000, 1.0)
    return float(np.mean((t - pr) ** 2))


def _other_metric(name: str) -> tuple[str, float, Callable]:
    """(setting, truth, draw(rng)) of a bootstrapped metric beside macro-F1 at its GLUE-like size, truth from the
    generating law: MCC (CoLA: 70% acceptable, n 400), F1 of class 1 (MRPC: 68% paraphrases, n 408), MSE
    (STS-B-like, n 400), perplexity (100 windows of varied length and difficulty), entity F1 (500 WNUT-like
    sentences)."""
    if name == "mcc":
        pos, sens, spec = 0.7, 0.9, 0.5
        p11, p10, p01, p00 = pos * sens, pos * (1 - sens), (1 - pos) * (1 - spec), (1 - pos) * spec  # (true, predicted)
        mcc = (p11 * p00 - p10 * p01) / math.sqrt((p11 + p10) * (p01 + p00) * (p11 + p01) * (p10 + p00))
        return f"MCC, n 400, 70/30 classes, true {mcc:.3f}", mcc, lambda r: _binary(r, 400, pos, sens, spec)
    if name == "f1":
        mrpc = (0.68, 0.9, 0.6)
        q11, q10, q01 = mrpc[0] * mrpc[1], mrpc[0] * (1 - mrpc[1]), (1 - mrpc[0]) * (1 - mrpc[2])
        f1 = 2 * q11 / (2 * q11 + q10 + q01)
        return f"F1 of class 1, n 408, 68/32 classes, true {100 * f1:.1f}%", 100 * f1, lambda r: _binary(r, 408, *mrpc)
    if name == "mse":
        mse = _mse_truth()
        return (f"MSE, n 400, STS-B-like, true {mse:.3f}", mse,
                lambda r: dict(zip(("target", "prediction"), _regression(r, 400, 1.0))))
    if name == "perplexity":
        big = _documents(np.random.default_rng(997), 2_000_000)
        ppl = float(np.exp(big["nll"].sum() / big["tokens"].sum()))
        return f"perplexity, 100 windows of varied length and difficulty, true {ppl:.2f}", ppl, lambda r: _documents(r, 100)
    return ("entity F1, 500 sentences, recall 80%, 0.3 spurious per sentence, true 80.0%", 80.0,
            lambda r: _entities(r, 500))


def other_metric_rows(seeds: int, name: str) -> list[dict]:
    from tradeoff.evaluate import metrics

    setting, truth, draw = _other_metric(name)
    return [row("MSE" if name == "mse" else "F1, MCC, perplexity", setting,
                [covers(metrics.compute(name, draw(np.random.default_rng(s))), truth) for s in range(seeds)])]


def _pair(rng, n: int, p_base: float, p_other: float, agree: float = 0.9):
    """Two classifiers on the same rows: correct indicators with P(both agree on a row) raised by shared difficulty."""
    y = rng.integers(0, 2, n)
    u = rng.random(n)
    base = u < p_base
    other = np.where(rng.random(n) < agree, u < p_other, rng.random(n) < p_other)
    return ({"y_true": y, "y_pred": np.where(other, y, 1 - y)}, {"y_true": y, "y_pred": np.where(base, y, 1 - y)})


def _correlated(rng, n: int, scales: tuple[float, float]):
    """Two regressors on the same STS-B-like rows, their errors correlated (0.36 shared variance)."""
    t = 5 * rng.beta(0.7, 0.7, n)
    shared = rng.standard_normal(n)
    return [{"target": t, "prediction": t + c * (0.5 + t / 5) * (0.6 * shared + 0.8 * rng.standard_normal(n))} for c in scales]


def paired_accuracy_rows(seeds: int) -> list[dict]:
    from tradeoff.evaluate import metrics

    out = []
    for n, pb, po in ((200, 0.9, 0.85), (872, 0.91, 0.89)):
        diff, ret = [], []
        for s in range(seeds):
            other, base = _pair(np.random.default_rng(s), n, pb, po)
            diff.append(covers(metrics.paired_difference("accuracy", other, base), 100 * (po - pb)))
            ret.append(covers(metrics.retained("accuracy", other, base), 100 * po / pb))
        out.append(row("paired difference (accuracy)", f"n {n}, {po:.0%} vs {pb:.0%}", diff))
        out.append(row("retained % (accuracy)", f"n {n}, {po:.0%} of {pb:.0%}", ret))
    return out


def paired_correlation_rows(seeds: int, n: int) -> list[dict]:
    from tradeoff.evaluate import metrics

    cb, co = 0.6, 0.8
    rb, ro = _pearson_truth(cb), _pearson_truth(co)
    diff, ret = [], []
    for s in range(seeds):
        base, other = _correlated(np.random.default_rng(s), n, (cb, co))
        diff.append(covers(metrics.paired_difference("pearson", other, base), ro - rb))
        ret.append(covers(metrics.retained("pearson", other, base), 100 * ro / rb))
    setting = f"Pearson, n {n}, STS-B-like, {ro:.2f} vs {rb:.2f}"
    return [row("paired difference (correlations)", setting, diff), row("retained % (correlations)", setting, ret)]


def near_zero_rows(seeds: int) -> list[dict]:
    from tradeoff.evaluate import metrics

    rb, ro = _pearson_truth(8.0), _pearson_truth(9.0)
    honest = []
    for s in range(seeds):
        base, other = _correlated(np.random.default_rng(s), 100, (8.0, 9.0))
        r = metrics.retained("pearson", other, base)
        honest.append(getattr(r, "method", None) == registry.NOT_MEANINGFUL or bool(covers(r, 100 * ro / rb)))
    return [row("retained % near a 0 baseline", f"Pearson, n 100, {ro:.2f} of {rb:.2f}; share shown not meaningful "
                                                "or covering", honest)]


def paired_macro_f1_rows(boot_seeds: int, which: str) -> list[dict]:
    """`which`: "paired difference" or "retained %", each a bootstrap of its own (run apart, in parallel)."""
    from tradeoff.evaluate import metrics

    worse = [[0.85, 0.1, 0.05], [0.3, 0.65, 0.05], [0.25, 0.25, 0.5]]
    fb, fo = 100 * _macro_f1_truth(PRIOR, CONFUSION), 100 * _macro_f1_truth(PRIOR, worse)
    hits = []
    for s in range(boot_seeds):
        rng = np.random.default_rng(s)
        y, base_pred = _classes(rng, 500, PRIOR, CONFUSION)
        u = rng.random(500)  # the same uniforms drive both: their errors fall on the same rows
        other_pred = np.minimum((u[:, None] > np.cumsum(worse, axis=1)[y]).sum(axis=1), 2)
        base_pred = np.minimum((u[:, None] > np.cumsum(CONFUSION, axis=1)[y]).sum(axis=1), 2)
        base, other = {"y_true": y, "y_pred": base_pred}, {"y_true": y, "y_pred": other_pred}
        if which == "paired difference":
            hits.append(covers(metrics.paired_difference("macro_f1", other, base), fo - fb))
        else:
            hits.append(covers(metrics.retained("macro_f1", other, base), 100 * fo / fb))
    return [row(f"{which} (other metrics)", f"macro-F1, n 500, classes 70/20/10%, {fo:.1f} vs {fb:.1f}", hits)]


def paired_mse_rows(seeds: int, n: int, scales=(1.0, 1.2)) -> list[dict]:
    """Two regressors on the same STS-B-like rows (`_correlated`), the second's errors `scales` times larger: the
    MSEs are the scales squared times one regressor's, so retained (baseline over model, lower is better) is
    (cb / co)^2 exactly."""
    from tradeoff.evaluate import metrics

    cb, co = scales
    unit = _mse_truth()
    diff, ret = [], []
    for s in range(seeds):
        base, other = _correlated(np.random.default_rng(s), n, scales)
        diff.append(covers(metrics.paired_difference("mse", other, base), (co ** 2 - cb ** 2) * unit))
        ret.append(covers(metrics.retained("mse", other, base), 100 * (cb / co) ** 2))
    setting = f"MSE, n {n}, STS-B-like, errors {co:g}x vs {cb:g}x, true {co ** 2 * unit:.3f} vs {cb ** 2 * unit:.3f}"
    return [row("paired difference (MSE)", setting, diff), row("retained % (MSE)", setting, ret)]


def seed_pooled_rows(boot_seeds: int, settings=((200, 3, 0.3), (872, 2, 0.2), (872, 5, 0.2))) -> list[dict]:
    """Several fine-tuning seeds scored on the same rows: row difficulty shared, a seed effect on top."""
    from tradeoff.compare import _seed_bootstrap

    out = []
    for n, k, spread in settings:
        rng = np.random.default_rng(777)
        d, e = rng.normal(2.0, 1.2, 400_000), rng.normal(0, spread, 400_000)
        truth = float(np.mean(1 / (1 + np.exp(-(d + e)))))
        hits = []
        for s in range(boot_seeds):
            rng = np.random.default_rng(s)
            y, difficulty = rng.integers(0, 2, n), rng.normal(2.0, 1.2, n)
            side = []
            for _ in range(k):
                right = rng.random(n) < 1 / (1 + np.exp(-(difficulty + rng.normal(0, spread))))
                side.append({"y_true": y, "y_pred": np.where(right, y, 1 - y)})
            point, low, high = _seed_bootstrap("accuracy", [side], lambda m: m)
            hits.append(low <= truth <= high)
        out.append(row("seed-pooled mean", f"accuracy, n {n}, {k} seeds, seed spread {spread:g} logit", hits))
    return out


# -- hardware -------------------------------------------------------------------------------------

TRUE_PEAK = 1e11


@contextlib.contextmanager
def _fake_hardware(loads, rng, flags=frozenset({"avx2", "fma"})):
    """hardware's limits on a simulated machine: each measurement sees the next foreign load of `loads`, and a
    best-of under load L reaches (1 - L) of the true peak, less a little noise."""
    from tradeoff.bench import hardware, timing

    now = {}

    class FakeLoad:
        def __enter__(self):
            self.foreign = now["load"] = float(next(loads))
            return self

        def __exit__(self, *exc):
            return False

    def measured() -> float:
        return TRUE_PEAK * (1 - now["load"]) * rng.uniform(0.97, 1.0)

    names = ("measure_matmul", "measure_bandwidth", "_fingerprint", "cpu_flags", "theoretical_flops")
    saved, saved_load, saved_cache = {n: getattr(hardware, n) for n in names}, timing.Load, os.environ.get("TRADEOFF_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TRADEOFF_CACHE"] = tmp
        timing.Load = FakeLoad
        hardware.measure_matmul = lambda device, dtype, **kw: {1024: measured()}
        hardware.measure_bandwidth = lambda device, **kw: measured()
        hardware._fingerprint = lambda device: "simulated"
        hardware.cpu_flags = lambda: flags
        hardware.theoretical_flops = lambda device, dtype, threads: (None, "simulated")
        hardware._MEMO.clear()
        try:
            yield hardware
        finally:
            for n, v in saved.items():
                setattr(hardware, n, v)
            timing.Load = saved_load
            if saved_cache is None:
                os.environ.pop("TRADEOFF_CACHE", None)
            else:
                os.environ["TRADEOFF_CACHE"] = saved_cache
            hardware._MEMO.clear()


def hardware_rows(seeds: int, processes: int = 8) -> list[dict]:
    """Runs (processes) on a machine whose neighbours are busy half the time: a peak a run calls quiet must be
    within 5% of the true one, else every utilisation divided by it is overstated."""
    out = []
    for what in ("utilisation", "decode bandwidth utilisation"):
        kept = []
        for s in range(seeds):
            rng = np.random.default_rng(s)
            busy = rng.random(processes) < 0.5
            loads = iter(np.where(busy, rng.uniform(0.03, 0.3, processes), rng.uniform(0.0, 0.015, processes)))
            with _fake_hardware(loads, rng) as hw:
                for _ in range(processes):
                    hw._MEMO.clear()  # the next process
                    limit = hw.peak("cpu", "fp32", 1) if what == "utilisation" else hw.bandwidth("cpu", 1)
                    kept.append(not limit.quiet or limit.measured >= 0.95 * TRUE_PEAK)
        out.append(row(what, f"{processes} runs per seed, half with neighbours using 3-30% of the CPUs; "
                             "share of runs whose 'quiet' limit is within 5% of the truth", kept, seeds=seeds))
    rng = np.random.default_rng(0)
    with _fake_hardware(iter([0.0] * 4), rng) as hw:
        try:
            quoted = hw.peak("cpu", "bf16", 1) is not None
        except ValueError:
            quoted = False
    out.append(row("utilisation", "bf16 on a CPU without native bf16; share with no utilisation against an "
                                  "emulated peak", [not quoted]))
    return out


# -- the table ------------------------------------------------------------------------------------

def serving_parts(fast: bool) -> list:
    """`benchmarks/coverage_serving.py`'s parts (`parts(fast)`), or one that says it is absent."""
    path = Path(__file__).with_name("coverage_serving.py")
    if not path.exists():
        return [functools.partial(_absent_serving)]
    spec = importlib.util.spec_from_file_location("coverage_serving", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses (and the worker processes) look their module up
    spec.loader.exec_module(module)
    return module.parts(fast)


def _absent_serving() -> list[dict]:
    return [{"kind": k.name, "setting": "not simulated (benchmarks/coverage_serving.py absent)", "seeds": 0,
             "coverage": float("nan"), "method": k.method} for k in registry.KINDS if k.serving]


GROUPS = ("latency", "speed-up", "adaptive", "quality", "paired", "seed-pooled", "hardware", "serving")
ADAPTIVE = (("CV 10%, bursts", 0.03, 250, True), ("CV 10%, bursts", 0.03, 40, True),
            ("two modes 20% apart, bursts", 0.03, 1000, False), ("two modes 20% apart, bursts", 0.05, 300, True))
OTHER = ("mcc", "f1", "mse", "perplexity", "entity_f1")
SEED_POOLED = ((200, 3, 0.3), (872, 2, 0.2), (872, 5, 0.2))


def plan(fast: bool) -> dict[str, list]:
    """Each group's parts: independent calls (picklable partials) whose rows, concatenated, are the group's.

    Seeds per kind follow one policy: `cheap` seeds (4,000) for every interval that is closed-form or vectorised
    (order statistics, Clopper-Pearson, jackknife, MSE's bootstrap-t), `boot` (500) where each seed runs a
    Python-loop bootstrap of 2,000 resamples (macro-F1, MCC, F1, perplexity, entity F1, their paired forms,
    seed-pooled), 2,000 for adaptive stopping (each seed runs the stop loop over hundreds of rounds) and
    1,000 for hardware (8 runs each); serving's trials set their own (`coverage_serving.parts`)."""
    P = functools.partial
    if fast:  # the test suite's form: every group, its cheapest settings, seeds enough to catch a real shortfall
        cheap, boot, paired, adaptive, hardware = 1000, 100, 300, 300, 200
        adaptive_settings, f1_sizes, pooled, boot_paired = (ADAPTIVE[0], ADAPTIVE[2]), (200,), SEED_POOLED[1:2], 70
    else:
        cheap, boot, paired, adaptive, hardware = 4000, 500, 4000, 2000, 1000
        adaptive_settings, f1_sizes, pooled, boot_paired = ADAPTIVE, (200, 1000), SEED_POOLED, 500
    return {
        "latency": [P(latency_rows, cheap)], "speed-up": [P(speedup_rows, cheap)],
        "adaptive": [P(adaptive_rows, adaptive, (x,)) for x in adaptive_settings],
        "quality": [P(accuracy_rows, cheap), *(P(macro_f1_rows, boot, n) for n in f1_sizes),
                    *(P(other_metric_rows, cheap if name == "mse" else boot, name) for name in OTHER),
                    *(P(pearson_rows, cheap, n) for n in (100, 1500))],
        "paired": [P(paired_accuracy_rows, paired), *(P(paired_correlation_rows, paired, n) for n in (100, 1500)),
                   P(near_zero_rows, paired), *(P(paired_macro_f1_rows, boot_paired, w) for w in
                                                ("paired difference", "retained %")),
                   *(P(paired_mse_rows, paired, n) for n in (100, 400))],
        "seed-pooled": [P(seed_pooled_rows, boot, (x,)) for x in pooled],
        "hardware": [P(hardware_rows, hardware)],
        "serving": serving_parts(fast),
    }


def _timed(part) -> tuple[list[dict], float]:
    t0 = time.perf_counter()
    return part(), time.perf_counter() - t0


def timed(fast: bool = False, only: str | None = None, jobs: int = 1) -> tuple[list[dict], dict[str, float]]:
    """Every kind's rows (kind, setting, seeds, coverage, method) in the fixed group order, and each group's
    seconds (its parts' summed). jobs > 1 runs the parts over that many processes, each taking the next part as
    it frees (the largest is about a tenth of the total, so the processes end close together); every part seeds
    its own draws, so the rows are those of a serial run."""
    if only is not None and only not in GROUPS:
        raise ValueError(f"unknown --only {only!r}; choose from {', '.join(GROUPS)}")
    groups = {name: parts for name, parts in plan(fast).items() if only is None or only == name}
    todo = [(name, i, part) for name, parts in groups.items() for i, part in enumerate(parts)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {(name, i): pool.submit(_timed, part) for name, i, part in todo}
            done = {key: f.result() for key, f in futures.items()}
    else:
        done = {(name, i): _timed(part) for name, i, part in todo}
    rows, seconds = [], {}
    for name, parts in groups.items():
        for i in range(len(parts)):
            part_rows, took = done[(name, i)]
            rows += [{"method": registry.kind(r["kind"]).method, **r} for r in part_rows]
            seconds[name] = seconds.get(name, 0.0) + took
    for k in registry.KINDS:
        if not k.interval and not k.serving and not any(r["kind"] == k.name for r in rows) and only is None:
            rows.append({"kind": k.name, "setting": "printed without an interval: nothing to cover", "seeds": 0,
                         "coverage": float("nan"), "method": k.method})
    return rows, seconds


def run(fast: bool = False, only: str | None = None, jobs: int = 1) -> list[dict]:
    return timed(fast, only, jobs)[0]


def verdict(r: dict) -> str:
    if not r["seeds"] or r["coverage"] != r["coverage"]:
        return "-"
    return "PASS" if r["coverage"] >= PASS_AT else "FAIL"


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        name = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")
    except OSError:
        name = ""
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def table(rows: list[dict], markdown: bool = False) -> str:
    head = ["kind", "setting", "seeds", "coverage", "method", "vs 94%"]
    body = [[r["kind"], r["setting"], str(r["seeds"] or "-"),
             "-" if r["coverage"] != r["coverage"] else f"{r['coverage']:.1%}",
             r["method"], verdict(r)] for r in rows]
    if markdown:
        kinds = list(dict.fromkeys(r["kind"] for r in rows))
        methods = ["| kind | how its interval is made |", "|---|---|"] + [
            f"| {k} | {registry.method_of(k).replace('|', '/')} |" for k in kinds]
        return "\n".join(methods + [""] + ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(b) + " |" for b in body])
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(b) for b in body])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fast", action="store_true", help="fewer seeds (the test suite's form, under a minute)")
    ap.add_argument("--only", help="one group: " + ", ".join(GROUPS))
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2; 1: serial, same rows)")
    args = ap.parse_args(argv)
    import tradeoff

    t0 = time.perf_counter()
    if args.only is not None and args.only not in GROUPS:
        print(f"coverage.py: unknown --only {args.only!r}; choose from {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    rows, seconds = timed(args.fast, args.only, args.jobs)
    took = time.perf_counter() - t0
    flags = "".join(f" {f}" for f, on in (("--fast", args.fast), (f"--only {args.only}", args.only),
                                          (f"--jobs {args.jobs}", args.jobs != 2), ("--markdown", args.markdown)) if on)
    print(f"coverage of printed 95% intervals; {datetime.now(timezone.utc):%Y-%m-%d}, {machine()}, tradeoff "
          f"{tradeoff.__version__}, `benchmarks/coverage.py{flags}`, {took:.0f} s wall over {args.jobs} "
          f"process{'es' if args.jobs > 1 else ''}")
    print("seconds per group (its parts' sum): " + ", ".join(f"{g} {t:.0f}" for g, t in seconds.items()))
    print(table(rows, args.markdown))
    failed = [r for r in rows if verdict(r) == "FAIL"]
    print(f"{len(failed)} of {sum(verdict(r) != '-' for r in rows)} settings below {PASS_AT:.0%}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
