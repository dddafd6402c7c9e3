"""Every printed interval kind is registered once, and the fast form of the coverage simulation shows each at 94%
or more (within simulation error)."""
from __future__ import annotations

import importlib
import importlib.util
import math
import re
import sys
from pathlib import Path

import pytest

from tradeoff import coverage

ROOT = Path(__file__).resolve().parents[1]


def _simulation():
    spec = importlib.util.spec_from_file_location("coverage_benchmark", ROOT / "benchmarks" / "coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_method_a_metric_names_is_registered_and_its_function_exists():
    named = set()
    for path in (ROOT / "src" / "tradeoff").rglob("*.py"):
        named |= set(re.findall(r'method="([a-z_]+)"', path.read_text(encoding="utf-8")))
        named |= set(re.findall(r'method = "([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert named and named <= set(coverage.METHODS), named - set(coverage.METHODS)
    assert {k.method for k in coverage.KINDS} <= set(coverage.METHODS)
    assert len({k.name for k in coverage.KINDS}) == len(coverage.KINDS)
    for m in coverage.METHODS.values():
        if not m.function:
            continue
        parts = m.function.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # the longest importable module, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
            break
        else:
            pytest.fail(f"{m.function} does not exist")


def test_parts_run_over_processes_give_the_serial_rows():
    """Every part seeds its own draws, so spreading them over worker processes changes only the wall time."""
    sim = _simulation()
    assert sim.run(fast=True, only="adaptive", jobs=2) == sim.run(fast=True, only="adaptive")


def test_fast_simulation_covers_every_printed_kind():
    sim = _simulation()
    rows = sim.run(fast=True, jobs=2)
    simulated = {r["kind"] for r in rows if r["seeds"]}
    missing = [k.name for k in coverage.KINDS if k.interval and k.name not in simulated
               and not (k.serving and not (ROOT / "benchmarks" / "coverage_serving.py").exists())]
    assert not missing, missing
    low = [(r["kind"], r["setting"], r["coverage"]) for r in rows if r["seeds"] and not math.isnan(r["coverage"])
           and r["coverage"] < 0.94 - 2.5 * math.sqrt(0.95 * 0.05 / r["seeds"])]
    assert not low, low
    assert "PASS" in sim.table(rows)
