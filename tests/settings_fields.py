"""What every settings-declared command shares in its tests: one field added to its settings class, and the command
and app rebuilt from it, must reach the command's help and the CLI reference with nothing else edited."""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from pathlib import Path

import typer
from typer.testing import CliRunner

from tradeoff import cli
from tradeoff.options import setting, with_settings

ROOT = Path(__file__).resolve().parents[1]
HELP = "How hard the knob is turned."
KNOB = [("knob_turns", int, setting(7, HELP))]


# Every command whose options come from a settings class: its module, the class and the CLI function.
COMMANDS = {
    "bench": ("tradeoff.bench.spec", "Settings", "bench"),
    "eval": ("tradeoff.evaluate.settings", "EvalSettings", "eval_command"),
    "distill": ("tradeoff.distill.settings", "DistillSettings", "distill"),
    "recommend": ("tradeoff.decide", "DecisionSettings", "recommend"),
    "paper": ("tradeoff.paper", "PaperSettings", "paper_command"),
    "demo": ("tradeoff.demo", "DemoSettings", "demo"),
}


def extended_command(monkeypatch, command: str):
    """`extended` for one of COMMANDS: its settings class with `knob_turns`, and the command rebuilt from it."""
    module, name, fn = COMMANDS[command]
    return extended(monkeypatch, importlib.import_module(module), name, command, getattr(cli, fn))


def extended(monkeypatch, module, name: str, command: str, fn):
    """`module.name` (a settings dataclass) with the field `knob_turns`, and `tradeoff COMMAND` rebuilt from it."""
    cls = dataclasses.make_dataclass(name, KNOB, bases=(getattr(module, name),), frozen=True)
    monkeypatch.setattr(module, name, cls)
    app = typer.Typer()
    app.command(command)(with_settings(cls)(fn.__wrapped__))
    app.command("models")(cli.models)  # a group of two, so COMMAND is a subcommand as in the real app
    monkeypatch.setattr(cli, "app", app)
    return cls


def help_text(command: str) -> str:
    return CliRunner().invoke(cli.app, [command, "--help"], env={"COLUMNS": "200"}).output


def cli_reference() -> str:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    gen_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_docs)
    return gen_docs.cli_page()


def assert_in_help_and_reference(command: str) -> None:
    """The added field is an option of `tradeoff COMMAND`, with its help, and a row of the CLI reference."""
    out = help_text(command)
    assert "--knob-turns" in out and HELP in out
    assert f"| `--knob-turns` | 7 | {HELP} |" in cli_reference()
