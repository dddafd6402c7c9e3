"""Render rows (lists of dicts) for the terminal, JSON, Markdown or CSV: one place for every command."""
from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any, Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

FORMATS = ("table", "json", "markdown", "csv")
# Progress, errors and notes go to stderr through one console, so a bar started inside another (a training run's
# inside the demo's) nests under it instead of two displays overwriting each other.
STDERR = Console(stderr=True)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, default=str)


def to_markdown(columns: list[str], rows: Iterable[dict]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row.get(c, "")).replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_csv(columns: list[str], rows: Iterable[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def rich_table(columns: list[str], rows: Iterable[dict], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    for i, c in enumerate(columns):
        table.add_column(escape(c), justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*[escape(str(row.get(c, ""))) for c in columns])  # "[eager]" is text, not markup
    return table


def emit(columns: list[str], rows: list[dict], fmt: str = "table", title: str | None = None,
         console: Console | None = None) -> None:
    # Wide tables stay readable when piped (rich would wrap at 80 columns).
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    if fmt == "table":
        console.print(rich_table(columns, rows, title))
    elif fmt == "markdown":
        print(to_markdown(columns, rows))
    elif fmt == "csv":
        print(to_csv(columns, rows), end="")
    else:
        print(to_json(rows))


def human_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def human_count(n: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.3g}"


def pct_change(value: float, base: float) -> str:
    """-39.4% for modest changes, 61.5x once the ratio passes 2."""
    if not base:
        return ""
    return f"{value / base:.3g}x" if value / base >= 2 else f"{(value / base - 1) * 100:+.1f}%"


def anatomy_table(models: list, base) -> tuple[list[str], list[dict]]:
    """`tradeoff inspect`'s table: one row per fact, one column per model, sizes against `base`."""
    from tradeoff.anatomy import BYTES_PER_PARAM, PARTS
    from tradeoff.models.refs import display_names

    facts: list[tuple[str, callable]] = [
        ("source", lambda a: a.source), ("type", lambda a: f"{a.model_type} ({a.role})"),
        ("layers", lambda a: a.layers), ("attention heads", lambda a: a.heads), ("KV heads", lambda a: a.kv_heads),
        ("head dim", lambda a: a.head_dim), ("hidden size", lambda a: a.hidden), ("FFN size", lambda a: a.ffn),
        ("vocabulary", lambda a: f"{a.vocab:,}"), ("max context", lambda a: f"{a.max_context:,}"),
        ("attention", lambda a: a.attention), ("positions", lambda a: a.positions), ("norm", lambda a: a.norm),
        ("activation", lambda a: a.activation), ("tied embeddings", lambda a: "yes" if a.tied_embeddings else "no"),
        ("parameters", lambda a: f"{a.parameters:,}" + ("" if a is base else f" ({pct_change(a.parameters, base.parameters)})")),
        *[(f"  {part}", (lambda p: lambda a: f"{a.parameters_by_part[p]:,}")(part)) for part in PARTS if any(a.parameters_by_part[part] for a in models)],
        ("  per layer", lambda a: f"{a.parameters_per_layer:,}"),
        ("FLOPs/token (fwd)", lambda a: f"{human_count(a.flops_per_token)} @ {a.seq_len}"),
        *[(f"weights {d}", (lambda d: lambda a: human_bytes(a.weight_bytes[d]))(d)) for d in BYTES_PER_PARAM],
        ("KV cache/token fp16", lambda a: human_bytes(a.kv_cache_bytes_per_token)),
        ("KV cache full ctx", lambda a: human_bytes(a.kv_cache_bytes_full_context)),
    ]
    shown = display_names(a.model for a in models)
    columns = ["", *shown.values()]
    rows = [{"": label, **{shown[a.model]: fn(a) for a in models}} for label, fn in facts]
    return columns, rows
