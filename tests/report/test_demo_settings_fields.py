"""A demo setting is declared once, on DemoSettings: one field added there reaches `tradeoff demo --help`, the CLI
reference and the demo's run, with nothing else edited. The help and the reference are checked
for every such command in tests/test_settings_reach_help.py."""
from __future__ import annotations

import pytest
import settings_fields

from tradeoff import cli, demo


@pytest.fixture
def extended(monkeypatch):
    """DemoSettings with one more field, and the demo command and app rebuilt from it."""
    return settings_fields.extended_command(monkeypatch, "demo")


def test_an_added_field_reaches_the_demos_run(extended, monkeypatch, tmp_path):
    seen = []

    def run(settings, on_status):
        seen.append(settings)
        raise cli.BadInput("ran", "")

    monkeypatch.setattr(demo, "run", run)
    assert cli.main(["demo", "--quick", "--knob-turns", "9", "--out", str(tmp_path)]) == 2
    assert seen == [extended(quick=True, out=str(tmp_path), knob_turns=9)]
    assert seen[0].plan is demo.QUICK
