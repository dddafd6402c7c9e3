"""Task-specific distillation end to end on a tiny teacher: fine-tune it, distil a 2-layer student,
train the hard-label ablation, score all three on the same examples, keep the records."""
import json

import pytest

from tradeoff import api
from tradeoff.distill import run_cell
from tradeoff.models import parse_ref
from tradeoff.paths import shared_data

SST2 = str(shared_data() / "sst2")


@pytest.fixture
def sentiment(tmp_path):
    def write(name, source, n):
        path = tmp_path / f"{name}.jsonl"
        with open(f"{SST2}/{source}.jsonl") as f:
            path.write_text("".join(next(f) for _ in range(n)))
        return path

    return write("train", "train", 160), write("test", "validation", 48)


def test_task_distillation_with_ablation(tiny_teacher_dir, sentiment, tmp_path, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    from tradeoff.store import Store

    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))
    train, test = sentiment
    store = tmp_path / "results.db"
    result = api.distill(str(tiny_teacher_dir), data=str(train), test=str(test), out=tmp_path / "student", layer_map="first",
                         layers=2, epochs=1, batch_size=16, bench_budget_s=0.5, progress=False, store=str(store))
    distilled, hard = result.records
    assert distilled.kind == hard.kind == "distill" and distilled.status == hard.status == "ok"
    assert distilled.cell["mode"] == "task" and "method" not in distilled.cell  # keyed by the request, as planned
    assert distilled.details["settings"]["method"] == "distilled" and hard.cell["method"] == "hard-labels"
    assert distilled.details["settings"]["layers"] == [0, 1] and distilled.key != hard.key
    for name in ("quality", "teacher_quality", "retained", "speedup", "distill_gain", "ablation_quality"):
        m = distilled.metrics[name]
        assert m.low is not None and m.low <= m.value <= m.high, name
    assert distilled.metrics["parameters"].value < distilled.metrics["teacher_parameters"].value
    assert len(distilled.details["scores"]["y_pred"]) == len(distilled.details["scores"]["teacher_y_pred"]) == 48
    assert distilled.details["scores"]["y_pred"] != hard.details["scores"]["y_pred"] or \
        distilled.metrics["distill_gain"].value == 0
    assert [r["model"] for r in result.rows][1:] == ["student (first, distilled)", "student (first, hard labels only)"]
    student = AutoModelForSequenceClassification.from_pretrained(result.student_dir)
    assert student.config.num_hidden_layers == 2 and student.config.num_labels == 2
    assert json.loads((result.student_dir / "distill.json").read_text())["mode"] == "task"
    with Store.open(store) as s:
        assert {r.key for r in s.query(kind="distill")} == {distilled.key, hard.key}

    # The fine-tuned teacher was saved beside the student: distilling from it skips fine-tuning (run_cell path).
    teacher = tmp_path / "student.teacher"
    cell = {"mode": "task", "data": str(train), "test": str(test), "layer_map": "0,3", "epochs": 1, "batch_size": 16,
            "ablation": False, "bench_budget_s": 0.5, "out": str(tmp_path / "student2")}
    record, = run_cell(str(teacher), cell)  # no ablation: the distilled record alone
    assert record.status == "ok" and record.cell == cell and record.model == parse_ref(str(teacher)).name
    assert record.details["teacher"] == {}  # scored as is, not fine-tuned again
    assert record.metrics["teacher_quality"].value == pytest.approx(distilled.metrics["teacher_quality"].value)
