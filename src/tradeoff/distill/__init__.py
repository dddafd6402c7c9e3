"""Distillation: a DistilBERT-style student made from a teacher, trained, then measured against it.

`run_cell` is the one entry point (contract 1): `tradeoff distill`, study cells and the demo all run a
distillation as a cell through tradeoff.planner.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from tradeoff.errors import BadInput

if TYPE_CHECKING:  # Record (pydantic) loads on first use, so the CLI reads distill's defaults at start-up cheaply
    from tradeoff.record import Record

__all__ = ["run_cell", "validate_cell"]


def _modes():
    from tradeoff.distill.run import distill_corpus, distill_task

    return {"corpus": distill_corpus, "task": distill_task}


def _call(fn, options: dict):
    """Call a mode with the options it takes."""
    params = _check_options(fn, options)
    return fn(**{k: v for k, v in options.items() if k in params})


def _check_options(fn, options: dict):
    """Options only the other mode takes must be left at their defaults (or None), so `--test` with
    `--corpus` is an error rather than silently ignored. Returns fn's parameters."""
    params = inspect.signature(fn).parameters
    known = {name for mode in _modes().values() for name in inspect.signature(mode).parameters}
    unknown = sorted(set(options) - known)
    if unknown:
        raise BadInput(f"unknown distillation option(s): {', '.join(unknown)}", "see `tradeoff distill --help`")
    other = known - set(params)
    for name, value in options.items():
        if name in other and value is not None and not _is_default_elsewhere(name, value):
            raise BadInput(f"--{name.replace('_', '-')} does not apply to this kind of distillation",
                           "use --corpus for task-agnostic options and --data for task-specific ones")
    return params


def _is_default_elsewhere(name: str, value) -> bool:
    for mode in _modes().values():
        param = inspect.signature(mode).parameters.get(name)
        if param is not None and param.default == value:
            return True
    return False


def validate_cell(model: str, cell: dict, weights: str = "pretrained") -> tuple[str, str, str, dict]:
    """Raise BadInput for a distill cell that cannot run, before any cell of a study runs.

    Returns (mode, the data keyword of that mode, the data, the other options)."""
    from tradeoff.distill.run import checked_ref
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
    key = "corpus" if mode == "corpus" else "data"
    _check_options(_modes()[mode], {"teacher": model, key: source, **options})
    ref, _, _ = checked_ref(model, task=mode == "task")
    check_weights(ref, weights)
    return mode, key, source, options


def run_cell(model: str, cell: dict, weights: str = "pretrained", *, progress: bool = False) -> list[Record]:
    """One distillation as a study cell: `cell` holds `mode` ("corpus" | "task"), `data` (the corpus or
    the labelled set) and any option of that mode; the distilled student's Record comes back first (its
    cell the study's), then the run's other records (the hard-label ablation), under their own cells.

    Bad input raises before any work; a crash while running becomes the cell's error record in the executor
    (tradeoff.executors.run_here), like every unit's.
    """
    mode, key, source, options = validate_cell(model, cell, weights)
    options["progress"] = progress
    result = _call(_modes()[mode], {"teacher": model, key: source, **options})
    first, *rest = result.records  # keyed by the cell as given; the settings it resolved to kept in details
    return [first.model_copy(update={"cell": cell, "details": {**first.details, "settings": first.cell}}), *rest]
