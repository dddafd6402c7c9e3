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
