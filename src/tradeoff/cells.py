"""The cell contract: one unit of work (a stage run on a model at one grid point), and the module that runs it.

Every stage package exposes `run_cell(model, cell, weights) -> Record` (and optionally `validate_cell`, which raises
BadInput before any cell runs, and `identified`, which adds what the result depends on, such as a data file's content
hash, to the cell). Studies build cells, executors run them; both import this module and neither imports the other.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from tradeoff.errors import BadInput
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

    @property
    def key(self) -> str:
        return Record(kind=self.kind, model=self.model_name, weights=self.weights, cell=self.cell).key

    def label(self) -> str:
        coords = " ".join(f"{k}={v}" for k, v in self.cell.items())
        return f"{self.kind} {self.model_name} [{self.weights}]" + (f" {coords}" if coords else "")


def runner_module(cell: Cell):
    """The module whose run_cell runs this cell, imported now; a missing stage is bad input, not a crash."""
    try:
        return importlib.import_module(cell.runner or RUNNERS[cell.kind])
    except ImportError as e:
        raise BadInput(f"cells of kind {cell.kind!r} cannot run in this install ({e})",
                       "install the missing package, or remove that kind from the study") from None
