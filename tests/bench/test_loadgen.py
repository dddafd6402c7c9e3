"""MLPerf LoadGen drives a simulated system under test (a batch of k requests sleeps a + b * k seconds) through
tradeoff's dynamic batcher: trials of half a second to a few seconds, on the real clock."""
import math
import time
from pathlib import Path

import numpy as np
import pytest

from tradeoff.bench import loadgen, serving


def sleeper(a: float, b: float, seen: list | None = None):
    """A batch that sleeps its cost: the CPU stays free for LoadGen's thread, as a model's kernels leave the GIL."""
    def run_batch(idx: np.ndarray) -> None:
        if seen is not None:
            seen.append(np.asarray(idx).copy())
        time.sleep(a + b * len(idx))
    return run_batch


def trial(rate, tmp_path, a=0.002, b=0.0005, queries=500, bound_s=0.05, max_batch=8, max_wait_s=0.002, abort_s=1.0,
          seed=1, seen=None, name="t"):
    return serving.serve(sleeper(a, b, seen), rate, queries, max_batch, max_wait_s, abort_s, bound_s, 0.2, seed,
                         log_dir=str(tmp_path / name))


def test_a_light_load_is_valid_and_the_trial_keeps_loadgens_record(tmp_path):
    seen = []
    t = trial(400, tmp_path, seen=seen)
    assert t.verdict == "VALID" and not t.overloaded and t.sustained(0.05)
    assert t.offered >= 500 and t.served == t.offered and t.loadgen["query_count"] == t.offered
    assert all(1 <= len(i) <= 8 for i in seen) and sum(map(len, seen)) == t.offered and max(t.batch_sizes) <= 8
    assert np.all(np.concatenate(seen) < 1024)  # LoadGen's sample indices, within its sample library
    assert (np.diff(t.arrivals) >= 0).all() and t.arrivals[0] == 0.0 and (t.schedule_errors >= 0).all()
    # tradeoff's p99 is computed on LoadGen's own latencies: the two agree
    assert t.quantile(0.99)[0] * 1e9 == pytest.approx(t.loadgen["p99_ns"], rel=0.05)
    s = t.summary(0.05)
    assert s["loadgen_verdict"] == "VALID" and s["early_stopping"] == "Run successful."
    assert s["loadgen_settings"]["target_qps"] == 400 and s["loadgen_settings"]["target_latency_ns"] == 50_000_000
    assert s["loadgen_settings"]["min_query_count"] == 500 and s["loadgen_settings"]["schedule_rng_seed"] == 1
    assert s["loadgen_settings"]["min_duration_ms"] == 200 and s["loadgen_settings"]["version"].startswith("6.0.17")
    logs = Path(s["log_dir"])
    assert (logs / "mlperf_log_summary.txt").is_file() and (logs / "mlperf_log_detail.txt").is_file()
    assert "Result is : VALID" in (logs / "mlperf_log_summary.txt").read_text()
    assert not (logs / loadgen.TRACE).exists()  # read for the latencies, then removed
    assert 0.45 <= t.achieved_qps / 400 <= 1.3


def test_a_rate_past_capacity_is_invalid_with_loadgens_early_stopping_estimate(tmp_path):
    # full batches complete 8 / (0.004 + 8 * 0.001) = 667 queries/s; 3,000 offered
    t = trial(3000, tmp_path, a=0.004, b=0.001, queries=1500, abort_s=0.3)
    assert t.verdict == "INVALID" and not t.sustained(0.05) and t.surely_failed(0.05)
    assert t.overloaded and t.served < t.offered and math.isinf(t.quantile(0.99)[0])
    s = t.summary(0.05)
    assert s["early_stopping"].startswith("Run unsuccessful") and s["early_stopping_more_queries"] > 0
    assert t.loadgen["overlatency_queries"] > 0.01 * t.offered


def test_each_seed_is_its_own_reproducible_schedule(tmp_path):
    a, b, c = (trial(800, tmp_path, a=0.0, b=0.0, seed=s, name=f"s{k}") for k, s in enumerate((5, 5, 6)))
    assert len(a.arrivals) == len(b.arrivals) and np.allclose(a.arrivals, b.arrivals, atol=1e-5)
    assert len(a.arrivals) != len(c.arrivals) or not np.allclose(a.arrivals, c.arrivals, atol=1e-5)


def test_the_batcher_waits_at_most_max_wait_for_a_batch_to_fill(tmp_path):
    seen = []
    t = trial(200, tmp_path, a=0.0, b=0.0, max_batch=4, max_wait_s=0.010, seen=seen)
    assert max(map(len, seen)) <= 4 and t.served == t.offered
    # free compute: latency is the batching wait plus LoadGen's issue delay (a loaded machine adds a little)
    assert float(np.median(t.latencies)) <= 0.010 + 0.005


def test_a_failing_batch_ends_the_run_and_raises(tmp_path):
    def broken(idx):
        raise ValueError("model broke")

    with pytest.raises(ValueError, match="model broke"):
        serving.serve(broken, 500, 500, 8, 0.002, 1.0, 0.05, 0.2, 0, log_dir=str(tmp_path / "x"))


def test_the_capacity_search_runs_loadgen_trials(tmp_path):
    """The search over LoadGen trials brackets the simulated server's capacity; every trial keeps a verdict, and
    the rates it calls sustained are VALID under LoadGen."""
    k = iter(range(100))

    def run(rate, queries=0):
        return trial(rate, tmp_path, a=0.004, b=0.001, queries=max(500, queries), abort_s=0.3, bound_s=0.04,
                     seed=serving.trial_seed(0, "m", next(k)), name=f"r{rate:.0f}-{queries}")

    cap = serving.search({"m": run}, 0.04, {"m": 250.0}, budget_s=8.0, max_trials=4)["m"]
    assert cap.trials and all(t.verdict in ("VALID", "INVALID") for t in cap.trials)
    point, low, high = cap.estimate()
    assert 0 < point < 667 and cap.best().verdict == "VALID"  # below what full batches complete
    assert all(t.verdict == "VALID" for t in cap.trials if t.sustained(0.04))
    assert high is None or high > point


def test_with_too_few_queries_loadgens_early_stopping_refuses_even_a_clean_run(tmp_path):
    """LoadGen's early stopping needs about 460 queries before it accepts a p99 with none over the bound: a shorter
    trial is INVALID however fast the server, and so not sustained."""
    t = trial(800, tmp_path, a=0.0, b=0.0, queries=300)
    assert t.loadgen["overlatency_queries"] == 0 and t.verdict == "INVALID" and not t.sustained(0.05)
    assert t.loadgen["early_stopping_more_queries"] > 0
