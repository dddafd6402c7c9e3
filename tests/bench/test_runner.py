"""Groups of tiny models, in process: records per model and cell, paired speed-ups, failures as records."""
import pytest

from conftest import FAST
from tradeoff.bench import run_cell, workloads
from tradeoff.bench.runner import run_group
from tradeoff.bench.spec import Group
from tradeoff.errors import BadInput


def run(models, backend="eager", cells=None, baseline=None, **settings):
    cells = cells or [{"backend": backend, "device": "cpu", "workload": "fixed", "batch": 2, "seq_len": 16}]
    records, statuses = [], []
    run_group(Group(models=models, backend=backend, device=cells[0].get("device", "cpu"), cells=cells, baseline=baseline,
                    threads=1, settings={**FAST, **settings}), records.append, statuses.append)
    return records, statuses


def test_two_models_interleaved_give_cells_and_a_paired_speedup(tiny, names):
    cells = [{"backend": "eager", "device": "cpu", "workload": "fixed", "batch": b, "seq_len": 16} for b in (1, 4)]
    records, statuses = run([tiny["tiny-bert"], tiny["tiny-distil"]], cells=cells, baseline=tiny["tiny-bert"])
    per_model = [r for r in records if "baseline" not in r.cell]
    pairs = [r for r in records if "baseline" in r.cell]
    assert [(r.model, r.cell["batch"]) for r in per_model] == [(names["tiny-bert"], 1), (names["tiny-distil"], 1), (names["tiny-bert"], 4), (names["tiny-distil"], 4)]
    assert all(r.status == "ok" and r.weights == "random" for r in records)
    assert [r.cell for r in per_model[:2]] == [cells[0], cells[0]]  # the cell comes back verbatim (stable keys)
    r = per_model[0]
    for name in ("latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_mean_ms", "latency_std_ms",
                 "throughput_per_s", "tokens_per_s", "peak_rss_mb", "model_memory_mb", "load_time_s", "param_mb", "flops_per_s"):
        assert name in r.metrics, name
    assert r.metrics["latency_p50_ms"].low <= r.metrics["latency_p50_ms"].value <= r.metrics["latency_p50_ms"].high
    assert r.details["attention"] == "sdpa" and r.details["threads"] == 1 and r.env["torch"]
    assert len(r.details["samples_ms"]) == r.details["rounds"] == per_model[1].details["rounds"]
    assert isinstance(r.details["noisy"], bool) and "reasons" in r.details["noise"]
    model = _tiny_bert(tiny)
    weights = sum(p.numel() for p in model.parameters()) * 4 + sum(b.numel() * b.element_size() for b in model.buffers())
    assert r.metrics["param_mb"].value == pytest.approx(weights / 1e6)
    assert [p.model for p in pairs] == [names["tiny-distil"]] * 2 and pairs[0].cell["baseline"] == names["tiny-bert"]
    s = pairs[0].metrics["speedup"]
    assert s.low <= s.value <= s.high and s.value > 0 and "memory_ratio" in pairs[0].metrics
    assert any("timing" in t for t in statuses)


def test_timing_cost_sets_the_time_taken_against_the_fewest_rounds_needed(tiny, names):
    from tradeoff.bench.suite import BenchResult
    from tradeoff.bench.timing import SMALL_SAMPLE

    cells = [{"backend": "eager", "device": "cpu", "workload": "fixed", "batch": b, "seq_len": 16} for b in (1, 4)]
    records, _ = run([tiny["tiny-bert"], tiny["tiny-distil"]], cells=cells, baseline=tiny["tiny-bert"])
    result = BenchResult(records, names["tiny-bert"])
    cost = result.timing_cost()
    per_cell = {r.cell["batch"]: r.details for r in result.cells}
    assert cost["cells"] == 2 and cost["exports_s"] == 0
    assert cost["needed_s"] == pytest.approx(SMALL_SAMPLE * sum(d["round_s"] for d in per_cell.values()))
    assert cost["timing_s"] == pytest.approx(sum(d["timing_s"] for d in per_cell.values()))
    assert all(d["timing_s"] >= d["rounds"] * d["round_s"] * 0.5 for d in per_cell.values())
    assert result.timing_line(12.0).startswith("Timing took ") and "the whole bench 12 s" in result.timing_line(12.0)
    assert BenchResult([], names["tiny-bert"]).timing_line() is None


def _tiny_bert(tiny):
    from tradeoff.bench.source import Source

    return Source(tiny["tiny-bert"]).build()


def test_decoder_generate_gives_prefill_and_decode(tiny, names):
    cell = {"backend": "eager", "device": "cpu", "workload": "generate", "batch": 1, "seq_len": 8, "new_tokens": 5}
    records, _ = run([tiny["tiny-llama"], tiny["tiny-bert"]], cells=[cell])
    by_model = {r.model: r for r in records}
    llama, bert = by_model[names["tiny-llama"]], by_model[names["tiny-bert"]]
    assert llama.status == "ok", llama.error
    for name in ("ttft_p50_ms", "decode_token_p50_ms", "decode_tokens_per_s", "latency_p50_ms", "decode_flops_per_s"):
        assert name in llama.metrics
    assert llama.metrics["ttft_p50_ms"].value < llama.metrics["latency_p50_ms"].value
    assert bert.status == "skipped" and "encoders do not generate" in bert.error


def test_real_length_workload(tiny):
    cell = {"backend": "eager", "device": "cpu", "workload": "real", "batch": 8, "seq_len": 32, "samples": 16}
    (r,), _ = run([tiny["tiny-bert"]], cells=[cell])
    assert r.status == "ok", r.error
    assert r.details["texts"] == 16 and r.details["batches"] == 2 and "sst2" in r.details["data"]
    assert 0 < r.metrics["padding_efficiency"].value < 1 and r.metrics["throughput_per_s"].unit == "samples/s"


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8", "eager-bf16"])
def test_other_backends_run(tiny, backend):
    cell = {"backend": backend, "device": "cpu", "workload": "fixed", "batch": 2, "seq_len": 16}
    records, _ = run([tiny["tiny-bert"]], backend=backend, cells=[cell])
    assert records[0].status == "ok", records[0].error
    assert records[0].details["dtype"] == {"onnx": "fp32", "onnx-int8": "int8", "eager-bf16": "bf16"}[backend]
    if backend.startswith("onnx"):
        assert records[0].metrics["artifact_disk_mb"].value > 0 and "exported" in records[0].details["attention"]


@pytest.mark.slow
def test_onnx_exports_a_decoder_prefill(tiny):
    cell = {"backend": "onnx", "device": "cpu", "workload": "fixed", "batch": 1, "seq_len": 8}
    (r,), _ = run([tiny["tiny-llama"]], backend="onnx", cells=[cell])
    assert r.status in ("ok", "skipped"), r.error  # an architecture the exporter rejects is skipped with its reason
    if r.status == "skipped":
        assert "ONNX export of llama failed" in r.error


def test_cuda_is_skipped_with_a_reason_here(tiny):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    cell = {"backend": "eager", "device": "cuda", "workload": "fixed", "batch": 1, "seq_len": 8}
    (r,), _ = run([tiny["tiny-bert"]], cells=[cell])
    assert (r.status, r.error) == ("skipped", "cuda: not available on this machine")


def test_out_of_memory_cell_is_recorded_and_others_go_on(tiny, monkeypatch):
    real_fixed = workloads.fixed

    def fixed(loaded, source, cell, seed=0):
        work = real_fixed(loaded, source, cell, seed)
        if cell["batch"] == 64:
            def call():
                raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory")
            work.call = call
        return work

    monkeypatch.setitem(workloads.BUILDERS, "fixed", fixed)
    cells = [{"backend": "eager", "device": "cpu", "workload": "fixed", "batch": b, "seq_len": 8} for b in (64, 1)]
    records, _ = run([tiny["tiny-bert"]], cells=cells)
    assert [(r.cell["batch"], r.status) for r in records] == [(64, "oom"), (1, "ok")]
    assert "can't allocate memory" in records[0].error


def test_backend_that_cannot_run_is_skipped(tiny, monkeypatch):
    from tradeoff.bench.backends import CannotRun
    from tradeoff.bench.backends.onnx import Onnx

    def fail(self, source, status):
        raise CannotRun("onnx: ONNX export of bert failed: unsupported operator")

    monkeypatch.setattr(Onnx, "model_file", fail)
    cell = {"backend": "onnx", "device": "cpu", "workload": "fixed", "batch": 1, "seq_len": 8}
    (r,), _ = run([tiny["tiny-bert"]], backend="onnx", cells=[cell])
    assert r.status == "skipped" and "unsupported operator" in r.error


def test_run_cell_contract(tiny, names):
    cell = {"backend": "eager", "batch": 1, "seq_len": 8, "budget_s": 0.3}
    r = run_cell(tiny["tiny-distil"], cell)
    assert r.kind == "bench" and r.cell == cell and r.status == "ok" and r.model == names["tiny-distil"]
    with pytest.raises(BadInput):
        run_cell(tiny["tiny-distil"], {"backend": "eager", "batch": 0, "seq_len": 8})


def test_a_model_with_no_cell_the_backend_can_time_is_skipped_before_any_export(tiny, monkeypatch):
    from tradeoff.bench.backends.onnx import Onnx

    def no_export(self, source, status):
        raise AssertionError("exported a model none of whose cells can run")

    monkeypatch.setattr(Onnx, "model_file", no_export)
    cell = {"backend": "onnx", "device": "cpu", "workload": "generate", "batch": 1, "seq_len": 8, "new_tokens": 4}
    (r,), _ = run([tiny["tiny-llama"]], backend="onnx", cells=[cell])
    assert r.status == "skipped" and "forward passes only" in r.error
