"""Distillation: a DistilBERT-style student made from a teacher, trained, then measured against it.

`run_cell` is the one entry point (contract 1): `tradeoff distill`, study cells and the demo all run a
distillation as a cell through tradeoff.planner.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tradeoff.errors import BadInput

if TYPE_CHECKING:  # Record (pydantic) loads on first use, so the CLI reads distill's defaults at start-up cheaply
    from tradeoff.distill.settings import Corpus, Task
    from tradeoff.record import Record

__all__ = ["run_cell", "validate_cell"]


def _modes():
    from tradeoff.distill.run import distill_corpus, distill_task

    return {"corpus": distill_corpus, "task": distill_task}


def validate_cell(model: str, cell: dict, weights: str = "pretrained") -> tuple[str, str, Corpus | Task]:
    """Raise BadInput for a distill cell that cannot run, before any cell of a study runs.

    Returns (mode, the data, the settings that mode runs with)."""
    from tradeoff.distill.run import checked_ref
    from tradeoff.datasets import FINE_FOODS
    from tradeoff.distill.settings import resolve
    from tradeoff.paths import usable_path
    from tradeoff.evaluate.cell import check_weights

    if weights != "pretrained":
        raise BadInput(f"distillation needs a pretrained teacher, not {weights!r} weights",
                       "random weights give speed, never quality; use weights = \"pretrained\"")
    options = dict(cell)
    mode = options.pop("mode", None)
    if mode not in ("corpus", "task"):
        raise BadInput(f"distill cell needs mode \"corpus\" or \"task\", got {mode!r}", "add mode to the cell")
    if "data" not in options:
        raise BadInput("distill cell needs `data` (a text corpus or a labelled set)", "add data to the cell")
    source = options.pop("data")
    settings = resolve(mode, options)
    for flag, path in (("--corpus" if mode == "corpus" else "--data", source), ("--test", getattr(settings, "test", None)),
                       ("--out", settings.out)):
        if path is not None and not str(path).startswith(FINE_FOODS):
            usable_path(path, flag, f"pass {flag} a shorter path")
    ref, _, _ = checked_ref(model, task=mode == "task")
    check_weights(ref, weights)
    return mode, source, settings


def run_cell(model: str, cell: dict, weights: str = "pretrained", *, progress: bool = False) -> list[Record]:
    """One distillation as a study cell: `cell` holds `mode` ("corpus" | "task"), `data` (the corpus or
    the labelled set) and any option of that mode; the distilled student's Record comes back first (its
    cell the study's), then the run's other records (the hard-label ablation), under their own cells.

    Bad input raises before any work; a crash while running becomes the cell's error record in the executor
    (tradeoff.executors.run_here), like every unit's.
    """
    mode, source, settings = validate_cell(model, cell, weights)
    result = _modes()[mode](model, source, settings, progress=progress)
    first, *rest = result.records  # keyed by the cell as given; the settings it resolved to kept in details
    return [first.model_copy(update={"cell": cell, "details": {**first.details, "settings": first.cell}}), *rest]
