"""The one result type every measurement returns, and every store and report reads.

A Record is identified by its `key`: kind + model + weights + cell (the grid coordinates).
Measurements build Records and never print or touch a store.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, model_serializer

from tradeoff import __version__

Kind = Literal["inspect", "bench", "eval", "distill"]
Weights = Literal["random", "pretrained", "estimate"]
Status = Literal["ok", "oom", "error", "skipped"]


class Metric(BaseModel):
    """A number with its unit and, when measured, its 95% interval. An end that too few samples cannot bound is
    None (printed "?"): a tail percentile of 10 timings has a lower end but no upper one. `method` names how the
    interval was made (a key of `tradeoff.coverage.METHODS`)."""

    value: float
    unit: str = ""
    low: float | None = None
    high: float | None = None
    method: str | None = None

    @model_serializer(mode="wrap")
    def _drop_unset_method(self, handler):
        out = handler(self)
        if isinstance(out, dict) and out.get("method") is None:
            out.pop("method", None)  # records written before methods were named stay byte-identical
        return out

    def fmt(self, digits: int = 3) -> str:
        v = number(self.value, digits)
        ends = [number(e, digits) if bounded(e) else "?" for e in (self.low, self.high)]
        if ends != ["?", "?"]:
            v += f" [{ends[0]}, {ends[1]}]"
        return f"{v} {self.unit}".rstrip()


def bounded(end: float | None) -> bool:
    """Whether an interval's end is a number (not None, NaN or infinite)."""
    return end is not None and end == end and end not in (float("inf"), float("-inf"))


def number(x: float, digits: int = 3) -> str:
    """`digits` significant figures, without exponents for everyday magnitudes (2,220 not 2.22e+03)."""
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if 1e3 <= abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


class Record(BaseModel):
    schema_version: int = 1
    kind: Kind
    model: str
    weights: Weights
    cell: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Metric] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, Any] = Field(default_factory=dict)
    status: Status = "ok"
    error: str | None = None
    tool_version: str = __version__
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def key(self) -> str:
        """Stable identity of the cell: the same grid point always gets the same key."""
        ident = {"kind": self.kind, "model": self.model, "weights": self.weights, "cell": self.cell}
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def metric(self, name: str) -> float | None:
        m = self.metrics.get(name)
        return None if m is None else m.value
