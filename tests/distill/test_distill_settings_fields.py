"""A distill setting is declared once, on DistillSettings (with what the mode runs with on Corpus or Task): one
field added there reaches `tradeoff distill --help`, the CLI reference, the Python API and study files' distill
cells, with nothing else edited."""
from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tradeoff import api, cli
from tradeoff.distill import run as distill_run
from tradeoff.distill import settings as distill_settings
from tradeoff.distill.settings import Corpus, DistillSettings
from tradeoff.errors import BadInput
from tradeoff.options import setting, with_settings
from tradeoff.paths import shared_data
from tradeoff.study import prepare

ROOT = Path(__file__).resolve().parents[2]
AUSTEN = str(shared_data() / "austen/validation.txt")
HELP = "How hard the knob is turned."


@pytest.fixture
def extended(monkeypatch):
    """DistillSettings and Corpus with one more field, and the distill command and app rebuilt from them."""
    knob = [("knob_turns", int, setting(7, HELP))]
    cls = dataclasses.make_dataclass("DistillSettings", knob, bases=(DistillSettings,), frozen=True)
    corpus = dataclasses.make_dataclass("Corpus", knob, bases=(Corpus,), frozen=True)
    monkeypatch.setattr(distill_settings, "DistillSettings", cls)
    monkeypatch.setitem(distill_settings.MODES, "corpus", corpus)
    app = typer.Typer()
    app.command("distill")(with_settings(cls)(cli.distill.__wrapped__))
    app.command("models")(cli.models)  # a group of two, so `distill` is a subcommand as in the real app
    monkeypatch.setattr(cli, "app", app)
    return cls


def test_an_added_field_is_a_cli_option(extended):
    out = CliRunner().invoke(cli.app, ["distill", "--help"], env={"COLUMNS": "200"}).output
    assert "--knob-turns" in out and HELP in out


def test_an_added_field_is_in_the_cli_reference(extended):
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    gen_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_docs)
    assert f"| `--knob-turns` | 7 | {HELP} |" in gen_docs.cli_page()


def test_an_added_field_reaches_the_mode_through_the_api(extended, tiny_teacher_dir, monkeypatch):
    seen = []

    def distill_corpus(teacher, corpus, **settings):
        seen.append(settings)
        raise BadInput("ran", "")

    monkeypatch.setattr(distill_run, "distill_corpus", distill_corpus)
    monkeypatch.setattr(api, "_measure_now", lambda works, *args: works[0].run(lambda record: None))
    for call in ({"knob_turns": 9}, {"settings": extended(knob_turns=9)}):
        with pytest.raises(BadInput, match="ran"):
            api.distill(str(tiny_teacher_dir), corpus=AUSTEN, **call)
    assert [s["knob_turns"] for s in seen] == [9, 9]
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
