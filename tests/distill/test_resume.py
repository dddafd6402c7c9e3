"""Task-agnostic distillation runs end to end from the CLI, survives being killed mid-way, and
resumes from its checkpoint to the same student an uninterrupted run makes."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from tradeoff.paths import shared_data

AUSTEN = str(shared_data() / "austen/validation.txt")
STEPS = 24


def command(teacher: Path, out: Path) -> list[str]:
    args = ["distill", str(teacher), "--corpus", AUSTEN, "--out", str(out), "--max-steps", str(STEPS),
            "--block-size", "32", "--batch-size", "4", "--checkpoint-every", "4", "--bench-budget", "1", "--json", "-q"]
    return [sys.executable, "-c", f"import sys; from tradeoff.cli import main; sys.exit(main({args!r}))"]


def latest_step(ckpt: Path) -> int | None:
    done = [int(p.name.split("-")[1]) for p in ckpt.glob("step-*") if (p / "trainer_state.json").is_file()]
    return max(done) if done else None


@pytest.mark.slow
def test_killed_run_resumes_from_checkpoint(tiny_teacher_dir, tmp_path):
    out = tmp_path / "student"
    ckpt = tmp_path / "student.checkpoints"
    proc = subprocess.Popen(command(tiny_teacher_dir, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while latest_step(ckpt) is None:
        assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    killed_at = latest_step(ckpt)
    assert 4 <= killed_at < STEPS
    assert not out.exists()  # nothing half-written where the student goes

    done = subprocess.run(command(tiny_teacher_dir, out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout)["records"][0]
    assert record["details"]["resumed_from_step"] == killed_at
    assert record["metrics"]["train_steps"]["value"] == STEPS
    assert record["status"] == "ok" and not ckpt.exists()  # checkpoints are cleared once the student is saved

    again = subprocess.run(command(tiny_teacher_dir, tmp_path / "uninterrupted"), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["records"][0]["details"]["resumed_from_step"] is None
    resumed, straight = load_file(out / "model.safetensors"), load_file(tmp_path / "uninterrupted" / "model.safetensors")
    assert resumed.keys() == straight.keys()
    mismatched = [k for k in resumed if not (resumed[k] == straight[k]).all()]
    assert not mismatched, f"resumed student differs from an uninterrupted one in {mismatched[:3]}"
