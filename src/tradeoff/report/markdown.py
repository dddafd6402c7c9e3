"""The comparison as Markdown, for a README or a paper."""
from __future__ import annotations

from tradeoff.render import to_markdown as md_table
from tradeoff.report.table import environment_line, recommendation_lines, summary_table


def to_markdown(comparison) -> str:
    from tradeoff.report.decision import candidates_table, decision_block

    parts = [f"# tradeoff comparison (baseline: {comparison.baseline})", "", environment_line(comparison), ""]
    head, *lines = decision_block(comparison.recommendation, comparison.shape)
    parts += ["## Decision", "", f"**{head}**", "", *[f"- {line.strip()}" for line in lines], ""]
    cand_columns, cand_rows = candidates_table(comparison.recommendation)
    if cand_rows:
        parts += [md_table(cand_columns, cand_rows), ""]
    columns, rows = summary_table(comparison)
    parts += ["## Summary", "", md_table(columns, rows), ""]
    claims = [c.row() for c in comparison.claims]
    if claims:
        parts += ["## Claimed vs measured", "", md_table(list(claims[0]), claims), ""]
    parts += ["## Every candidate's reasons", "", *[f"- {line}" for line in recommendation_lines(comparison)], ""]
    return "\n".join(parts)
