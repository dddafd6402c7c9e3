"""A distill setting is declared once, on DistillSettings (with what the mode runs with on Corpus or Task): one
field added there reaches `tradeoff distill --help`, the CLI reference, the Python API and study files' distill
cells, with nothing else edited. The help and the reference are checked
for every such command in tests/test_settings_reach_help.py."""
from __future__ import annotations

import dataclasses

import pytest
import settings_fields

from tradeoff import api
from tradeoff.distill import run as distill_run
from tradeoff.distill import settings as distill_settings
from tradeoff.distill.settings import Corpus
from tradeoff.errors import BadInput
from tradeoff.paths import shared_data
from tradeoff.study import prepare

AUSTEN = str(shared_data() / "austen/validation.txt")


@pytest.fixture
def extended(monkeypatch):
    """DistillSettings and Corpus with one more field, and the distill command and app rebuilt from them."""
    cls = settings_fields.extended_command(monkeypatch, "distill")
    corpus = dataclasses.make_dataclass("Corpus", settings_fields.KNOB, bases=(Corpus,), frozen=True)
    monkeypatch.setitem(distill_settings.MODES, "corpus", corpus)
    return cls


def test_an_added_field_reaches_the_mode_through_the_api(extended, tiny_teacher_dir, monkeypatch):
    seen = []

    def distill_corpus(teacher, corpus, settings, progress):  # what the mode is given, without running it
        seen.append(settings)
        raise BadInput("ran", "")

    monkeypatch.setattr(distill_run, "distill_corpus", distill_corpus)
    monkeypatch.setattr(api, "_measure_now", lambda works, *args: works[0].run(lambda record: None))
    for call in ({"knob_turns": 9}, {"settings": extended(knob_turns=9)}):
        with pytest.raises(BadInput, match="ran"):
            api.distill(str(tiny_teacher_dir), corpus=AUSTEN, **call)
    assert [s.knob_turns for s in seen] == [9, 9]
    with pytest.raises(BadInput, match=r"unknown distillation option 'knob_turn' \(did you mean knob_turns"):
        api.distill(str(tiny_teacher_dir), corpus=AUSTEN, knob_turn=9)


def test_an_added_field_is_accepted_in_a_study_distill_cell(extended, tiny_teacher_dir, tmp_path):
    study = tmp_path / "s.toml"
    text = f'models = ["{tiny_teacher_dir}"]\n[distill]\nmode = "corpus"\ndata = "{AUSTEN}"\n'
    study.write_text(text + "knob_turns = 9\n")
    assert [c.cell["knob_turns"] for c in prepare(study).cells] == [9]
    study.write_text(text + "knob_turn = 9\n")
    with pytest.raises(BadInput, match="did you mean knob_turns"):
        prepare(study)
