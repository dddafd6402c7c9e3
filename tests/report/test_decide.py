"""Pareto frontier and recommendation logic on known candidates."""
import pytest

from tradeoff.decide import Candidate, Judgement, pareto, recommend, use_cases
from tradeoff.errors import BadInput

A = Candidate("big", "eager", latency_ms=200, memory_mb=900, quality=90.0, retained=1.0, context=512,
              quality_interval=(89.0, 91.0), latency_interval=(195.0, 205.0), quality_unit="%")
B = Candidate("small", "eager", latency_ms=50, memory_mb=300, quality=86.0, retained=0.955, context=512,
              quality_interval=(85.0, 87.0), latency_interval=(48.0, 52.0), quality_unit="%")
C = Candidate("worse", "eager", latency_ms=260, memory_mb=950, quality=82.0, retained=0.94, context=4096,
              quality_interval=(81.0, 83.0), latency_interval=(250.0, 270.0), quality_unit="%")


def test_pareto_drops_dominated():
    assert pareto([A, B, C]) == [A, B]


def test_pareto_ignores_partly_measured_objective():
    d = Candidate("unscored", "eager", latency_ms=10, memory_mb=100, latency_interval=(9.0, 11.0))
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
    assert rec.summary() == ("use student [eager]: not shown worse on quality than decoder [eager] (76.8 vs 77.5%, unpaired: "
                             "-0.7 pp [-6.46, +5.06]; inconclusive at ±1 pp); "
                             "wins on latency: 18.4x faster than decoder [eager] (11.6 vs 213 ms)")
    assert rec.verdicts[0].reasons == ["fits and is not told apart from student [eager] on quality, but 18.4x slower than "
                                       "student [eager] (213 vs 11.6 ms)"]


def test_a_significant_quality_difference_wins_even_when_slower():
    big = cand("big", 200.0, 900.0, 90.0, (88.0, 92.0))
    small = cand("small", 50.0, 300.0, 80.0, (78.0, 82.0))
    rec = recommend([small, big])
    assert rec.best is big and rec.summary().startswith("use big [eager]: wins on quality: over small [eager] (90 vs 80%, unpaired: +10 pp [+7.17, +12.8])")
    assert recommend([small, big], prefer="latency").best is small  # --prefer reorders the criteria


def test_a_paired_test_decides_quality_when_given():
    a, b = cand("a", 50.0, 300.0, 80.0, (76.0, 84.0)), cand("b", 60.0, 300.0, 78.0, (74.0, 82.0))

    def paired(x, y):  # the same rows: a paired difference much narrower than either interval
        d = x.quality - y.quality
        return Judgement(0, f"{d:+.1f} pp [{d - 1:+.1f}, {d + 1:+.1f}]", difference=d, low=d - 1, high=d + 1, unit="pp")

    rec = recommend([b, a], prefer="memory", paired=paired)
    assert rec.best is a and "wins on quality: over b [eager] (+2.0 pp [+1.0, +3.0])" in rec.summary()
    assert "equivalent on memory to b [eager] (300 vs 300 MB, within 5%)" in rec.summary()


def test_latency_intervals_that_overlap_tie_and_memory_breaks_it():
    a = cand("a", 100.0, 900.0, l_int=(90.0, 110.0))
    b = cand("b", 104.0, 400.0, l_int=(95.0, 115.0))
    rec = recommend([a, b], prefer="latency")
    assert rec.best is b and rec.summary() == ("use b [eager]: not shown worse on latency than a [eager] (104 vs 100 ms; "
                                              "inconclusive at ±5%); wins on memory: 2.25x smaller than a [eager] (400 vs 900 MB)")


def test_the_retained_floor_says_whether_it_is_met_with_confidence():
    sure = cand("sure", 50.0, 300.0, 80.0, (78.0, 82.0), retained=0.97, retained_interval=(0.955, 0.985), retained_vs="base")
    point = cand("point", 40.0, 300.0, 80.0, (78.0, 82.0), retained=0.96, retained_interval=(0.93, 0.99), retained_vs="base")
    short = cand("short", 30.0, 300.0, 80.0, (78.0, 82.0), retained=0.93, retained_interval=(0.90, 0.96), retained_vs="base")
    rec = recommend([sure, point, short], min_retained=0.95)
    notes = {v.candidate.model: v.notes + v.reasons for v in rec.verdicts}
    assert notes["sure"][0] == "meets the 95% retained floor with confidence (97.0% [95.5%, 98.5%] of base)"
    assert notes["point"][0] == "meets the 95% retained floor only at the point estimate (96.0% [93.0%, 99.0%] of base)"
    assert notes["short"] == ["keeps too little: 93.0% [90.0%, 96.0%] of base < 95% floor at the point estimate only "
                              "(its interval reaches the floor)"]
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
    # within 5% on memory, equivalent; latency and quality inconclusive: shared, not tied
    assert uses["a"] == uses["b"] == "lowest latency (not told apart); smallest memory (tied); best quality (not told apart)"
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
    assert rec.best is None and rec.verdicts[0].reasons[0].startswith(
        "not settled whether it serves 60 queries/s within p99 100 ms: capacity between 55 and 75 queries/s")


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
    assert rec.summary().startswith("use a [eager]: or b [eager]: no criterion tells them apart")
    lost = {v.candidate.model: v.reasons[-1] for v in rec.verdicts if v.reasons}
    assert lost["b"].startswith("fits; no criterion tells it from a [eager]")
    assert "lower quality" in lost["c"]
    assert "no criterion tells" not in recommend([a, c]).summary()


# -- every pair decides, ties need a margin (issue 23) ---------------------------------------------

def _paired_from(table):
    """A paired test from a table of (a, b) -> (difference, low, high, p): the same rows, as compare supplies."""
    def paired(x, y):
        if (x.model, y.model) in table:
            d, lo, hi, p = table[(x.model, y.model)]
        else:
            d, hi, lo, p = table[(y.model, x.model)]
            d, lo, hi = -d, -lo, -hi
        return Judgement(0, f"{d:+.1f} pp [{lo:+.1f}, {hi:+.1f}], McNemar p = {p:.2g}", difference=d, low=lo, high=hi,
                         unit="pp", p_value=p, rows=400)
    return paired


def test_a_candidate_beaten_by_anyone_still_running_leaves_even_if_it_ties_the_leader():
    """C is inconclusive against the leader A, but B beats C with confidence: C is never recommended, however fast."""
    a = cand("A", 100.0, 500.0, 85.5, (82.0, 89.0))
    b = cand("B", 60.0, 500.0, 85.0, (81.5, 88.5))
    c = cand("C", 10.0, 500.0, 80.0, (76.0, 84.0))
    paired = _paired_from({("A", "B"): (0.5, -2.0, 3.0, 0.7), ("A", "C"): (5.5, -2.2, 14.0, 0.16),
                           ("B", "C"): (5.0, 2.0, 7.6, 1.9e-6)})
    rec = recommend([a, b, c], paired=paired)
    assert rec.best is b
    lost = {v.candidate.model: v for v in rec.verdicts}
    assert "lower quality than B [eager]" in lost["C"].reasons[-1] and lost["C"].decision == "loses"
    assert rec.best in rec.frontier  # the frontier reads the same judgements (C stays on it: the fastest)


def test_not_significant_is_inconclusive_with_the_rows_that_would_decide_and_equivalent_needs_the_margin():
    teacher = cand("teacher", 45.8, 500.0, 80.5, (76.3, 84.3))
    student = cand("student", 22.8, 300.0, 77.5, (73.1, 81.5))
    rec = recommend([teacher, student], paired=_paired_from({("teacher", "student"): (3.0, -0.1, 7.6, 0.058)}))
    assert rec.best is student
    why = rec.summary()
    assert "not shown worse on quality than teacher [eager]" in why and "inconclusive at ±1 pp" in why
    j = rec.rests_on[0]
    assert j.decision == "inconclusive" and j.more_rows and 0 < j.more_rows < 10_000 and f"{j.more_rows:,} more test rows" in why
    same = recommend([teacher, student], paired=_paired_from({("teacher", "student"): (0.2, -0.6, 0.9, 0.6)}))
    assert "equivalent on quality to teacher [eager]" in same.summary() and "within ±1 pp" in same.summary()
    wide = recommend([teacher, student], paired=_paired_from({("teacher", "student"): (0.2, -0.6, 0.9, 0.6)}), tie_margin=0.5)
    assert "inconclusive at ±0.5 pp" in wide.summary()


def test_holm_corrects_for_every_pair_compared():
    """p = 0.03 is a win alone, not when it is the best of three comparisons at that level."""
    x, y, z = cand("x", 50.0, 500.0, 82.0, (78.0, 86.0)), cand("y", 50.0, 500.0, 80.0, (76.0, 84.0)), cand("z", 50.0, 500.0, 78.0, (74.0, 82.0))
    table = {("x", "y"): (2.0, 0.1, 3.9, 0.03), ("y", "z"): (2.0, 0.1, 3.9, 0.03), ("x", "z"): (4.0, 0.1, 7.9, 0.03)}
    assert recommend([x, y], paired=_paired_from(table)).rests_on[0].decision == "better"
    rec = recommend([x, y, z], paired=_paired_from(table))
    quality = [j for j in rec.rests_on if j.criterion == "quality"]
    assert {j.decision for j in quality} == {"inconclusive"}
    assert all(j.pairs == 3 and abs(j.p_adjusted - 0.09) < 1e-9 for j in quality)
    assert all(j.more_rows > 50 for j in quality)  # exclusion at the corrected level needs more than a handful


def test_backends_that_agree_on_every_row_share_one_quality_verdict():
    teacher = cand("teacher", 45.8, 500.0, 80.5, (76.3, 84.3))
    eager = Candidate("student", "eager", latency_ms=22.8, memory_mb=300.0, quality=77.5, quality_interval=(73.1, 81.5),
                      latency_interval=(22.0, 23.6), quality_unit="%", predictions="same")
    bf16 = Candidate("student", "eager-bf16", latency_ms=20.0, memory_mb=290.0, quality=77.5, quality_interval=(73.1, 81.5),
                     latency_interval=(19.0, 21.0), quality_unit="%", predictions="same")

    def paired(x, y):
        d = x.quality - y.quality
        return Judgement(0, f"{d:+.1f} pp", difference=d, low=d - 3.1, high=d + 3.2,
                         unit="pp", p_value=0.041 if x.backend == "eager-bf16" or y.backend == "eager-bf16" else 0.058)

    rec = recommend([teacher, eager, bf16], paired=paired)
    d = rec.decider
    assert d.judge(eager, teacher, "quality").decision == d.judge(bf16, teacher, "quality").decision
    assert d.judge(eager, bf16, "quality").decision == "equivalent"
    assert d.judge(eager, teacher, "quality").pairs == 1  # one student unit against the teacher: one pair, not three


def test_capacity_between_the_tried_rates_is_not_settled_never_cannot_serve():
    """Trials at 10, 20 and 40 queries/s: 20 held, 40 failed. 30 lies inside the bracket."""
    rec = recommend([_served("m", 20, 20, 40)], qps=30, p99_ms=100)
    assert rec.best is None
    reason = rec.verdicts[0].reasons[0]
    assert "cannot serve" not in reason and reason.startswith("not settled") and "between 20 and 40" in reason
    assert "--serve-budget" in reason
    assert recommend([_served("m", 20, 20, 40)], qps=50, p99_ms=100).verdicts[0].reasons[0].startswith("cannot serve")


def test_a_latency_budget_says_whether_it_is_met_with_confidence():
    rec = recommend([cand("m", 49.0, 300.0, l_int=(41.0, 63.0))], max_latency_ms=50)
    assert rec.best is not None and "fits the 50 ms latency budget only at the point estimate (49 [41, 63] ms)" in rec.summary()
    rec = recommend([cand("m", 40.0, 300.0, l_int=(38.0, 42.0))], max_latency_ms=50)
    assert "with confidence" in rec.summary()


def test_the_recommendation_is_always_on_the_frontier_and_ignores_input_order():
    import random

    rng = random.Random(0)
    for trial in range(200):
        cs = []
        for i in range(rng.randint(2, 6)):
            q, lat = rng.uniform(70, 90), rng.uniform(10, 200)
            w, lw = rng.uniform(0.5, 6), rng.uniform(0.01, 0.3)
            cs.append(cand(f"m{i}", lat, rng.choice([300.0, 310.0, 600.0, 900.0]), q, (q - w, q + w),
                           l_int=(lat * (1 - lw), lat * (1 + lw))))
        rec = recommend(cs)
        assert rec.best in rec.frontier, trial
        shuffled = cs[:]
        rng.shuffle(shuffled)
        again = recommend(shuffled)
        assert again.best is rec.best and again.summary() == rec.summary(), trial
        assert [c.label for c in again.frontier] == [c.label for c in rec.frontier]


def test_recommend_json_is_data():
    teacher = cand("teacher", 45.8, 500.0, 80.5, (76.3, 84.3))
    student = cand("student", 22.8, 300.0, 77.5, (73.1, 81.5))
    data = recommend([teacher, student], paired=_paired_from({("teacher", "student"): (3.0, -0.1, 7.6, 0.058)})).as_json()
    assert data["best"] == "student [eager]"
    q = next(j for j in data["rests_on"] if j["criterion"] == "quality")
    assert q["decision"] == "inconclusive" and q["difference"] == -3.0 and q["low"] == -7.6 and q["p_value"] == 0.058
    assert q["margin"] == 1.0 and q["rows"] == 400
    v = next(v for v in data["verdicts"] if v["model"] == "teacher")
    assert v["decision"] == "loses" and v["comparisons"][0]["criterion"] == "latency"


def test_recommend_json_from_a_store_gives_each_comparison_field_by_field(tmp_path):
    import json
    import subprocess
    from pathlib import Path
    import sys

    from report_records import bench, evaluation

    from tradeoff.store import Store

    with Store.open(tmp_path / "s.db") as store:
        for r in (bench("all-mpnet-base-v2", "eager", 240.0, 950.0), bench("all-MiniLM-L6-v2", "eager", 30.0, 300.0),
                  evaluation("all-mpnet-base-v2", 0.84), evaluation("all-MiniLM-L6-v2", 0.80)):
            store.put(r)
    out = subprocess.run([str(Path(sys.executable).parent / "tradeoff"), "recommend", "all-mpnet-base-v2", "all-MiniLM-L6-v2",
                          "--store", str(tmp_path / "s.db"), "--tie-margin", "2", "--json"],
                         capture_output=True, text=True, check=True).stdout
    scope = json.loads(out)["scopes"][0]
    assert scope["best"] == "all-mpnet-base-v2 [eager]"
    q = scope["rests_on"][0]
    assert q["criterion"] == "quality" and q["decision"] == "better" and q["margin"] == 2.0 and q["rows"] == 400
    assert q["difference"] == pytest.approx(4.0) and q["low"] > 0 and q["p_value"] < 0.05
    loser = next(v for v in scope["verdicts"] if v["model"] == "all-MiniLM-L6-v2")
    assert loser["decision"] == "loses" and loser["comparisons"][0]["decision"] == "worse"
    assert set(scope["frontier"]) == {"axes", "of", "candidates"}


def test_inconclusive_never_dominates_so_the_frontier_keeps_what_the_rank_chooses():
    """The quick demo's pattern: the decoder beats the small probe with confidence, the big probe is inconclusive
    against both. The small probe is fastest but beaten; the big probe is chosen, and the frontier keeps it (an
    inconclusive quality comparison does not let the small probe dominate it)."""
    small = cand("small", 30.0, 530.0, 66.7, (61.0, 72.0))
    big = cand("big", 178.0, 890.0, 70.7, (65.2, 75.8))
    decoder = cand("decoder", 247.0, 990.0, 75.0, (69.7, 79.8))
    paired = _paired_from({("decoder", "small"): (8.3, 2.5, 14.0, 0.004), ("big", "small"): (4.0, -3.2, 12.3, 0.26),
                           ("decoder", "big"): (4.3, -2.3, 12.3, 0.19)})
    rec = recommend([small, big, decoder], paired=paired)
    assert rec.best is big and big in rec.frontier and small in rec.frontier
    assert "lower quality than decoder [eager]" in next(v for v in rec.verdicts if v.candidate is small).reasons[-1]


# -- a verdict never contradicts the interval it prints ----------------------------------------------

def _skewed(d, lo, hi, unit="pp"):
    """A paired bootstrap without a test of its own (F1, MCC, pooled seeds): only its percentile interval, often skewed."""
    def paired(x, y):
        a, b, c = (d, lo, hi) if x.model == "a" else (-d, -hi, -lo)
        return Judgement(0, f"{a:+.2f} [{b:+.2f}, {c:+.2f}]", difference=a, low=b, high=c, unit=unit, rows=400)
    return paired


def test_a_skewed_bootstrap_interval_decides_by_its_own_ends():
    """+2.0 [-0.2, +2.6] holds 0: never 'better' (the full width's normal p was 0.005); +2.0 [+0.5, +5.5] excludes
    it: never 'inconclusive' (that p was 0.12). The rows that would decide are read on the side of 0."""
    a, b = cand("a", 50.0, 300.0, 82.0, (77.0, 87.0)), cand("b", 10.0, 300.0, 80.0, (75.0, 85.0))
    holds = recommend([a, b], paired=_skewed(2.0, -0.2, 2.6))
    j = holds.decider.judge(a, b, "quality")
    assert j.decision == "inconclusive" and holds.best is b and j.more_rows > 10
    excludes = recommend([a, b], paired=_skewed(2.0, 0.5, 5.5))
    assert excludes.decider.judge(a, b, "quality").decision == "better" and excludes.best is a


def test_best_on_a_criterion_is_tied_only_when_equivalent():
    """Two models nobody beats share a role; 'tied' is the margin's word, so an inconclusive pair is 'not told apart'."""
    a, b = cand("a", 50.0, 300.0, 80.0, (77.0, 83.0)), cand("b", 50.0, 300.0, 79.0, (76.0, 82.0))
    uses = use_cases([a, b], paired=_skewed(1.0, -3.0, 5.0))
    assert uses["a"] == uses["b"] == "lowest latency (tied); smallest memory (tied); best quality (not told apart)"
    assert use_cases([a, b], paired=_skewed(0.2, -0.5, 0.9))["a"].endswith("best quality (tied)")


def test_over_a_budget_only_at_the_point_estimate_says_so():
    rec = recommend([cand("m", 51.0, 300.0, l_int=(45.0, 57.0))], max_latency_ms=50)
    assert rec.best is None and rec.verdicts[0].reasons == [
        "too slow at the point estimate only: 51 [45, 57] ms > 50 ms budget (its interval reaches under it)"]
    assert recommend([cand("m", 60.0, 300.0, l_int=(58.0, 62.0))], max_latency_ms=50).verdicts[0].reasons == [
        "too slow: 60 ms > 50 ms budget"]


def test_cannot_serve_needs_a_rate_at_or_under_the_load_that_surely_failed():
    """The top of the bracket is the lowest rate that failed: at it, the model cannot serve; but a top that failed only
    at the p99's point estimate (its interval reaches under the bound) does not show it."""
    at_top = recommend([_served("m", 20, 20, 40)], qps=40, p99_ms=100).verdicts[0].reasons[0]
    assert at_top.startswith("cannot serve 40 queries/s"), at_top
    unsure = _served("m", 20, 20, 40, qps_high_sure=False)
    reason = recommend([unsure], qps=50, p99_ms=100).verdicts[0].reasons[0]
    assert reason.startswith("not settled") and "40 failed only at the p99's point estimate, so it bounds nothing" in reason


def test_variants_of_one_model_share_its_one_timing():
    """A model scored two ways (probe, fine-tune) is timed once: that timing is never tested against itself ('50 vs
    50 ms, inconclusive') nor counted as a pair in the latency correction."""
    def variant(mode, q):
        return Candidate("m", "eager", latency_ms=50.0, memory_mb=300.0, quality=q, quality_interval=(q - 3, q + 3),
                         latency_interval=(46.0, 54.0), quality_unit="%", variant=mode)

    probe, tuned = variant("probe", 80.0), variant("finetune", 80.5)
    other = cand("other", 200.0, 300.0, 60.0, (57.0, 63.0), l_int=(190.0, 210.0))
    rec = recommend([probe, tuned, other])
    same = rec.decider.judge(probe, tuned, "latency")
    assert same.decision == "equivalent" and same.text == "the same timing, 50 ms"
    assert rec.decider.judge(tuned, other, "latency").pairs == 1
    assert "inconclusive at ±5%" not in rec.summary()


def test_without_a_quality_baseline_the_retained_floor_says_so_in_a_sentence():
    rec = recommend([cand("m", 40.0, 300.0, 80.0, (78.0, 82.0))], min_retained=0.9)
    assert rec.verdicts[0].reasons == ["no quality baseline to measure it against, so its retained % is not measured"]


def test_one_default_margin_for_every_pair_of_a_decision():
    """Perplexity (negated for ranking) has no natural unit: the default is 1% of the largest score, the same for every
    pair, so the header's margin is the one every pair was judged at."""
    def ppl(model, value):
        return Candidate(model, "eager", latency_ms=50.0, memory_mb=300.0, quality=-value, quality_interval=(-value - 1, -value + 1),
                         latency_interval=(48.0, 52.0), quality_unit="")

    a, b, c = ppl("a", 20.0), ppl("b", 20.1), ppl("c", 40.0)

    def paired(x, y):
        d = x.quality - y.quality
        return Judgement(0, f"{d:+.2f}", difference=d, low=d - 0.1, high=d + 0.1, unit="", rows=400, p_value=0.5 if abs(d) < 1 else 1e-9)

    rec = recommend([a, b, c], paired=paired)
    assert {rec.decider.judge(x, y, "quality").margin for x, y in ((a, b), (a, c), (b, c))} == {0.4}


# -- decisions as data: unmeasured comparisons and budget checks --------------------------------------

def test_only_one_side_measured_is_unmeasured_yet_the_measured_one_still_ranks_ahead():
    """The JSON says unmeasured, not better or worse; the verdicts stay as before: the unmeasured one leaves."""
    from tradeoff.decide import OBJECTIVES, dominates, judge

    bare = Candidate("bare", "eager", latency_ms=None, memory_mb=None)
    for criterion in ("quality", "latency", "memory"):
        ahead, behind = judge(A, bare, criterion), judge(bare, A, criterion)
        assert (ahead.decision, ahead.better) == ("unmeasured", 1) and (behind.decision, behind.better) == ("unmeasured", -1)
    assert judge(bare, bare, "quality").decision == "equivalent"
    assert judge(bare, Candidate("other", "eager"), "latency").better == 0  # neither measured: neither ahead
    rec = recommend([bare, B])
    assert rec.best is B and dominates(B, bare, OBJECTIVES, rec.decider) and not dominates(bare, B, OBJECTIVES, rec.decider)
    lost = next(v for v in rec.verdicts if v.candidate is bare)
    assert lost.decision == "loses" and lost.against[0].decision == "unmeasured" and lost.against[0].criterion == "quality"


def test_each_budget_is_a_check_with_its_numbers():
    from tradeoff.decide import BudgetCheck

    [check] = recommend([_served("m", 20, 20, 40)], qps=30, p99_ms=100).verdicts[0].checks
    assert check == BudgetCheck("qps", 20, 20, 40, "queries/s", 30, False, False, False, check.text)
    assert check.text.startswith("not settled whether it serves 30 queries/s")
    [other_bound] = recommend([_served("m", 500, 450, 550, bound=50.0)], qps=30, p99_ms=100).verdicts[0].checks
    assert other_bound.value is other_bound.low is None and not other_bound.fits  # a capacity at another bound is not one
    short = cand("short", 30.0, 300.0, 80.0, (78.0, 82.0), retained=0.93, retained_interval=(0.90, 0.96), retained_vs="base")
    [retained] = recommend([short], min_retained=0.95).verdicts[0].checks
    assert (retained.criterion, retained.value, retained.low, retained.high, retained.unit, retained.budget) == (
        "retained", 0.93, 0.90, 0.96, "fraction", 0.95)
    assert retained.fits is False and retained.sure is False  # under the floor at the point estimate only
    est = Candidate("huge", "estimate", latency_ms=5.0, memory_mb=100.0, weights="estimate")
    latency, memory = recommend([est], max_latency_ms=50, max_memory_mb=50).verdicts[0].checks
    assert (latency.estimated, latency.fits, latency.sure) == (True, False, False)  # a bound under the budget shows nothing
    assert (memory.estimated, memory.fits, memory.sure) == (True, False, True)  # a bound over it does
    v = recommend([est], max_latency_ms=50, max_memory_mb=50).verdicts[0]
    assert v.reasons == [latency.text, memory.text] and not v.feasible
    # a top that failed only at the p99's point estimate bounds nothing, so the check gives no upper end
    [loose] = recommend([_served("m", 30, 20, 40, qps_high_sure=False)], qps=50, p99_ms=100).verdicts[0].checks
    assert (loose.value, loose.low, loose.high, loose.fits, loose.sure) == (30, 20, None, False, False)
    assert "40 failed only at the p99's point estimate" in loose.text
