"""MLPerf LoadGen's SingleStream and Offline scenarios drive a simulated system under test whose batch sleeps a
known, slightly variable time: runs of under a second, on the real clock."""
import csv
import io
import time
from pathlib import Path

import numpy as np
import pytest

from tradeoff.bench import loadgen
from tradeoff.coverage import METHODS
from tradeoff.errors import BadInput


def sleeper(low: float, high: float, seed: int = 0):
    """A batch that sleeps uniformly between `low` and `high` seconds, leaving the CPU to LoadGen's threads."""
    rng = np.random.default_rng(seed)

    def run_batch(idx: np.ndarray) -> None:
        time.sleep(rng.uniform(low, high))
    return run_batch


def test_single_stream_keeps_loadgens_verdict_and_the_latencies_it_judged(tmp_path):
    run = loadgen.single_stream_run(sleeper(0.002, 0.005), 100, 0.5, seed=3, log_dir=tmp_path / "ss")
    assert run.verdict == "VALID" and set(run.batch_sizes) == {1}
    assert len(run.latencies_s) == run.loadgen["query_count"] >= 100
    assert run.loadgen["scenario"] == "SingleStream" and run.loadgen["min_duration_ms"] == 500
    assert run.loadgen["min_query_count"] == 100
    assert run.loadgen["schedule_rng_seed"] == 3 and run.loadgen["version"].startswith("6.0.17")
    assert run.loadgen["early_stopping_met"] and "90.0th percentile estimate" in run.loadgen["early_stopping"]
    assert (Path(run.log_dir) / "mlperf_log_summary.txt").is_file()
    m = loadgen.single_stream_metrics(run)
    p90 = m["latency_p90_ms"]
    assert p90.method in METHODS and p90.low <= p90.value <= p90.high
    # the simulated truth: uniform on 2-5 ms puts its p90 at 4.7 ms, plus LoadGen's and the OS's overhead
    assert 4.5 <= p90.value <= 6.0 and m["loadgen_p90_ms"].value == pytest.approx(p90.value, rel=0.05)
    assert m["loadgen_early_stopping_p90_ms"].value >= m["loadgen_p90_ms"].value * 0.99
    assert m["loadgen_valid"].value == 1.0 and m["loadgen_queries"].value == len(run.latencies_s)


def test_offline_batches_every_sample_and_its_throughput_matches_the_batch_time(tmp_path):
    # batches of 32 taking 3-4 ms: about 32 / 0.0035 = 9,100 samples/s
    run = loadgen.offline_run(sleeper(0.003, 0.004), 256, 32, 0.5, expected_qps=9000, seed=2,
                              log_dir=tmp_path / "off")
    assert run.verdict == "VALID" and max(run.batch_sizes) == 32
    assert sum(run.batch_sizes) == len(run.latencies_s) >= 0.5 * 9000
    assert run.loadgen["scenario"] == "Offline" and run.loadgen["min_duration_ms"] == 500
    assert run.loadgen["sample_index_rng_seed"] == 2
    assert (Path(run.log_dir) / "mlperf_log_summary.txt").is_file()
    m = loadgen.offline_metrics(run)
    assert 0.7 * 32 / 0.0035 <= m["throughput_per_s"].value <= 1.05 * 32 / 0.0035
    assert m["loadgen_samples_per_s"].value == pytest.approx(m["throughput_per_s"].value, rel=0.05)
    assert m["throughput_per_s"].method is None and m["loadgen_valid"].value == 1.0


def test_offline_too_short_for_its_duration_is_invalid(tmp_path):
    run = loadgen.offline_run(sleeper(0.003, 0.004), 64, 32, 0.5, expected_qps=10, seed=2, log_dir=tmp_path / "o")
    assert run.verdict == "INVALID" and not run.loadgen["min_duration_met"]
    assert loadgen.offline_metrics(run)["loadgen_valid"].value == 0.0


def test_single_stream_and_offline_cells_through_the_cli_give_loadgens_verdict_beside_the_figures(tiny, tmp_path, capsys):
    from tradeoff.cli import main
    from tradeoff.store import Store

    store = tmp_path / "s.db"
    for workload in ("single-stream", "offline"):
        assert main(["bench", tiny["tiny-bert"], tiny["tiny-distil"], "--backend", "eager", "--workload", workload,
                     "--shape", "1x16", "--min-duration", "0.3", "--max-batch", "4", "--threads", "1",
                     "--no-isolate", "--store", str(store), "-q", "--csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert len(rows) == 2 and all(r["LoadGen"] in ("VALID", "INVALID") and r["workload"] == workload for r in rows)
    with Store.open(store) as s:
        records = s.query(kind="bench")
    by = {(r.model, r.cell["workload"]): r for r in records}
    assert len(records) == 4 and all(r.status == "ok" for r in records), [r.error for r in records]
    assert not any("baseline" in r.cell for r in records)  # one LoadGen run per model: nothing paired
    for (model, workload), r in by.items():
        m, d = r.metrics, r.details
        assert d["loadgen"]["scenario"] == {"single-stream": "SingleStream", "offline": "Offline"}[workload]
        assert m["loadgen_valid"].value in (0.0, 1.0) and m["loadgen_queries"].value >= 500
        assert m["throughput_per_s"].value > 0 and m["peak_rss_mb"].value > 0
        assert d["texts"] > 0 and (Path(d["log_dir"]) / "mlperf_log_summary.txt").is_file()
        assert d["loadgen"]["library"] == d["texts"]  # LoadGen draws from the texts alone, each equally likely
        if workload == "single-stream":
            assert r.cell["batch"] == 1 and r.cell["dataset"] == "sst2"
            p90 = m["latency_p90_ms"]
            assert p90.method == "order_statistic_quantile" and p90.low <= p90.value <= p90.high
        else:
            assert r.cell["batch"] == 4 and 1 <= m["mean_batch"].value <= 4 and "latency_p90_ms" not in m


def test_scenario_cells_are_checked_before_any_work(tiny):
    from tradeoff.bench.spec import Cell
    from tradeoff.cli import main

    with pytest.raises(BadInput, match="one query at a time"):
        Cell.from_dict({"workload": "single-stream", "batch": 8, "seq_len": 16})
    assert Cell.from_dict({"workload": "offline", "batch": 8, "seq_len": 16}).as_dict()["dataset"] == "sst2"
    assert main(["bench", tiny["tiny-bert"], "--workload", "offline", "--data", "no-such-file.jsonl", "-q"]) == 2


def test_a_decoder_under_single_stream_is_skipped_with_the_workload_that_serves_it(tiny):
    from tradeoff.bench.runner import run_group
    from tradeoff.bench.spec import Cell, Group

    cell = Cell.from_dict({"backend": "eager", "workload": "single-stream", "batch": 1, "seq_len": 16}).as_dict()
    records = []
    run_group(Group(models=[tiny["tiny-llama"]], backend="eager", device="cpu", cells=[cell], threads=1), records.append)
    (r,) = records
    assert r.status == "skipped" and "--workload server" in r.error
