"""Shared helpers for study/store tests: tiny records, study files, and a CLI runner."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeoff.record import Metric, Record

HERE = Path(__file__).parent


def make_record(i: int = 0, kind: str = "bench", model: str = "tiny", created: str | None = None, **cell) -> Record:
    extra = {"created": created} if created else {}
    return Record(kind=kind, model=model, weights="random", cell={"batch": i, "backend": "onnx", **cell},
                  metrics={"latency_ms": Metric(value=1.0 + i / 3, unit="ms", low=0.9 + i / 3, high=1.2 + i / 3),
                           "parameters": Metric(value=123456, unit="params")},
                  details={"note": f"cell {i}", "nested": {"a": [1, 2.5, None]}}, env={"cpu": "test", "threads": 1},
                  **extra)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


TRADEOFF = Path(sys.executable).parent / "tradeoff"


def cli(*args: str, store: Path | None = None, timeout: float = 120, **popen) -> subprocess.CompletedProcess:
    """Run the real `tradeoff` command in a child process (so exit codes and stderr are the user's)."""
    cmd = [str(TRADEOFF), *args] + (["--store", str(store)] if store else [])
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **popen)


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """No test may touch the user's real results store."""
    monkeypatch.setenv("TRADEOFF_STORE", str(tmp_path / "default-store.db"))
