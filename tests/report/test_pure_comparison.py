"""The comparison model builds from records, a lineup and verdicts alone: with every file-system and SQLite call
failing it builds and renders the same, and weight availability is what the lineup says, not what this disk holds."""
import ast
import builtins
import contextlib
import io
import os
import pathlib
import sqlite3
from pathlib import Path


from tradeoff.compare import Lineup, comparison_from
from tradeoff.compare_plan import lineup_of
from tradeoff.decide import DecisionSettings
from tradeoff.report.table import recommendation_lines, summary_table

MODELS = ["bert-base-uncased", "distilbert-base-uncased", "all-mpnet-base-v2", "all-MiniLM-L6-v2"]


@contextlib.contextmanager
def no_file_system(monkeypatch):
    """Every way of reaching a file or a database raises while inside."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"the file system was reached: {args[:1]}")

    with monkeypatch.context() as m:
        for owner, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "stat"), (os, "listdir"),
                            (os, "scandir"), (sqlite3, "connect")):
            m.setattr(owner, name, refuse)
        for name in ("open", "read_text", "read_bytes", "exists", "is_file", "is_dir", "iterdir", "glob", "stat"):
            m.setattr(pathlib.Path, name, refuse)
        yield


def test_a_comparison_builds_and_renders_with_the_file_system_blocked(records, monkeypatch):
    lineup = lineup_of(MODELS)  # what the caller that plans reads from disk, before any record is read
    verdicts = {"C8": {"measured": "+0.4 pp [-1.0, 1.8]", "verdict": "inconclusive", "context": "from a store's ablation"}}

    def build():
        c = comparison_from(records, lineup, "bert-base-uncased", "all-mpnet-base-v2", verdicts=verdicts,
                            decision=DecisionSettings(max_latency_ms=200))
        return summary_table(c), recommendation_lines(c), [r.row() for r in c.claims]

    expected = build()  # warm: every module it imports lazily is loaded once
    with no_file_system(monkeypatch):
        blocked = build()
    assert blocked == expected
    assert any(line.startswith("use ") for line in blocked[1])
    assert any("+0.4 pp [-1.0, 1.8]" in row.values() for row in blocked[2])  # the verdict given, no store read


def test_weight_availability_is_the_lineups_not_this_disks(records, monkeypatch):
    lineup = lineup_of(MODELS)
    speed_only = [r for r in records if r.kind == "bench"]
    for missing in (frozenset(), frozenset({"all-MiniLM-L6-v2"})):
        with no_file_system(monkeypatch):
            c = comparison_from(speed_only, Lineup(lineup.shown, lineup.anatomy, without_weights=missing), MODELS[0])
            quality = {r[""]: r for r in summary_table(c)[1]}["quality"]
        assert quality["all-MiniLM-L6-v2"] == ("not measured (no real weights here)" if missing else "not measured")
        assert quality["bert-base-uncased"] == "not measured"


def test_the_model_imports_no_store_and_no_disk_reader():
    source = Path(__file__).resolve().parents[2] / "src" / "tradeoff" / "compare.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom):
            imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    reaching = {"sqlite3", "pathlib", "tradeoff.store", "tradeoff.paper.store_verdicts", "tradeoff.models.weights",
                "tradeoff.models.parse_ref", "tradeoff.anatomy.inspect_ref"}
    assert not imported & reaching, imported & reaching

