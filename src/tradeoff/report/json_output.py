"""What `recommend --json` and `compare --json` print: the decisions as data, with field names kept stable by the
JSON Schema shipped beside this module (`schemas/decisions.schema.json`, described in the decisions methodology)."""
from __future__ import annotations

import json
from importlib.resources import files

from tradeoff.compare import Comparison
from tradeoff.report.table import recommendation_lines, summary_table


def schema() -> dict:
    """The JSON Schema both outputs validate against."""
    return json.loads((files("tradeoff.report") / "schemas" / "decisions.schema.json").read_text(encoding="utf-8"))


def _decisions(c: Comparison) -> list[dict]:
    return [s.recommendation.as_json() for s in c.scopes if s.recommendation is not None]


def recommend_output(c: Comparison) -> dict:
    """Each scope's recommendation and the notes."""
    return {"scopes": _decisions(c), "notes": c.notes}


def compare_output(c: Comparison) -> dict:
    """The recommendations, the full matrix, the claims checked and the recommendation's lines as text."""
    return {"decisions": _decisions(c), "summary": summary_table(c)[1], "claims": [r.row() for r in c.claims],
            "recommendation": recommendation_lines(c), "store": c.store_path}
