"""Pareto frontier and recommendation logic on known candidates."""
import pytest

from tradeoff.decide import Candidate, Judgement, pareto, recommend, use_cases
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


# -- decided on intervals (issue 13) ---------------------------------------------------------------

def cand(model, latency, memory, quality=None, q_int=None, l_int=None, **kw):
    return Candidate(model, "eager", latency_ms=latency, memory_mb=memory, quality=quality, quality_interval=q_int,
                     latency_interval=l_int or (latency * 0.97, latency * 1.03), quality_unit="%", context=512, **kw)


def test_a_quality_difference_inside_the_intervals_is_a_tie_broken_by_latency():
    decoder = cand("decoder", 213.0, 700.0, 77.5, (73.5, 81.5))
    student = cand("student", 11.6, 250.0, 76.8, (72.5, 80.8))
    rec = recommend([decoder, student])
    assert rec.best is student
    assert rec.summary() == ("use student [eager]: tied on quality with decoder [eager] (77.5 vs 76.8%, intervals overlap); "
                             "wins on latency: 18.4x faster than decoder [eager] (11.6 vs 213 ms)")
    assert rec.verdicts[0].reasons == ["fits and ties student [eager] on quality, but 18.4x slower than student [eager] (213 vs 11.6 ms)"]


def test_a_significant_quality_difference_wins_even_when_slower():
    big = cand("big", 200.0, 900.0, 90.0, (88.0, 92.0))
    small = cand("small", 50.0, 300.0, 80.0, (78.0, 82.0))
    rec = recommend([small, big])
    assert rec.best is big and rec.summary().startswith("use big [eager]: wins on quality: over small [eager] (90 vs 80%, intervals separate)")
    assert recommend([small, big], prefer="latency").best is small  # --prefer reorders the criteria


def test_a_paired_test_decides_quality_when_given():
    a, b = cand("a", 50.0, 300.0, 80.0, (76.0, 84.0)), cand("b", 60.0, 300.0, 78.0, (74.0, 82.0))

    def paired(x, y):  # the same rows: a paired difference much narrower than either interval
        d = x.quality - y.quality
        return Judgement(1 if d > 0 else -1, f"{d:+.1f} pp [{d - 1:+.1f}, {d + 1:+.1f}]")

    rec = recommend([b, a], prefer="memory", paired=paired)
    assert rec.best is a and "wins on quality: over b [eager] (+2.0 pp [+1.0, +3.0])" in rec.summary()
    assert "tied on memory with b [eager] (300 vs 300 MB, within 5%)" in rec.summary()


def test_latency_intervals_that_overlap_tie_and_memory_breaks_it():
    a = cand("a", 100.0, 900.0, l_int=(90.0, 110.0))
    b = cand("b", 104.0, 400.0, l_int=(95.0, 115.0))
    rec = recommend([a, b], prefer="latency")
    assert rec.best is b and rec.summary() == ("use b [eager]: tied on latency with a [eager] (100 vs 104 ms, intervals overlap); "
                                              "wins on memory: 2.25x smaller than a [eager] (400 vs 900 MB)")


def test_the_retained_floor_says_whether_it_is_met_with_confidence():
    sure = cand("sure", 50.0, 300.0, 80.0, (78.0, 82.0), retained=0.97, retained_interval=(0.955, 0.985), retained_vs="base")
    point = cand("point", 40.0, 300.0, 80.0, (78.0, 82.0), retained=0.96, retained_interval=(0.93, 0.99), retained_vs="base")
    short = cand("short", 30.0, 300.0, 80.0, (78.0, 82.0), retained=0.93, retained_interval=(0.90, 0.96), retained_vs="base")
    rec = recommend([sure, point, short], min_retained=0.95)
    notes = {v.candidate.model: v.notes + v.reasons for v in rec.verdicts}
    assert notes["sure"][0] == "meets the 95% retained floor with confidence (97.0% [95.5%, 98.5%] of base)"
    assert notes["point"][0] == "meets the 95% retained floor only at the point estimate (96.0% [93.0%, 99.0%] of base)"
    assert notes["short"] == ["keeps too little: 93.0% [90.0%, 96.0%] of base < 95% floor"]
    assert rec.best is point and "only at the point estimate" in rec.summary()


def test_an_estimate_never_wins_on_its_bound():
    est = Candidate("huge", "estimate", latency_ms=5.0, memory_mb=100.0, weights="estimate")
    real = cand("real", 30.0, 300.0)
    assert recommend([est, real], prefer="latency").best is real
    assert recommend([est, real], prefer="memory").best is real
    rec = recommend([est, real], max_latency_ms=10)
    assert rec.best is None and rec.verdicts[0].reasons == [
        "cannot tell whether it fits: ≥ 5 ms is an estimate's lower bound, under the 10 ms budget"]
    slow = Candidate("huge", "estimate", latency_ms=500.0, memory_mb=100.0, weights="estimate")
    assert recommend([slow, real], prefer="latency").verdicts[0].reasons == [
        "fits, but 16.7x slower than real [eager] (≥ 500 vs 30 ms, a lower bound)"]
    assert "lowest latency" not in use_cases([est, real])["huge"]


def test_frontier_and_use_cases_need_intervals_that_separate():
    a = cand("a", 100.0, 500.0, 80.0, (77.0, 83.0), l_int=(95.0, 105.0))
    b = cand("b", 102.0, 510.0, 79.0, (76.0, 82.0), l_int=(97.0, 107.0))  # worse on every point, inside every interval
    assert pareto([a, b]) == [a, b]
    uses = use_cases([a, b])
    assert uses["a"] == uses["b"] == "lowest latency (tied); smallest memory (tied); best quality (tied)"
    c = cand("c", 300.0, 900.0, 60.0, (57.0, 63.0))
    assert pareto([a, b, c]) == [a, b] and use_cases([a, b, c])["c"] == "dominated here by a (latency, memory, quality)"


def _served(model, qps, low, high, bound=100.0, **kw):
    return Candidate(model, "eager", latency_ms=kw.pop("latency_ms", 20), memory_mb=300, max_qps=qps,
                     max_qps_interval=(low, high), qps_bound_ms=bound, **kw)


def test_a_load_budget_is_met_by_measured_capacity_at_that_bound():
    fast, slow = _served("fast", 120, 110, 130, latency_ms=10), _served("slow", 40, 36, 44)
    unmeasured = Candidate("unmeasured", "eager", latency_ms=5, memory_mb=100)
    other_bound = _served("other", 500, 450, 550, bound=50.0)
    rec = recommend([slow, fast, unmeasured, other_bound], qps=60, p99_ms=100)
    assert rec.best is fast
    why = {v.candidate.model: v.reasons + v.notes for v in rec.verdicts}
    assert any("with confidence" in n and "2.00x headroom" in n for n in why["fast"])
    assert any("cannot serve 60 queries/s within p99 100 ms" in r and "even its interval's top is below" in r for r in why["slow"])
    assert any("not measured" in r and "--workload server --p99-ms 100" in r for r in why["unmeasured"])
    assert any("not measured" in r for r in why["other"])  # a capacity at another bound does not count
    edge = _served("edge", 65, 55, 75)
    rec = recommend([edge], qps=60, p99_ms=100)
    assert rec.best is edge and "only at the point estimate" in rec.verdicts[0].notes[0]


def test_a_load_budget_without_a_bound_uses_the_server_default():
    rec = recommend([_served("m", 120, 110, 130)], qps=60)
    assert rec.best is not None and "p99 100 ms" in rec.verdicts[0].notes[0]


@pytest.mark.parametrize("kw", [{"qps": 0}, {"qps": -4}, {"qps": 10, "p99_ms": 0}])
def test_bad_load_budgets(kw):
    with pytest.raises(BadInput):
        recommend([A], **kw)


def test_a_tie_on_every_criterion_is_said_in_the_headline():
    """Nothing is ranked on a point estimate alone: when the intervals leave two candidates equal everywhere,
    the recommendation names both."""
    a = cand("a", 26.0, 510.0, 80.5, (76.0, 84.0), l_int=(25.0, 28.0))
    b = cand("b", 28.0, 511.0, 77.5, (73.0, 81.0), l_int=(26.5, 30.0))
    c = cand("c", 90.0, 900.0, 60.0, (57.0, 63.0), l_int=(88.0, 92.0))
    rec = recommend([a, b, c])
    assert rec.best is a
    assert rec.summary().startswith("use a [eager]: or b [eager]: tied on every criterion, either will do")
    lost = {v.candidate.model: v.reasons[-1] for v in rec.verdicts if v.reasons}
    assert lost["b"].startswith("fits, tied with a [eager] on every criterion")
    assert "lower quality" in lost["c"]
    assert "either will do" not in recommend([a, c]).summary()
