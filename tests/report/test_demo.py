"""The demo's plans and its one-line distillation summary (the full demo itself runs in scripts/demo.sh)."""
from tradeoff import demo
from tradeoff.record import Metric, Record


def test_full_plan_distils_and_quick_plan_does_not():
    assert demo.FULL.distill and not demo.QUICK.distill
    assert "onnx-int8" in demo.FULL.backends and demo.QUICK.backends == ("eager",)


def test_distillation_summary_says_whether_the_teacher_helped():
    metrics = {"teacher_quality": Metric(value=84.0, unit="%", low=80.8, high=87.2),
               "quality": Metric(value=77.4, unit="%", low=73.6, high=81.0),
               "retained": Metric(value=92.1, unit="%", low=88.7, high=95.8),
               "speedup": Metric(value=1.97, unit="x", low=1.91, high=1.97),
               "distill_gain": Metric(value=0.6, unit="pp", low=-0.6, high=1.8)}
    r = Record(kind="distill", model="all-MiniLM-L6-v2", weights="pretrained", cell={"layers": [0, 2, 4]}, metrics=metrics)
    line = demo.summary(r)
    assert line.startswith("Distillation: all-MiniLM-L6-v2 fine-tuned 84 [80.8, 87.2] % -> 3-layer student 77.4")
    assert "1.97 [1.91, 1.97] x faster" in line and line.endswith("(not significant)")
    significant = r.model_copy(update={"metrics": {**metrics, "distill_gain": Metric(value=2.0, unit="pp", low=0.5, high=3.5)}})
    assert demo.summary(significant).endswith("(significant)")
