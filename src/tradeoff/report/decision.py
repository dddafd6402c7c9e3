"""The answer first: a short decision block and a compact candidates table, rendered from a Recommendation's
data (its verdicts and the judgements they rest on), so the terminal, the Markdown and the HTML say the same."""
from __future__ import annotations

from tradeoff.decide import EQUIVALENT, INCONCLUSIVE, UNMEASURED, Candidate, Judgement, Recommendation
from tradeoff.record import number

RUNNERS_UP = 2


def _quality(c: Candidate) -> str:
    if c.quality is None:
        return "-"
    q = abs(c.quality)  # perplexity is negated for ranking
    lo_hi = sorted(abs(x) for x in c.quality_interval) if c.quality_interval else None
    unit = "%" if c.quality_unit == "%" else ""
    return f"{number(q)}{unit}" + (f" [{number(lo_hi[0])}, {number(lo_hi[1])}]" if lo_hi else "")


def _latency(c: Candidate) -> str:
    if c.latency_ms is None:
        return "-"
    if c.estimated:
        return f"≥ {number(c.latency_ms)} ms (estimate)"
    span = f" [{number(c.latency_interval[0])}, {number(c.latency_interval[1])}]" if c.latency_interval else ""
    return f"{number(c.latency_ms)}{span} ms"


def _memory(c: Candidate) -> str:
    return "-" if c.memory_mb is None else ("≥ " if c.estimated else "") + f"{c.memory_mb:,.0f} MB"


def _short(j: Judgement, other: Candidate) -> str:
    """'equivalent to X (+0.2 pp [-0.6, +0.9])', 'not shown worse than X (-3.0 pp [-7.6, +0.1]; ~1,200 more rows)'."""
    if j.decision == EQUIVALENT:
        return f"equivalent to {other.label} ({j.numbers})"
    if j.decision == INCONCLUSIVE:
        more = f"; about {j.more_rows:,} more test rows would decide" if j.more_rows else ""
        return f"not shown worse than {other.label} ({j.numbers}{more})"
    if j.decision == UNMEASURED:
        return f"measured where {other.label} was not ({j.numbers})"
    return f"{j.head + ' than' if j.head else 'beats'} {other.label} ({j.numbers})"


def _against(rec: Recommendation, best: Candidate) -> dict[str, list[str]]:
    """criterion -> what the choice rests on, against whom (the rank's comparisons, as data)."""
    by_label = {v.candidate.label: v.candidate for v in rec.verdicts}
    out: dict[str, list[str]] = {}
    for j in rec.rests_on:
        if j.versus in by_label:
            out.setdefault(j.criterion, []).append(_short(j, by_label[j.versus]))
    return out


def decision_block(rec: Recommendation | None, shape: str | None, notes: list[str] = ()) -> list[str]:
    """At most about ten lines: what to use, what it wins and ties on with numbers, what that rests on, and the
    runners-up with why they lost."""
    if rec is None:
        return ["Decision: nothing measured for speed or quality yet (run `tradeoff compare` with benchmarks)"]
    # The margin in the metric's unit (pp only for a metric in %: MCC, Pearson or perplexity have none).
    tie = next((j for j in rec.rests_on if j.criterion == "quality" and j.margin is not None), None)
    margin, unit = (tie.margin, " pp" if tie.unit == "pp" else "") if tie else (None, "")
    pairs = next((j.pairs for j in rec.rests_on if j.criterion == "quality" and j.pairs and j.pairs > 1), None)
    scored = any(v.candidate.quality is not None for v in rec.verdicts)
    basis = [f"quality on {rec.scope}" if rec.scope and scored else "speed and memory only" if not scored else None,
             f"latency at {shape}" if shape else None,
             f"tie margin ±{number(margin)}{unit}" if margin is not None else None,
             f"Holm over {pairs} quality pairs" if pairs else None]
    lines = ["Decision (" + "; ".join(b for b in basis if b) + ")"]
    if rec.best is None:
        lines.append("  nothing fits these budgets:")
        lines += [f"  - {v.candidate.label}: {v.reasons[0]}" for v in rec.verdicts[:RUNNERS_UP + 1]]
        return lines
    best = rec.best
    lines.append(f"  use {best.label}: latency {_latency(best)}, memory {_memory(best)}"
                 + (f", quality {_quality(best)}" if best.quality is not None else ""))
    for criterion, said in _against(rec, best).items():
        lines.append(f"  {criterion}: " + "; ".join(said[:2]) + (f"; and {len(said) - 2} more" if len(said) > 2 else ""))
    mine = next(v for v in rec.verdicts if v.candidate is best)
    lines += [f"  {n}" for n in mine.notes]
    rivals = [v for v in rec.verdicts if v.candidate is not best and (v.candidate.quality is not None or not scored)]
    order = {"one of the equals": 0, "loses": 1, "does not fit": 2}
    for v in sorted(rivals, key=lambda v: (order.get(v.decision, 3), -(v.candidate.quality or 0)))[:RUNNERS_UP]:
        lines.append(f"  runner-up {v.candidate.label}: {verdict_word(v)}")
    unscored = [v.candidate.label for v in rec.verdicts if v.candidate.quality is None]
    if unscored and scored:
        lines.append(f"  speed and memory only (no quality measured: random weights, estimates, or no eval through "
                     f"that backend): {', '.join(unscored)}")
    return lines


def verdict_word(v) -> str:
    """'chosen', 'one of the equals', 'loses: 9.55x slower than X (213 vs 22.3 ms)', 'does not fit: too slow: ...'."""
    if v.decision in ("chosen", "one of the equals"):
        return v.decision
    if v.decision == "does not fit":
        return f"does not fit: {v.reasons[0]}"
    j = next((j for j in v.against if j.better < 0), None)
    if j is None:
        return v.decision
    if j.decision == UNMEASURED:
        return f"loses: {j.criterion} not measured"
    what = "lower quality" if j.criterion == "quality" else j.head or f"{j.criterion} worse"
    return f"loses: {what} than {j.versus} ({j.numbers})"


def candidates_table(rec: Recommendation | None) -> tuple[list[str], list[dict]]:
    """One row per candidate (model x backend): latency, memory, quality, verdict; the chosen one first."""
    columns = ["candidate", "latency p50", "memory", "quality", "verdict"]
    if rec is None:
        return columns, []
    order = {"chosen": 0, "one of the equals": 1, "loses": 2, "does not fit": 3}
    verdicts = sorted(rec.verdicts, key=lambda v: (order.get(v.decision, 4), v.candidate.quality is None,
                                                   -(v.candidate.quality or 0), v.candidate.label))
    return columns, [{"candidate": v.candidate.label, "latency p50": _latency(v.candidate), "memory": _memory(v.candidate),
                      "quality": _quality(v.candidate), "verdict": verdict_word(v)} for v in verdicts]
