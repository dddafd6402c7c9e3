"""Decoders served token by token through LoadGen: a tiny decoder for real (KV cache, static batches, first
token reported to LoadGen), the search under TTFT and TPOT bounds, the estimate's arithmetic, and bad settings."""
import numpy as np
import pytest

from tradeoff.bench import decode_serving, serving
from tradeoff.errors import BadInput


@pytest.fixture(scope="module")
def tiny_decoder(tiny):
    from tradeoff.bench.source import Source

    return Source(tiny["tiny-llama"]).build()


@pytest.mark.parametrize("ttft, tpot, tokens, message", [
    (0, 200, 32, "--ttft-ms must be a positive number"), (-5, 200, 32, "--ttft-ms must be a positive number"),
    (2000, 0, 32, "--tpot-ms must be a positive number"), (2000, -1, 32, "--tpot-ms must be a positive number"),
    (2000, 200, 0, "--output-tokens must be a positive integer"), (2000, 200, -3, "--output-tokens must be a positive integer"),
])
def test_bad_decoder_serving_settings_are_one_line_and_exit_2(ttft, tpot, tokens, message):
    with pytest.raises(BadInput, match=message) as e:
        decode_serving.check(ttft, tpot, tokens)
    assert e.value.exit_code == 2 and "\n" not in e.value.one_line()


def test_a_decoder_without_a_kv_cache_and_an_encoder_are_refused(tiny):
    from tradeoff.bench.source import Source

    model = Source(tiny["tiny-llama"]).build()
    model.config.use_cache = False
    with pytest.raises(BadInput, match="no KV cache") as e:
        decode_serving.decoder_batch(model, np.array([8]), 4)
    assert e.value.exit_code == 2
    with pytest.raises(BadInput, match="not a decoder"):
        decode_serving.check_model(Source(tiny["tiny-bert"]).build())


def test_a_tiny_decoder_served_token_by_token_through_loadgen(tiny_decoder, tmp_path):
    calls = []
    run_batch = decode_serving.decoder_batch(tiny_decoder, np.array([5, 12, 20, 31]), output_tokens=6)

    def counted(idx, first):
        calls.append(len(idx))
        return run_batch(idx, first)

    t = decode_serving.serve(counted, 150.0, 500, 4, 0.005, 2.0, ttft_s=2.0, tpot_s=0.2, min_duration_s=0.2, seed=3,
                             log_dir=str(tmp_path / "d"))
    assert t.verdict in ("VALID", "INVALID") and t.served == t.offered >= 500 and max(calls) <= 4
    assert (t.tokens == 6).all() and (t.ttft > 0).all() and (t.ttft <= t.latencies).all() and (t.tpot > 0).all()
    s = t.summary()
    assert s["output_tokens"] == 6 and s["ttft_p99_ms"] > 0 and s["tpot_p50_ms"] > 0 and s["log_dir"]
    # tradeoff's TTFT and TPOT agree with LoadGen's own (from its FirstTokenComplete stamps)
    assert s["ttft_p99_ms"] == pytest.approx(s["loadgen_ttft_p99_ms"], rel=0.25, abs=2.0)
    assert s["tpot_p99_ms"] == pytest.approx(s["loadgen_tpot_p99_ms"], rel=0.25, abs=0.5)
    assert t.loadgen["ttft_latency_ns"] == 2_000_000_000 and t.loadgen["tpot_latency_ns"] == 200_000_000
    if t.verdict == "VALID":  # a loose bound for a tiny model: a busy machine may still fail it, so only then
        assert t.sustained()


def test_tight_token_bounds_are_invalid_under_loadgen(tiny_decoder, tmp_path):
    run_batch = decode_serving.decoder_batch(tiny_decoder, np.array([10]), output_tokens=4)
    t = decode_serving.serve(run_batch, 200.0, 500, 4, 0.002, 2.0, ttft_s=1e-6, tpot_s=1e-6, min_duration_s=0.2, seed=1,
                             log_dir=str(tmp_path / "tight"))
    assert t.verdict == "INVALID" and not t.sustained() and t.surely_failed()
    assert "TTFT" in (t.loadgen.get("invalid_reason") or "") or "TPOT" in (t.loadgen.get("invalid_reason") or "")


def test_the_search_runs_decoder_trials_under_both_bounds(tiny_decoder):
    run_batch = decode_serving.decoder_batch(tiny_decoder, np.array([6, 9, 14]), output_tokens=4)
    cap = decode_serving.capacity(run_batch, "tiny", 100.0, 4, 0.005, ttft_s=2.0, tpot_s=0.2, budget_s=4.0,
                                  min_duration_s=0.2, max_trials=2)
    assert cap.trials and all(isinstance(t, decode_serving.TokenTrial) for t in cap.trials)
    point, low, high = cap.estimate()
    assert point >= 0 and low <= point and all(t.summary()["loadgen_verdict"] for t in cap.trials)
    seeds = [t.seed for t in cap.trials]
    assert len(set(seeds)) == len(seeds)


def test_the_llama_estimate_is_labelled_and_bandwidth_bound():
    from tradeoff.bench.source import Source

    src = Source("llama-2-7b")
    one = decode_serving.estimate(src, 1, 128, 128, bandwidth_bps=20e9, flops_per_s=1e12)
    eight = decode_serving.estimate(src, 8, 128, 128, bandwidth_bps=20e9, flops_per_s=1e12)
    assert one.as_dict()["estimate"] is True and one.dtype == "bf16"
    assert one.tpot_s == pytest.approx(6.74e9 * 2 / 20e9, rel=0.05)  # every weight read once per token
    assert eight.tpot_s > one.tpot_s and eight.qps > one.qps  # batching shares the weight reads
    assert serving.QUANTILE == 0.99


def test_a_decoder_server_cell_through_the_runner_gives_ttft_tpot_and_capacity(tiny, names):
    from tradeoff.bench.runner import run_group
    from tradeoff.bench.spec import Cell, Group

    # loose bounds: the test checks the records, not this machine's speed
    cell = Cell.from_dict({"backend": "eager", "workload": "server", "batch": 4, "seq_len": 16, "output_tokens": 4,
                           "ttft_ms": 2000, "tpot_ms": 500}).as_dict()
    records = []
    run_group(Group(models=[tiny["tiny-llama"]], backend="eager", device="cpu", cells=[cell], threads=1,
                    settings={"min_duration_s": 0.2, "min_queries": 500, "serve_budget_s": 3.0, "warmup_s": 0.0}), records.append)
    (r,) = records
    assert r.status == "ok", r.error
    for name in ("ttft", "tpot"):
        for q in ("p50", "p99"):
            m = r.metrics[f"serve_{name}_{q}_ms"]
            assert m.value > 0 and (m.method == "serving_token_quantile" or m.low is m.high is None)  # no ends: no method
    q = r.metrics["max_qps"]
    assert q.method == "serving_max_qps" and q.low <= q.value and (q.high is None or q.high >= q.value)
    assert r.details["output_tokens"] == 4 and "FirstTokenComplete" in r.details["how"]
    trials = r.details["trials"]
    assert trials and all(t["output_tokens"] == 4 and t["loadgen_verdict"] in ("VALID", "INVALID") for t in trials)
    assert all(t["loadgen_library"] == r.details["texts"] for t in trials)  # each prompt equally likely
    assert r.metrics["output_tokens_per_s"].value > 0


def test_decoder_serving_settings_are_checked_before_any_work(tiny):
    from tradeoff.bench.spec import Cell, Grid, Settings
    from tradeoff.bench.suite import plan

    for bad, message in (({"ttft_ms": 0}, "--ttft-ms"), ({"tpot_ms": -1}, "--tpot-ms"), ({"output_tokens": 0}, "--output-tokens")):
        with pytest.raises(BadInput, match=message):
            Settings(**bad).check()
        with pytest.raises(BadInput, match=message):
            Cell.from_dict({"workload": "server", "batch": 4, "seq_len": 16, **bad})
    with pytest.raises(BadInput, match="exceeds"):  # prompt + output tokens past the decoder's 64 positions
        plan([tiny["tiny-llama"]], Grid(backend="eager", shape="1x48", workload="server"), None, Settings(output_tokens=32).check())
    groups = plan([tiny["tiny-bert"], tiny["tiny-llama"]], Grid(backend="eager", shape="1x16", workload="server"), None,
                  Settings(output_tokens=4).check()).groups
    by_models = {tuple(g.models): g.cells[0] for g in groups}
    assert by_models[(tiny["tiny-bert"],)].get("p99_ms") and "ttft_ms" not in by_models[(tiny["tiny-bert"],)]
    assert by_models[(tiny["tiny-llama"],)]["output_tokens"] == 4 and "p99_ms" not in by_models[(tiny["tiny-llama"],)]
