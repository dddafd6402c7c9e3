"""`recommend --json` and `compare --json` keep to the shipped JSON Schema, and a recommendation from a store gives
each comparison behind its reasons as fields a program can read."""
import json

import jsonschema
import pytest
from report_records import bench, evaluation

from tradeoff.cli import main
from tradeoff.compare_plan import build_comparison
from tradeoff.report.json_output import compare_output, schema
from tradeoff.store import Store

MPNET, MINI, BERT = "all-mpnet-base-v2", "all-MiniLM-L6-v2", "bert-base-uncased"


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.db"
    with Store.open(path) as s:
        for r in (bench(MPNET, "eager", 240.0, 950.0), bench(MINI, "eager", 30.0, 300.0),
                  evaluation(MPNET, 0.84), evaluation(MINI, 0.80)):
            s.put(r)
    return str(path)


def recommend_json(capsys, store: str, *budgets: str, models=(MPNET, MINI)) -> dict:
    capsys.readouterr()
    assert main(["recommend", *models, "--store", store, "--tie-margin", "2", *budgets, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, schema())
    return data


def test_the_schema_is_valid_and_rejects_a_renamed_field():
    jsonschema.Draft202012Validator.check_schema(schema())
    renamed = {"scopes": [], "notes": [], "warnings": []}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(renamed, schema())


def test_recommend_json_from_a_store_gives_each_reason_field_by_field(capsys, store):
    scope = recommend_json(capsys, store)["scopes"][0]
    assert (scope["best"], scope["scope"], scope["prefer"]) == (f"{MPNET} [eager]", "accuracy, fine_foods (400 rows)", "quality")
    quality = scope["rests_on"][0]
    assert quality["criterion"] == "quality" and quality["decision"] == "better"
    assert (quality["subject"], quality["versus"]) == (f"{MPNET} [eager]", f"{MINI} [eager]")
    assert quality["difference"] == pytest.approx(4.0) and quality["unit"] == "pp"
    assert 0 < quality["low"] < quality["difference"] < quality["high"]
    assert quality["p_value"] < 0.05 and quality["p_adjusted"] < 0.05 and quality["pairs"] == 1
    assert quality["margin"] == 2.0 and quality["rows"] == 400 and quality["more_rows"] is None
    assert "McNemar" in quality["method"]

    chosen, loser = (next(v for v in scope["verdicts"] if v["model"] == m) for m in (MPNET, MINI))
    assert chosen["decision"] == "chosen" and chosen["feasible"] and chosen["comparisons"] == scope["rests_on"]
    assert loser["decision"] == "loses" and loser["feasible"] and loser["variant"] is None
    lost = loser["comparisons"][0]
    assert (lost["criterion"], lost["decision"], lost["subject"], lost["versus"]) == (
        "quality", "worse", f"{MINI} [eager]", f"{MPNET} [eager]")
    assert lost["difference"] == pytest.approx(-4.0) and lost["high"] < 0
    assert scope["frontier"]["axes"] == ["latency", "memory", "quality"] and scope["frontier"]["of"] == "all candidates"
    assert set(scope["frontier"]["candidates"]) == {f"{MPNET} [eager]", f"{MINI} [eager]"}  # faster, or better


def test_a_candidate_over_a_budget_does_not_fit_and_the_rest_decide(capsys, store):
    scope = recommend_json(capsys, store, "--max-memory-mb", "800")["scopes"][0]
    assert scope["best"] == f"{MINI} [eager]" and scope["frontier"]["of"] == "the candidates that fit the budgets"
    over = next(v for v in scope["verdicts"] if v["model"] == MPNET)
    assert over["decision"] == "does not fit" and over["feasible"] is False
    assert over["reasons"] == ["too large: 950 MB > 800 MB budget"]


def test_each_budget_is_a_check_field_by_field(capsys, store):
    """A miss is read from fields, not from its sentence: what was measured, the budget, whether it fits and whether
    the interval settles that; the reasons and notes are the checks' text."""
    assert all(v["checks"] == [] for v in recommend_json(capsys, store)["scopes"][0]["verdicts"])  # no budget asked
    scope = recommend_json(capsys, store, "--max-latency-ms", "239", "--max-memory-mb", "800")["scopes"][0]
    over = next(v for v in scope["verdicts"] if v["model"] == MPNET)
    latency, memory = over["checks"]
    assert (latency["criterion"], latency["value"], latency["budget"], latency["fits"]) == ("latency", 240.0, 239.0, False)
    assert latency["unit"] == "ms" and latency["low"] <= 239.0 < latency["high"] and latency["sure"] is False  # over at the point only
    assert latency["estimated"] is False
    assert (memory["criterion"], memory["value"], memory["budget"], memory["fits"]) == ("memory", 950.0, 800.0, False)
    assert memory["unit"] == "MB" and memory["low"] is memory["high"] is memory["sure"] is None
    assert over["feasible"] is False and over["reasons"] == [latency["text"], memory["text"]]
    assert memory["text"] == "too large: 950 MB > 800 MB budget"
    chosen = next(v for v in scope["verdicts"] if v["model"] == MINI)
    assert [(b["criterion"], b["value"], b["fits"], b["sure"]) for b in chosen["checks"]] == [
        ("latency", 30.0, True, True), ("memory", 300.0, True, None)]
    assert chosen["notes"] == [chosen["checks"][0]["text"]] and chosen["checks"][1]["text"] == ""


def test_a_comparison_with_one_side_unmeasured_is_unmeasured_and_the_unmeasured_one_still_loses(capsys, store):
    with Store.open(store) as s:
        s.put(bench(BERT, "eager", 20.0, 400.0))  # timed, never scored
    scope = recommend_json(capsys, store, models=(MPNET, MINI, BERT))["scopes"][0]
    assert scope["best"] == f"{MPNET} [eager]" and all(j["decision"] != "unmeasured" for j in scope["rests_on"])
    unscored = next(v for v in scope["verdicts"] if v["model"] == BERT)
    assert unscored["decision"] == "loses" and unscored["feasible"]
    [quality] = unscored["comparisons"]
    assert (quality["criterion"], quality["decision"], quality["subject"]) == ("quality", "unmeasured", f"{BERT} [eager]")
    assert quality["versus"] == f"{MPNET} [eager]" and quality["difference"] is None


def test_compare_json_keeps_to_the_schema(records):
    models = ["bert-base-uncased", "distilbert-base-uncased", MPNET, MINI]
    data = json.loads(json.dumps(compare_output(build_comparison(records, models, models[0], quality_baseline=MPNET)),
                                 default=str))  # as the CLI prints it
    jsonschema.validate(data, schema())
    assert data["decisions"][0]["verdicts"] and data["claims"] and data["summary"][0][""] == "layers"
