"""Decide from measurements: the Pareto frontier and a recommendation under the user's budgets.

Works on Candidates (one model on one backend/device) built from stored records, so decisions
never re-measure and every reason quotes a measured number.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tradeoff.errors import BadInput
from tradeoff.record import number

# (attribute, better direction, label) for the objectives the frontier trades off.
OBJECTIVES = (("latency_ms", "min", "latency"), ("memory_mb", "min", "memory"), ("quality", "max", "quality"))


@dataclass
class Candidate:
    model: str
    backend: str
    latency_ms: float | None = None
    memory_mb: float | None = None
    quality: float | None = None  # the task metric (higher is better)
    retained: float | None = None  # quality / baseline quality
    context: int | None = None
    weights: str = "random"
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.model} [{self.backend}]"


@dataclass
class Verdict:
    candidate: Candidate
    feasible: bool
    reasons: list[str]


@dataclass
class Recommendation:
    best: Candidate | None
    verdicts: list[Verdict]
    frontier: list[Candidate]
    objective: str
    frontier_axes: list[str]
    quality_frontier: list[Candidate]  # among candidates with measured quality, when not all have it

    def summary(self) -> str:
        if self.best is None:
            return "nothing fits these budgets: " + "; ".join(f"{v.candidate.label}: {v.reasons[0]}" for v in self.verdicts)
        return f"use {self.best.label}"


def _active(candidates: list[Candidate]) -> list[tuple[str, str, str]]:
    """Objectives measured for every candidate; a partly measured one would rank the unmeasured unfairly."""
    return [o for o in OBJECTIVES if all(getattr(c, o[0]) is not None for c in candidates)]


def dominates(a: Candidate, b: Candidate, objectives) -> bool:
    at_least = all((getattr(a, k) <= getattr(b, k)) if d == "min" else (getattr(a, k) >= getattr(b, k)) for k, d, _ in objectives)
    strictly = any((getattr(a, k) < getattr(b, k)) if d == "min" else (getattr(a, k) > getattr(b, k)) for k, d, _ in objectives)
    return at_least and strictly


def pareto(candidates: list[Candidate]) -> list[Candidate]:
    objectives = _active(candidates)
    if not objectives:
        return list(candidates)
    return [c for c in candidates if not any(dominates(o, c, objectives) for o in candidates if o is not c)]


def check_budgets(max_latency_ms: float | None = None, max_memory_mb: float | None = None,
                  min_retained: float | None = None, prefer: str = "quality") -> None:
    """Reject impossible budgets before any measuring starts."""
    if prefer not in ("quality", "latency", "memory"):
        raise BadInput(f"unknown preference {prefer!r}", "use quality, latency or memory")
    for name, value in (("--max-latency-ms", max_latency_ms), ("--max-memory-mb", max_memory_mb), ("--min-retained", min_retained)):
        if value is not None and value <= 0:
            raise BadInput(f"{name} must be positive, got {value}", "pass a budget such as --max-latency-ms 50")


def recommend(candidates: list[Candidate], max_latency_ms: float | None = None, max_memory_mb: float | None = None,
              min_retained: float | None = None, prefer: str = "quality") -> Recommendation:
    """Best feasible candidate: highest quality (or lowest latency / memory with `prefer`), with a reason for every loser."""
    check_budgets(max_latency_ms, max_memory_mb, min_retained, prefer)
    if not candidates:
        raise BadInput("no measured candidates to choose from", "run `tradeoff compare` (or bench/eval) first")
    verdicts = []
    for c in candidates:
        reasons = []
        if max_latency_ms is not None:
            if c.latency_ms is None:
                reasons.append("latency not measured")
            elif c.latency_ms > max_latency_ms:
                reasons.append(f"too slow: {number(c.latency_ms)} ms > {max_latency_ms:g} ms budget")
        if max_memory_mb is not None:
            if c.memory_mb is None:
                reasons.append("memory not measured")
            elif c.memory_mb > max_memory_mb:
                reasons.append(f"too large: {c.memory_mb:.4g} MB > {max_memory_mb:g} MB budget")
        if min_retained is not None:
            if c.retained is None:
                reasons.append("quality not measured with real weights")
            elif c.retained < min_retained:
                reasons.append(f"keeps too little: {c.retained:.1%} < {min_retained:.0%} of the baseline")
        verdicts.append(Verdict(c, not reasons, reasons))
    feasible = [v.candidate for v in verdicts if v.feasible]
    best = _best(feasible, prefer)
    for v in verdicts:
        if v.feasible and v.candidate is not best:
            v.reasons.append(_why_not(v.candidate, best, prefer))
    scored = [c for c in candidates if c.quality is not None]
    return Recommendation(best, verdicts, pareto(candidates), prefer, [label for _, _, label in _active(candidates)],
                          pareto(scored) if scored and len(scored) < len(candidates) else [])


def _rank_key(prefer: str):
    order = {"quality": ("quality", "latency_ms", "memory_mb"), "latency": ("latency_ms", "memory_mb", "quality"),
             "memory": ("memory_mb", "latency_ms", "quality")}[prefer]

    def key(c: Candidate):
        out = []
        for attr in order:
            v = getattr(c, attr)
            if v is None:
                out.append(float("inf"))
            else:
                out.append(-v if attr == "quality" else v)
        return tuple(out)

    return key


def _best(feasible: list[Candidate], prefer: str) -> Candidate | None:
    return min(feasible, key=_rank_key(prefer)) if feasible else None


def _why_not(c: Candidate, best: Candidate, prefer: str) -> str:
    if prefer == "quality" and c.quality is None and best.quality is not None:
        why = "an estimate, not run here" if c.weights == "estimate" else f"{c.weights} weights"
        return f"fits, but its quality was not measured ({why}), unlike {best.label}"
    if prefer == "quality" and c.quality is not None and best.quality is not None and c.quality < best.quality:
        return f"fits, but lower quality than {best.label} ({c.quality:.3g} vs {best.quality:.3g})"
    if c.latency_ms is not None and best.latency_ms is not None and c.latency_ms > best.latency_ms:
        return f"fits, but slower than {best.label} ({number(c.latency_ms)} vs {number(best.latency_ms)} ms" + (", estimated)" if c.weights == "estimate" else ")")
    if c.memory_mb is not None and best.memory_mb is not None and c.memory_mb > best.memory_mb:
        return f"fits, but larger than {best.label} ({c.memory_mb:.4g} vs {best.memory_mb:.4g} MB)"
    return f"fits, ranked below {best.label}"


def use_cases(candidates: list[Candidate]) -> dict[str, str]:
    """'Best use case' per model, derived from where it sits on the frontier, not from fixed text."""
    frontier = pareto(candidates)
    by_model: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_model.setdefault(c.model, []).append(c)
    out = {}
    for model, cs in by_model.items():
        roles = []
        for attr, direction, label in OBJECTIVES:
            values = [getattr(c, attr) for c in candidates if getattr(c, attr) is not None]
            mine = [getattr(c, attr) for c in cs if getattr(c, attr) is not None]
            if values and mine and (min(mine) == min(values) if direction == "min" else max(mine) == max(values)):
                roles.append({"latency": "lowest latency", "memory": "smallest memory", "quality": "best quality"}[label])
        contexts = [c.context for c in candidates if c.context]
        if contexts and cs[0].context == max(contexts) and len(set(contexts)) > 1:
            roles.append(f"longest context ({cs[0].context:,} tokens)")
        on_frontier = any(c in frontier for c in cs)
        if roles:
            out[model] = "; ".join(roles)
        elif on_frontier:
            out[model] = "balanced trade-off (on the Pareto frontier)"
        else:
            best = next(f for f in frontier if any(dominates(f, c, _active(candidates)) for c in cs))
            out[model] = f"dominated here by {best.model}"
    return out
