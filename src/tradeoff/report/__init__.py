"""Show a comparison: Markdown tables, a self-contained HTML report with interactive plots, PNG figures."""
from tradeoff.report.html import write_html
from tradeoff.report.markdown import to_markdown

__all__ = ["write_html", "to_markdown"]
