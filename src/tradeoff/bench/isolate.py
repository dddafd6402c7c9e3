"""Each group runs in its own child process, so memory figures start from a clean process and a
crash or an out-of-memory kill ends only that group: its unfinished cells become records with
status "oom" or "error", and the run goes on. Exports and quantizations run in a child of their
own (`prepare_in_child`), so no measured process ever held the exporter or an fp32 model it
does not serve.

The child's threads are pinned through the environment (OMP/MKL) and torch.set_num_threads.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from tradeoff.bench.spec import Group
from tradeoff.record import Record


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def spawn(mode: str, group: Group, on_event: Callable[[dict], None], timeout_s: float | None = None,
          poll_s: float = 0.2) -> tuple[str, str]:
    """Run `python -m tradeoff.bench.worker MODE GROUP EVENTS` and hand each event to `on_event` as it
    arrives. Returns how the child ended: ("ok" | "timeout" | "killed" | "died" | "oom", why)."""
    with tempfile.TemporaryDirectory(prefix="tradeoff-bench-") as tmp:
        spec, events, log = Path(tmp) / "group.json", Path(tmp) / "events.jsonl", Path(tmp) / "child.log"
        spec.write_text(json.dumps(asdict(group)), encoding="utf-8")
        events.touch()
        with open(log, "wb") as log_file:
            child = subprocess.Popen([sys.executable, "-m", "tradeoff.bench.worker", mode, str(spec), str(events)],
                                     stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=child_env(group.threads))
            start, offset, buffer = time.monotonic(), 0, ""
            try:
                while True:
                    done = child.poll() is not None
                    with open(events, encoding="utf-8") as f:
                        f.seek(offset)
                        chunk = f.read()
                        offset = f.tell()
                    buffer += chunk
                    *lines, buffer = buffer.split("\n")
                    for line in lines:
                        on_event(json.loads(line))
                    if done:
                        break
                    if timeout_s and time.monotonic() - start > timeout_s:
                        child.kill()
                        child.wait()
                        return "timeout", f"took longer than {timeout_s:.0f} s and was stopped"
                    time.sleep(poll_s)
            except BaseException:  # Ctrl-C in the parent: stop the child, keep what finished
                child.kill()
                child.wait()
                raise
        code = child.returncode
        if code == 0:
            return "ok", ""
        if code < 0 and -code == signal.SIGKILL:
            return "killed", "the child process was killed (SIGKILL: out of memory?)"
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        tail = _tail(log)
        return "oom" if "MemoryError" in tail else "died", f"the child process died ({how}): {tail}"


STATUS = {"timeout": "error", "killed": "oom", "died": "error", "oom": "oom"}  # how a child ended -> status of its missing records


def run_isolated(group: Group, on_record: Callable[[Record], None], on_status: Callable[[str], None] = lambda _: None,
                 timeout_s: float | None = None, poll_s: float = 0.2) -> None:
    """Run `group` in a child process; every expected record arrives through on_record, even if the child dies."""
    seen: set[tuple[str, str]] = set()
    outcome, why = spawn("run", group, lambda event: _dispatch(event, seen, on_record, on_status), timeout_s, poll_s)
    if outcome == "timeout":
        why = f"the group {why}"
    _fill(group, seen, on_record, STATUS.get(outcome, "error"), why or "the child process ended without a record for this cell")


def prepare_in_child(group: Group, on_status: Callable[[str], None] = lambda _: None) -> dict[str, dict]:
    """Exports and quantizations for `group.models`, done in a child process so that the process
    measuring memory never held the exporter or the fp32 model. Returns, per model ref, the child's
    outcome: {"status": "ok" | "skipped" | "error" | "oom", "error", "seconds", "pid", "peak_rss_mb" (the child's so far)}."""
    results: dict[str, dict] = {}

    def on_event(event: dict) -> None:
        if event["type"] == "status":
            on_status(event["text"])
        else:
            results[event["model"]] = event

    outcome, why = spawn("prepare", group, on_event)
    for m in group.models:
        results.setdefault(m, {"model": m, "status": STATUS.get(outcome, "error"), "error": why or "the child ended without preparing it"})
    return results


def _key(model: str, cell: dict) -> tuple[str, str]:
    return model, json.dumps(cell, sort_keys=True)


def _dispatch(event: dict, seen: set, on_record, on_status) -> None:
    if event["type"] == "status":
        on_status(event["text"])
        return
    record = Record.model_validate(event["record"])
    if "baseline" not in record.cell:
        seen.add(_key(record.model, record.cell))
    on_record(record)


def stand_ins(group: Group, status: str, message: str, env: dict, seen: set | None = None) -> list[Record]:
    """Records standing in for the group's cells that did not finish (those not in `seen`, which is updated)."""
    from tradeoff.bench.source import Source

    seen = set() if seen is None else seen
    out = []
    for model, cell in group.expected():
        name = Source(model).name
        if _key(name, cell) not in seen:
            seen.add(_key(name, cell))
            out.append(Record(kind="bench", model=name, weights=group.weights, cell=cell,
                              env={**env, "threads": group.threads}, status=status, error=message))
    return out


def _fill(group: Group, seen: set, on_record, status: str, message: str) -> None:
    from tradeoff.env import environment

    for record in stand_ins(group, status, message, environment(), seen):
        on_record(record)


def _tail(log: Path) -> str:
    """The last meaningful line the child wrote (its exception, usually)."""
    try:
        lines = [l.strip() for l in log.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
