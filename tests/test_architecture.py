"""The package's shape, checked: no import cycle among its modules (lazy imports included), and each backend named
in at most two source files (its registry line and at most one default that picks it; the reference backend,
eager, is the exception by design), and the default shape written once."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "tradeoff"


def _modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        name = ".".join(("tradeoff", *f.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
        out[name] = f
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every tradeoff module a file imports, at the top or inside a function; `from pkg import sub` counts as sub."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tradeoff"):
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
            out.update(subs)
            if len(subs) < len(node.names):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("tradeoff"))
    return {m for m in out if m in modules}


def test_no_import_cycle_anywhere_in_the_package():
    modules = _modules()
    graph = {m: _imports(f, modules) for m, f in modules.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            assert state.get(d) != 1, "import cycle: " + " -> ".join(path[path.index(d):] + [d]) if d in path else d
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_each_backend_is_named_in_at_most_two_source_files():
    from tradeoff.bench.backends import NAMES

    for name in NAMES[1:]:  # "eager" is the reference every other backend is compared with, the default everywhere
        # as a string of its own or as an item of a comma list in one ("eager,onnx,onnx-int8")
        files = [f for f in ROOT.rglob("*.py") if re.search(rf"[\"',]{re.escape(name)}[\"',]", f.read_text())]
        assert len(files) <= 2, f"{name} is written in {[str(f.relative_to(ROOT)) for f in files]}"


def test_the_default_shape_is_written_once():
    """`1x128`, its batch and its sequence length are declared as DEFAULT_SHAPE only; every other default reads it."""
    from tradeoff.bench.spec import DEFAULT_SHAPE

    files = [f for f in ROOT.rglob("*.py") for node in ast.walk(ast.parse(f.read_text()))
             if isinstance(node, ast.Constant) and node.value == DEFAULT_SHAPE]
    assert [str(f.relative_to(ROOT)) for f in files] == ["bench/spec.py"]
