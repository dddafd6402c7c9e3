"""A paper setting is declared once, on PaperSettings: one field added there reaches `tradeoff paper --help`, the
CLI reference, the Python API and the stage, with nothing else edited. The help and the reference are checked
for every such command in tests/test_settings_reach_help.py."""
from __future__ import annotations

import pytest
import settings_fields

from tradeoff import api, cli, paper
from tradeoff.errors import BadInput


@pytest.fixture
def extended(monkeypatch):
    """PaperSettings with one more field, and the paper command and app rebuilt from it."""
    return settings_fields.extended_command(monkeypatch, "paper")


def test_an_added_field_reaches_the_stage_from_the_cli_and_the_api(extended, monkeypatch, tmp_path):
    seen = []

    def load_plan(plan, tasks):
        seen.append((plan, tasks))
        raise BadInput("planned", "")

    monkeypatch.setattr(paper, "load_plan", load_plan)
    store = str(tmp_path / "results.db")
    assert cli.main(["paper", "distilbert", "--knob-turns", "9", "--tasks", "rte, cola", "--store", store]) == 2
    for call in ({"knob_turns": 9, "plan": "gpu"}, {"settings": extended(plan="gpu", knob_turns=9)}):
        with pytest.raises(BadInput, match="planned"):
            api.paper("distilbert", store=store, **call)
    assert seen == [("cpu", ["rte", "cola"]), ("gpu", None), ("gpu", None)]
    with pytest.raises(BadInput, match=r"unknown paper setting 'knob_turn' \(did you mean knob_turns"):
        api.paper("distilbert", store=store, knob_turn=9)
