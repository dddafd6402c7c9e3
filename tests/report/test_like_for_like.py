"""Issue 13: the comparison compares like with like and decides on intervals.

Each test rebuilds one reproduced failure from synthetic records shaped like the stages write them:
two tasks in one store, quality from another data set, a quantised backend credited with fp32 accuracy,
latency and speed-up from other backends or shapes, the demo's mixed modes, a winner picked on noise,
and estimates inside budgets.
"""
import json
import re

import pytest
from report_records import bench, estimate, evaluation, ner_evaluation, speedup

from tradeoff.compare_plan import build_comparison
from tradeoff.decide import DecisionSettings
from tradeoff.models import parse_ref
from tradeoff.report.table import recommendation_lines, summary_table

MINI, MPNET, SMOL = "all-MiniLM-L6-v2", "all-mpnet-base-v2", "SmolLM2-135M"


def table(comparison) -> dict[str, dict]:
    return {r[""]: r for r in summary_table(comparison)[1]}


def row(t: dict, prefix: str) -> dict:
    """The one table row whose label starts with `prefix`."""
    found = [r for label, r in t.items() if label.startswith(prefix) and label.endswith(": retained") == prefix.endswith(": retained")]
    assert len(found) == 1, (prefix, list(t))
    return found[0]


def test_two_tasks_for_one_model_are_shown_separately_and_never_crash(tmp_path):
    records = [bench(MINI, "eager", 20.0, 300.0), bench(MPNET, "eager", 90.0, 900.0),
               evaluation(MINI, 0.82, data="sst2", n=872, mode="probe", errors="random"),
               evaluation(MPNET, 0.85, data="sst2", n=872, mode="probe", errors="random"),
               ner_evaluation(MINI)]
    c = build_comparison(records, [MINI, MPNET], MINI)
    t = table(c)
    assert row(t, "accuracy, sst2 (872 rows), probe")[MINI].startswith("82.0%")
    assert row(t, "entity f1, wnut17 (200 rows), finetune")[MINI] != "-"
    assert row(t, "entity f1, wnut17")[MPNET] == "-"
    lines = recommendation_lines(c)
    assert any(line.startswith("on accuracy, sst2 (872 rows): use") for line in lines)
    assert any(line.startswith("on entity f1, wnut17 (200 rows): use all-MiniLM-L6-v2 [eager]") for line in lines)

    from tradeoff.cli import main
    from tradeoff.store import Store

    store = tmp_path / "two-tasks.db"
    with Store.open(store) as s:
        for r in records:
            s.put(r)
    assert main(["report", MINI, MPNET, "--store", str(store), "--markdown-out", str(tmp_path / "r.md"),
                 "--html", str(tmp_path / "r.html")]) == 0
    md = (tmp_path / "r.md").read_text()
    assert "accuracy, sst2 (872 rows), probe" in md and "entity f1, wnut17 (200 rows), finetune" in md
    assert main(["recommend", MINI, MPNET, "--store", str(store)]) == 0


def test_quality_from_another_data_set_is_never_in_the_same_row():
    records = [bench(MINI, "eager", 20.0, 300.0), bench(MPNET, "eager", 90.0, 900.0),
               evaluation(MINI, 0.70, data="sst2", n=872, mode="probe"),
               evaluation(MPNET, 0.685, data="fine_foods", n=400, mode="probe")]
    t = table(build_comparison(records, [MINI, MPNET], MINI, quality_baseline=MPNET))
    sst2, foods = row(t, "accuracy, sst2"), row(t, "accuracy, fine_foods")
    assert sst2[MINI].startswith("70.0%") and sst2[MPNET] == "-"
    assert foods[MPNET].startswith("68.5%") and foods[MINI] == "-"
    assert not [label for label in t if "retained" in label]  # nothing was scored by both on the same rows


def test_modes_get_their_own_rows_and_seeds_are_averaged_not_maxed():
    probes = [evaluation(MINI, acc, mode="probe", seed=seed, errors="random") for seed, acc in enumerate((0.70, 0.72, 0.74))]
    records = [bench(MINI, "eager", 20.0, 300.0), *probes, evaluation(MINI, 0.85, mode="finetune")]
    t = table(build_comparison(records, [MINI], MINI))
    probe = row(t, "accuracy, fine_foods (400 rows), probe")[MINI]
    assert probe.startswith("72.0% [") and "mean of 3 seeds, 70-74" in probe
    assert row(t, "accuracy, fine_foods (400 rows), finetune")[MINI].startswith("85.0%")


def test_a_quantised_backend_gets_its_own_accuracy_and_fails_the_floor():
    records = [bench(MINI, "eager", 30.0, 300.0), bench(MINI, "onnx-int8", 12.0, 200.0),
               evaluation(MINI, 0.893), evaluation(MINI, 0.64, backend="onnx-int8", agreement=71.0)]
    c = build_comparison(records, [MINI], MINI, quality_baseline=MINI, decision=DecisionSettings(min_retained=0.95))
    quality = {cand.label: cand.quality for cand in c.candidates}
    assert quality == {"all-MiniLM-L6-v2 [eager]": pytest.approx(89.3), "all-MiniLM-L6-v2 [onnx-int8]": pytest.approx(64.0)}
    assert c.recommendation.best.label == "all-MiniLM-L6-v2 [eager]"
    int8 = next(v for v in c.recommendation.verdicts if v.candidate.backend == "onnx-int8")
    assert not int8.feasible and int8.reasons[0].startswith("keeps too little: 71.7% [")
    t = table(c)
    assert row(t, "accuracy, fine_foods (400 rows), finetune, onnx-int8")[MINI].startswith("64.0%")
    assert "agrees with eager 71.0%" in row(t, "accuracy, fine_foods (400 rows), finetune, onnx-int8")[MINI]
    assert "each probe fit" not in row(t, "accuracy, fine_foods (400 rows), finetune, onnx-int8")[MINI]
    probes = [bench(MINI, "eager", 30.0, 300.0), bench(MINI, "onnx-int8", 12.0, 200.0), evaluation(MINI, 0.80, mode="probe"),
              evaluation(MINI, 0.79, mode="probe", backend="onnx-int8", agreement=75.0)]
    cell = row(table(build_comparison(probes, [MINI], MINI)), "accuracy, fine_foods (400 rows), probe, onnx-int8")[MINI]
    assert "agrees with eager 75.0%, each probe fit on its own backend's embeddings" in cell  # not the backend's effect alone


def test_a_backend_without_its_own_eval_has_no_quality():
    records = [bench(MINI, "eager", 30.0, 300.0), bench(MINI, "onnx-int8", 12.0, 200.0), evaluation(MINI, 0.893)]
    c = build_comparison(records, [MINI], MINI)
    int8 = next(cand for cand in c.candidates if cand.backend == "onnx-int8")
    assert int8.quality is None and int8.notes == ["no eval through onnx-int8"]
    assert c.recommendation.best.backend == "eager"
    assert "all-MiniLM-L6-v2 [onnx-int8]: fits, but its quality was not measured (no eval through onnx-int8)" in \
        "\n".join(recommendation_lines(c))


def test_candidates_share_one_shape_and_speed_ups_match_their_backend():
    records = [bench(MINI, "eager", 80.0, 400.0, batch=8), bench(MINI, "eager", 10.0, 300.0), bench(MPNET, "eager", 40.0, 900.0),
               bench(MINI, "onnx-int8", 5.0, 200.0), bench(MPNET, "onnx-int8", 10.0, 500.0),
               speedup(MINI, MPNET, 4.0, 3.8, 4.2), speedup(MINI, MPNET, 2.0, 1.9, 2.1, backend="onnx-int8")]
    c = build_comparison(records, [MPNET, MINI], MPNET)
    assert c.shape == "1x128" and {cand.shape for cand in c.candidates} == {"1x128"}
    assert c.recommendation.best.label == "all-MiniLM-L6-v2 [onnx-int8]"
    assert any(line.startswith("note: decided at 1x128") for line in recommendation_lines(c))
    t = table(c)
    assert t["speed-up vs all-mpnet-base-v2 [eager, 1x128]"][MINI] == "4.00x [3.80, 4.20]"
    assert t["speed-up vs all-mpnet-base-v2 [onnx-int8, 1x128]"][MINI] == "2.00x [1.90, 2.10]"
    assert t["latency p50, p95 [eager, 8x128]"][MINI].startswith("80 [") and t["latency p50, p95 [eager, 8x128]"][MPNET] == "-"


def _folder(path, layers, teacher=None):
    """A MiniLM-shaped model folder; a student's distill.json names its teacher, as distillation saves it."""
    path.mkdir()
    (path / "config.json").write_text(json.dumps({
        "model_type": "bert", "architectures": ["BertForSequenceClassification"], "hidden_size": 384,
        "num_hidden_layers": layers, "num_attention_heads": 12, "intermediate_size": 1536, "vocab_size": 30522,
        "max_position_embeddings": 512}))
    if teacher:
        (path / "distill.json").write_text(json.dumps({"teacher": str(teacher), "mode": "task", "layers": [0, 2, 4]}))
    return str(path)


ARCH = ["bert-base-uncased", "distilbert-base-uncased", "llama-2-7b"]


def demo_records(student, teacher=None):
    """The full demo's records (scripts/demo.sh): benchmarks of everything, probes, the zero-shot decoder,
    the student and (new) its fine-tuned teacher scored as checkpoints on the same 400 reviews."""
    s = parse_ref(student).name  # a folder model's records carry its name with the hash of its files
    records = [bench("bert-base-uncased", "eager", 150.0, 900.0), bench("distilbert-base-uncased", "eager", 75.0, 600.0),
               speedup("distilbert-base-uncased", "bert-base-uncased", 2.0, 1.9, 2.1), estimate("llama-2-7b", 8000.0, 13476.0),
               bench(MPNET, "eager", 100.0, 950.0), bench(MINI, "eager", 22.0, 350.0), bench(s, "eager", 11.6, 250.0),
               bench(SMOL, "eager", 213.0, 700.0, workload="generate"),
               evaluation(MPNET, 0.692, mode="probe", errors="random"), evaluation(MINI, 0.715, mode="probe", errors="random"),
               # a student mostly gets wrong what its teacher gets wrong: nested errors
               evaluation(s, 0.768, mode="checkpoint"), evaluation(SMOL, 0.775, mode="zero-shot", errors="random")]
    if teacher:
        t = parse_ref(teacher).name
        records += [bench(t, "eager", 22.3, 350.0), evaluation(t, 0.805, mode="checkpoint")]
    return records


def test_demo_records_choose_the_student_and_state_the_quality_tie(tmp_path):
    """The demo as it was (no teacher in the table): the decoder's +0.7 pp is inside the intervals."""
    student = _folder(tmp_path / f"{MINI}-3L", 3, teacher=tmp_path / "elsewhere")
    c = build_comparison(demo_records(student), [*ARCH, MPNET, MINI, student, SMOL], ARCH[0], quality_baseline=MPNET)
    summary = recommendation_lines(c)[0]
    assert re.match(rf"use {MINI}-3L \[eager\]: not shown worse on quality than SmolLM2-135M \[eager\] "
                    r"\(-0\.\d pp \[-\d\.\d, \+\d\.\d\], McNemar p = 0\.\d+; Holm-adjusted p = 1 over 6 pairs; "
                    r"inconclusive at ±1 pp: about [\d,]+ more test rows would decide\)", summary), summary
    assert "wins on latency: " in summary and "18.4x faster than SmolLM2-135M [eager] (11.6 vs 213 ms; Holm" in summary


def test_demo_table_shows_the_student_beside_its_teacher_with_retained_against_it(tmp_path):
    teacher = _folder(tmp_path / f"{MINI}-3L.teacher", 6)
    student = _folder(tmp_path / f"{MINI}-3L", 3, teacher=teacher)
    refs = [*ARCH, MPNET, MINI, student, teacher, SMOL]
    c = build_comparison(demo_records(student, teacher), refs, ARCH[0], quality_baseline=MPNET)
    s, t = f"{MINI}-3L", f"{MINI}-3L.teacher"
    columns, rows = summary_table(c)
    assert columns.index(s) == columns.index(t) + 1
    tab = table(c)
    assert tab["distillation"][s] == f"distilled from {t}" and tab["distillation"][t] == f"teacher of {s}"
    retained = row(tab, "accuracy, fine_foods (400 rows), checkpoint: retained")
    assert retained[t] == "baseline" and re.match(r"95\.3% \[9\d\.\d%, 9\d\.\d%\] of .*\.teacher \(its teacher\)", retained[s])
    assert row(tab, "accuracy, fine_foods (400 rows), zero-shot")[SMOL].startswith("77.5%")
    # retained only within a mode (probes against the probed baseline) or against the teacher: never across modes
    for label, r in tab.items():
        if label.endswith(": retained"):
            mode = label.split(": ")[0].rsplit(", ", 1)[1]
            for model, cell in r.items():
                if model and cell not in ("-", "baseline"):
                    base = cell.split(" of ")[1].split(" (")[0].split(",")[0]
                    assert "(its teacher)" in cell or row(tab, label.split(": ")[0])[base] not in ("-",), (label, model)
                    assert mode == "probe" or "(its teacher)" in cell
    # the student is significantly below its teacher (same rows, paired), the decoder ties the teacher
    rec = c.recommendation
    assert rec.best.model == t and "not shown worse on quality than SmolLM2-135M [eager]" in rec.summary()
    lost = next(v for v in rec.verdicts if v.candidate.model == s)
    assert lost.reasons[0].startswith(f"fits, but lower quality than {t} [eager]: -3.8 pp [")


def test_an_estimate_inside_a_budget_is_a_bound_and_never_wins(tmp_path):
    records = [bench(MINI, "eager", 30.0, 300.0), bench("distilbert-base-uncased", "eager", 60.0, 600.0),
               estimate("llama-2-7b", 5.0, 13476.0)]
    models = ["distilbert-base-uncased", MINI, "llama-2-7b"]
    for constraints in ({"max_latency_ms": 100, "prefer": "latency"}, {"prefer": "latency"}, {}):
        c = build_comparison(records, models, models[0], decision=DecisionSettings(**constraints))
        assert c.recommendation.best.label == "all-MiniLM-L6-v2 [eager]", constraints
    c = build_comparison(records, models, models[0], decision=DecisionSettings(max_latency_ms=100))
    llama = next(v for v in c.recommendation.verdicts if v.candidate.model == "llama-2-7b")
    assert not llama.feasible and llama.reasons == [
        "cannot tell whether it fits: ≥ 5 ms is an estimate's lower bound, under the 100 ms budget"]
    t = table(c)
    assert t["latency p50, p95 [eager, 1x128]"]["llama-2-7b"] == "≥ 5 ms (estimate: a compute-bound lower bound)"
    assert t["peak memory [eager, 1x128]"]["llama-2-7b"] == "≥ 13,476 MB (estimate: bf16 weights only)"
    # a measured peak shows the process baseline beside the model's own working set (what memory ratios compare)
    assert t["peak memory [eager, 1x128]"][MINI] == "300 MB (120 process + 180 model)"
    assert "lowest latency" not in t["best use case"]["llama-2-7b"]


def test_notes_say_why_a_backend_was_left_out():
    c = build_comparison([bench(MINI, "eager", 30.0, 300.0)], [MINI], MINI, notes=["eager-bf16 left out: bf16 is not native on this CPU (no AMX)"])
    assert recommendation_lines(c)[-1] == "note: eager-bf16 left out: bf16 is not native on this CPU (no AMX)"


def test_an_exact_tie_reads_plus_zero_never_minus_zero():
    from tradeoff.compare import _fmt_diff
    from tradeoff.record import Metric

    assert _fmt_diff(Metric(value=-0.0, unit="pp", low=-0.04, high=2.0), 1.0, "accuracy") == "+0.0 pp [+0.0, +2.0], McNemar p = 1"


def test_records_judged_on_another_metric_get_their_own_row():
    """A run judged on macro F1 (`primary_metric`, e.g. `--metric`) is never ranked against one judged on accuracy."""
    from tradeoff.record import Metric

    f1 = evaluation(MPNET, 0.8, mode="probe")
    f1 = f1.model_copy(update={"details": {**f1.details, "primary_metric": "macro_f1"},
                               "metrics": {**f1.metrics, "macro_f1": Metric(value=79.0, unit="%", low=75.0, high=83.0)}})
    records = [bench(MINI, "eager", 20.0, 300.0), bench(MPNET, "eager", 90.0, 900.0), evaluation(MINI, 0.82, mode="probe"), f1]
    c = build_comparison(records, [MINI, MPNET], MINI)
    t = table(c)
    assert row(t, "accuracy, fine_foods (400 rows), probe")[MPNET] == "-"
    assert row(t, "macro f1, fine_foods (400 rows), probe")[MPNET].startswith("79.0%")
    assert [s.label for s in c.scopes] == ["accuracy, fine_foods (400 rows)", "macro f1, fine_foods (400 rows)"]


def test_the_retained_floor_is_against_the_named_quality_baseline_scored_the_same_way(tmp_path):
    """--min-retained says 'fraction of the quality baseline kept': a student is not checked against its teacher,
    and a model scored another way than the baseline has no like-for-like retained %."""
    teacher = _folder(tmp_path / f"{MINI}-3L.teacher", 6)
    student = _folder(tmp_path / f"{MINI}-3L", 3, teacher=teacher)
    refs = [*ARCH, MPNET, MINI, student, teacher, SMOL]
    c = build_comparison(demo_records(student, teacher), refs, ARCH[0], quality_baseline=MPNET,
                         decision=DecisionSettings(min_retained=0.9))
    why = {v.candidate.model: " ".join(v.reasons + v.notes) for v in c.recommendation.verdicts}
    assert "no like-for-like baseline: all-mpnet-base-v2 was not scored the same way" in why[f"{MINI}-3L"]
    assert "its teacher" not in why[f"{MINI}-3L"] and "its teacher" not in why[f"{MINI}-3L.teacher"]
    assert "of all-mpnet-base-v2" in why[MINI]  # probed like the baseline: 71.5% / 69.2% of it
    assert "(it is the quality baseline)" in why[MPNET]


def test_a_student_is_never_measured_against_its_teacher_scored_another_way(tmp_path):
    """The teacher as a checkpoint (its own trained head), the student probed: 'x % of its teacher' would set a
    probe beside a fine-tuned head. No retained % of the teacher then; the probed quality baseline still serves."""
    teacher = _folder(tmp_path / f"{MINI}-3L.teacher", 6)
    student = _folder(tmp_path / f"{MINI}-3L", 3, teacher=teacher)
    s, t = parse_ref(student).name, parse_ref(teacher).name
    records = [bench(s, "eager", 11.6, 250.0), bench(t, "eager", 22.3, 350.0), bench(MPNET, "eager", 100.0, 950.0),
               evaluation(t, 0.85, mode="checkpoint"), evaluation(s, 0.75, mode="probe"),
               evaluation(MPNET, 0.80, mode="probe", errors="random")]
    c = build_comparison(records, [MPNET, student, teacher], MPNET, quality_baseline=MPNET)
    probed = next(x for x in c.scored if x.model == f"{MINI}-3L")
    assert probed.retained_vs == MPNET and not probed.vs_teacher
    assert "its teacher" not in row(table(c), "accuracy, fine_foods (400 rows), probe: retained")[f"{MINI}-3L"]


def test_a_loadgen_single_stream_run_never_stands_in_for_an_interleaved_latency():
    # each model's single-stream run is alone, at another time: a faster one must not decide the latency
    records = [bench(MINI, "eager", 30.0, 300.0), bench(MPNET, "eager", 90.0, 900.0),
               bench(MPNET, "eager", 5.0, 900.0, batch=1, seq_len=128, workload="single-stream")]
    c = build_comparison(records, [MINI, MPNET], MINI)
    latency = {cand.label: cand.latency_ms for cand in c.candidates}
    assert latency == {f"{MINI} [eager]": pytest.approx(30.0), f"{MPNET} [eager]": pytest.approx(90.0)}
    assert c.recommendation.best.label == f"{MINI} [eager]"
