"""Pareto frontier and recommendation logic on known candidates."""
import pytest

from tradeoff.decide import Candidate, pareto, recommend, use_cases
from tradeoff.errors import BadInput

A = Candidate("big", "eager", latency_ms=200, memory_mb=900, quality=0.90, retained=1.0, context=512)
B = Candidate("small", "eager", latency_ms=50, memory_mb=300, quality=0.86, retained=0.955, context=512)
C = Candidate("worse", "eager", latency_ms=220, memory_mb=950, quality=0.85, retained=0.94, context=4096)


def test_pareto_drops_dominated():
    assert pareto([A, B, C]) == [A, B]


def test_pareto_ignores_partly_measured_objective():
    d = Candidate("unscored", "eager", latency_ms=10, memory_mb=100)
    assert d in pareto([A, B, d])  # quality unknown for one: frontier on latency/memory only


def test_recommend_prefers_quality_within_budgets():
    rec = recommend([A, B, C], max_latency_ms=100)
    assert rec.best is B
    reasons = {v.candidate.model: v.reasons for v in rec.verdicts}
    assert "too slow: 200 ms > 100 ms budget" in reasons["big"]
    rec = recommend([A, B, C])
    assert rec.best is A and "lower quality" in rec.verdicts[1].reasons[0]


def test_recommend_says_when_nothing_fits():
    rec = recommend([A, B, C], max_memory_mb=100, min_retained=0.99)
    assert rec.best is None and rec.summary().startswith("nothing fits")


def test_recommend_requires_real_quality_for_retained_floor():
    rnd = Candidate("random-weights", "eager", latency_ms=5, memory_mb=50)
    rec = recommend([rnd, B], min_retained=0.9)
    assert rec.best is B
    assert rec.verdicts[0].reasons == ["quality not measured with real weights"]


@pytest.mark.parametrize("kw", [{"max_latency_ms": 0}, {"max_memory_mb": -1}, {"prefer": "vibes"}])
def test_bad_budgets(kw):
    with pytest.raises(BadInput):
        recommend([A], **kw)


def test_use_cases_come_from_measurements():
    uses = use_cases([A, B, C])
    assert uses["big"] == "best quality"
    assert "lowest latency" in uses["small"] and "smallest memory" in uses["small"]
    assert "longest context" in uses["worse"]
