"""The work contract: what the planner plans, an executor runs and the driver stores.

A unit of work (`Work`) says which records it must leave (`keys`), which it leaves only when their sources
succeeded (`derived`: a paired ratio needs both timings), how to do it here (`run`), and what stands in for its
records when it dies. Two kinds exist: a `Cell` (one stage run on one model at one grid point) and a bench group
(`tradeoff.bench.suite.GroupWork`: models timed together in interleaved rounds, in a clean process of their own).

Every stage package exposes `run_cell(model, cell, weights, **options) -> Record | list[Record]` (the first record
is the cell's own; any more are results made on the way, such as an ablation), optionally `validate_cell`, which
raises BadInput before any cell runs, and `identified`, which adds what the result depends on, such as a data
file's content hash, to the cell. Commands build work, `tradeoff.planner` decides and runs it; this module imports
neither.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol

from tradeoff.errors import BadInput

if TYPE_CHECKING:  # pydantic loads on first use: the CLI reads the executors' names at start-up cheaply
    from tradeoff.record import Record

# Contract 1: one cell runner per stage, imported lazily (a stage's heavy imports stay out of the CLI).
RUNNERS = {"inspect": "tradeoff.anatomy", "bench": "tradeoff.bench", "eval": "tradeoff.evaluate",
           "distill": "tradeoff.distill"}
DEFAULT_WEIGHTS = {"inspect": "random", "bench": "random", "eval": "pretrained", "distill": "pretrained"}


@dataclass(frozen=True)
class Cell:
    """One unit of work: run `kind` on `model` at grid point `cell`."""

    kind: str
    model: str  # the reference as written in the study
    model_name: str  # canonical name (what the runner puts in Record.model)
    weights: str
    cell: dict[str, Any] = field(hash=False)
    cpus: float = 1.0
    gpus: float = 0.0
    runner: str = ""  # module with run_cell; "" means the stage's own (RUNNERS[kind])
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # how, not what: never in the key
    isolated: ClassVar[bool] = False

    @property
    def key(self) -> str:
        from tradeoff.record import Record

        return Record(kind=self.kind, model=self.model_name, weights=self.weights, cell=self.cell).key

    def keys(self) -> list[str]:
        return [self.key]

    def derived(self) -> list[tuple[str, list[str]]]:
        return []

    def refs(self) -> dict[str, str]:
        return {self.model_name: self.model}

    def run(self, emit: Callable[[Record], None]) -> None:
        out = runner_module(self).run_cell(self.model, dict(self.cell), weights=self.weights, **self.options)
        for record in out if isinstance(out, list) else [out]:
            emit(record)

    def stand_ins(self, status: str, message: str, env: dict) -> list[Record]:
        from tradeoff.record import Record

        return [Record(kind=self.kind, model=self.model_name, weights=self.weights, cell=self.cell, status=status,
                       error=message, env=env)]

    def label(self) -> str:
        # the backend first: it is what tells a unit from its neighbours when a status line cuts the rest off
        backend = f" {self.cell['backend']}" if "backend" in self.cell else ""
        coords = " ".join(f"{k}={v}" for k, v in self.cell.items() if k != "backend")
        return f"{self.kind} {self.model_name} [{self.weights}]{backend}" + (f" {coords}" if coords else "")


def runner_module(cell: Cell):
    """The module whose run_cell runs this cell, imported now; a missing stage is bad input, not a crash."""
    try:
        return importlib.import_module(cell.runner or RUNNERS[cell.kind])
    except ImportError as e:
        raise BadInput(f"cells of kind {cell.kind!r} cannot run in this install ({e})",
                       "install the missing package, or remove that kind from the study") from None


class Work(Protocol):
    """A unit of work, as the planner and the executors see it."""

    kind: str
    cpus: float
    gpus: float
    isolated: bool  # it starts its own clean process (bench timing): executors run it from the driver

    def keys(self) -> list[str]: ...  # the records it must leave
    def derived(self) -> list[tuple[str, list[str]]]: ...  # (key, source keys): needed only when every source is ok
    def refs(self) -> dict[str, str]: ...  # record model name -> the reference it came from (for provenance)
    def label(self) -> str: ...
    def run(self, emit: Callable[[Record], None]) -> None: ...  # here, each record as it exists; bad input raises
    def stand_ins(self, status: str, message: str, env: dict) -> list[Record]: ...  # for records it never made
