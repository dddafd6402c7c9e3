"""`tradeoff paper distilbert` on tiny models: the plan, a resumed run, the table beside the paper, the claims."""
from __future__ import annotations

import numpy as np
import pytest

from tradeoff import paper
from tradeoff.cli import main
from tradeoff.errors import BadInput
from tradeoff.evaluate import glue


def test_registry_has_the_papers_figures_and_metrics():
    assert glue.task("RTE").paper_teacher == 69.3 and glue.task("rte").paper_student == 59.9
    assert glue.task("mrpc").metric == "f1" and glue.task("cola").metric == "mcc"
    assert glue.task("sts-b").metrics == ("pearson", "spearman") and glue.task("stsb").label_range == (0.0, 5.0)
    assert round(glue.task("sst2").paper_retained, 1) == 98.5
    assert glue.task("stsb").decoder_note() and glue.task("rte").decoder_note() is None
    assert [t.name for t in glue.tasks("rte,cola")] == ["cola", "rte"]


def test_shipped_plans_parse_with_the_papers_map():
    from tradeoff.study import load_study_file, parse_study

    for plan in paper.PLANS:
        data, where = load_study_file(paper.plan_path(plan))
        study = parse_study(data, where)
        distill = [c for c in study.cells if c.kind == "distill"]
        assert distill and all(c.cell["layer_map"] == paper.LAYER_MAP and c.cell["mode"] == "task" for c in distill)
        assert {c.cell["data"] for c in distill} == {f"@{t}" for t in glue.TASKS}
        assert all(c.model == "all-mpnet-base-v2" for c in distill)
        assert {c.cell["mode"] for c in study.cells if c.kind == "eval"} == {"zero-shot", "k-shot"}


def test_plan_fills_in_each_task_from_the_registry(tiny_plan, glue_data):
    study = paper.load_plan(tiny_plan, "rte,stsb")
    evals = [c for c in study.cells if c.kind == "eval"]
    assert {c.cell["data"] for c in study.cells} == {str(glue_data / "glue" / "rte"), str(glue_data / "glue" / "stsb")}
    # decoders get no STS-B cell (regression), and RTE's prompt, verbalisers and metric come from the registry
    assert evals and all(c.cell["data"].endswith("rte") for c in evals)
    assert evals[0].cell["verbalisers"] == ["True", "False"] and evals[0].cell["metric"] == "accuracy"


@pytest.mark.parametrize("argv, needle", [
    (["paper", "distilbert", "--plan", "tpu"], "unknown plan 'tpu'"),
    (["paper", "distilbert", "--tasks", "rte,qnli"], "unknown GLUE task 'qnli'"),
    (["paper", "bert"], "unknown paper 'bert'"),
])
def test_bad_input_is_one_line_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_missing_task_folder_is_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_DATA", str(tmp_path))
    with pytest.raises(BadInput, match="GLUE rte data not found"):
        glue.task("rte").path()


@pytest.mark.slow
def test_run_resumes_and_the_table_sits_beside_the_paper(tiny_plan, tmp_path, capsys):
    store = tmp_path / "results.db"
    summary, table = paper.run(plan=tiny_plan, tasks="rte,stsb", store=store, executor="inline")
    assert summary.failed == 0 and summary.ran == summary.total == 2 + 2
    by_task = {r.task.name: r for r in table.results}
    assert set(by_task) == {"rte", "stsb"} and table.missing == []
    rte = by_task["rte"]
    assert rte.n_test == 30 and rte.distill_gain is not None
    assert rte.retained.low is not None or not rte.learned  # a tiny teacher may learn nothing: then no retained %
    assert len(rte.decoders) == 2 and all(d["same_rows"] and d["vs_student"] is not None for d in rte.decoders)
    assert by_task["stsb"].decoders == [] and set(by_task["stsb"].student_score) == {"pearson", "spearman"}
    rows = {r["task"]: r for r in table.rows()}
    assert rows["rte"]["paper BERT-base"] == "69.3" and rows["rte"]["paper DistilBERT"] == "59.9"
    assert rows["rte"]["paper retained"] == "86.4 %" and rows["rte"]["n test"] == 30
    assert "[" in rows["rte"]["retained"] or rows["rte"]["retained"].startswith("not meaningful")
    assert "[" in rows["rte"]["teacher"] and "stsb (spearman)" in rows
    macro_row = next((r for t, r in rows.items() if t.startswith("macro")), None)
    assert macro_row is None or (macro_row["paper retained"] == "96.9 %" and "[" in macro_row["retained"])
    assert any("stsb: decoders not applicable" in n for n in table.notes)
    claims = {c["claim"]: c for c in table.claims}
    assert set(claims) == {"C7", "C8", "C13", "C14"}
    assert ("proxy" in claims["C7"]["measured here"] and claims["C7"]["verdict"] in ("held", "not held", "inconclusive")
            or claims["C7"]["verdict"] == "not measurable here" and "teacher" in claims["C7"]["why / where"])

    # a rerun skips every finished cell, and the CLI prints the same table with the claims
    assert main(["paper", "distilbert", "--plan", str(tiny_plan), "--tasks", "rte,stsb", "--store", str(store),
                 "--executor", "inline", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "4 already in the store, 0 ran" in out
    assert "| rte |" in out and "69.3" in out and "C7" in out and "C14" in out

    # compare's claims check reads the same verdicts from the store
    from tradeoff.claims import Evidence, check_all

    from tradeoff.store import Store

    with Store.open(store) as s:
        verdicts = paper.store_verdicts(s)
    results = check_all(["distilbert-base-uncased", "bert-base-uncased", "llama-2-7b"], Evidence(verdicts=verdicts))
    by_id = {r.id: r for r in results}
    assert by_id["C7"].measured == claims["C7"]["measured here"] or "proxy" in by_id["C7"].measured
    for cid in ("C8", "C13", "C14"):
        assert by_id[cid].verdict in ("held", "not held", "inconclusive", "not measurable here"), by_id[cid]


def test_real_weight_c7_comes_before_the_proxy():
    from tradeoff.claims import Evidence, check_all
    from tradeoff.record import Metric

    proxy = {"C7": {"measured": "90.0 % [85.0, 95.0] (proxy)", "verdict": "not held", "context": "proxy: ..."}}
    ev = Evidence(verdicts=proxy)
    c7 = {r.id: r for r in check_all(["distilbert-base-uncased"], ev)}["C7"]
    assert c7.verdict == "not held" and "proxy" in c7.measured and "the real check" in c7.context
    ev.add("retained", "distilbert-base-uncased", "bert-base-uncased", Metric(value=0.98, low=0.975, high=0.985), "sst2")
    c7 = {r.id: r for r in check_all(["distilbert-base-uncased"], ev)}["C7"]
    assert c7.verdict == "held" and "proxy" not in c7.measured
    c8 = {r.id: r for r in check_all(["distilbert-base-uncased"], Evidence())}["C8"]
    assert c8.verdict == "not measurable here" and "tradeoff paper distilbert" in c8.context


def _result(task: str, teacher_pred, student_pred, truth):
    """A TaskResult from predictions, as _task_result builds it from a distill record."""
    from tradeoff.record import Metric
    from tradeoff.evaluate.metrics import compute, retained

    t = glue.task(task)
    teacher, student = {"y_true": truth, "y_pred": teacher_pred}, {"y_true": truth, "y_pred": student_pred}
    trivial = paper.trivial_teacher(t, teacher)
    return paper.TaskResult(task=t, teacher="t", n_test=len(truth), rows_sha256="x",
                            teacher_score={m: compute(m, teacher) for m in t.metrics}, student_score={m: compute(m, student) for m in t.metrics},
                            retained=Metric(value=float("nan")) if trivial else retained(t.metric, student, teacher),
                            distill_gain=None, gain_metric=t.metric, arrays={"truth": truth, "student": student_pred,
                                                                             "teacher": teacher_pred}, trivial=trivial)


def test_a_teacher_at_the_majority_class_gives_no_retained_and_no_claim():
    rng = np.random.default_rng(0)
    truth = list(rng.choice([0, 1], 400, p=[0.32, 0.68]))
    # MRPC as measured on a 25-step CPU budget: both predict "paraphrase" for every pair (F1 81, "100 % retained")
    mrpc = _result("mrpc", [1] * 400, [1] * 400, truth)
    assert not mrpc.learned and "majority class" in mrpc.trivial
    good_pred = [y if rng.random() < 0.9 else 1 - y for y in truth]
    sst2 = _result("sst2", good_pred, [y if rng.random() < 0.85 else 1 - y for y in truth], truth)
    assert sst2.learned
    learned = [r for r in (mrpc, sst2) if r.learned]
    verdicts = paper.claim_verdicts([mrpc, sst2], paper.macro(learned))
    assert "on sst2 (macro" in verdicts["C7"]["context"] and "left out, the teacher learned nothing there: mrpc" in verdicts["C7"]["context"]
    assert "mrpc" not in verdicts["C14"]["measured"]
    only_trivial = paper.claim_verdicts([mrpc], None)
    assert {v["verdict"] for k, v in only_trivial.items() if k in ("C7", "C8", "C14")} == {"not measurable here"}
    table = paper.PaperTable("cpu", [mrpc, sst2], paper.macro(learned), [], [], [])
    rows = {r["task"]: r for r in table.rows() if not r["task"].startswith("macro")}
    assert rows["mrpc"]["retained"].startswith("not meaningful") and "[" in rows["sst2"]["retained"]


def test_a_score_the_teacher_does_not_correlate_with_is_trivial():
    rng = np.random.default_rng(1)
    target = list(rng.uniform(0, 5, 300))
    t = glue.task("stsb")
    assert paper.trivial_teacher(t, {"target": target, "prediction": list(rng.uniform(0, 5, 300))})
    assert paper.trivial_teacher(t, {"target": target, "prediction": [x + rng.normal(0, 1) for x in target]}) is None
