"""The real CLI, killed or interrupted mid-study: finished cells survive, the store stays sound, resume finishes."""
import os
import signal
import sqlite3
import subprocess
import time

import pytest
from conftest import TRADEOFF, cli, write

from tradeoff.store import Store
from tradeoff.study import prepare, run_study

STUDY = ('name = "twelve"\nmodels = ["bert-base-uncased", "distilbert", "llama-2-7b"]\n'
         "[inspect]\nseq_len = [64, 128, 256, 512]\n")


def _records(path) -> dict[str, str]:
    if not path.exists():
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return dict(conn.execute("SELECT key, created FROM records").fetchall())
    except sqlite3.OperationalError:  # the table does not exist yet
        return {}
    finally:
        conn.close()


def _start_and_wait(tmp_path, at_least: int):
    """Start `tradeoff run` and return it once the store holds `at_least` records."""
    study, store = write(tmp_path / "study.toml", STUDY), tmp_path / "results.db"
    proc = subprocess.Popen([str(TRADEOFF), "run", str(study), "--store", str(store)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    deadline = time.monotonic() + 120
    while len(_records(store)) < at_least:
        assert proc.poll() is None, f"the run ended before it could be stopped: {proc.communicate()}"
        assert time.monotonic() < deadline, "no records appeared"
        time.sleep(0.02)
    return proc, study, store


def _cleanup(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything of that session still alive
    except ProcessLookupError:
        pass
    proc.communicate()


def _resume_and_check(study, store, finished: dict[str, str]):
    result = cli("run", str(study), "--executor", "inline", store=store)  # inline: no forkserver to warm up
    assert result.returncode == 0, result.stderr
    assert f"{len(finished)} already in the store, {12 - len(finished)} ran" in result.stdout
    after = _records(store)
    assert len(after) == 12
    assert {k: after[k] for k in finished} == finished  # finished cells were not recomputed
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sigkill_mid_study_loses_only_the_cell_in_flight(tmp_path):
    proc, study, store = _start_and_wait(tmp_path, at_least=3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _cleanup(proc)
    finished = _records(store)
    assert 3 <= len(finished) < 12
    assert sqlite3.connect(store).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    _resume_and_check(study, store, finished)


def test_ctrl_c_stops_cleanly_and_keeps_finished_cells(tmp_path):
    proc, study, store = _start_and_wait(tmp_path, at_least=1)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        _cleanup(proc)
    assert proc.returncode == 130, stderr
    assert "interrupted; finished results were kept" in stderr and "Traceback" not in stderr
    finished = _records(store)
    assert 1 <= len(finished) < 12
    with Store.open(store) as s:
        assert s.integrity_check() == "ok"
        summary = run_study(prepare(study), s, executor="inline")
        assert (summary.skipped, summary.ran) == (len(finished), 12 - len(finished))
        assert {k: v for k, v in _records(store).items() if k in finished} == finished


@pytest.mark.parametrize("newer", [False, True], ids=["foreign-file", "newer-schema"])
def test_cli_refuses_a_foreign_or_newer_store_with_exit_2(tmp_path, newer):
    store = tmp_path / "results.db"
    if newer:
        Store.open(store).close()
        conn = sqlite3.connect(store)
        conn.execute("PRAGMA user_version = 99")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    else:
        store.write_bytes(b"model,latency\nbert,3.1\n")
    content = store.read_bytes()
    study = write(tmp_path / "study.toml", 'models = ["distilbert"]\n[inspect]\n')
    args = ["export", str(tmp_path / "out.csv")] if newer else ["run", str(study)]
    result = cli(*args, store=store)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "left untouched" in result.stderr
    assert ("newer tradeoff" if newer else "not an SQLite database") in result.stderr
    assert store.read_bytes() == content
    assert not (tmp_path / "out.csv").exists()
