"""`tradeoff bench`, `eval`, `distill`, `compare` and `recommend` generate their options from their settings classes
(see tests/bench/test_bench_settings_fields.py, tests/evaluate/test_settings_fields.py,
tests/distill/test_distill_settings_fields.py and tests/report/test_decision_settings_fields.py); here
`DistillSettings` must ask for exactly what the modes' `Corpus` and `Task` run with, by the same defaults."""
from __future__ import annotations

import dataclasses

import pytest
import typer

from tradeoff.cli import app
from tradeoff.distill.settings import Corpus, DistillSettings, Task

# CLI option (its Python name) -> settings field, where the two are spelled differently.
ALIASES = {
    "distill": {},
}
# Options that are no setting of the run (what to run on, where to keep it, how to show it). distill must
# classify every option, so a new one cannot bring a default of its own.
NOT_SETTINGS = {
    "distill": {"corpus", "data", "store", "quiet", "json_", "markdown", "csv_"},
}


def _defaults(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def _distill_defaults() -> dict:
    """What a distillation must default to: the modes' shared default, the one mode's, or None where the modes
    differ (each mode then uses its own)."""
    corpus, task = _defaults(Corpus), _defaults(Task)
    return {name: None if name in corpus and name in task and corpus[name] != task[name] else {**task, **corpus}[name]
            for name in {**corpus, **task}}


SETTINGS = {"distill": lambda: _defaults(DistillSettings)}


def _options(command: str) -> dict:
    cmd = typer.main.get_command(app).commands[command]
    return {p.name: p for p in cmd.params if p.param_type_name == "option"}


@pytest.mark.parametrize("command", list(SETTINGS))
def test_cli_option_defaults_are_the_settings_defaults(command):
    settings, options = SETTINGS[command](), _options(command)
    for option, field in ALIASES[command].items():
        assert option in options and field in settings, f"{command}: the alias --{option} -> {field} is stale"
    matched = {name: (option.default, settings[ALIASES[command].get(name, name)]) for name, option in options.items()
               if ALIASES[command].get(name, name) in settings and not option.required}
    wrong = {name: f"CLI {cli!r} vs settings {lib!r}" for name, (cli, lib) in matched.items()
             if cli != lib or isinstance(cli, bool) != isinstance(lib, bool)}
    assert not wrong, f"tradeoff {command}: defaults declared twice and drifted apart: {wrong}"
    assert len(matched) >= 10, f"tradeoff {command}: only {sorted(matched)} matched a setting; is the test still looking?"
    if command in NOT_SETTINGS:
        loose = set(options) - set(matched) - NOT_SETTINGS[command] - {o.name for o in options.values() if o.required}
        assert not loose, f"tradeoff {command}: options {sorted(loose)} are no setting; declare them in the settings"


def test_distill_settings_are_the_modes_settings():
    assert _defaults(DistillSettings) == _distill_defaults()
