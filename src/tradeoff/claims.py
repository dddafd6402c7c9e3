"""Claimed vs measured: each catalog claim gets a verdict backed by a number measured here.

Verdicts: held, not held, inconclusive (the interval straddles the claim), or not measurable
here (and why). A claim is never taken as a fact.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from tradeoff.anatomy import Anatomy
from tradeoff.coverage import NOT_MEANINGFUL
from tradeoff.decide import MEMORY_TOLERANCE
from tradeoff.models import catalog
from tradeoff.record import Metric

HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURABLE = "held", "not held", "inconclusive", "not measurable here"
# Quantities that need a measurement against a baseline (the rest come from anatomy).
MEASURED = {"speedup": "speed-up", "memory_ratio": "working-set ratio", "retained": "performance retained"}
# Claims decided by `tradeoff paper distilbert` from its table (tradeoff.paper.claim_verdicts), by claim id.
PAPER_DECIDED = {"distill_gain": "distillation vs hard labels", "decoder_vs_encoder": "decoders vs the distilled encoder",
                 "weakest_task_retained": "where the student loses most"}
PAPER_HINT = "run `tradeoff paper distilbert` with the same --store"
# A working-set ratio is two single peak-RSS readings, each within MEMORY_TOLERANCE: the ratio within about twice that.
# Without an interval, a ratio this close to the claim is inconclusive.
READING_TOLERANCE = {"memory_ratio": 2 * MEMORY_TOLERANCE}


@dataclass
class Evidence:
    """What was measured, keyed by (model, baseline); compare fills it from the store."""

    anatomy: dict[str, Anatomy] = field(default_factory=dict)
    measured: dict[tuple[str, str, str], tuple[Metric, str]] = field(default_factory=dict)  # (quantity, model, baseline) -> (metric, context)
    missing: dict[tuple[str, str, str], str] = field(default_factory=dict)  # why a measurement is absent
    # Verdicts the paper study decided (claim id -> measured, verdict, context); a proxy C7 is used only when
    # the real-weight measurement is absent.
    verdicts: dict[str, dict] = field(default_factory=dict)

    def add(self, quantity: str, model: str, baseline: str, metric: Metric, context: str) -> None:
        self.measured[(quantity, model, baseline)] = (metric, context)


@dataclass
class ClaimResult:
    model: str
    id: str
    claim: str
    source: str
    claimed: str
    measured: str
    verdict: str
    context: str

    def row(self) -> dict:
        return {"model": self.model, "claim": f"{self.id}: {self.claim}", "claimed": self.claimed,
                "measured here": self.measured, "verdict": self.verdict, "why / where": self.context}


def _compare(op: str, value: float, target, tolerance: float) -> bool:
    if op == "approx":
        return abs(value - target) <= tolerance * abs(target)
    return {">=": value >= target, "<=": value <= target, "==": value == target, "!=": value != target}[op]


def _fmt(quantity: str, v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if quantity == "parameters":
        return f"{v / 1e6:,.1f}M" if v < 1e9 else f"{v / 1e9:.2f}B"
    if quantity in ("parameter_reduction", "retained"):
        return f"{v:.1%}"
    if quantity in ("speedup", "memory_ratio"):
        return f"{v:.2f}x"
    if quantity.startswith("weight_gb_"):
        return f"{v:.2f} GB"
    return f"{v:,}" if isinstance(v, int) else f"{v:.3g}"


def check(model: str, claim: catalog.Claim, ev: Evidence) -> ClaimResult:
    chk = claim.check
    q = chk.quantity
    claimed = ("~" if chk.op == "approx" else "" if chk.op == "==" else chk.op + " ") + _fmt(q, chk.value)
    result = ClaimResult(model, claim.id, claim.text, claim.source, claimed, "-", NOT_MEASURABLE, claim.context)
    if q in PAPER_DECIDED:
        return _decided(result, claim, ev) or dataclasses.replace(
            result, context=f"{PAPER_DECIDED[q]} not measured in this store ({PAPER_HINT})")
    if q in MEASURED:
        key = (q, model, chk.baseline)
        if key not in ev.measured:
            proxy = _decided(result, claim, ev)
            why = ev.missing.get(key, f"{MEASURED[q]} vs {chk.baseline} was not measured in this run")
            if proxy is not None:
                return dataclasses.replace(proxy, context=f"{proxy.context}; the real check: {why}")
            return dataclasses.replace(result, context=why)
        metric, context = ev.measured[key]
        result.measured = _fmt(q, metric.value) + (f" [{_fmt(q, metric.low)}, {_fmt(q, metric.high)}]" if metric.low is not None else "")
        result.context = context + (f"; claim context: {claim.context}" if claim.context else "")
        lo, hi = metric.low, metric.high
        if (lo is None or hi is None) and q in READING_TOLERANCE:
            tol = READING_TOLERANCE[q]
            lo, hi = metric.value * (1 - tol), metric.value * (1 + tol)
            result.context += f"; one reading per model, no interval: taken as ±{tol:.0%} (peak RSS noise)"
        if metric.method == NOT_MEANINGFUL:
            result.verdict = NOT_MEASURABLE  # a ratio over a baseline near 0: its point decides nothing
            result.measured = f"{_fmt(q, metric.value)} (point only: not meaningful)"
            return result
        if (lo is None or hi is None) and chk.op in (">=", "<="):
            result.verdict = INCONCLUSIVE  # a point estimate alone cannot show a bound is met or missed
            result.context += "; no interval, so a point estimate alone decides nothing"
            return result
        if chk.op == ">=":
            result.verdict = HELD if lo >= chk.value else NOT_HELD if hi < chk.value else INCONCLUSIVE
        elif chk.op == "<=":
            result.verdict = HELD if hi <= chk.value else NOT_HELD if lo > chk.value else INCONCLUSIVE
        else:
            result.verdict = HELD if _compare(chk.op, metric.value, chk.value, chk.tolerance) else NOT_HELD
        return result
    anatomy = ev.anatomy.get(model)
    if anatomy is None:
        result.context = "model not inspected"
        return result
    if q == "parameter_reduction":
        base = ev.anatomy.get(chk.baseline)
        if base is None:
            result.context = f"baseline {chk.baseline} not in this comparison"
            return result
        value = 1 - anatomy.parameters / base.parameters
        result.context = f"exact counts: {anatomy.parameters:,} vs {base.parameters:,}"
    else:
        value = anatomy.fact(q)
        result.context = claim.context or "exact, from the config"
    result.measured = _fmt(q, value)
    result.verdict = HELD if _compare(chk.op, value, chk.value, chk.tolerance) else NOT_HELD
    return result


def _decided(result: ClaimResult, claim: catalog.Claim, ev: Evidence) -> ClaimResult | None:
    v = ev.verdicts.get(claim.id)
    if v is None:
        return None
    return dataclasses.replace(result, measured=v["measured"], verdict=v["verdict"], context=v["context"])


def check_all(models: list[str], ev: Evidence) -> list[ClaimResult]:
    out = []
    for model in models:
        entry = catalog.lookup(model)
        for claim in entry.claims if entry else []:
            out.append(check(model, claim, ev))
    return out
