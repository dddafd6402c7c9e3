"""An eval setting is declared once, on EvalSettings: one field added there reaches `tradeoff eval --help`, the
Python API, study files' eval cells and the CLI reference, with nothing else edited. The help and the reference are
checked for every such command in tests/test_settings_reach_help.py."""
from __future__ import annotations

import pytest
import settings_fields

from tradeoff import api
from tradeoff.errors import BadInput
from tradeoff.evaluate import suite
from tradeoff.study import prepare


@pytest.fixture
def extended(monkeypatch):
    """EvalSettings with one more field, and the eval command and app rebuilt from it."""
    return settings_fields.extended_command(monkeypatch, "eval")


def test_an_added_field_reaches_the_cell_through_the_api(extended, monkeypatch):
    seen = []

    def plan_cells(models, cell, *args, **kwargs):
        seen.append(cell)
        raise BadInput("planned", "")

    monkeypatch.setattr(suite, "plan_cells", plan_cells)
    for call in ({"knob_turns": 9}, {"settings": extended(data="d.jsonl", knob_turns=9)}):
        with pytest.raises(BadInput, match="planned"):
            api.evaluate(["m"], "d.jsonl", **call)
    assert [c["knob_turns"] for c in seen] == [9, 9]
    with pytest.raises(BadInput, match=r"unknown eval setting 'knob_turn' \(did you mean knob_turns"):
        api.evaluate(["m"], "d.jsonl", knob_turn=9)


def test_an_added_field_is_accepted_in_a_study_eval_cell(extended, tiny_bert, tmp_path, write_jsonl, sentiment_rows):
    data = write_jsonl(tmp_path / "d.jsonl", sentiment_rows(20))
    study = tmp_path / "s.toml"
    text = f'models = ["{tiny_bert}"]\n[eval]\ndata = "{data}"\nmode = "finetune"\n'
    study.write_text(text + "knob_turns = 9\n")
    assert [c.cell["knob_turns"] for c in prepare(study).cells] == [9]
    study.write_text(text + "knob_turn = 9\n")
    with pytest.raises(BadInput, match="did you mean knob_turns"):
        prepare(study)
