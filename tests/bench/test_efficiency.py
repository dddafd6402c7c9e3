"""Efficiency figures a user can trust, on real tiny models: memory as served (exports and
quantizations run in another process), utilisation never above 1, decode against the memory
bandwidth, dtypes labelled native or emulated, ONNX Runtime sessions that do not spin, and
cells this machine cannot run recorded as skipped."""
import os

import pytest

from conftest import FAST
from tradeoff.bench import hardware, run_cell
from tradeoff.bench.isolate import run_isolated
from tradeoff.bench.runner import run_group
from tradeoff.bench.spec import Group
from tradeoff.bench.source import Source
from tradeoff.bench.suite import BenchResult
from tradeoff.record import Record


def cell(backend, workload="fixed", batch=2, seq_len=16, **extra):
    return {"backend": backend, "device": "cpu", "workload": workload, "batch": batch, "seq_len": seq_len, **extra}


def group(models, backend, cells=None, **kw):
    return Group(models=models, backend=backend, device="cpu", cells=cells or [cell(backend)], threads=1, settings=FAST, **kw)


def run(models, backend, cells=None):
    records = []
    run_group(group(models, backend, cells), records.append)
    return records


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    """Nothing exported or measured yet: the run has to export (as a first bench on a machine does)."""
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path))
    monkeypatch.setattr(hardware, "_MEMO", {})


def test_onnx_int8_served_memory_excludes_the_export(tiny, empty_cache):
    records = []
    run_isolated(group([tiny["tiny-bert"]], "onnx-int8"), records.append)
    (r,) = records
    assert r.status == "ok", r.error
    m, d = r.metrics, r.details
    assert d["export_pid"] not in (None, d["pid"], os.getpid())  # exported and quantized in a process of its own
    assert m["export_peak_rss_mb"].value > m["peak_rss_mb"].value  # the exporter's memory is not the served figure
    assert m["peak_rss_mb"].value == pytest.approx(m["baseline_rss_mb"].value + m["model_memory_mb"].value)
    assert m["baseline_rss_mb"].value <= m["loaded_rss_mb"].value <= m["peak_rss_mb"].value
    records = []
    run_isolated(group([tiny["tiny-bert"]], "onnx-int8"), records.append)  # cached now: nothing to export
    (again,) = records
    assert again.details["export_pid"] is None and "export_peak_rss_mb" not in again.metrics


def test_a_cell_that_beats_the_peak_gets_it_measured_again_then_the_theoretical_one(tiny, empty_cache, monkeypatch):
    calls = []
    monkeypatch.setattr(hardware, "measure_matmul", lambda device, dtype: calls.append(1) or {256: 1.0})  # 1 FLOP/s: beaten by anything
    (r,) = run([tiny["tiny-bert"]], "eager")
    assert r.status == "ok", r.error
    how = r.details["limits"]["utilisation"]
    assert len(calls) == 2  # once before the group, once more when the cell beat it
    assert how["basis"] == "theoretical" and "beat the measured peak" in how["flag"]
    assert 0 < r.metrics["utilisation"].value <= 1
    assert r.metrics["peak_flops_theoretical"].value == hardware.theoretical_flops("cpu", "fp32", 1)[0]
    columns, rows = BenchResult([r], r.model).table()
    assert rows[0]["utilisation"].endswith("of theoretical")
    columns, rows = BenchResult([r], r.model).limits_table()
    assert rows[0]["limit"] == "fp32 matmul peak" and rows[0]["theoretical"] != "-"


def test_limits_table_says_when_the_theoretical_peak_is_below_the_measured_one():
    """In a VM the reported clock is the base clock: a boost-clocked matmul then beats "theoretical"."""
    limit = {"what": "fp32", "measured": 8.8e10, "theoretical": 7.8e10, "theoretical_how": "1 cores x 2.45 GHz (reported clock)",
             "foreign_load": 0.5, "quiet": False, "basis": "measured"}
    r = Record(kind="bench", model="m", weights="random", cell=cell("eager"), details={"threads": 1, "limits": {"utilisation": limit}})
    (row,) = BenchResult([r], "m").limits_table()[1]
    assert "clock runs faster than reported" in row["theoretical from"] and row["measured while"] == "busy (others used 50% of the CPUs)"


def test_utilisation_is_at_most_one_against_a_real_peak(tiny):
    (r,) = run([tiny["tiny-bert"]], "eager", [cell("eager", batch=4, seq_len=32)])
    assert r.status == "ok" and 0 < r.metrics["utilisation"].value <= 1
    assert r.metrics["peak_flops_measured"].value >= r.metrics["flops_per_s"].value


def test_decode_is_judged_against_the_memory_bandwidth(tiny):
    (r,) = run([tiny["tiny-llama"]], "eager", [cell("eager", "generate", batch=2, seq_len=8, new_tokens=4)])
    assert r.status == "ok", r.error
    source = Source(tiny["tiny-llama"])
    a = source.anatomy(10)  # context at mid-decode: 8 prompt tokens + 4 // 2
    weights = r.metrics["param_mb"].value * 1e6 * (1 - a.parameters_by_part["embeddings"] / a.parameters)  # untied: the table is not read
    assert r.details["decode_bytes_per_step"] == pytest.approx(weights + 2 * 10 * a.kv_cache_bytes_per_token * 2)  # fp32 KV: 2x fp16
    assert r.metrics["decode_bytes_per_s"].value > 0 and r.metrics["bandwidth_measured"].value > 0
    how = r.details["limits"]["decode_bandwidth_utilisation"]
    if how["basis"] == "none":  # a tiny model's weights sit in the CPU caches: no DRAM fraction rather than one above 1
        assert "decode_bandwidth_utilisation" not in r.metrics
    else:
        assert 0 < r.metrics["decode_bandwidth_utilisation"].value <= 1
    assert "decode_utilisation" not in r.metrics  # decode is bandwidth-bound: no FLOP utilisation for it


def test_emulated_bf16_still_runs_and_is_labelled(tiny, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    (r,) = run([tiny["tiny-bert"]], "eager-bf16", [cell("eager-bf16")])
    assert r.status == "ok", r.error
    assert r.details["dtype_native"] is False and r.details["dtype_support"] == "emulated (no AMX-BF16/AVX512-BF16)"
    _, rows = BenchResult([r], r.model).table()
    assert rows[0]["backend"] == "eager-bf16 (emulated)"
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2", "fma", "avx512f", "amx_bf16"}))
    (native,) = run([tiny["tiny-bert"]], "eager-bf16", [cell("eager-bf16")])
    assert native.details["dtype_native"] is True and native.details["dtype_support"] == "native (AMX-BF16)"


def test_onnx_runtime_sessions_do_not_spin_and_use_eager_thread_counts(tiny):
    from tradeoff.bench.backends import get
    from tradeoff.bench.backends.onnx import open_session

    path = get("onnx").model_file(Source(tiny["tiny-bert"]))
    session = open_session(path, "cpu", 2)
    options = session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    spinning = open_session(path, "cpu", 1, spinning=True).get_session_options()
    with pytest.raises(RuntimeError, match="does not have configuration"):  # ORT's default: spinning on
        spinning.get_session_config_entry("session.intra_op.allow_spinning")


def test_a_study_cell_with_more_threads_than_the_machine_is_skipped(tiny):
    r = run_cell(tiny["tiny-bert"], {"backend": "eager", "batch": 1, "seq_len": 8, "threads": 4096, "budget_s": 0.3})
    assert r.status == "skipped" and "threads 4096 is more than" in r.error


def test_a_study_cell_on_a_backend_this_machine_cannot_run_is_skipped(tiny, monkeypatch):
    from tradeoff.bench.backends.onnx import Onnx

    monkeypatch.setattr(Onnx, "unavailable", lambda self, device: f"{self.name}: onnxruntime is not installed")
    r = run_cell(tiny["tiny-bert"], {"backend": "onnx-int8", "batch": 1, "seq_len": 8, "budget_s": 0.3})
    assert (r.status, r.error) == ("skipped", "onnx-int8: onnxruntime is not installed")
