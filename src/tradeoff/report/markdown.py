"""The comparison as Markdown, for a README or a paper."""
from __future__ import annotations

from tradeoff.render import to_markdown as md_table


def to_markdown(comparison) -> str:
    parts = [f"# tradeoff comparison (baseline: {comparison.baseline})", "", comparison.environment_line(), ""]
    columns, rows = comparison.summary_table()
    parts += ["## Summary", "", md_table(columns, rows), ""]
    claims = [c.row() for c in comparison.claims]
    if claims:
        parts += ["## Claimed vs measured", "", md_table(list(claims[0]), claims), ""]
    parts += ["## Recommendation", "", *[f"- {line}" for line in comparison.recommendation_lines()], ""]
    return "\n".join(parts)
