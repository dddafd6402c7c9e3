"""Each group runs in its own child process, so memory figures start from a clean process and a
crash or an out-of-memory kill ends only that group: its unfinished cells become records with
status "oom" or "error", and the run goes on.

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

from tradeoff.bench.runner import Group
from tradeoff.record import Record


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_isolated(group: Group, on_record: Callable[[Record], None], on_status: Callable[[str], None] = lambda _: None,
                 timeout_s: float | None = None, poll_s: float = 0.2) -> None:
    """Run `group` in a child process; every expected record arrives through on_record, even if the child dies."""
    with tempfile.TemporaryDirectory(prefix="tradeoff-bench-") as tmp:
        spec, events, log = Path(tmp) / "group.json", Path(tmp) / "events.jsonl", Path(tmp) / "child.log"
        spec.write_text(json.dumps(asdict(group)), encoding="utf-8")
        events.touch()
        seen: set[tuple[str, str]] = set()
        with open(log, "wb") as log_file:
            child = subprocess.Popen([sys.executable, "-m", "tradeoff.bench.worker", str(spec), str(events)],
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
                        _dispatch(json.loads(line), seen, on_record, on_status)
                    if done:
                        break
                    if timeout_s and time.monotonic() - start > timeout_s:
                        child.kill()
                        child.wait()
                        _fill(group, seen, on_record, "error", f"the group took longer than {timeout_s:.0f} s and was stopped")
                        return
                    time.sleep(poll_s)
            except BaseException:  # Ctrl-C in the parent: stop the child, keep what finished
                child.kill()
                child.wait()
                raise
        code = child.returncode
        if code == 0:
            _fill(group, seen, on_record, "error", "the child process ended without a record for this cell")
        elif code < 0 and -code == signal.SIGKILL:
            _fill(group, seen, on_record, "oom", "the child process was killed (SIGKILL: out of memory?)")
        else:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            _fill(group, seen, on_record, "oom" if "MemoryError" in _tail(log) else "error",
                  f"the child process died ({how}): {_tail(log)}")


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


def _fill(group: Group, seen: set, on_record, status: str, message: str) -> None:
    from tradeoff.bench.source import Source
    from tradeoff.env import environment

    env = {**environment(), "threads": group.threads}
    for model, cell in group.expected():
        name = Source(model).name
        if _key(name, cell) not in seen:
            seen.add(_key(name, cell))
            on_record(Record(kind="bench", model=name, weights=group.weights, cell=cell, env=env, status=status, error=message))


def _tail(log: Path) -> str:
    """The last meaningful line the child wrote (its exception, usually)."""
    try:
        lines = [l.strip() for l in log.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
