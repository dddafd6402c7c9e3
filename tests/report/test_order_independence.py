"""Verdicts and recommendations that depend on the records behind them, never on their order in the store or on
unrelated records beside them: each claim read in its own context (C5 at batch 1, C7 per task in its mode), and
latencies compared within one environment."""
import random

import pytest
from report_records import ENV, bench, evaluation, speedup

from tradeoff.compare_plan import build_comparison
from tradeoff.decide import DecisionSettings
from tradeoff.errors import BadInput
from tradeoff.record import Metric, Record
from tradeoff.report.table import environment_line, recommendation_lines

BERT, DISTIL, MPNET, MINI = "bert-base-uncased", "distilbert-base-uncased", "all-mpnet-base-v2", "all-MiniLM-L6-v2"
MODELS = [BERT, DISTIL, MPNET, MINI]
LAPTOP = {**ENV, "cpu": "laptop i5-8250U", "threads": 1}
XEON = {**ENV, "cpu": "Xeon Gold 6338", "cores": 32, "threads": 16}


def on(r: Record, env: dict | None = None, threads: int | None = None, created: str | None = None) -> Record:
    update = {"env": env or r.env}
    if threads is not None:
        update["cell"] = {**r.cell, "threads": threads}
    if created is not None:
        update["created"] = created
    return r.model_copy(update=update)


def failed(kind: str, model: str, env: dict = ENV) -> Record:
    return Record(kind=kind, model=model, weights="random" if kind == "bench" else "pretrained", env=env, status="error",
                  error="boom", cell={"backend": "eager", "device": "cpu", "batch": 1, "seq_len": 128, "workload": "fixed",
                                      "mode": "probe", "data": "fine_foods"})


def comparison(records, quality_baseline=MPNET, **kw):
    return build_comparison(records, MODELS, BERT, quality_baseline=quality_baseline, **kw)


def claims(c) -> dict:
    return {x.id: x for x in c.claims}


def decided(c) -> tuple:
    """Everything a reader acts on: each claim's verdict and number, the pick, and both frontiers."""
    rec = c.recommendation
    return ([(x.model, x.id, x.verdict, x.measured) for x in c.claims], rec.summary() if rec else None,
            sorted(x.label for x in rec.frontier) if rec else None, sorted(x.label for x in rec.quality_frontier) if rec else None)


SHAPES = [bench(BERT, "eager", 250.0, 900.0), bench(DISTIL, "eager", 130.0, 600.0),
          speedup(DISTIL, BERT, 1.92, 1.85, 1.99),
          bench(BERT, "eager", 4000.0, 1400.0, batch=32), bench(DISTIL, "eager", 2700.0, 1000.0, batch=32),
          speedup(DISTIL, BERT, 1.50, 1.45, 1.55, batch=32)]
QUALITY = [evaluation(MPNET, 0.84), evaluation(MINI, 0.80), bench(MPNET, "eager", 240.0, 950.0), bench(MINI, "eager", 30.0, 300.0)]


def test_c5_is_read_at_batch_1_whichever_shape_is_stored_first():
    """The paper's setting is batch 1 on a CPU: the 32x128 ratio (1.50x) is context, never the verdict (the last
    ratio stored decided: 1x128 stored first gave 'not held' from 32x128)."""
    one, many = SHAPES[:3], SHAPES[3:]
    for order in ([*one, *many], [*many, *one]):
        c5 = claims(comparison(order))["C5"]
        assert c5.verdict == "held" and c5.measured.startswith("1.92x"), c5
        assert c5.context.startswith("eager, 1x128") and "32x128 1.50x" in c5.context


def test_c5_without_the_claims_setting_is_not_decided_from_another():
    int8 = [bench(BERT, "onnx-int8", 110.0, 500.0), bench(DISTIL, "onnx-int8", 60.0, 350.0),
            speedup(DISTIL, BERT, 1.83, 1.7, 1.9, backend="onnx-int8")]
    c5 = claims(comparison([*int8, *SHAPES[3:]]))["C5"]
    assert c5.verdict == "not measurable here" and "batch 1" in c5.context and "onnx-int8 1x128 1.83x" in c5.context


def test_a_memory_ratio_from_one_reading_can_be_inconclusive():
    """One peak-RSS reading per model has no interval: near the claimed 0.75x it is inconclusive, not 'not held'."""
    def with_memory(value):
        r = speedup(DISTIL, BERT, 1.92, 1.85, 1.99)
        return r.model_copy(update={"metrics": {**r.metrics, "memory_ratio": Metric(value=value, unit="x")}})

    verdicts = {v: claims(comparison([*SHAPES[:2], with_memory(v)]))["C6"] for v in (0.60, 0.78, 0.90)}
    assert [verdicts[v].verdict for v in (0.60, 0.78, 0.90)] == ["held", "inconclusive", "not held"]
    assert "one reading per model, no interval" in verdicts[0.78].context


C7_RECORDS = [evaluation(BERT, 0.90, data="sst2", mode="probe"), evaluation(DISTIL, 0.90, data="sst2", mode="probe"),
              evaluation(BERT, 0.90, data="sst2", mode="finetune"), evaluation(DISTIL, 0.8275, data="sst2", mode="finetune")]


def test_c7_reads_each_task_in_its_fine_tuned_mode_whatever_the_order():
    """SST-2 probed keeps 100 %, fine-tuned 91.9 %: the claim is about fine-tuning, whichever row is stored first."""
    for order in (C7_RECORDS, C7_RECORDS[2:] + C7_RECORDS[:2]):
        c7 = claims(comparison([*SHAPES, *order], quality_baseline=BERT))["C7"]
        assert c7.verdict == "not held" and c7.measured.startswith("91.9%"), c7
        assert "finetune" in c7.context and "other modes, not the claim's: probe on sst2: 100.0%" in c7.context


def test_c7_over_several_tasks_is_their_macro():
    foods = [evaluation(BERT, 0.90, mode="finetune"), evaluation(DISTIL, 0.90, mode="finetune")]
    c7 = claims(comparison([*SHAPES, *C7_RECORDS, *foods], quality_baseline=BERT))["C7"]
    assert c7.context.startswith("macro over 2 tasks") and "fine_foods" in c7.context and "sst2" in c7.context
    assert c7.measured.startswith("96.0%")  # (90 + 82.75) / (90 + 90)


ENV_MIX = [on(bench(BERT, "eager", 160.0, 900.0), LAPTOP), on(bench(DISTIL, "eager", 95.0, 600.0), LAPTOP),
           on(speedup(DISTIL, BERT, 1.68, 1.6, 1.75), LAPTOP), on(bench(MINI, "eager", 40.0, 300.0), LAPTOP),
           on(bench(DISTIL, "eager", 9.0, 600.0), XEON, created="2099-01-01T00:00:00+00:00")]


def test_latencies_are_compared_within_one_environment():
    """DistilBERT on a 16-thread Xeon (newer) beside BERT on a 1-thread laptop read as '17.8x faster (9 vs 160 ms)'."""
    c = comparison(ENV_MIX)
    lines = "\n".join(recommendation_lines(c))
    assert "17.8x" not in lines and "9 ms" not in lines
    assert {x.model: x.latency_ms for x in c.candidates if x.backend == "eager"}[DISTIL] == 95.0
    assert "laptop i5-8250U" in environment_line(c) and "1 threads" in environment_line(c)
    assert any("left out 1 bench record(s) of 1 other(s): Xeon Gold 6338" in n and "--env" in n for n in c.notes)
    xeon = comparison(ENV_MIX, env="xeon")
    assert "Xeon Gold 6338" in environment_line(xeon) and "16 threads" in environment_line(xeon)
    assert {x.model: x.latency_ms for x in xeon.candidates if x.backend == "eager"}.get(BERT) is None
    with pytest.raises(BadInput, match="matches none of the environments"):
        comparison(ENV_MIX, env="m2 max")


def test_env_is_an_option_of_recommend_and_a_bad_one_is_one_line(tmp_path, capsys):
    from tradeoff.cli import main
    from tradeoff.store import Store

    path = tmp_path / "results.db"
    with Store.open(path) as s:
        for r in ENV_MIX:
            s.put(r)
    assert main(["recommend", BERT, DISTIL, "--store", str(path), "--env", "Xeon"]) == 0
    assert main(["recommend", BERT, DISTIL, "--store", str(path), "--env", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--env 'nope' matches none" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def unrelated(rng: random.Random) -> list[Record]:
    """Records that must change nothing: another task (fewer models), another machine and thread count (fewer
    results than the main one), failed runs, models not compared."""
    pool = [evaluation(MINI, 0.7, data="other_task", n=200), evaluation(MINI, 0.72, data="other_task", n=200, mode="probe"),
            on(bench(BERT, "eager", 20.0, 800.0), XEON), on(speedup(DISTIL, BERT, 3.0, 2.9, 3.1), XEON), on(bench(DISTIL, "eager", 70.0, 600.0), threads=1),
            failed("bench", DISTIL), failed("bench", BERT, XEON), failed("eval", MPNET),
            bench("roberta-base", "eager", 200.0, 900.0), evaluation("roberta-base", 0.95)]
    return rng.sample(pool, rng.randint(1, len(pool)))


STORES = {
    "shapes": [*SHAPES, *QUALITY],
    "tasks and modes": [*SHAPES, *C7_RECORDS, evaluation(BERT, 0.90, mode="finetune"), evaluation(DISTIL, 0.88, mode="finetune"),
                        evaluation(MINI, 0.8)],
    "environments": [*ENV_MIX, *QUALITY],
    "configurations": [*SHAPES, evaluation(BERT, 0.80, data="sst2", mode="finetune").model_copy(
        update={"cell": {"task": "classification", "data": "sst2", "mode": "finetune", "seed": 0, "backend": "eager", "epochs": 1}}),
        evaluation(BERT, 0.90, data="sst2", mode="finetune"), evaluation(DISTIL, 0.8275, data="sst2", mode="finetune")],
}


@pytest.mark.parametrize("name", list(STORES))
def test_no_verdict_or_recommendation_depends_on_order_or_unrelated_records(name):
    records = STORES[name]
    kw = {"quality_baseline": BERT} if name in ("tasks and modes", "configurations") else {}
    expected = decided(comparison(records, **kw))
    for seed in range(12):
        rng = random.Random(seed)
        shuffled = [*records, *unrelated(rng)] if seed % 3 else list(records)
        rng.shuffle(shuffled)
        assert decided(comparison(shuffled, **kw)) == expected, f"seed {seed}"


def _configured(model, acc, epochs):
    r = evaluation(model, acc, data="sst2", mode="finetune")
    return r.model_copy(update={"cell": {**r.cell, "epochs": epochs}})


def test_a_baseline_run_in_several_configurations_is_matched_by_settings_not_by_store_order():
    """BERT fine-tuned for 1 epoch (80 %) and for 3 (90 %), DistilBERT for 3: the student's retained % and C7 are
    against the 3-epoch BERT, whichever is stored first (the first stored decided: 103.4 % 'held' or 91.9 % 'not held')."""
    runs = [_configured(BERT, 0.80, 1), _configured(BERT, 0.90, 3), _configured(DISTIL, 0.8275, 3)]
    for order in (runs, runs[::-1]):
        c = comparison([*SHAPES[:3], *order], quality_baseline=BERT)
        c7 = claims(c)["C7"]
        assert c7.verdict == "not held" and c7.measured.startswith("91.9%"), c7
        student = next(s for s in c.scored if s.model == DISTIL)
        assert student.retained.value == pytest.approx(0.8275 / 0.90)
        assert next(x for x in c.candidates if x.model == DISTIL).retained == pytest.approx(0.8275 / 0.90)


def test_several_baseline_configurations_none_like_the_candidates_give_no_retained():
    """Which of two configurations a third is measured against would be the store's order: neither is used."""
    runs = [_configured(BERT, 0.80, 1), _configured(BERT, 0.90, 3), _configured(DISTIL, 0.8275, 2)]
    for order in (runs, runs[::-1]):
        c = comparison([*SHAPES[:3], *order], quality_baseline=BERT)
        assert next(s for s in c.scored if s.model == DISTIL).retained is None
        assert claims(c)["C7"].verdict == "not measurable here"


def _mcc(model, right, seed):
    """A CoLA-like eval judged on MCC, its predictions right on about `right` of the rows (MCC near 0)."""
    import numpy as np

    from tradeoff.evaluate.metrics import compute

    r = evaluation(model, 0.5, data="cola", mode="finetune")
    scores = dict(r.details["scores"])
    truth = np.asarray(scores["y_true"])
    scores["y_pred"] = np.where(np.random.default_rng(seed).random(len(truth)) < right, truth, 1 - truth).tolist()
    return r.model_copy(update={"details": {**r.details, "scores": scores, "primary_metric": "mcc"},
                                "metrics": {**r.metrics, "mcc": compute("mcc", scores)}})


def test_a_ratio_over_a_baseline_near_0_decides_no_claim_and_no_floor():
    """BERT's MCC 0.12 [0.02, 0.22]: DistilBERT's 95.9 % of it is a point with no meaning, so C7 is not 'not held' on
    it, and --min-retained does not say the baseline 'was not scored the same way' (it was)."""
    c = comparison([*SHAPES[:3], _mcc(BERT, 0.53, 1), _mcc(DISTIL, 0.55, 2)], quality_baseline=BERT,
                   decision=DecisionSettings(min_retained=0.9))
    c7 = claims(c)["C7"]
    assert c7.verdict == "not measurable here" and "not meaningful" in c7.measured, c7
    why = {v.candidate.model: v.reasons for v in c.recommendation.verdicts}
    assert why[DISTIL] and why[DISTIL][0].startswith("retained % not measurable: ") and "scored the same way" not in why[DISTIL][0]


def test_one_tie_margin_is_never_applied_to_a_metric_of_another_unit():
    """--tie-margin 1 means 1 pp on accuracy; on MCC (scale -1 to 1) it called -0.278 [-0.353, -0.206] 'equivalent'
    and recommended the worse model there."""
    records = [*QUALITY, _mcc(MPNET, 0.85, 1), _mcc(MINI, 0.70, 2)]
    c = build_comparison(records, [MPNET, MINI], MPNET, decision=DecisionSettings(tie_margin=1.0))
    mcc = next(s for s in c.scopes if s.label.startswith("mcc"))
    assert mcc.recommendation.best.model == MPNET, mcc.recommendation.summary()
    assert "equivalent" not in mcc.recommendation.summary()
    assert any("--tie-margin 1 is in the unit of accuracy" in n and "mcc, cola" in n for n in c.notes)
    accuracy = next(s for s in c.scopes if s.label.startswith("accuracy"))
    assert next(j for j in accuracy.recommendation.rests_on if j.criterion == "quality").margin == 1.0


def test_a_rerun_in_the_same_second_is_chosen_by_key_not_by_store_order():
    """`created` has one-second resolution: two runs of one seed and configuration stored in the same second (a cell
    asking mode auto, and one asking finetune, which auto resolves to) must not be chosen by which was stored last."""
    auto = evaluation(MINI, 0.70).model_copy(update={"created": "2030-01-01T00:00:00+00:00"})
    auto = auto.model_copy(update={"cell": {**auto.cell, "mode": "auto"}})
    explicit = evaluation(MINI, 0.80).model_copy(update={"created": "2030-01-01T00:00:00+00:00"})
    from tradeoff.compare import scored_groups

    values = {scored_groups(order)[0].value.value for order in ([auto, explicit], [explicit, auto])}
    assert len(values) == 1 and len(scored_groups([auto, explicit])) == 1
