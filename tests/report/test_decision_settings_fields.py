"""A decision setting (a budget or preference of the recommendation) is declared once, on DecisionSettings: one
field added there reaches `tradeoff recommend --help`, the CLI reference and the Python API, with nothing else
edited. The help and the reference are checked
for every such command in tests/test_settings_reach_help.py."""
from __future__ import annotations

import pytest
import settings_fields

from tradeoff import api, compare_plan, decide
from tradeoff.errors import BadInput


@pytest.fixture
def extended(monkeypatch):
    """DecisionSettings with one more field, and the recommend command and app rebuilt from it."""
    return settings_fields.extended_command(monkeypatch, "recommend")


def test_an_added_field_reaches_the_comparison_through_the_api(extended, monkeypatch, tmp_path):
    seen = []

    def measured_comparison(refs, *, decision, **kwargs):
        seen.append(decision)
        raise BadInput("measured", "")

    monkeypatch.setattr(compare_plan, "measured_comparison", measured_comparison)
    store = str(tmp_path / "results.db")
    for call in ({"knob_turns": 9}, {"decision": extended(knob_turns=9)}):
        with pytest.raises(BadInput, match="measured"):
            api.compare(["m"], store=store, **call)
    assert [d.knob_turns for d in seen] == [9, 9]
    with pytest.raises(BadInput, match=r"unknown decision setting 'knob_turn' \(did you mean knob_turns"):
        api.compare(["m"], store=store, knob_turn=9)


def test_a_percent_floor_is_a_fraction_once_and_a_bad_budget_one_line():
    percent = decide.DecisionSettings(min_retained=95).as_fraction()
    assert percent.min_retained == pytest.approx(0.95) and percent.check().check() == percent  # checking never rescales
    assert decide.DecisionSettings(min_retained=1.01).as_fraction().min_retained == pytest.approx(0.0101)  # 1.01%
    with pytest.raises(BadInput, match="must be a fraction"):
        decide.DecisionSettings(min_retained=95).check()  # the API takes fractions only
    with pytest.raises(BadInput, match=r"--max-latency-ms must be positive, got -5"):
        api.stored_comparison(["distilbert-base-uncased"], max_latency_ms=-5)
