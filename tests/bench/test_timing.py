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


def test_a_spent_budget_ends_the_loop_before_the_rule_asks_for_confirming_rounds():
    """Rounds that cost more than the budget: the loop takes its SMALL_SAMPLE rounds and stops there, though the
    rule holds, rather than timing them twice over (the budget chose the stop, not the intervals)."""
    run = timing.measure({"a": lambda: time.sleep(0.02), "b": lambda: time.sleep(0.01)}, budget_s=0.05, target=0.9,
                         warmup_s=0, min_warmup=1, baseline="a")
    assert run.stop_reason == "budget" and run.pilot_rounds == 0
    assert len(run.seconds["a"]) == timing.SMALL_SAMPLE
    assert run.round_s == pytest.approx(0.03, rel=0.5) and run.warmup_s > 0.02


def test_latency_metrics_have_percentiles_with_intervals():
    m = timing.latency_metrics(np.linspace(0.010, 0.020, 101))
    assert m["latency_p50_ms"].value == pytest.approx(15.0)
    assert m["latency_p99_ms"].value == pytest.approx(19.9)
    assert m["latency_p50_ms"].low < 15.0 < m["latency_p50_ms"].high
    assert m["latency_std_ms"].unit == "ms" and m["latency_mean_ms"].low is None  # a point: see latency_metrics


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


def _simulation():
    """benchmarks/coverage.py, the shipped coverage simulation."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "coverage.py"
    spec = importlib.util.spec_from_file_location("coverage_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _floor(seeds: int) -> float:
    """94%, less 2.5 standard errors of a 95% coverage measured over `seeds` seeds."""
    return 0.94 - 2.5 * (0.95 * 0.05 / seeds) ** 0.5


def test_tail_percentiles_cover_at_10_rounds():
    """p90/p95/p99 of 10 rounds: a bootstrap never passes the largest timing, so its p99 covered 8% of the time;
    the order-statistic interval leaves the upper end open instead."""
    rows = _simulation().latency_rows(1000, round_counts=(10,), few=())
    tails = {r["kind"]: r["coverage"] for r in rows if r["kind"] in ("latency p90", "latency p95", "latency p99")}
    assert len(tails) == 3 and all(c >= _floor(1000) for c in tails.values()), tails


def test_adaptive_stopping_keeps_95_percent():
    """Stopping once the interval looks narrow enough chose too-narrow intervals: 88% coverage on timings with
    two modes. Intervals from the rounds timed after the rule held keep 95%."""
    rows = _simulation().adaptive_rows(300, settings=(("two modes 20% apart, bursts", 0.03, 1000, False),))
    assert len(rows) == 1 and rows[0]["coverage"] >= _floor(300), rows


def test_quantile_interval_ends_and_unbounded_upper():
    x = np.arange(1.0, 11.0)  # 10 calls
    low, high = timing.quantile_interval(x, 0.99)
    assert (low, high) == (9.0, None)  # x(9): P(Bin(10, 0.99) >= 9) = 99.6%; no x(u) bounds it above
    assert timing.quantile_interval(x, 0.5) == (2.0, 9.0)  # the classic [x(2), x(9)] of 10
    assert timing.quantile_interval(np.arange(400.0), 0.99)[1] is not None  # 400 calls bound p99 above
    m = timing.latency_metrics(x / 1e3)["latency_p99_ms"]
    assert m.high is None and m.fmt() == "9.91 [9, ?] ms" and m.method == "order_statistic_quantile"


def test_measure_reports_rounds_timed_after_the_rule_held():
    run = timing.measure({"a": lambda: None, "b": lambda: None}, budget_s=5, target=0.5, min_rounds=6,
                         warmup_s=0, min_warmup=0)
    assert run.stop_reason == "converged" and run.pilot_rounds >= 6
    assert len(run.seconds["a"]) == run.pilot_rounds == len(run.extras["b"])
    assert "rounds timed after it" in run.how
