"""Running studies: resume skips finished cells, failures stay in their cell, bad input stops before writing."""
import os

import pytest
from conftest import write

from tradeoff.errors import BadInput
from tradeoff.executors import make_executor
from tradeoff.store import Store
from tradeoff.cells import Cell
from tradeoff.study import prepare, run_study

STUDY = 'name = "tiny"\nmodels = ["distilbert", "llama-2-7b"]\n[inspect]\nseq_len = [64, 128, 256]\n'


def crashy(action: str, **cell) -> Cell:
    return Cell("inspect", "m", "m", "random", {"action": action, **cell}, runner="crashy_runner")


def collect(runner, cells) -> list:
    """Every record an executor hands over, in order."""
    records = []
    runner.run(cells, lambda cell, record: records.append(record))
    return records


def test_inline_run_then_resume_skips_then_force_reruns(tmp_path):
    study = prepare(write(tmp_path / "s.toml", STUDY))
    with Store.open(tmp_path / "r.db") as store:
        first = run_study(study, store, executor="inline")
        assert (first.total, first.ran, first.ok, first.skipped) == (6, 6, 6, 0)
        created = {r.key: r.created for r in store.query()}
        assert set(created) == set(first.keys)
        record = store.get(first.keys[0])
        assert record.metrics["parameters"].value > 6e7 and record.model == "distilbert-base-uncased"
        assert store.provenance(record.key)["model_revision"].startswith("config:")

        again = run_study(study, store, executor="inline")
        assert (again.ran, again.skipped) == (0, 6)
        assert {r.key: r.created for r in store.query()} == created

        forced = run_study(study, store, executor="inline", force=True)
        assert (forced.ran, forced.skipped) == (6, 0) and store.count() == 6


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_a_failing_cell_becomes_an_error_record_and_the_rest_run(tmp_path, executor):
    cells = [crashy("ok", i=0), crashy("raise"), crashy("ok", i=1)]
    with make_executor(executor) as runner:
        records = collect(runner, cells)
    assert [r.status for r in records] == ["ok", "error", "ok"]
    assert "RuntimeError: boom" in records[1].error and "crashy_runner.py" in records[1].error
    assert records[1].key == cells[1].key  # the error record stands in for that exact cell
    assert records[1].env["cpu"]  # and says where it failed
    pids = {r.metrics["pid"].value for r in records if r.status == "ok"}
    assert (pids == {os.getpid()}) == (executor == "inline")
    if executor == "process":
        assert len(pids) == 2  # one fresh process per cell


def test_process_executor_survives_segfault_and_kill(tmp_path):
    cells = [crashy("segfault"), crashy("oom-kill"), crashy("ok")]
    with make_executor("process") as runner:
        records = collect(runner, cells)
    assert [r.status for r in records] == ["error", "error", "ok"]
    assert "SIGSEGV" in records[0].error
    assert "SIGKILL" in records[1].error and "out of memory" in records[1].error


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_bad_input_from_a_cell_stops_the_study_with_one_line(executor):
    with make_executor(executor) as runner, pytest.raises(BadInput, match="this cell is impossible"):
        collect(runner, [crashy("bad")])


def test_dry_run_lists_what_would_run(tmp_path):
    from tradeoff import api

    study = write(tmp_path / "s.toml", STUDY)
    store = tmp_path / "r.db"
    assert {r["action"] for r in api.plan_study(str(study), store=str(store))} == {"run"}
    with Store.open(store) as s:
        run_study(prepare(study), s, executor="inline")
    rows = api.plan_study(str(study), store=str(store))
    assert len(rows) == 6 and {r["action"] for r in rows} == {"skip (in store)"}
    assert {r["action"] for r in api.plan_study(str(study), store=str(store), force=True)} == {"run"}


def test_error_records_are_retried_on_resume(tmp_path):
    study = prepare(write(tmp_path / "s.toml", STUDY))
    with Store.open(tmp_path / "r.db") as store:
        run_study(study, store, executor="inline")
        broken = store.get(study.cells[0].key).model_copy(update={"status": "error", "error": "flaky"})
        store.put(broken)
        summary = run_study(study, store, executor="inline")
        assert (summary.ran, summary.skipped) == (1, 5)
        assert store.get(broken.key).status == "ok"


def test_unknown_executor_and_stray_address():
    with pytest.raises(BadInput, match="unknown executor"):
        make_executor("threads")
    with pytest.raises(BadInput, match="--address only applies"):
        make_executor("process", address="127.0.0.1:6379")


def test_an_executor_added_to_the_registry_runs_studies(tmp_path, monkeypatch):
    """Adding an executor is one class and one registry line; the CLI's choices and help read the registry."""
    from tradeoff import executors

    seen = []

    class Logged(executors.InlineExecutor):
        """in this process, logging each unit"""

        def run(self, works, on_record, on_start=lambda _: None):
            seen.extend(works)
            super().run(works, on_record, on_start)

    monkeypatch.setitem(executors.EXECUTORS, "logged", Logged)
    study = prepare(write(tmp_path / "s.toml", STUDY))
    with Store.open(tmp_path / "r.db") as store:
        summary = run_study(study, store, executor="logged")
    assert (summary.ok, len(seen)) == (6, 6) and summary.executor == "logged"
    assert all(f"{name}: " in executors.HELP for name in ("inline", "process", "ray")) and executors.DEFAULT in executors.EXECUTORS
