"""Child processes, crashes that become records, and the CLI end to end on tiny models."""
import json
import textwrap

import pytest

from conftest import FAST
from tradeoff.bench.isolate import run_isolated
from tradeoff.bench.spec import Group
from tradeoff.cli import main


def group(tiny, **kw):
    cells = [{"backend": "eager", "device": "cpu", "workload": "fixed", "batch": b, "seq_len": 8} for b in (1, 2)]
    return Group(models=[tiny["tiny-bert"], tiny["tiny-distil"]], backend="eager", device="cpu", cells=cells,
                 baseline=tiny["tiny-bert"], threads=1, settings=FAST, **kw)


def test_group_runs_in_a_child_process(tiny, names):
    records, statuses = [], []
    run_isolated(group(tiny), records.append, statuses.append)
    assert sorted((r.model, r.cell["batch"], "baseline" in r.cell) for r in records) == [
        (names["tiny-bert"], 1, False), (names["tiny-bert"], 2, False), (names["tiny-distil"], 1, False),
        (names["tiny-distil"], 1, True), (names["tiny-distil"], 2, False), (names["tiny-distil"], 2, True)]
    assert all(r.status == "ok" for r in records) and statuses


def test_a_killed_child_leaves_records_for_every_cell(tiny, tmp_path, monkeypatch):
    """The child finishes one record then is SIGKILLed (as the kernel's OOM killer would): the rest are 'oom'."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent("""
        import os, signal
        import tradeoff.bench.runner as runner
        real = runner.run_group
        def run_group(group, on_record, on_status=lambda _: None):
            def once(record):
                on_record(record)
                os.kill(os.getpid(), signal.SIGKILL)
            real(group, once, on_status)
        runner.run_group = run_group
    """))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    records = []
    run_isolated(group(tiny), records.append)
    assert len(records) == 4
    assert records[0].status == "ok"
    assert [r.status for r in records[1:]] == ["oom"] * 3 and "SIGKILL" in records[1].error
    assert records[1].env["threads"] == 1


def test_cli_json_and_store(tiny, names, tmp_path, capsys):
    from tradeoff.store import Store

    db = tmp_path / "results.db"
    code = main(["bench", tiny["tiny-bert"], tiny["tiny-distil"], "--backend", "eager", "--shape", "1x8", "--budget", "0.3",
                 "--threads", "1", "--no-isolate", "--store", str(db), "--json", "-q"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["baseline"] == names["tiny-bert"] and len(out["records"]) == 3
    with Store.open(db) as store:
        assert len(store.query(kind="bench")) == 3
        assert store.query(kind="bench", model=names["tiny-distil"], baseline=names["tiny-bert"])[0].metrics["speedup"].value > 0


def test_cli_table_shows_speedups(tiny, capsys):
    assert main(["bench", tiny["tiny-distil"], tiny["tiny-bert"], "--baseline", tiny["tiny-bert"], "--backend", "eager",
                 "--shape", "2x8", "--budget", "0.3", "--threads", "1", "--no-isolate", "-q"]) == 0
    out = capsys.readouterr().out
    assert "Latency, throughput and memory (weights: random" in out
    assert "speed-up vs tiny-bert" in out and "tiny-distil" in out


@pytest.mark.slow
def test_real_architectures_end_to_end(tmp_path):
    """BERT-shaped MiniLM (real weights on disk) vs DistilBERT at a small shape, isolated; SmolLM2 decodes."""
    from tradeoff import api
    from tradeoff.models import parse_ref
    from tradeoff.models.weights import local_weights

    minilm = local_weights(parse_ref("all-MiniLM-L6-v2"))
    result = api.bench([str(minilm), "distilbert-base-uncased"], backend="eager", shape="1x32", budget_s=3, threads=1)
    cells = {(r.model, r.cell["backend"]): r for r in result.cells}
    assert all(r.status == "ok" for r in result.records), [r.error for r in result.records if r.status != "ok"]
    minilm_name = parse_ref(str(minilm)).name  # a folder model is named basename@hash of its files
    assert cells[(minilm_name, "eager")].metrics["weights_disk_mb"].value > 80  # real weights: their on-disk size
    (pair,) = result.speedups
    assert pair.model == "distilbert-base-uncased" and pair.metrics["speedup"].value < 1  # DistilBERT is the bigger one
    smol = api.bench(["SmolLM2-135M"], backend="eager", shape="1x16", new_tokens=4, budget_s=3, threads=1)
    (r,) = smol.cells
    assert r.status == "ok" and r.cell["workload"] == "generate" and r.metrics["decode_tokens_per_s"].value > 0
