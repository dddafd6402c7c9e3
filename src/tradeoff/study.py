"""Studies: a grid of cells (models x kinds x grid axes) from a TOML or YAML file, run resumably.

A study file names models and, per kind, the grid axes; every combination is a cell:

    name = "encoders on this laptop"
    models = ["bert-base-uncased", "distilbert"]

    [inspect]
    seq_len = [128, 512]

    [[bench]]                      # a table, or several ([[bench]]) for separate grids
    backend = ["eager", "onnx"]
    shape = ["1x128", "8x128"]     # BATCHxSEQ: shorthand for batch and seq_len
    workload = "fixed"             # a scalar is a one-value axis
    resources = { cpus = 1, gpus = 0 }

    [eval]
    models = ["all-MiniLM-L6-v2"]  # overrides the top-level models for this grid
    weights = "pretrained"
    task = ["sst2"]

The whole grid is validated (models resolved, cells checked by the stage) before anything runs,
and every error names the file, line and field. Cells whose key is already in the store are
skipped (records with status "error" are retried), so a stopped study resumes where it stopped;
`force` re-runs everything. Each Record is written the moment it exists.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tradeoff.cells import DEFAULT_WEIGHTS, RUNNERS, Cell, runner_module
from tradeoff.errors import BadInput, TradeoffError
from tradeoff.executors import DEFAULT as DEFAULT_EXECUTOR
from tradeoff.paths import usable_path
from tradeoff.record import Record

WEIGHTS = ("random", "pretrained", "estimate")
TOP_LEVEL = {"name", "models", *RUNNERS}
RESERVED = {"models", "weights", "resources"}
RESOURCES = {"cpus", "gpus"}


@dataclass
class Study:
    name: str
    source: str  # the file it came from
    cells: list[Cell]


# ---- parsing ------------------------------------------------------------------------------------
class _Locator:
    """Maps a field path like ("bench", 0, "batch") to its line in the study file, for error messages."""

    def __init__(self, source: str, lines: dict[tuple, int]):
        self.source = source
        self.lines = lines

    def at(self, path: tuple) -> str:
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                return f"{self.source}:{self.lines[path[:n]]}"
        return self.source

    def error(self, path: tuple, problem: str, hint: str | None = None) -> BadInput:
        name = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        return BadInput(f"{self.at(path)}: {name}: {problem}" if name else f"{self.at(path)}: {problem}", hint)


_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def _toml_lines(text: str) -> dict[tuple, int]:
    """Line of each table and key in a TOML file (tomllib keeps no positions)."""
    lines: dict[tuple, int] = {}
    arrays: dict[str, int] = {}
    table: tuple = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header:
            parts = [p.strip().strip("\"'") for p in header.group(2).split(".")]
            if header.group(1) == "[[":
                arrays[parts[0]] = arrays.get(parts[0], -1) + 1
            table = (parts[0],) + ((arrays[parts[0]],) if parts[0] in arrays else ()) + tuple(parts[1:])
            lines.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            lines.setdefault(table + tuple(p.strip().strip("\"'") for p in key.group(1).split(".")), number)
    return lines


def _yaml_lines(node, path: tuple = (), lines: dict | None = None) -> dict[tuple, int]:
    import yaml

    lines = {} if lines is None else lines
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            lines.setdefault(sub, key.start_mark.line + 1)
            _yaml_lines(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml_lines(item, path + (i,), lines)
    return lines


def load_study_file(path: str | Path) -> tuple[dict, _Locator]:
    """Read a study file into a dict, with a locator for its fields; syntax errors name the line."""
    path = usable_path(path, "study file path", "pass a .toml or .yaml file describing the grid")
    if not path.is_file():
        raise BadInput(f"no such study file: {path}", "pass a .toml or .yaml file describing the grid")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text", "save the study file as UTF-8") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            message = str(e).replace("(at end of document)", f"(at line {len(text.splitlines()) or 1}, end of file)")
            at = re.search(r"\s*\(at line (\d+), (.*)\)$", message)
            where = f"{path}:{at.group(1)}" if at else str(path)
            problem = message[:at.start()] + f" ({at.group(2)})" if at else message
            raise BadInput(f"{where}: malformed TOML: {problem}", "fix the study file") from None
        return data, _Locator(str(path), _toml_lines(text))
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise BadInput(f"{where}: malformed YAML: {getattr(e, 'problem', None) or e}", "fix the study file") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise BadInput(f"{path}:1: a study file must be a mapping (name, models, and kind sections)", "see `tradeoff run --help`")
        return data, _Locator(str(path), _yaml_lines(node) if node is not None else {})
    raise BadInput(f"{path.name}: unknown study file type {suffix or '(none)'}", "use a .toml or .yaml file")


def parse_study(data: dict, where: _Locator, name: str = "study") -> Study:
    """Turn a study mapping into cells, checking every field's shape (not yet the models or stages)."""
    for key in data:
        if key not in TOP_LEVEL:
            raise where.error((key,), "unknown field", f"a study has {', '.join(sorted(TOP_LEVEL))}")
    study_name = data.get("name", name)
    if not isinstance(study_name, str) or not study_name.strip():
        raise where.error(("name",), f"must be a non-empty string, got {study_name!r}")
    top_models = _models(data.get("models"), ("models",), where) if "models" in data else None
    cells: list[Cell] = []
    seen: set[str] = set()
    if not any(kind in data for kind in RUNNERS):
        raise where.error((), "the study has no grid", f"add a section for at least one of {', '.join(RUNNERS)}, e.g. [inspect]")
    for kind in RUNNERS:
        if kind not in data:
            continue
        grids = data[kind]
        grid_paths: list[tuple] = [(kind, i) for i in range(len(grids))] if isinstance(grids, list) else [(kind,)]
        for grid, path in zip(grids if isinstance(grids, list) else [grids], grid_paths):
            for cell in _expand(kind, grid, path, top_models, where):
                if cell.key not in seen:
                    seen.add(cell.key)
                    cells.append(cell)
    return Study(study_name, where.source, cells)


def _models(value: Any, path: tuple, where: _Locator) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise where.error(path, "must be a non-empty list of model references", 'e.g. models = ["bert-base-uncased", "distilbert"]')
    for i, m in enumerate(value):
        if not isinstance(m, str) or not m.strip():
            raise where.error(path + (i,), f"a model reference must be a non-empty string, got {m!r}")
    return value


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _expand(kind: str, grid: Any, path: tuple, top_models: list[str] | None, where: _Locator) -> list[Cell]:
    if not isinstance(grid, dict):
        raise where.error(path, f"must be a table of grid axes, got {type(grid).__name__}", f"e.g. [{kind}] then axis = [values]")
    models = _models(grid["models"], path + ("models",), where) if "models" in grid else top_models
    if models is None:
        raise where.error(path, "no models for this grid", "add models = [...] at the top of the file or in this section")
    weights = grid.get("weights", DEFAULT_WEIGHTS[kind])
    if weights not in WEIGHTS:
        raise where.error(path + ("weights",), f"must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    resources = grid.get("resources", {})
    if not isinstance(resources, dict):
        raise where.error(path + ("resources",), "must be a table", "e.g. resources = { cpus = 1, gpus = 0 }")
    for key, value in resources.items():
        if key not in RESOURCES:
            raise where.error(path + ("resources", key), "unknown resource", f"use {', '.join(sorted(RESOURCES))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise where.error(path + ("resources", key), f"must be a number >= 0, got {value!r}")
    axes: dict[str, list] = {}
    for axis, values in grid.items():
        if axis in RESERVED:
            continue
        values = values if isinstance(values, list) else [values]
        if not values:
            raise where.error(path + (axis,), "is an empty list: the grid would have no cells", "give at least one value")
        for i, v in enumerate(values):
            if not _scalar(v):
                raise where.error(path + (axis,), f"values must be strings, numbers or booleans, got {type(v).__name__} {v!r}")
        axes[axis] = values
    if "shape" in axes:
        axes["shape"] = [_shape(v, path + ("shape",), where) for v in axes["shape"]]
    gpus = resources.get("gpus")
    cells = []
    for model in models:
        for combo in itertools.product(*axes.values()):
            cell = {}
            for axis, value in zip(axes, combo):
                cell.update(value if axis == "shape" else {axis: value})
            wants_gpu = str(cell.get("device", "cpu")).startswith("cuda")
            cells.append(Cell(kind, model, model, weights, cell, cpus=float(resources.get("cpus", 1)),
                              gpus=float(gpus if gpus is not None else (1 if wants_gpu else 0))))
    return cells


def _shape(value: Any, path: tuple, where: _Locator) -> dict[str, int]:
    """`shape = "8x128"` is shorthand for batch 8 and seq_len 128 (as in `tradeoff bench --shape`)."""
    from tradeoff.bench.spec import parse_shape

    try:
        batch, seq_len = parse_shape(value)
    except BadInput as e:
        raise where.error(path, e.message, e.hint) from None
    return {"batch": batch, "seq_len": seq_len}


# ---- validation ---------------------------------------------------------------------------------
def validate(study: Study, where: _Locator | None = None) -> Study:
    """Resolve every model and let each stage check its cells, before any cell runs.

    Returns the study with canonical model names filled in (so keys match the runners' Records).
    """
    from tradeoff.models.refs import parse_ref

    where = where or _Locator(study.source, {})
    names: dict[str, str] = {}
    for model in dict.fromkeys(c.model for c in study.cells):
        try:
            ref = parse_ref(model)
            ref.config()
        except TradeoffError as e:
            raise BadInput(f"{where.at(('models',))}: model {model!r}: {e.message}", e.hint) from None
        names[model] = ref.name
    checked = []
    for cell in study.cells:
        module = runner_module(cell)
        check = getattr(module, "validate_cell", None)
        if check is not None:
            try:
                check(cell.model, dict(cell.cell), weights=cell.weights)
            except TradeoffError as e:
                coords = ", ".join(f"{k}={v}" for k, v in cell.cell.items())
                raise BadInput(f"{where.at((cell.kind,))}: {cell.kind} cell ({cell.model}{', ' + coords if coords else ''}): "
                               f"{e.message}", e.hint) from None
        identify = getattr(module, "identified", None)  # stages whose results depend on file contents
        if identify is not None:
            try:
                cell = dataclasses.replace(cell, cell=identify(dict(cell.cell)))
            except TradeoffError as e:
                raise BadInput(f"{where.at((cell.kind,))}: {cell.kind} cell ({cell.model}): {e.message}", e.hint) from None
        checked.append(dataclasses.replace(cell, model_name=names[cell.model]))
    return Study(study.name, study.source, checked)


def prepare(path: str | Path) -> Study:
    """Parse and validate a study file: the whole grid is checked before anything runs."""
    data, where = load_study_file(path)
    return validate(parse_study(data, where, name=Path(path).stem), where)


# ---- running ------------------------------------------------------------------------------------
def run_study(study: Study, store, executor: str = DEFAULT_EXECUTOR, force: bool = False, address: str | None = None,
              progress: Callable[[int, int, Cell, Record, float], None] | None = None):
    """Run the cells the store lacks through the one planner (tradeoff.planner); returns its RunSummary."""
    from tradeoff import planner

    return planner.run(study.cells, store, executor=executor, force=force, address=address,
                       title=f"study {study.name!r}", progress=progress)


def plan_rows(study: Study, store, force: bool = False) -> list[dict]:
    """The expanded grid, one row per cell, with what a run would do (for `tradeoff run --dry-run`)."""
    from tradeoff import planner

    todo = {c.key for c in planner.plan(study.cells, store, force)[0]}
    return [{"key": c.key, "kind": c.kind, "model": c.model_name, "weights": c.weights,
             "cell": " ".join(f"{k}={v}" for k, v in c.cell.items()), "action": "run" if c.key in todo else "skip (in store)"}
            for c in study.cells]
