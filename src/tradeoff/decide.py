"""Decide from measurements: the Pareto frontier and a recommendation under the user's budgets.

Works on Candidates (one model on one backend at one shape) built from stored records, so decisions
never re-measure and every reason quotes a measured number. The rule, the same for the recommendation,
the frontier and the use cases (one `Decider` makes every pairwise judgement once):

- quality: every pair of candidates is tested (paired on the same rows when the records allow, else from
  each one's interval), Holm-corrected over all the pairs compared; latency likewise, on log time from each
  one's interval; memory (one sample per run) differs beyond MEMORY_TOLERANCE.
- a pair is *equivalent* when its difference's 95% interval lies within the tie margin (quality: `tie_margin`
  in the metric's unit, default DEFAULT_MARGIN; latency: LATENCY_MARGIN); *better* / *worse* when the
  corrected test says so and the difference is not within the margin; otherwise *inconclusive*, with about
  how many more test rows would settle it; *unmeasured* when either one lacks the measurement (the measured one
  still ranks ahead: only it can be shown to win).
- a candidate leaves on a criterion when anyone still in the running beats it; the next criterion
  (quality, latency, memory; `prefer` puts one first) chooses among those left, and the output says
  whether they were equivalent or only not shown worse.

An estimate's latency and memory are lower bounds: they can show that it is slower or larger, never that
it is faster or smaller.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any, Callable

from tradeoff.bench.spec import Settings as BENCH
from tradeoff.errors import BadInput
from tradeoff.options import check_names, setting
from tradeoff.record import number
from tradeoff.stats import holm

CRITERIA = ("quality", "latency", "memory")
# (attribute, better direction, criterion) for the objectives the frontier trades off.
OBJECTIVES = (("latency_ms", "min", "latency"), ("memory_mb", "min", "memory"), ("quality", "max", "quality"))
ATTR = {label: attr for attr, _, label in OBJECTIVES}
# Peak RSS is one sample per run, with allocator noise of a few percent: closer than this is equivalent.
MEMORY_TOLERANCE = 0.05
# Latencies whose ratio's interval lies within [1/1.05, 1.05] are equivalent.
LATENCY_MARGIN = 0.05
# Quality differences within 1 pp (metrics in %), or 0.01 of the metric's scale otherwise, are equivalent.
DEFAULT_MARGIN = {"%": 1.0, "": 0.01}
ALPHA = 0.05
Z95 = 1.959963984540054

BETTER, WORSE, EQUIVALENT, INCONCLUSIVE, UNMEASURED = "better", "worse", "equivalent", "inconclusive", "unmeasured"


@dataclass(eq=False)
class Candidate:
    model: str
    backend: str
    latency_ms: float | None = None
    memory_mb: float | None = None
    quality: float | None = None  # the task metric, higher is better (perplexity is negated)
    retained: float | None = None  # quality / the quality baseline's, scored the same way on the same rows
    context: int | None = None
    weights: str = "random"
    notes: list[str] = field(default_factory=list)
    shape: str | None = None
    variant: str | None = None  # e.g. the eval mode, when a model was scored in several ways
    latency_interval: tuple[float, float] | None = None
    quality_interval: tuple[float, float] | None = None
    retained_interval: tuple[float, float] | None = None
    retained_vs: str | None = None
    retained_why: str | None = None  # why there is no retained % although the baseline was scored the same way
    quality_unit: str = ""
    evidence: Any = field(default=None, repr=False)  # what a paired quality test reads (compare's Scored)
    predictions: str | None = None  # a fingerprint of its per-row outputs: equal fingerprints share one quality verdict
    max_qps: float | None = None  # serving capacity: most queries/s with p99 within `qps_bound_ms` (bench's server workload)
    max_qps_interval: tuple[float | None, float | None] | None = None  # an end is None when the search did not bound it
    qps_bound_ms: float | None = None
    qps_tokens: tuple[float, float, int] | None = None  # a decoder's capacity: (TTFT ms, TPOT ms) p99 bounds, output tokens
    qps_high_sure: bool = True  # the interval's top is a rate that surely failed (False: it failed at the point only)
    decoder: bool = False  # served token by token (its capacity is under TTFT and TPOT bounds, not a p99 latency)

    @property
    def label(self) -> str:
        return f"{self.model} [{self.backend}" + (f", {self.variant}" if self.variant else "") + "]"

    @property
    def estimated(self) -> bool:
        return self.weights == "estimate"


@dataclass
class Judgement:
    """a against b on one criterion, as data: the decision, the difference with its interval and how it was made;
    `text` and `head` render it ("+0.7 pp [-3.2, 4.6], McNemar p = 0.78; equivalent within ±1 pp"; "18.4x faster"),
    `numbers` is that text without the decision's wording, for renderers that word the decision themselves."""

    better: int  # +1 a ranks ahead (shown better, or measured where b is not), -1 b does, 0 neither
    text: str
    head: str = ""
    decision: str = INCONCLUSIVE  # better / worse / equivalent / inconclusive / unmeasured, from a's side
    criterion: str = ""
    difference: float | None = None  # quality: a - b in the metric's unit; latency: a / b
    low: float | None = None
    high: float | None = None
    unit: str = ""
    p_value: float | None = None
    p_adjusted: float | None = None  # Holm over the pairs compared on this criterion
    pairs: int | None = None  # how many pairs that correction was over
    margin: float | None = None
    method: str = ""
    rows: int | None = None  # test rows behind a paired quality difference
    more_rows: int | None = None  # about how many more rows would settle an inconclusive one
    sign: int = 1  # +1 when a larger difference favours a (quality of a higher-is-better metric), else -1
    subject: str = ""  # a's label
    versus: str = ""  # b's label
    numbers: str = ""  # the evidence as text, before the Decider words its decision into `text` (default: `text`)

    def __post_init__(self):
        self.numbers = self.numbers or self.text

    def full(self) -> str:
        return f"{self.head} ({self.text})" if self.head else self.text

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("better", "head", "sign", "numbers")}


# (a, b) -> a's quality against b's on the same rows: a Judgement with difference, low, high, p_value, rows, unit,
# method and sign filled (its decision is made by the Decider), or None when they cannot be paired.
Paired = Callable[[Candidate, Candidate], "Judgement | None"]


def p_text(p: float) -> str:
    """'= 0.058' or '< 0.0001': two significant digits, never a bare 0."""
    return f"= {p:.2g}" if p >= 1e-4 else "< 0.0001"


def _normal_p(d: float, se: float) -> float:
    from scipy.stats import norm

    if se <= 0:
        return 0.0 if d else 1.0
    return float(2 * norm.sf(abs(d) / se))


def _interval_p(d: float, low: float, high: float) -> float:
    """The two-sided normal p of a difference from its 95% interval's half on the side of 0: a percentile bootstrap
    interval is often skewed, and the full width's p could call "better" an interval that holds 0, or the reverse."""
    return _normal_p(d, (d - low if d >= 0 else high - d) / Z95)


def default_margin(unit: str, *values: float) -> float:
    """The quality tie margin when none is given: 1 pp for metrics in %, else 1% of the metric's scale."""
    if unit == "%":
        return DEFAULT_MARGIN["%"]
    return DEFAULT_MARGIN[""] * max([1.0, *(abs(v) for v in values if v is not None)])


class Decider:
    """Every pairwise judgement among `candidates`, made once: the rank, the frontier and the use cases read the
    same decisions, so they cannot contradict each other, and the Holm correction covers every pair compared.
    Candidates with the same `predictions` fingerprint (backends of one model that agree on every row) are one
    unit on quality."""

    def __init__(self, candidates: list[Candidate], paired: Paired | None = None, tie_margin: float | None = None):
        self.paired, self.tie_margin = paired, tie_margin
        # One default margin for every pair, from the scale of all the scores: per pair, one decision would print
        # "within ±0.25" and another "inconclusive at ±0.4" under a header naming one of them.
        scored = [c for c in candidates if c.quality is not None]
        self._default_margin = default_margin(scored[0].quality_unit, *(c.quality for c in scored)) if scored else None
        self._made: dict[tuple[int, int, str], Judgement] = {}
        for criterion in ("quality", "latency"):
            self._family(candidates, criterion)

    def _unit(self, c: Candidate, criterion: str):
        if criterion == "quality" and c.predictions:
            return ("predictions", c.predictions)
        if criterion == "latency" and c.latency_ms is not None and not c.estimated:
            # Variants of one model (eval modes, settings) share its one timing: one unit, never tested against itself.
            return ("timing", c.model, c.backend, c.shape, c.latency_ms, c.latency_interval)
        return ("candidate", id(c))

    def _family(self, candidates: list[Candidate], criterion: str) -> None:
        members: dict = {}
        for c in sorted(candidates, key=lambda c: c.label):
            members.setdefault(self._unit(c, criterion), []).append(c)
        units = [cs[0] for cs in members.values()]
        raw = self._raw_judgement
        pairs = {(a, b): (raw(a, b, criterion), raw(b, a, criterion)) for i, a in enumerate(units) for b in units[i + 1:]}
        tested = [(ab, ba) for ab, ba in pairs.values() if ab.p_value is not None]
        for (ab, ba), adj in zip(tested, holm([ab.p_value for ab, _ in tested])):
            ab.p_adjusted = ba.p_adjusted = adj
            ab.pairs = ba.pairs = len(tested)
        for (a, b), (ab, ba) in pairs.items():
            ab, ba = self._decide(a, b, ab), self._decide(b, a, ba)
            for x in members[self._unit(a, criterion)]:
                for y in members[self._unit(b, criterion)]:
                    self._made[(id(x), id(y), criterion)] = replace(ab, subject=x.label, versus=y.label)
                    self._made[(id(y), id(x), criterion)] = replace(ba, subject=y.label, versus=x.label)

    def _raw_judgement(self, a: Candidate, b: Candidate, criterion: str) -> Judgement:
        return _raw_quality(a, b, self.paired) if criterion == "quality" else _raw_latency(a, b)

    def _decide(self, a: Candidate, b: Candidate, j: Judgement) -> Judgement:
        """Equivalent within the margin, else better / worse when Holm says so, else inconclusive."""
        if j.decision != INCONCLUSIVE or j.low is None or j.high is None:
            return j
        if j.criterion == "quality":
            margin = (self.tie_margin if self.tie_margin is not None else self._default_margin
                      if self._default_margin is not None else default_margin(a.quality_unit, a.quality, b.quality))
            inside = -margin <= j.low and j.high <= margin
            unit = " pp" if j.unit == "pp" else ""
        else:
            margin = LATENCY_MARGIN
            inside = 1 / (1 + margin) <= j.low and j.high <= 1 + margin
            unit = ""
        j.margin = margin
        shown = f"±{number(margin)}{unit}" if j.criterion == "quality" else f"±{margin:.0%}"
        corrected = (f"; Holm-adjusted p {p_text(j.p_adjusted)} over {j.pairs} pairs"
                     if j.pairs and j.pairs > 1 and j.p_adjusted is not None else "")
        significant = j.p_adjusted is not None and j.p_adjusted < ALPHA
        if inside:
            j.decision, j.better = EQUIVALENT, 0
            j.text += f"{corrected}; equivalent within {shown}"
        elif significant:
            favours_a = (j.difference > 0) == (j.sign > 0) if j.criterion == "quality" else j.difference < 1
            j.decision, j.better = (BETTER, 1) if favours_a else (WORSE, -1)
            j.text += corrected
            if j.criterion == "latency":
                j.head = f"{_ratio(*sorted((a.latency_ms, b.latency_ms), reverse=True))} {'faster' if favours_a else 'slower'}"
        else:
            j.more_rows = _more_rows(j, margin) if j.criterion == "quality" else None
            more = f": about {j.more_rows:,} more test rows would decide" if j.more_rows else ""
            j.text += f"{corrected}; inconclusive at {shown}{more}"
        return j

    def judge(self, a: Candidate, b: Candidate, criterion: str) -> Judgement:
        made = self._made.get((id(a), id(b), criterion))
        return made if made is not None else replace(self._judge_now(a, b, criterion), subject=a.label, versus=b.label)

    def _judge_now(self, a: Candidate, b: Candidate, criterion: str) -> Judgement:
        if a is b:
            return Judgement(0, "the same candidate", decision=EQUIVALENT, criterion=criterion)
        if criterion == "memory":
            return _judge_memory(a, b)
        if criterion == "quality" and a.predictions and a.predictions == b.predictions:
            return _identical(a, b)
        if criterion == "latency" and self._unit(a, criterion) == self._unit(b, criterion):
            return Judgement(0, f"the same timing, {number(a.latency_ms)} ms", decision=EQUIVALENT, criterion="latency",
                             difference=1.0, low=1.0, high=1.0, method="the same bench record")
        # Not among the candidates the decider was built on: judged alone (no correction).
        j = self._raw_judgement(a, b, criterion)
        if j.p_value is not None:
            j.p_adjusted, j.pairs = j.p_value, 1
        return self._decide(a, b, j)


def _more_rows(j: Judgement, margin: float) -> int | None:
    """About how many more test rows would settle the pair either way if the difference stayed where it is (the
    half-width shrinks as 1/sqrt(n)): enough to exclude 0 at the Holm-corrected level, or to fit in the margin."""
    from scipy.stats import norm

    if not j.rows or j.low is None or j.high is None:
        return None
    up = (j.difference or 0.0) >= 0  # each question is read on its own side of a skewed interval
    toward, away = (j.difference - j.low, j.high - j.difference) if up else (j.high - j.difference, j.difference - j.low)
    d = abs(j.difference or 0.0)
    if min(toward, away) < 0 or toward + away <= 0:
        return None
    z_corrected = float(norm.isf(ALPHA / 2 / (j.pairs or 1)))  # the strictest Holm step: conservative
    needed = [j.rows * (toward * z_corrected / Z95 / d) ** 2] if d > 0 else []
    needed += [j.rows * (away / (margin - d)) ** 2] if margin > d else []
    return max(1, math.ceil(min(needed) - j.rows)) if needed else None


def _identical(a: Candidate, b: Candidate) -> Judgement:
    return Judgement(0, "identical predictions on every row", decision=EQUIVALENT, criterion="quality", difference=0.0,
                     low=0.0, high=0.0, method="identical predictions")


def _unmeasured(va: float | None, vb: float | None, criterion: str, done: str) -> Judgement | None:
    """Unmeasured when a or b lacks the value (None when both have it); the one measured still ranks ahead
    (`better`), since only it can be shown to fit and to win."""
    if va is not None and vb is not None:
        return None
    if va is None and vb is None:
        return Judgement(0, f"neither was {done}", decision=UNMEASURED, criterion=criterion)
    return Judgement(1 if vb is None else -1, f"only one was {done}", decision=UNMEASURED, criterion=criterion)


def _raw_quality(a: Candidate, b: Candidate, paired: Paired | None) -> Judgement:
    """The evidence on quality before correction and margin: paired when possible, else from the two intervals."""
    if (missing := _unmeasured(a.quality, b.quality, "quality", "scored")) is not None:
        return missing
    if a.predictions and a.predictions == b.predictions:
        return _identical(a, b)
    j = paired(a, b) if paired is not None else None
    if j is not None:
        j.criterion, j.decision, j.better = "quality", INCONCLUSIVE, 0
        if j.p_value is None and j.low is not None:  # a bootstrap interval: its normal-approximation p
            j.p_value = _interval_p(j.difference, j.low, j.high)
        return j
    text = f"{number(a.quality)} vs {number(b.quality)}" + ("%" if a.quality_unit == "%" else "")
    if not (a.quality_interval and b.quality_interval):
        return Judgement(0, text + ": no interval, so no difference can be shown", criterion="quality")
    # Not paired (other rows or no per-row scores): independent intervals, combined as normal errors.
    se = math.hypot(*((hi - lo) / (2 * Z95) for lo, hi in (a.quality_interval, b.quality_interval)))
    d, unit = a.quality - b.quality, "pp" if a.quality_unit == "%" else ""
    low, high = d - Z95 * se, d + Z95 * se
    text += f", unpaired: {d:+.3g}{' ' + unit if unit else ''} [{low:+.3g}, {high:+.3g}]"
    return Judgement(0, text, criterion="quality", difference=d, low=low, high=high, unit=unit, p_value=_normal_p(d, se),
                     method="unpaired: the two intervals combined as independent normal errors")


def _raw_latency(a: Candidate, b: Candidate) -> Judgement:
    """Latency a / b: a ratio interval on log time from the two intervals; an estimate's bound only shows it slower."""
    va, vb = a.latency_ms, b.latency_ms
    if (missing := _unmeasured(va, vb, "latency", "measured")) is not None:
        return missing
    text = f"{_value(a, 'latency_ms')} vs {_value(b, 'latency_ms')} ms"
    if a.estimated or b.estimated:
        if a.estimated and not b.estimated and va > _high(b):
            return Judgement(-1, f"{text}, a lower bound", f"{_ratio(va, vb)} slower", WORSE, "latency", va / vb)
        if b.estimated and not a.estimated and vb > _high(a):
            return Judgement(1, f"{text}, a lower bound", f"{_ratio(vb, va)} faster", BETTER, "latency", va / vb)
        return Judgement(0, f"{text}: an estimate is a lower bound, so it cannot show the difference", criterion="latency")
    if not (a.latency_interval and b.latency_interval) or min(va, vb, *a.latency_interval, *b.latency_interval) <= 0:
        return Judgement(0, f"{text}: no interval, so no difference can be shown", criterion="latency")
    se = math.hypot(*((math.log(hi) - math.log(lo)) / (2 * Z95) for lo, hi in (a.latency_interval, b.latency_interval)))
    d = math.log(va / vb)
    return Judgement(0, text, criterion="latency", difference=va / vb, low=math.exp(d - Z95 * se),
                     high=math.exp(d + Z95 * se), unit="x", p_value=_normal_p(d, se),
                     method="log-time difference from the two intervals, as independent normal errors")


def _judge_memory(a: Candidate, b: Candidate) -> Judgement:
    """Lower is better; values within MEMORY_TOLERANCE are equivalent (one sample each: no test to correct)."""
    va, vb = a.memory_mb, b.memory_mb
    if (missing := _unmeasured(va, vb, "memory", "measured")) is not None:
        return missing
    text = f"{_value(a, 'memory_mb')} vs {_value(b, 'memory_mb')} MB"
    if a.estimated or b.estimated:
        if a.estimated and not b.estimated and va > vb:
            return Judgement(-1, f"{text}, a lower bound", f"{_ratio(va, vb)} larger", WORSE, "memory", va / vb)
        if b.estimated and not a.estimated and vb > va:
            return Judgement(1, f"{text}, a lower bound", f"{_ratio(vb, va)} smaller", BETTER, "memory", va / vb)
        return Judgement(0, f"{text}: an estimate is a lower bound, so it cannot show the difference", criterion="memory")
    if abs(va - vb) <= MEMORY_TOLERANCE * max(va, vb):
        return Judgement(0, f"{text}, within {MEMORY_TOLERANCE:.0%}", decision=EQUIVALENT, criterion="memory",
                         difference=va / vb, margin=MEMORY_TOLERANCE)
    if va < vb:
        return Judgement(1, text, f"{_ratio(vb, va)} smaller", BETTER, "memory", va / vb, margin=MEMORY_TOLERANCE)
    return Judgement(-1, text, f"{_ratio(va, vb)} larger", WORSE, "memory", va / vb, margin=MEMORY_TOLERANCE)


def _value(c: Candidate, attr: str) -> str:
    v = getattr(c, attr)
    return ("≥ " if c.estimated else "") + (f"{v:,.0f}" if attr == "memory_mb" else number(v))


def _high(c: Candidate) -> float:
    return c.latency_interval[1] if c.latency_interval else c.latency_ms


def _ratio(big: float, small: float) -> str:
    return f"{big / small:.3g}x" if small > 0 else "inf x"


def judge(a: Candidate, b: Candidate, criterion: str, paired: Paired | None = None) -> Judgement:
    """a against b alone (no other pairs to correct for); decisions among several candidates go through a Decider."""
    return Decider([a, b], paired).judge(a, b, criterion)


# -- the frontier --------------------------------------------------------------------------------

def _active(candidates: list[Candidate]) -> list[tuple[str, str, str]]:
    """Objectives measured for every candidate; a partly measured one would rank the unmeasured unfairly."""
    return [o for o in OBJECTIVES if all(getattr(c, o[0]) is not None for c in candidates)]


def dominates(a: Candidate, b: Candidate, objectives, decider: Decider) -> bool:
    """a ranks ahead of b on one objective (shown better, or measured where b is not) and is at least as good on every
    other: ahead or equivalent (or neither measured). An inconclusive comparison shows nothing, so it never makes one
    candidate dominate another."""
    js = [decider.judge(a, b, label) for _, _, label in objectives]
    return any(j.better > 0 for j in js) and all(j.better >= 0 and j.decision != INCONCLUSIVE for j in js)


def pareto(candidates: list[Candidate], paired: Paired | None = None, decider: Decider | None = None,
           objectives=None) -> list[Candidate]:
    objectives = _active(candidates) if objectives is None else objectives
    if not objectives:
        return list(candidates)
    decider = decider or Decider(candidates, paired)
    return [c for c in candidates if not any(dominates(o, c, objectives, decider) for o in candidates if o is not c)]


# -- budgets and the recommendation --------------------------------------------------------------

@dataclass(frozen=True)
class BudgetCheck:
    """One budget against one candidate, as data, so that a program can read what missed and by how much; `text`
    renders it: the reason it does not fit, else a note on how surely it fits ("" when there is nothing to add)."""

    criterion: str  # latency / memory / qps / retained
    value: float | None  # p50 ms, peak MB, capacity in queries/s, retained fraction; None: not measured for this budget
    low: float | None  # the value's 95% interval, where it has one
    high: float | None
    unit: str  # ms / MB / queries/s / fraction
    budget: float  # the limit in `unit`: a maximum for latency and memory, a minimum for qps and retained
    estimated: bool  # value is an estimate's lower bound (latency and memory of a model too heavy to run here)
    fits: bool
    sure: bool | None  # True: its interval (or an estimate's bound) settles `fits`; False: it does not; None: no interval
    text: str


@dataclass
class Verdict:
    candidate: Candidate
    feasible: bool
    reasons: list[str]
    notes: list[str] = field(default_factory=list)
    decision: str = ""  # chosen / one of the equals / loses / does not fit
    against: list[Judgement] = field(default_factory=list)  # the comparisons its reasons rest on
    checks: list[BudgetCheck] = field(default_factory=list)  # the budgets its feasibility rests on

    def as_json(self) -> dict:
        c = self.candidate
        return {"candidate": c.label, "model": c.model, "backend": c.backend, "variant": c.variant,
                "feasible": self.feasible, "decision": self.decision, "reasons": self.reasons, "notes": self.notes,
                "checks": [asdict(b) for b in self.checks], "comparisons": [j.as_json() for j in self.against]}


@dataclass
class Recommendation:
    best: Candidate | None
    verdicts: list[Verdict]
    frontier: list[Candidate]
    objective: str
    frontier_axes: list[str]
    quality_frontier: list[Candidate]  # among candidates with measured quality, when not all have it
    why: list[str] = field(default_factory=list)  # how the best won: what it was equivalent to, not shown worse than, beat
    scope: str | None = None  # what the quality was measured on, when a comparison has several
    rests_on: list[Judgement] = field(default_factory=list)  # the comparisons the choice rests on
    decider: Decider | None = field(default=None, repr=False)
    frontier_of: str = "all candidates"  # or "the candidates that fit the budgets"

    def summary(self) -> str:
        if self.best is None:
            return "nothing fits these budgets: " + "; ".join(f"{v.candidate.label}: {v.reasons[0]}" for v in self.verdicts)
        notes = next(v.notes for v in self.verdicts if v.candidate is self.best)
        return f"use {self.best.label}" + (": " + "; ".join([*self.why, *notes]) if self.why or notes else "")

    def as_json(self) -> dict:
        """The decision as data: what was chosen, the comparisons it rests on, every other candidate's verdict."""
        return {"best": self.best.label if self.best else None, "scope": self.scope, "prefer": self.objective,
                "summary": self.summary(), "rests_on": [j.as_json() for j in self.rests_on],
                "frontier": {"axes": self.frontier_axes, "of": self.frontier_of, "candidates": [c.label for c in self.frontier]},
                "verdicts": [v.as_json() for v in self.verdicts]}


EXAMPLES = {"--max-latency-ms": 50, "--max-memory-mb": 1000, "--min-retained": 0.95, "--qps": 20, "--p99-ms": 100,
            "--tie-margin": 1, "--ttft-ms": 2000, "--tpot-ms": 200, "--output-tokens": 32}


@dataclass(frozen=True)
class DecisionSettings:
    """The budgets and preferences a recommendation is made under, each declared once: `tradeoff compare` and
    `recommend` generate their options from these fields, and the Python API takes the object."""

    max_latency_ms: float | None = setting(None, "Latency budget (p50, ms).")
    max_memory_mb: float | None = setting(None, "Memory budget (peak RSS, MB).")
    min_retained: float | None = setting(None, "Quality floor: fraction of the quality baseline kept, scored the same way "
                                               "on the same rows (0.95 or 95).")
    prefer: str = setting("quality", "The first criterion among models that fit: quality, latency or memory; those it "
                                     "cannot tell apart go to the next.")
    qps: float | None = setting(None, "Load to serve (queries/s): fits when the capacity measured by `bench --workload "
                                      "server` reaches it.")
    p99_ms: float | None = setting(None, "Encoders: the p99 latency bound that load must be served within (default "
                                         f"{BENCH.p99_ms:g} ms).")
    ttft_ms: float | None = setting(None, "Decoders: the TTFT p99 bound that load must be served within (default "
                                          f"{BENCH.ttft_ms:g} ms).")
    tpot_ms: float | None = setting(None, f"Decoders: the TPOT p99 bound (default {BENCH.tpot_ms:g} ms).")
    output_tokens: int | None = setting(None, "Decoders: tokens each request generates, as served by bench (default "
                                              f"{BENCH.output_tokens}).")
    tie_margin: float | None = setting(None, "Quality differences whose 95% interval lies within this margin are "
                                             "equivalent (metric's unit: pp for % metrics; default 1 pp, or 0.01 of the "
                                             "metric's scale).")

    def as_fraction(self) -> DecisionSettings:
        """These settings with a --min-retained given in percent (95) as the fraction the decision reads: the command
        line's convenience, converted once there, so that no later step can divide again."""
        return replace(self, min_retained=self.min_retained / 100) if (self.min_retained or 0) > 1 else self

    def check(self) -> DecisionSettings:
        """These settings, unchanged (so checking twice is checking once); impossible budgets are bad input before
        any measuring starts."""
        if self.prefer not in CRITERIA:
            raise BadInput(f"unknown preference {self.prefer!r}", "use quality, latency or memory")
        for name in ("max_latency_ms", "max_memory_mb", "min_retained", "qps", "p99_ms", "ttft_ms", "tpot_ms", "output_tokens"):
            value, flag = getattr(self, name), "--" + name.replace("_", "-")
            if value is not None and value <= 0:
                raise BadInput(f"{flag} must be positive, got {value}", f"pass a positive {flag}, e.g. {flag} {EXAMPLES[flag]}")
        if self.tie_margin is not None and self.tie_margin < 0:
            raise BadInput(f"--tie-margin must be 0 or more, got {self.tie_margin}",
                           "pass the margin in the metric's unit, e.g. --tie-margin 1")
        if self.min_retained is not None and self.min_retained > 1:
            raise BadInput(f"min_retained must be a fraction of the baseline's quality, got {self.min_retained}",
                           "e.g. min_retained=0.95 for 95% (the command line also takes --min-retained 95)")
        return self

    def serving_bounds(self) -> tuple[float | None, tuple[float, float, int] | None]:
        """(an encoder's p99 bound, a decoder's (TTFT, TPOT, output tokens)) a candidate's capacity is judged at:
        the server workload's defaults where not given; None where nothing asks for that capacity."""
        tokens = (self.ttft_ms or BENCH.ttft_ms, self.tpot_ms or BENCH.tpot_ms, self.output_tokens or BENCH.output_tokens)
        return (self.p99_ms or (BENCH.p99_ms if self.qps else None),
                tokens if self.qps or self.ttft_ms or self.tpot_ms or self.output_tokens else None)


def decision_settings(settings: DecisionSettings | None, budgets: dict) -> DecisionSettings:
    """`settings` (default: none set) with `budgets`, its fields by name, over it (None: not given), checked: a typo
    is one line with its close matches."""
    check_names(DecisionSettings, budgets, "decision setting")
    return replace(settings or DecisionSettings(), **{k: v for k, v in budgets.items() if v is not None}).check()


def order(prefer: str) -> tuple[str, ...]:
    """The criteria in the order ties are broken: `prefer` first, then the default order."""
    return (prefer, *[c for c in CRITERIA if c != prefer])


def _budget(c: Candidate, criterion: str, budget: float) -> BudgetCheck:
    """The latency or memory budget against `c`, and how surely it fits. An estimate fits only if its bound would show it."""
    value = getattr(c, ATTR[criterion])
    unit = "ms" if criterion == "latency" else "MB"
    timed = criterion == "latency" and value is not None and c.latency_interval
    low, high = c.latency_interval if timed else (None, None)
    check = partial(BudgetCheck, criterion=criterion, value=value, low=low, high=high, unit=unit, budget=budget,
                    estimated=c.estimated)
    if value is None:
        return check(fits=False, sure=None, text=f"{criterion} not measured")
    shown = number(value) if criterion == "latency" else f"{value:.4g}"
    too = f"too {'slow' if criterion == 'latency' else 'large'}"
    if c.estimated:
        if value > budget:
            return check(fits=False, sure=True,
                         text=f"{too}: ≥ {shown} {unit} (estimate, a lower bound) > {budget:g} {unit} budget")
        return check(fits=False, sure=False, text=f"cannot tell whether it fits: ≥ {shown} {unit} is an estimate's lower "
                                                  f"bound, under the {budget:g} {unit} budget")
    span = f"{shown} [{number(low)}, {number(high)}] ms" if low is not None else ""
    if value > budget:
        if low is not None and low <= budget:  # over it at the point estimate, not surely: said so, with the interval
            return check(fits=False, sure=False, text=f"too slow at the point estimate only: {span} > {budget:g} ms "
                                                      "budget (its interval reaches under it)")
        return check(fits=False, sure=True if low is not None else None,
                     text=f"{too}: {shown} {unit} > {budget:g} {unit} budget")
    if low is not None:
        sure = high <= budget
        return check(fits=True, sure=sure, text=f"fits the {budget:g} ms latency budget "
                                                f"{'with confidence' if sure else 'only at the point estimate'} ({span})")
    if criterion == "latency":
        return check(fits=True, sure=None,
                     text=f"fits the {budget:g} ms latency budget at the point estimate ({shown} ms, no interval)")
    return check(fits=True, sure=None, text="")


def _serving(c: Candidate, qps: float, p99_ms: float, tokens: tuple[float, float, int]) -> BudgetCheck:
    """Whether `c` can be said to serve `qps` within its bounds, and how surely: an encoder's p99 within `p99_ms`, a
    decoder's TTFT and TPOT p99 within `tokens` (TTFT ms, TPOT ms, output tokens per request). The search brackets
    the capacity: the rate surely sustained (low) and the lowest rate that surely failed (high); between them it is
    not settled. A capacity measured at other bounds is not measured for these."""
    if c.decoder:
        ttft, tpot, out = tokens
        at, bounds = (f"TTFT p99 <= {ttft:g} ms and TPOT p99 <= {tpot:g} ms ({out} output tokens)",
                      f"TTFT p99 {ttft:g} ms and TPOT p99 {tpot:g} ms at {out} output tokens")
        measured = c.max_qps is not None and c.qps_tokens == tuple(tokens)
        command = f"--workload server --ttft-ms {ttft:g} --tpot-ms {tpot:g} --output-tokens {out}"
    else:
        at, bounds = f"p99 <= {p99_ms:g} ms", f"p99 {p99_ms:g} ms"
        measured = c.max_qps is not None and c.qps_tokens is None and c.qps_bound_ms == p99_ms
        command = f"--workload server --p99-ms {p99_ms:g}"
    low, high = (c.max_qps_interval or (None, None)) if measured else (None, None)
    # a top that failed only at the p99's point estimate bounds nothing: the check's `high` says no bound (the text
    # still names that rate)
    check = partial(BudgetCheck, criterion="qps", value=c.max_qps if measured else None, low=low,
                    high=high if c.qps_high_sure else None, unit="queries/s", budget=qps, estimated=False)
    if not measured:
        return check(fits=False, sure=None, text=f"serving capacity at {at} not measured (run `tradeoff bench {c.model} "
                                                 f"--backend {c.backend} {command}`)")
    span = f"{number(c.max_qps)} [{number(low) if low is not None else '?'}, {number(high) if high is not None else '?'}]"
    within = f"{qps:g} queries/s within {bounds}"
    if low is not None and low >= qps:
        return check(fits=True, sure=True,
                     text=f"serves {within} with confidence: up to {span} queries/s, {c.max_qps / qps:.2f}x headroom")
    if high is not None and high <= qps and c.qps_high_sure:  # a rate at or under qps surely failed
        top = "even its interval's top is below" if high < qps else "its interval's top, a rate that surely failed"
        return check(fits=False, sure=True, text=f"cannot serve {within}: its capacity is {span} queries/s ({top})")
    least = number(low) if low is not None else 0
    if high is not None and not c.qps_high_sure:  # its top failed at the point estimate only: not a bound
        return check(fits=False, sure=False, text=(
            f"not settled whether it serves {within}: capacity at least {least} queries/s; {number(high)} failed only "
            f"at the p99's point estimate, so it bounds nothing (point {number(c.max_qps)}; run with a larger "
            "--serve-budget)"))
    top = f"{number(high)}" if high is not None else "an untried higher rate"
    return check(fits=False, sure=False, text=(
        f"not settled whether it serves {within}: capacity between {least} and {top} queries/s (point "
        f"{number(c.max_qps)}; run with a larger --serve-budget)"))


def _retained_text(c: Candidate) -> str:
    lo_hi = f" [{c.retained_interval[0]:.1%}, {c.retained_interval[1]:.1%}]" if c.retained_interval else ""
    return f"{c.retained:.1%}{lo_hi}" + (f" of {c.retained_vs}" if c.retained_vs else "")


def _retained_check(c: Candidate, floor: float) -> BudgetCheck:
    """The retained floor against `c`: measured only against a baseline scored the same way on the same rows."""
    value = c.retained if c.quality is not None else None
    low, high = (c.retained_interval or (None, None)) if value is not None else (None, None)
    check = partial(BudgetCheck, criterion="retained", value=value, low=low, high=high, unit="fraction", budget=floor,
                    estimated=False)
    if c.quality is None:
        return check(fits=False, sure=None, text=f"quality not measured ({_unscored(c)})" if c.notes
                     else "quality not measured with real weights")
    if c.retained is None and c.retained_why:
        return check(fits=False, sure=None, text=f"retained % not measurable: {c.retained_why}")
    if c.retained is None and not c.retained_vs:
        return check(fits=False, sure=None,
                     text="no quality baseline to measure it against, so its retained % is not measured")
    if c.retained is None:
        return check(fits=False, sure=None, text=f"no like-for-like baseline: {c.retained_vs} was not scored the same "
                                                 f"way ({c.variant or 'this mode'}, eager) on the same rows, so its "
                                                 "retained % is not measured")
    if c.retained < floor:
        sure = None if high is None else high < floor
        return check(fits=False, sure=sure, text=f"keeps too little: {_retained_text(c)} < {floor:.0%} floor" + (
            " at the point estimate only (its interval reaches the floor)" if sure is False else ""))
    if low is None:  # 1.0 exactly: the quality baseline itself
        return check(fits=True, sure=None, text=f"meets the {floor:.0%} retained floor at {_retained_text(c)}"
                                                + (" (it is the quality baseline)" if c.retained == 1.0 else " (no interval)"))
    if low < floor:
        return check(fits=True, sure=False,
                     text=f"meets the {floor:.0%} retained floor only at the point estimate ({_retained_text(c)})")
    return check(fits=True, sure=True, text=f"meets the {floor:.0%} retained floor with confidence ({_retained_text(c)})")


def recommend(candidates: list[Candidate], settings: DecisionSettings | None = None, *, paired: Paired | None = None,
              scope: str | None = None, **budgets) -> Recommendation:
    """Best feasible candidate, chosen among the feasible Pareto frontier criterion by criterion, with a reason
    for every other one, under `settings` (with `budgets`, its fields by name, over it).

    `paired(a, b)` judges two candidates' quality on the same rows (compare supplies it from the eval
    records); without it, quality is compared from the two intervals. `qps` (within p99 `p99_ms` for encoders; TTFT
    and TPOT p99 within `ttft_ms`, `tpot_ms` at `output_tokens` for decoders; defaults the server workload's) is met
    by a candidate whose measured capacity at those bounds surely reaches it.
    `min_retained` is against the quality baseline each candidate's `retained` was computed from.
    """
    asked = decision_settings(settings, budgets)
    max_latency_ms, max_memory_mb, min_retained, qps = asked.max_latency_ms, asked.max_memory_mb, asked.min_retained, asked.qps
    p99_ms, tokens = asked.serving_bounds()
    if not candidates:
        raise BadInput("no measured candidates to choose from", "run `tradeoff compare` (or bench/eval) first")
    candidates = sorted(candidates, key=lambda c: c.label)  # the store's order never decides anything
    decider = Decider(candidates, paired, asked.tie_margin)
    verdicts = []
    for c in candidates:
        checks = [_budget(c, criterion, budget) for criterion, budget in (("latency", max_latency_ms), ("memory", max_memory_mb))
                  if budget is not None]
        if qps is not None:
            checks.append(_serving(c, qps, p99_ms, tokens))
        if min_retained is not None:
            checks.append(_retained_check(c, min_retained))
        fits = all(b.fits for b in checks)
        notes = [b.text for b in checks if b.fits and b.text]
        verdicts.append(Verdict(c, fits, [b.text for b in checks if not b.fits], notes,
                                decision="" if fits else "does not fit", checks=checks))
    feasible = [v.candidate for v in verdicts if v.feasible]
    bounded = any(b is not None for b in (max_latency_ms, max_memory_mb, min_retained, qps))
    # Chosen criterion by criterion among all that fit; should that choice be dominated by another that fits (tests
    # on pairs need not be transitive), chosen again on the frontier of what fits, so it never is.
    contenders = feasible
    best, why, lost, rests_on = rank(contenders, order(asked.prefer), decider)
    if best is not None and any(dominates(o, best, OBJECTIVES, decider) for o in feasible):
        contenders = pareto(feasible, decider=decider, objectives=OBJECTIVES)
        best, why, lost, rests_on = rank(contenders, order(asked.prefer), decider)
    for v in verdicts:
        if not v.feasible:
            continue
        c = v.candidate
        if c is best:
            v.decision, v.against = "chosen", rests_on
        elif c not in contenders:
            by = next(o for o in sorted(feasible, key=lambda o: o not in contenders) if dominates(o, c, OBJECTIVES, decider))
            v.decision = "loses"
            v.against = [decider.judge(c, by, k) for k in CRITERIA]
            v.reasons.append(f"fits, but dominated by {by.label}: " + "; ".join(
                f"{k}: {_phrase(j)}" for k, j in zip(CRITERIA, v.against)))
        else:
            v.decision, reason, v.against = lost[id(c)]
            v.reasons.append(reason)
    scored = [c for c in candidates if c.quality is not None]
    shown = feasible if bounded else candidates
    return Recommendation(best, verdicts, pareto(shown, decider=decider), asked.prefer, [label for _, _, label in _active(shown)],
                          pareto([c for c in shown if c.quality is not None], decider=decider)
                          if scored and len(scored) < len(shown) else [], why, scope, rests_on, decider,
                          "the candidates that fit the budgets" if bounded else "all candidates")


def _phrase(j: Judgement) -> str:
    """'better (1.2x faster: 22.8 vs 27.5 ms)', 'equivalent (…)', 'inconclusive (…)'."""
    return f"{j.decision} ({j.full()})"


def _point_key(criterion: str):
    """Sort key, best first, on point estimates (only to order equals for display); unmeasured and bounds last."""
    attr = ATTR[criterion]

    def key(c: Candidate):
        v = getattr(c, attr)
        if v is None:
            return (2, 0.0, c.label)
        return (0, -v, c.label) if criterion == "quality" else (1 if c.estimated else 0, v, c.label)

    return key


def rank(candidates: list[Candidate], criteria: tuple[str, ...], decider: Decider
         ) -> tuple[Candidate | None, list[str], dict[int, tuple[str, str, list[Judgement]]], list[Judgement]]:
    """(best, how it won, why each other lost as (decision, reason, comparisons), what the choice rests on).

    On each criterion a candidate leaves when anyone still in the running beats it; the next criterion chooses
    among those left. The best is the one left at the end (several left: all equal as far as the data shows, the
    first on the point estimate of the first criterion is listed, and the headline names the others).
    """
    if not candidates:
        return None, [], {}, []
    pool, steps = sorted(candidates, key=_point_key(criteria[0])), []
    for criterion in criteria:
        if len(pool) == 1:
            break
        if all(getattr(c, ATTR[criterion]) is None for c in pool):
            continue  # nobody measured it: nothing to choose on
        beaten = {}
        for c in pool:
            beaters = [o for o in pool if o is not c and decider.judge(o, c, criterion).better > 0]
            if beaters:
                beaten[id(c)] = min(beaters, key=_point_key(criterion))
        kept = [c for c in pool if id(c) not in beaten] or pool  # a cycle of "beats": nobody leaves
        steps.append((criterion, kept, [(c, beaten[id(c)]) for c in pool if id(c) in beaten and kept is not pool]))
        pool = kept
    best = pool[0]
    why, lost, rests_on, tied_before = [], {}, [], {}
    for criterion, kept, dropped in steps:
        if best in kept:
            others = [c for c in kept if c is not best]
            for word, decision in (("equivalent", EQUIVALENT), ("not shown worse", INCONCLUSIVE)):
                js = [(o, decider.judge(best, o, criterion)) for o in others]
                js = [(o, j) for o, j in js if j.decision == decision]
                if js:
                    rests_on += [j for _, j in js]
                    rel = "to" if decision == EQUIVALENT else "than"
                    why.append(f"{word} on {criterion} {rel} " + ", ".join(f"{o.label} ({j.full()})" for o, j in js))
            beaten_by_best = [c for c, by in dropped if decider.judge(best, c, criterion).better > 0
                              and getattr(c, ATTR[criterion]) is not None]  # the unmeasured are summed up elsewhere
            if beaten_by_best:
                shown = sorted(beaten_by_best, key=_point_key(criterion))[:3]
                js = [decider.judge(best, o, criterion) for o in shown]
                rests_on += js
                more = len(beaten_by_best) - len(shown)
                why.append(f"wins on {criterion}: " + ", ".join(_versus(j, o) for j, o in zip(js, shown))
                           + (f" and {more} more" if more > 0 else ""))
        for c, by in dropped:
            j = decider.judge(c, by, criterion)
            lost[id(c)] = ("loses", _lost(c, by, criterion, j, tied_before.get(id(c), [])), [j])
        for c in kept:
            tied_before.setdefault(id(c), []).append(criterion)
    for c in candidates:
        if c is not best and id(c) not in lost:
            js = [decider.judge(c, best, k) for k in criteria]
            lost[id(c)] = ("one of the equals", f"fits; no criterion tells it from {best.label} ("
                           + "; ".join(f"{k}: {_phrase(j)}" for k, j in zip(criteria, js))
                           + f"); listed after it on the point estimate of {criteria[0]}", js)
    if len(pool) > 1:  # the headline says it is one of several, not only the verdicts below it
        why.insert(0, f"or {', '.join(c.label for c in pool if c is not best)}: no criterion tells them apart "
                      f"({best.label} is listed first on the point estimate of {criteria[0]} alone)")
    return best, why, lost, rests_on


def _unscored(c: Candidate) -> str:
    """Why a candidate has no quality: what compare noted (e.g. no eval through its backend), else its weights."""
    return "; ".join(c.notes) or ("an estimate, not run here" if c.estimated else f"{c.weights} weights")


def _versus(j: Judgement, other: Candidate) -> str:
    """'18.4x faster than X (11.6 vs 213 ms)' or 'over X (+5.2 pp [1.1, 9.0], McNemar p = 0.01)'."""
    return f"{j.head} than {other.label} ({j.text})" if j.head else f"over {other.label} ({j.text})"


def _lost(c: Candidate, by: Candidate, criterion: str, j: Judgement, tied: list[str]) -> str:
    lead = f"fits and is not told apart from {by.label} on {', '.join(tied)}, but" if tied else "fits, but"
    if criterion == "quality":
        if c.quality is None:
            return f"{lead} its quality was not measured ({_unscored(c)}), unlike {by.label}"
        return f"{lead} lower quality than {by.label}: {j.text}"
    if getattr(c, ATTR[criterion]) is None:
        return f"{lead} its {criterion} was not measured, unlike {by.label}"
    return f"{lead} {j.head or ('slower' if criterion == 'latency' else 'larger')} than {by.label} ({j.text})"


def use_cases(candidates: list[Candidate], paired: Paired | None = None, decider: Decider | None = None) -> dict[str, str]:
    """'Best use case' per model, from where it sits among the candidates: best on a criterion means no
    other candidate beats it there (so models not told apart share the role, and say so)."""
    decider = decider or Decider(candidates, paired)
    frontier = pareto(candidates, decider=decider)
    by_model: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_model.setdefault(c.model, []).append(c)
    best_on: dict[str, dict[str, list[Candidate]]] = {}  # criterion -> model -> its candidates nobody beats there
    for attr, _, label in OBJECTIVES:
        for model, cs in by_model.items():
            # An estimate's bound never shows it is the fastest or smallest.
            mine = [c for c in cs if getattr(c, attr) is not None and not (label != "quality" and c.estimated)]
            rivals = [o for o in candidates if getattr(o, attr) is not None and o.model != model]
            unbeaten = [c for c in mine if all(decider.judge(o, c, label).better <= 0 for o in rivals)]
            if unbeaten:
                best_on.setdefault(label, {})[model] = unbeaten
    names = {"latency": "lowest latency", "memory": "smallest memory", "quality": "best quality"}

    def shared(label: str, models: dict[str, list[Candidate]]) -> str:
        # "tied" only when every pair sharing the role is equivalent within the margin; else not told apart.
        if len(models) < 2:
            return ""
        winners = [(m, c) for m, cs in models.items() for c in cs]
        tied = all(decider.judge(a, b, label).decision == EQUIVALENT for m, a in winners for n, b in winners if m != n)
        return " (tied)" if tied else " (not told apart)"

    out = {}
    for model, cs in by_model.items():
        roles = [names[label] + shared(label, models) for label, models in best_on.items() if model in models]
        contexts = [c.context for c in candidates if c.context]
        if contexts and cs[0].context == max(contexts) and len(set(contexts)) > 1:
            roles.append(f"longest context ({cs[0].context:,} tokens)")
        if roles:
            out[model] = "; ".join(roles)
        elif any(c in frontier for c in cs):
            out[model] = "balanced trade-off (on the Pareto frontier)"
        else:
            objectives = _active(candidates)
            rivals = sorted((o for o in candidates if o.model != model), key=lambda o: (o not in frontier, o.label))
            by = next((o for o in rivals if any(dominates(o, c, objectives, decider) for c in cs)), None)
            on = ", ".join(label for _, _, label in objectives)  # what "dominated" was judged on, said, not implied
            out[model] = f"dominated here by {by.model} ({on})" if by else f"dominated here ({on})"
    return out
