"""The stopping rule, the summaries and the noise flags, on synthetic timings."""
import time

import numpy as np
import pytest

from tradeoff.bench import paired, timing


def test_median_halfwidth_needs_samples_and_shrinks():
    rng = np.random.default_rng(0)
    assert timing.median_halfwidth([1.0] * 5) == float("inf")
    small = timing.median_halfwidth(rng.normal(1.0, 0.05, 20))
    large = timing.median_halfwidth(rng.normal(1.0, 0.05, 2000))
    assert 0 < large < small < 0.1
    assert timing.median_halfwidth(np.full(30, 2.0)) == 0.0


@pytest.mark.parametrize("n", [6, 9, 20, 60])
def test_median_halfwidth_covers_the_median_95_percent_of_the_time(n):
    """The stopping rule's interval is a real 95% one. One order statistic too narrow would cover 77% at n=6
    and 86% at n=20, so a pair would stop "within ±3%" while its bootstrap said ±6.5%."""
    rng = np.random.default_rng(n)
    trials = 4000
    covered = sum(abs(np.median(x) - 1.0) <= timing.median_halfwidth(x) * np.median(x)
                  for x in (rng.normal(1.0, 0.1, n) for _ in range(trials)))  # true median 1.0
    assert covered / trials >= 0.94


def test_measure_converges_on_a_steady_call_and_interleaves():
    order = []
    run = timing.measure({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                         budget_s=5, target=0.5, min_rounds=6, warmup_s=0, min_warmup=1)
    assert run.stop_reason == "converged"
    assert len(run.seconds["a"]) == len(run.seconds["b"]) >= 6
    timed = order[2:]  # after one warm-up call each: a b, then b a, a b, ...
    assert timed[:4] == ["a", "b", "b", "a"]


def test_measure_stops_at_the_budget_when_noise_never_settles():
    rng = np.random.default_rng(1)
    run = timing.measure({"x": lambda: time.sleep(float(rng.choice([0.0, 0.004])))}, budget_s=0.3, target=0.001,
                         warmup_s=0, min_warmup=1)
    assert run.stop_reason == "budget"
    noise = timing.noise(run.seconds["x"], run, 0.001)
    assert noise["noisy"] and any("variation" in r for r in noise["reasons"])


def test_latency_metrics_have_percentiles_with_intervals():
    m = timing.latency_metrics(np.linspace(0.010, 0.020, 101))
    assert m["latency_p50_ms"].value == pytest.approx(15.0)
    assert m["latency_p99_ms"].value == pytest.approx(19.9)
    assert m["latency_p50_ms"].low < 15.0 < m["latency_p50_ms"].high
    assert m["latency_std_ms"].unit == "ms" and m["latency_mean_ms"].low is not None


def test_pairing_cancels_shared_noise():
    """Both models slowed alike by a neighbour: the ratio stays tight although each series is wide."""
    rng = np.random.default_rng(2)
    load = rng.uniform(1.0, 8.0, 40)  # foreign load, shared by the two calls of a round
    model = 0.050 * load * rng.normal(1, 0.01, 40)
    base = 0.100 * load * rng.normal(1, 0.01, 40)
    s = paired.speedup(base, model)
    assert s.value == pytest.approx(2.0, rel=0.02)
    assert (s.high - s.low) / 2 / s.value < 0.02
    assert timing.median_halfwidth(model) > 0.1  # unpaired, the median alone is known to ±10% at best
