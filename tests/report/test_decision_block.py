"""The answer first: the decision block and the candidates table say what the recommendation's data says."""
from test_like_for_like import ARCH, MINI, MPNET, SMOL, _folder, demo_records

from tradeoff.compare_plan import build_comparison
from tradeoff.decide import DecisionSettings
from tradeoff.report.decision import candidates_table, decision_block


def _demo(tmp_path, **constraints):
    teacher = _folder(tmp_path / f"{MINI}-3L.teacher", 6)
    student = _folder(tmp_path / f"{MINI}-3L", 3, teacher=teacher)
    refs = [*ARCH, MPNET, MINI, student, teacher, SMOL]
    return build_comparison(demo_records(student, teacher), refs, ARCH[0], quality_baseline=MPNET, decision=DecisionSettings(**constraints))


def test_the_block_names_the_choice_what_it_rests_on_and_the_runners_up_in_ten_lines(tmp_path):
    c = _demo(tmp_path)
    lines = decision_block(c.recommendation, c.shape)
    assert len(lines) <= 10
    assert lines[0].startswith("Decision (quality on accuracy") and "tie margin ±1 pp" in lines[0] and "Holm over" in lines[0]
    best = c.recommendation.best
    assert lines[1].startswith(f"  use {best.label}: latency ") and "quality 80.5%" in lines[1]
    quality = next(line for line in lines if line.startswith("  quality: "))
    assert "not shown worse than SmolLM2-135M [eager]" in quality and "more test rows would decide" in quality
    runners = [line for line in lines if line.startswith("  runner-up ")]
    assert len(runners) == 2 and all("loses: " in line for line in runners)
    assert any(line.startswith("  speed and memory only") and "llama-2-7b [estimate]" in line for line in lines)
    assert best in c.recommendation.frontier or best in c.recommendation.quality_frontier


def test_the_candidates_table_has_one_row_per_candidate_the_choice_first(tmp_path):
    c = _demo(tmp_path)
    columns, rows = candidates_table(c.recommendation)
    assert columns == ["candidate", "latency p50", "memory", "quality", "verdict"]
    assert rows[0]["verdict"] == "chosen" and rows[0]["candidate"] == c.recommendation.best.label
    assert len(rows) == len(c.recommendation.verdicts)
    student = next(r for r in rows if r["candidate"] == f"{MINI}-3L [eager]")
    assert student["verdict"].startswith(f"loses: lower quality than {MINI}-3L.teacher [eager] (-3.8 pp [")


def test_nothing_fits_is_said_first(tmp_path):
    c = _demo(tmp_path, max_latency_ms=1)
    lines = decision_block(c.recommendation, c.shape)
    assert lines[1] == "  nothing fits these budgets:" and "too slow" in lines[2]


def test_the_tie_margin_is_in_the_metrics_unit_and_holm_is_named_only_over_several_pairs():
    """MCC, Pearson or perplexity have no percentage points: their margin (0.01 of the scale) is printed bare."""
    from tradeoff.decide import Candidate, Judgement, recommend

    def cand(model, q):
        return Candidate(model, "eager", latency_ms=50.0, memory_mb=300.0, quality=q, quality_interval=(q - 0.05, q + 0.05),
                         latency_interval=(48.0, 52.0), quality_unit="")

    def paired(x, y):
        d = x.quality - y.quality
        return Judgement(0, f"{d:+.3f} [{d - 0.02:+.3f}, {d + 0.02:+.3f}]", difference=d, low=d - 0.02, high=d + 0.02, unit="", rows=400)

    head = decision_block(recommend([cand("a", 0.42), cand("b", 0.40)], paired=paired), "1x128")[0]
    assert "tie margin ±0.01)" in head and " pp" not in head and "Holm over" not in head, head


def test_the_block_and_the_table_read_each_comparison_s_fields_not_its_words():
    """The numbers quoted are the judgement's evidence whole (a ';' in it is no decision), and 'not measured' comes
    from the unmeasured decision, not from words in the text."""
    from tradeoff.decide import Candidate, Judgement, recommend

    def cand(model, q):
        return Candidate(model, "eager", latency_ms=50.0, memory_mb=300.0, quality=q, latency_interval=(48.0, 52.0),
                         quality_interval=None if q is None else (q - 3, q + 3), quality_unit="%")

    def paired(x, y):
        d = x.quality - y.quality
        return Judgement(0, f"{d:+.1f} pp [{d - 1:+.1f}, {d + 1:+.1f}]; only one seed", difference=d, low=d - 1,
                         high=d + 1, unit="pp", p_value=1e-6, rows=400)

    rec = recommend([cand("a", 84.0), cand("b", 80.0), cand("c", None)], paired=paired)
    assert "  quality: beats b [eager] (+4.0 pp [+3.0, +5.0]; only one seed)" in decision_block(rec, "1x128")
    verdicts = {row["candidate"]: row["verdict"] for row in candidates_table(rec)[1]}
    assert verdicts["b [eager]"] == "loses: lower quality than a [eager] (-4.0 pp [-5.0, -3.0]; only one seed)"
    assert verdicts["c [eager]"] == "loses: quality not measured"
