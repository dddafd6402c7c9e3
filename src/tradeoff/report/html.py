"""A self-contained, offline HTML report: tables and interactive plotly figures in one file.

Everything from users (model names, data text, error messages) goes through Jinja's autoescape;
figure JSON is embedded with '<' escaped so no string can close the script tag.
"""
from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from tradeoff.atomic import write_file
from tradeoff.errors import BadInput
from tradeoff.report.plots import VERDICT_COLOURS, plotly_figures
from tradeoff.report.table import environment_line, recommendation_lines, summary_table


def _script_json(obj) -> str:
    import plotly.utils

    text = json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(comparison) -> str:
    import plotly.offline

    env = Environment(loader=PackageLoader("tradeoff.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
    template = env.get_template("report.html.j2")
    from tradeoff.report.decision import candidates_table, decision_block

    columns, rows = summary_table(comparison)
    cand_columns, cand_rows = candidates_table(comparison.recommendation)
    figures = plotly_figures(comparison)
    return template.render(
        c=comparison, columns=columns, rows=rows, claims=[r.row() for r in comparison.claims],
        decision=decision_block(comparison.recommendation, comparison.shape), cand_columns=cand_columns, cand_rows=cand_rows,
        verdict_colours=VERDICT_COLOURS, recommendation=recommendation_lines(comparison),
        environment=environment_line(comparison),
        figures={name: _script_json(fig) for name, fig in figures.items()},
        plotly_js=plotly.offline.get_plotlyjs(),
    )


def atomic_write_text(path: Path, text: str) -> Path:
    """Write a report atomically (a crash never leaves a half-written one), after checking the path a user gave."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{path} is a folder", "give a file name such as report.html")
    if not path.parent.exists():
        raise BadInput(f"folder {path.parent} does not exist", "create it or choose another path")
    return write_file(path, text)


def write_html(comparison, path: str | Path) -> Path:
    return atomic_write_text(Path(path), render_html(comparison))
