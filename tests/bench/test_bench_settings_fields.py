"""A bench setting is declared once, on bench.spec.Settings: one field added there reaches `tradeoff bench --help`,
the CLI reference and the Python API, with nothing else edited. The help and the reference are checked
for every such command in tests/test_settings_reach_help.py."""
from __future__ import annotations

import pytest
from settings_fields import extended_command

from tradeoff import api
from tradeoff.bench import suite
from tradeoff.errors import BadInput


@pytest.fixture
def knob(monkeypatch):
    return extended_command(monkeypatch, "bench")


def test_an_added_field_reaches_the_plan_through_the_api(knob, monkeypatch):
    seen = []

    def plan(models, grid, baseline, settings):
        seen.append(settings)
        raise BadInput("planned", "")

    monkeypatch.setattr(suite, "plan", plan)
    for call in ({"knob_turns": 9}, {"settings": knob(knob_turns=9)}):
        with pytest.raises(BadInput, match="planned"):
            api.bench(["m"], **call)
    assert [s.knob_turns for s in seen] == [9, 9]
    with pytest.raises(BadInput, match=r"unknown bench setting 'knob_turn' \(did you mean knob_turns"):
        api.bench(["m"], knob_turn=9)
