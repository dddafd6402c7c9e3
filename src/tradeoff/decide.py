"""Decide from measurements: the Pareto frontier and a recommendation under the user's budgets.

Works on Candidates (one model on one backend at one shape) built from stored records, so decisions
never re-measure and every reason quotes a measured number. Differences are judged on intervals, not
point estimates: quality by a paired test on the same rows, latency by its 95% intervals, memory within
a tolerance. A difference that is not significant is a tie, broken by the next criterion (quality,
latency, memory; `prefer` puts one first), and the output says so. An estimate's latency and memory are
lower bounds: they can show that it is slower or larger, never that it is faster or smaller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from tradeoff.errors import BadInput
from tradeoff.record import number

CRITERIA = ("quality", "latency", "memory")
# (attribute, better direction, criterion) for the objectives the frontier trades off.
OBJECTIVES = (("latency_ms", "min", "latency"), ("memory_mb", "min", "memory"), ("quality", "max", "quality"))
ATTR = {label: attr for attr, _, label in OBJECTIVES}
# Peak RSS is one sample per run, with allocator noise of a few percent: closer than this is a tie.
MEMORY_TOLERANCE = 0.05


@dataclass(eq=False)
class Candidate:
    model: str
    backend: str
    latency_ms: float | None = None
    memory_mb: float | None = None
    quality: float | None = None  # the task metric, higher is better (perplexity is negated)
    retained: float | None = None  # quality / baseline quality
    context: int | None = None
    weights: str = "random"
    notes: list[str] = field(default_factory=list)
    shape: str | None = None
    variant: str | None = None  # e.g. the eval mode, when a model was scored in several ways
    latency_interval: tuple[float, float] | None = None
    quality_interval: tuple[float, float] | None = None
    retained_interval: tuple[float, float] | None = None
    retained_vs: str | None = None
    quality_unit: str = ""
    evidence: Any = field(default=None, repr=False)  # what a paired quality test reads (compare's Scored)
    max_qps: float | None = None  # serving capacity: most queries/s with p99 within `qps_bound_ms` (bench's server workload)
    max_qps_interval: tuple[float, float | None] | None = None  # its upper end is None when no rate surely failed
    qps_bound_ms: float | None = None

    @property
    def label(self) -> str:
        return f"{self.model} [{self.backend}" + (f", {self.variant}" if self.variant else "") + "]"

    @property
    def estimated(self) -> bool:
        return self.weights == "estimate"


@dataclass
class Judgement:
    """a against b on one criterion: +1 a is better, -1 b is better, 0 a tie (or not decidable); the numbers
    (`text`, e.g. "+0.7 pp [-3.2, 4.6], McNemar p = 0.78" or "11.6 vs 213 ms") and, for a cost that differs,
    how much (`head`, e.g. "18.4x faster")."""

    better: int
    text: str
    head: str = ""

    def full(self) -> str:
        return f"{self.head} ({self.text})" if self.head else self.text


# (a, b) -> a's quality against b's on the same rows (paired test), or None when they cannot be paired.
Paired = Callable[[Candidate, Candidate], "Judgement | None"]


def judge(a: Candidate, b: Candidate, criterion: str, paired: Paired | None = None) -> Judgement:
    if criterion == "quality":
        return _judge_quality(a, b, paired)
    return _judge_cost(a, b, criterion)


def _judge_quality(a: Candidate, b: Candidate, paired: Paired | None) -> Judgement:
    if a.quality is None or b.quality is None:
        if a.quality is None and b.quality is None:
            return Judgement(0, "neither was scored")
        return Judgement(1 if b.quality is None else -1, "only one was scored")
    if paired is not None:
        j = paired(a, b)
        if j is not None:
            return j
    text = f"{number(a.quality)} vs {number(b.quality)}" + ("%" if a.quality_unit == "%" else "")
    if a.quality_interval and b.quality_interval:  # not paired: only intervals that separate decide
        if a.quality_interval[0] > b.quality_interval[1]:
            return Judgement(1, text + ", intervals separate")
        if b.quality_interval[0] > a.quality_interval[1]:
            return Judgement(-1, text + ", intervals separate")
        return Judgement(0, text + ", intervals overlap")
    return Judgement((a.quality > b.quality) - (a.quality < b.quality), text)  # no intervals given: points are all there is


def _judge_cost(a: Candidate, b: Candidate, criterion: str) -> Judgement:
    """Lower is better. Intervals that overlap (latency) or values within MEMORY_TOLERANCE (memory) tie."""
    attr = ATTR[criterion]
    unit = "ms" if criterion == "latency" else "MB"
    va, vb = getattr(a, attr), getattr(b, attr)
    if va is None or vb is None:
        if va is None and vb is None:
            return Judgement(0, "neither was measured")
        return Judgement(1 if vb is None else -1, "only one was measured")
    text = f"{_value(a, attr)} vs {_value(b, attr)} {unit}"
    if a.estimated or b.estimated:
        # A lower bound shows only that its candidate is at least that slow / large.
        high_a, high_b = _high(a, criterion), _high(b, criterion)
        if a.estimated and not b.estimated and va > high_b:
            return Judgement(-1, f"{text}, a lower bound", f"{_ratio(va, vb)} {_word(criterion, False)}")
        if b.estimated and not a.estimated and vb > high_a:
            return Judgement(1, f"{text}, a lower bound", f"{_ratio(vb, va)} {_word(criterion, True)}")
        return Judgement(0, f"{text}: an estimate is a lower bound, so it cannot show the difference")
    if criterion == "memory":
        if abs(va - vb) <= MEMORY_TOLERANCE * max(va, vb):
            return Judgement(0, f"{text}, within {MEMORY_TOLERANCE:.0%}")
        better = 1 if va < vb else -1
    else:
        (la, ha), (lb, hb) = a.latency_interval or (va, va), b.latency_interval or (vb, vb)
        if ha < lb:
            better = 1
        elif hb < la:
            better = -1
        else:
            return Judgement(0, f"{text}, intervals overlap")
    if better > 0:
        return Judgement(1, text, f"{_ratio(vb, va)} {_word(criterion, True)}")
    return Judgement(-1, text, f"{_ratio(va, vb)} {_word(criterion, False)}")


def _value(c: Candidate, attr: str) -> str:
    v = getattr(c, attr)
    return ("≥ " if c.estimated else "") + (f"{v:,.0f}" if attr == "memory_mb" else number(v))


def _high(c: Candidate, criterion: str) -> float:
    if criterion == "latency" and c.latency_interval:
        return c.latency_interval[1]
    return getattr(c, ATTR[criterion])


def _ratio(big: float, small: float) -> str:
    return f"{big / small:.3g}x" if small > 0 else "inf x"


def _word(criterion: str, better: bool) -> str:
    return {"latency": ("slower", "faster"), "memory": ("larger", "smaller")}[criterion][better]


# -- the frontier --------------------------------------------------------------------------------

def _active(candidates: list[Candidate]) -> list[tuple[str, str, str]]:
    """Objectives measured for every candidate; a partly measured one would rank the unmeasured unfairly."""
    return [o for o in OBJECTIVES if all(getattr(c, o[0]) is not None for c in candidates)]


def dominates(a: Candidate, b: Candidate, objectives, paired: Paired | None = None) -> bool:
    """a is at least as good as b on every objective and significantly better on one (ties do not dominate).
    Quality, the costly paired test, is judged last and only when the costs leave the question open."""
    better = False
    for _, _, label in sorted(objectives, key=lambda o: o[2] == "quality"):
        v = judge(a, b, label, paired).better
        if v < 0:
            return False
        better = better or v > 0
    return better


def pareto(candidates: list[Candidate], paired: Paired | None = None) -> list[Candidate]:
    objectives = _active(candidates)
    if not objectives:
        return list(candidates)
    return [c for c in candidates if not any(dominates(o, c, objectives, paired) for o in candidates if o is not c)]


# -- budgets and the recommendation --------------------------------------------------------------

@dataclass
class Verdict:
    candidate: Candidate
    feasible: bool
    reasons: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class Recommendation:
    best: Candidate | None
    verdicts: list[Verdict]
    frontier: list[Candidate]
    objective: str
    frontier_axes: list[str]
    quality_frontier: list[Candidate]  # among candidates with measured quality, when not all have it
    why: list[str] = field(default_factory=list)  # how the best won: ties and the criterion that broke them
    scope: str | None = None  # what the quality was measured on, when a comparison has several

    def summary(self) -> str:
        if self.best is None:
            return "nothing fits these budgets: " + "; ".join(f"{v.candidate.label}: {v.reasons[0]}" for v in self.verdicts)
        notes = next(v.notes for v in self.verdicts if v.candidate is self.best)
        return f"use {self.best.label}" + (": " + "; ".join([*self.why, *notes]) if self.why or notes else "")


EXAMPLES = {"--max-latency-ms": 50, "--max-memory-mb": 1000, "--min-retained": 0.95, "--qps": 20, "--p99-ms": 100}


def check_budgets(max_latency_ms: float | None = None, max_memory_mb: float | None = None,
                  min_retained: float | None = None, prefer: str = "quality", qps: float | None = None,
                  p99_ms: float | None = None) -> None:
    """Reject impossible budgets before any measuring starts."""
    if prefer not in CRITERIA:
        raise BadInput(f"unknown preference {prefer!r}", "use quality, latency or memory")
    for name, value in (("--max-latency-ms", max_latency_ms), ("--max-memory-mb", max_memory_mb), ("--min-retained", min_retained),
                        ("--qps", qps), ("--p99-ms", p99_ms)):
        if value is not None and value <= 0:
            raise BadInput(f"{name} must be positive, got {value}", f"pass a positive {name}, e.g. {name} {EXAMPLES[name]}")


def order(prefer: str) -> tuple[str, ...]:
    """The criteria in the order ties are broken: `prefer` first, then the default order."""
    return (prefer, *[c for c in CRITERIA if c != prefer])


def _budget(c: Candidate, criterion: str, budget: float) -> str | None:
    """Why `c` fails the budget, or None when it fits. An estimate fits only if its bound would show it."""
    value = getattr(c, ATTR[criterion])
    what, unit = ("latency", "ms") if criterion == "latency" else ("memory", "MB")
    if value is None:
        return f"{what} not measured"
    shown = number(value) if criterion == "latency" else f"{value:.4g}"
    if c.estimated:
        if value > budget:
            return f"too {'slow' if criterion == 'latency' else 'large'}: ≥ {shown} {unit} (estimate, a lower bound) > {budget:g} {unit} budget"
        return f"cannot tell whether it fits: ≥ {shown} {unit} is an estimate's lower bound, under the {budget:g} {unit} budget"
    if value > budget:
        return f"too {'slow' if criterion == 'latency' else 'large'}: {shown} {unit} > {budget:g} {unit} budget"
    return None


def _serving(c: Candidate, qps: float, p99_ms: float) -> tuple[str | None, str | None]:
    """(why `c` cannot serve `qps` within p99 `p99_ms`, or None; a note on how surely it can)."""
    if c.max_qps is None or c.qps_bound_ms != p99_ms:
        return (f"serving capacity at p99 <= {p99_ms:g} ms not measured (run `tradeoff bench {c.model} --backend {c.backend} "
                f"--workload server --p99-ms {p99_ms:g}`)"), None
    low, high = c.max_qps_interval or (None, None)
    span = f"{number(c.max_qps)} [{number(low) if low is not None else '?'}, {number(high) if high is not None else '?'}]"
    if c.max_qps < qps:
        surely = " (even its interval's top is below)" if high is not None and high < qps else ""
        return f"cannot serve {qps:g} queries/s within p99 {p99_ms:g} ms: sustains at most {span} queries/s{surely}", None
    headroom = f"{c.max_qps / qps:.2f}x headroom"
    if low is not None and low >= qps:
        return None, f"serves {qps:g} queries/s within p99 {p99_ms:g} ms with confidence: up to {span} queries/s, {headroom}"
    return None, f"serves {qps:g} queries/s within p99 {p99_ms:g} ms only at the point estimate ({span} queries/s, {headroom})"


def _retained_text(c: Candidate) -> str:
    lo_hi = f" [{c.retained_interval[0]:.1%}, {c.retained_interval[1]:.1%}]" if c.retained_interval else ""
    return f"{c.retained:.1%}{lo_hi}" + (f" of {c.retained_vs}" if c.retained_vs else "")


def recommend(candidates: list[Candidate], max_latency_ms: float | None = None, max_memory_mb: float | None = None,
              min_retained: float | None = None, prefer: str = "quality", paired: Paired | None = None,
              scope: str | None = None, qps: float | None = None, p99_ms: float | None = None) -> Recommendation:
    """Best feasible candidate, ties broken criterion by criterion, with a reason for every loser.

    `paired(a, b)` judges two candidates' quality on the same rows (compare supplies it from the eval
    records); without it, quality intervals that overlap tie. `qps` (within p99 `p99_ms`, default the
    server workload's bound) is met by a candidate whose measured capacity at that bound reaches it.
    """
    check_budgets(max_latency_ms, max_memory_mb, min_retained, prefer, qps, p99_ms)
    if qps is not None and p99_ms is None:
        from tradeoff.bench.spec import Settings

        p99_ms = Settings.p99_ms
    if not candidates:
        raise BadInput("no measured candidates to choose from", "run `tradeoff compare` (or bench/eval) first")
    verdicts = []
    for c in candidates:
        reasons, notes = [], []
        for criterion, budget in (("latency", max_latency_ms), ("memory", max_memory_mb)):
            if budget is not None and (why := _budget(c, criterion, budget)):
                reasons.append(why)
        if qps is not None:
            why, note = _serving(c, qps, p99_ms)
            reasons += [why] if why else []
            notes += [note] if note else []
        if min_retained is not None:
            if c.quality is None:
                reasons.append(f"quality not measured ({_unscored(c)})" if c.notes else "quality not measured with real weights")
            elif c.retained is None:
                reasons.append("retained not measured: no baseline was scored the same way on the same rows")
            elif c.retained < min_retained:
                reasons.append(f"keeps too little: {_retained_text(c)} < {min_retained:.0%} floor")
            elif c.retained_interval is None:  # 1.0 exactly: the quality baseline itself
                notes.append(f"meets the {min_retained:.0%} retained floor at {_retained_text(c)}"
                             + (" (it is the quality baseline)" if c.retained == 1.0 else " (no interval)"))
            elif c.retained_interval[0] < min_retained:
                notes.append(f"meets the {min_retained:.0%} retained floor only at the point estimate ({_retained_text(c)})")
            else:
                notes.append(f"meets the {min_retained:.0%} retained floor with confidence ({_retained_text(c)})")
        verdicts.append(Verdict(c, not reasons, reasons, notes))
    feasible = [v.candidate for v in verdicts if v.feasible]
    best, why, lost = rank(feasible, order(prefer), paired)
    for v in verdicts:
        if v.feasible and v.candidate is not best:
            v.reasons.append(lost[id(v.candidate)])
    scored = [c for c in candidates if c.quality is not None]
    return Recommendation(best, verdicts, pareto(candidates, paired), prefer, [label for _, _, label in _active(candidates)],
                          pareto(scored, paired) if scored and len(scored) < len(candidates) else [], why, scope)


def _point_key(criterion: str):
    """Sort key, best first, on point estimates; unmeasured values and estimates' bounds come last."""
    attr = ATTR[criterion]

    def key(c: Candidate):
        v = getattr(c, attr)
        if v is None:
            return (2, 0.0)
        if criterion == "quality":
            return (0, -v)
        return (1 if c.estimated else 0, v)

    return key


def rank(candidates: list[Candidate], criteria: tuple[str, ...], paired: Paired | None = None
         ) -> tuple[Candidate | None, list[str], dict[int, str]]:
    """(best, how it won, why each other lost) by criteria in order.

    On each criterion the point leader stays, with everyone it does not beat significantly (a tie); the
    rest drop out. The next criterion breaks the tie among those left.
    """
    if not candidates:
        return None, [], {}
    pool, steps = list(candidates), []
    for criterion in criteria:
        if len(pool) == 1:
            break
        if all(getattr(c, ATTR[criterion]) is None for c in pool):
            continue  # nobody measured it: no tie to report
        leader = min(pool, key=_point_key(criterion))
        kept, dropped = [leader], []
        for c in pool:
            if c is not leader:
                (dropped if judge(leader, c, criterion, paired).better > 0 else kept).append(c)
        steps.append((criterion, leader, kept, dropped))
        pool = kept
    best = pool[0] if len(pool) == 1 else min(pool, key=_point_key(criteria[0]))
    why, lost, tied_before = [], {}, {}
    for i, (criterion, leader, kept, dropped) in enumerate(steps):
        if best in kept:
            others = [c for c in kept if c is not best]
            if others:
                why.append(f"tied on {criterion} with " + ", ".join(f"{o.label} ({judge(o, best, criterion, paired).full()})" for o in others))
            # As the leader: against the runner-up on the first criterion, against each one it was tied with later.
            beaten = sorted(dropped, key=_point_key(criterion))[:1 if i == 0 else None] if best is leader else []
            if beaten:
                why.append(f"wins on {criterion}: " + ", ".join(_versus(judge(best, o, criterion, paired), o) for o in beaten))
        for c in dropped:
            lost[id(c)] = _lost(c, leader, criterion, paired, tied_before.get(id(c), []))
        for c in kept:
            tied_before.setdefault(id(c), []).append(criterion)
    for c in candidates:
        if c is not best and id(c) not in lost:
            lost[id(c)] = (f"fits, tied with {best.label} on every criterion; ranked below it on the point estimate "
                           f"of {criteria[0]}")
    if len(pool) > 1:  # the headline says it is one of several, not only the verdicts below it
        why.insert(0, f"or {', '.join(c.label for c in pool if c is not best)}: tied on every criterion, either will do "
                      f"({best.label} is listed first on the point estimate of {criteria[0]} alone)")
    return best, why, lost


def _unscored(c: Candidate) -> str:
    """Why a candidate has no quality: what compare noted (e.g. no eval through its backend), else its weights."""
    return "; ".join(c.notes) or ("an estimate, not run here" if c.estimated else f"{c.weights} weights")


def _versus(j: Judgement, other: Candidate) -> str:
    """'18.4x faster than X (11.6 vs 213 ms)' or 'over X (+5.2 pp [1.1, 9.0], McNemar p = 0.01)'."""
    return f"{j.head} than {other.label} ({j.text})" if j.head else f"over {other.label} ({j.text})"


def _lost(c: Candidate, leader: Candidate, criterion: str, paired: Paired | None, tied: list[str]) -> str:
    lead = f"fits and ties {leader.label} on {', '.join(tied)}, but" if tied else "fits, but"
    if criterion == "quality":
        if c.quality is None:
            return f"{lead} its quality was not measured ({_unscored(c)}), unlike {leader.label}"
        return f"{lead} lower quality than {leader.label}: {judge(c, leader, criterion, paired).text}"
    if getattr(c, ATTR[criterion]) is None:
        return f"{lead} its {criterion} was not measured, unlike {leader.label}"
    j = judge(c, leader, criterion, paired)
    return f"{lead} {j.head or ('slower' if criterion == 'latency' else 'larger')} than {leader.label} ({j.text})"


def use_cases(candidates: list[Candidate], paired: Paired | None = None) -> dict[str, str]:
    """'Best use case' per model, from where it sits among the candidates: best on a criterion means no
    other candidate beats it significantly there (so tied models share the role, and say so)."""
    frontier = pareto(candidates, paired)
    by_model: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_model.setdefault(c.model, []).append(c)
    best_on: dict[str, list[str]] = {}
    for attr, _, label in OBJECTIVES:
        for model, cs in by_model.items():
            # An estimate's bound never shows it is the fastest or smallest.
            mine = [c for c in cs if getattr(c, attr) is not None and not (label != "quality" and c.estimated)]
            rivals = [o for o in candidates if getattr(o, attr) is not None and o.model != model]
            if mine and any(all(judge(o, c, label, paired).better <= 0 for o in rivals) for c in mine):
                best_on.setdefault(label, []).append(model)
    names = {"latency": "lowest latency", "memory": "smallest memory", "quality": "best quality"}
    out = {}
    for model, cs in by_model.items():
        roles = [names[label] + (" (tied)" if len(models) > 1 else "") for label, models in best_on.items() if model in models]
        contexts = [c.context for c in candidates if c.context]
        if contexts and cs[0].context == max(contexts) and len(set(contexts)) > 1:
            roles.append(f"longest context ({cs[0].context:,} tokens)")
        if roles:
            out[model] = "; ".join(roles)
        elif any(c in frontier for c in cs):
            out[model] = "balanced trade-off (on the Pareto frontier)"
        else:
            objectives = _active(candidates)
            rivals = sorted((o for o in candidates if o.model != model), key=lambda o: o not in frontier)
            by = next((o for o in rivals if any(dominates(o, c, objectives, paired) for c in cs)), None)
            on = ", ".join(label for _, _, label in objectives)  # what "dominated" was judged on, said, not implied
            out[model] = f"dominated here by {by.model} ({on})" if by else f"dominated here ({on})"
    return out
