"""Every command whose options come from a settings class: one field added to that class is an option of the
command, with its help, and a row of the CLI reference, with nothing else edited. (Each command's own test file
follows the field on to the API and the stage.)"""
from __future__ import annotations

import pytest
import settings_fields


@pytest.mark.parametrize("command", list(settings_fields.COMMANDS))
def test_an_added_field_is_a_cli_option_and_in_the_cli_reference(command, monkeypatch):
    settings_fields.extended_command(monkeypatch, command)
    settings_fields.assert_in_help_and_reference(command)
