"""The demo's plans and its one-line distillation summary (the full demo itself runs in scripts/demo.sh)."""
import pytest

import tradeoff.distill
from tradeoff import demo
from tradeoff.store import Store
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
    assert "1.97 [1.91, 1.97] x faster" in line and line.endswith("(inconclusive: neither excludes 0 nor lies within ±1 pp)")
    within = r.model_copy(update={"metrics": {**metrics, "distill_gain": Metric(value=0.1, unit="pp", low=-0.5, high=0.7)}})
    assert demo.summary(within).endswith("(equivalent within ±1 pp)")
    significant = r.model_copy(update={"metrics": {**metrics, "distill_gain": Metric(value=2.0, unit="pp", low=0.5, high=3.5)}})
    assert demo.summary(significant).endswith("(significant)")


def test_full_demo_compares_the_student_beside_its_teacher(tmp_path, monkeypatch):
    """The full plan scores the fine-tuned teacher too, both as saved checkpoints on the same rows, and
    passes on why a backend was left out (the distillation itself is not rerun: the store holds it, and its folder exists)."""
    import json

    import tradeoff.compare_plan
    import tradeoff.report
    import tradeoff.report.html
    import tradeoff.report.plots

    student = tmp_path / "students" / f"{demo.SMALL}-3L"
    student.mkdir(parents=True)
    (student / "config.json").write_text("{}")
    (student / "distill.json").write_text(json.dumps({"teacher": str(tmp_path / "students" / f"{demo.SMALL}-3L.teacher")}))
    seen = {}
    monkeypatch.setattr(tradeoff.compare_plan, "measured_comparison", lambda refs, **kw: seen.update(refs=refs, **kw) or "comparison")
    monkeypatch.setattr(tradeoff.distill, "run_cell", lambda *a, **kw: pytest.fail("the stored distillation was rerun"))
    with Store.open(tmp_path / "results.db") as store:
        store.put(Record(kind="distill", model=demo.SMALL, weights="pretrained", cell=demo.distill_cell(tmp_path, demo.FULL).cell,
                         details={"settings": {"layers": [0, 2, 4]}},
                         metrics={k: Metric(value=1.0, unit="%") for k in ("teacher_quality", "quality", "retained", "speedup")}))
    monkeypatch.setattr(tradeoff.compare_plan, "default_backends", lambda base: ((*base, "eager-bf16"), ["eager-bf16 included"]))
    for module, name in ((tradeoff.report, "write_html"), (tradeoff.report, "to_markdown"),
                         (tradeoff.report.html, "atomic_write_text"), (tradeoff.report.plots, "write_pngs")):
        monkeypatch.setattr(module, name, lambda *a: None)
    demo.run(demo.DemoSettings(out=str(tmp_path)))
    teacher = str(tmp_path / "students" / f"{demo.SMALL}-3L.teacher")
    assert seen["refs"][-3:] == [teacher, str(student), demo.DECODER]
    assert seen["eval_overrides"][teacher] == seen["eval_overrides"][str(student)] == {"mode": "checkpoint"}
    # the baseline, the small probe and the decoder are scored once, through eager; the distilled pair through every backend
    assert all(seen["eval_overrides"][m]["backend"] == ["eager"] for m in (demo.QUALITY_BASELINE, demo.SMALL, demo.DECODER))
    assert seen["backends"] == ("eager", "onnx-int8", "eager-bf16") and seen["notes"] == ["eager-bf16 included"]


def test_the_closing_line_counts_only_this_runs_work_against_the_measured_peak(monkeypatch):
    from types import SimpleNamespace

    from tradeoff.anatomy import inspect_ref
    from tradeoff.models.refs import parse_ref

    import tradeoff.bench.hardware

    monkeypatch.setattr(tradeoff.bench.hardware, "peak_flops", lambda device="cpu", dtype="fp32": {"fp32": 100e9, "bf16": 400e9}[dtype])
    old = Record(kind="eval", model="all-MiniLM-L6-v2", weights="pretrained", cell={"mode": "probe"},
                 details={"test_rows": {"n": 400}}, created="2026-01-01T00:00:00+00:00")
    new = old.model_copy(update={"created": "2026-06-01T00:00:00+00:00"})
    comparison = SimpleNamespace(models=["all-MiniLM-L6-v2"], records=[old, new], teachers={},
                                 anatomy={"all-MiniLM-L6-v2": inspect_ref(parse_ref("all-MiniLM-L6-v2"))})
    line = demo.work_line(demo.FULL, comparison, "2026-03-01T00:00:00+00:00", 60.0)

    per_token = inspect_ref(parse_ref("all-MiniLM-L6-v2"), seq_len=demo.FULL.max_length).flops_per_token
    flops = (400 + demo.FULL.train_limit) * demo.FULL.max_length * per_token  # the new record only
    assert line.startswith(f"{flops / 1e12:.1f} TFLOP of training and scoring in 1.0 min: {flops / 60 / 100e9:.0%} of")
    assert demo.work_line(demo.FULL, comparison, "2026-12-01T00:00:00+00:00", 60.0) is None  # nothing ran: no line


def test_the_closing_line_counts_the_distillation_from_the_student_the_comparison_names(monkeypatch):
    from types import SimpleNamespace

    import tradeoff.bench.hardware

    monkeypatch.setattr(tradeoff.bench.hardware, "peak_flops", lambda device="cpu", dtype="fp32": {"fp32": 100e9, "bf16": 400e9}[dtype])
    distilled = Record(kind="distill", model="all-MiniLM-L6-v2", weights="pretrained", cell={**demo.distill_cell(
        __import__("pathlib").Path("/tmp"), demo.FULL).cell, "mixed_precision": "no"}, created="2026-06-01T00:00:00+00:00")
    from tradeoff.anatomy import inspect_ref
    from tradeoff.models.refs import parse_ref

    comparison = SimpleNamespace(models=["all-MiniLM-L6-v2"], records=[distilled], teachers={"all-MiniLM-L6-v2": "x"},
                                 anatomy={"all-MiniLM-L6-v2": inspect_ref(parse_ref("all-MiniLM-L6-v2"))})
    line = demo.work_line(demo.FULL, comparison, "2026-03-01T00:00:00+00:00", 600.0)
    assert line is not None and " TFLOP of training and scoring in 10.0 min" in line
    # training in bf16 is set against the bf16 peak, not fp32's (which would overstate the utilisation 4x here)
    fp32 = float(line.split(" min: ")[1].split("%")[0])
    in_bf16 = distilled.model_copy(update={"cell": {**distilled.cell, "mixed_precision": "bf16"}})
    line = demo.work_line(demo.FULL, SimpleNamespace(**{**vars(comparison), "records": [in_bf16]}),
                          "2026-03-01T00:00:00+00:00", 600.0)
    assert "training in bf16" in line and "bf16 400 GFLOP/s" in line
    assert abs(float(line.split(" min: ")[1].split("%")[0]) - fp32 / 4) <= 1


def test_a_model_scored_through_fewer_backends_is_timed_through_those_only():
    from tradeoff.compare_plan import _timed_where_scored
    from tradeoff.bench.spec import Group

    eager = Group(models=["base", "probe", "student"], backend="eager", device="cpu", cells=[{}], baseline="base")
    int8 = Group(models=["base", "probe", "student"], backend="onnx-int8", device="cpu", cells=[{}], baseline="base")
    decoder = Group(models=["decoder"], backend="onnx-int8", device="cpu", cells=[{}])
    only_eager = {"backend": ["eager"]}
    kept = _timed_where_scored([eager, int8, decoder], {"probe": only_eager, "decoder": only_eager, "base": only_eager})
    assert [(g.backend, g.models) for g in kept] == [("eager", ["base", "probe", "student"]),
                                                     ("onnx-int8", ["base", "student"])]  # the baseline stays for its ratios


def test_an_output_folder_it_cannot_create_is_one_line_of_bad_input(tmp_path, capsys):
    from tradeoff.cli import main

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert main(["demo", "--out", str(blocked / "out")]) == 2
    err = capsys.readouterr().err
    assert "cannot create the demo's output folder" in err and "--out" in err and "Traceback" not in err
