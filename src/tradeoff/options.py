"""A command's settings dataclass as its CLI options: each field's default and help are declared once, on the
field (`setting`), and the command receives the parsed settings object instead of re-listing every option.
typer is imported only to build options, so the library reads its settings without it."""
from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import types
import typing
from typing import Optional

from tradeoff.errors import BadInput


def setting(default, help: str | None = None, *, flags: tuple[str, ...] = (), parse: str | None = None,
            cli: bool = True, required: bool = False):
    """A field with what its CLI option needs: help text, flag spellings (default --NAME; "--x/--no-x" for a
    switch both ways), `parse="csv"` for a comma list, `cli=False` for one the command line does not offer,
    `required` where the command cannot run without it."""
    return dataclasses.field(default=default, metadata={"help": help, "flags": flags, "parse": parse, "cli": cli,
                                                        "required": required})


def check_names(cls, names, what: str) -> None:
    """An unknown setting is one line naming it and its close matches, not a silently ignored typo; `cls` may be a
    tuple of settings classes that together take the names."""
    known = [f.name for c in (cls if isinstance(cls, tuple) else (cls,)) for f in dataclasses.fields(c)]
    for name in sorted(set(names) - set(known)):
        close = difflib.get_close_matches(name, known, n=3)
        raise BadInput(f"unknown {what} {name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""),
                       f"known: {', '.join(known)}")


def _cli_type(f: dataclasses.Field, hint):
    """The type typer parses: a comma list arrives as text; `X | None` as Optional[X], which typer reads."""
    if f.metadata.get("parse") == "csv":
        return Optional[str]
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        return Optional[rest[0]] if len(rest) == 1 else hint
    return hint


def csv_list(text: str | None) -> list[str] | None:
    """`a, b` -> ["a", "b"]; nothing given -> None (the setting's default)."""
    return [x.strip() for x in text.split(",") if x.strip()] or None if text else None


def _parse(f: dataclasses.Field, value):
    return csv_list(value) if f.metadata.get("parse") == "csv" and isinstance(value, str) else value


def cli_fields(cls, only: tuple[str, ...] | None = None) -> list[dataclasses.Field]:
    """The fields of `cls` the command line offers (of those named in `only`, when given)."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True) and (only is None or f.name in only)]


def parameters(cls, only: tuple[str, ...] | None = None, require: bool = True) -> list[inspect.Parameter]:
    """One keyword parameter with a typer.Option per CLI field of `cls` (see `cli_fields`); `require=False` leaves
    every one optional."""
    import typer

    hints = typing.get_type_hints(cls)
    params = []
    for f in cli_fields(cls, only):
        flags = f.metadata.get("flags") or ("--" + f.name.replace("_", "-"),)
        default = ... if require and f.metadata.get("required") else f.default
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=_cli_type(f, hints[f.name]),
                                        default=typer.Option(default, *flags, help=f.metadata.get("help"))))
    return params


def with_settings(cls, into: str = "settings", only: tuple[str, ...] | None = None, require: bool = True):
    """Decorate a command: its `into` parameter is replaced, where it stands, by one option per field of `cls`,
    and it is called with `into=cls(**parsed options)`; the function declares only what is no setting. `only`
    offers just those fields (the others keep their defaults); `require=False` makes no option required, for a
    command the settings are an optional part of."""
    def wrap(fn):
        own = list(inspect.signature(fn).parameters.values())
        at = [p.name for p in own].index(into)
        fields = cli_fields(cls, only)

        @functools.wraps(fn)
        def command(**kwargs):
            values = {f.name: _parse(f, kwargs.pop(f.name)) for f in fields}
            return fn(**kwargs, **{into: cls(**values)})

        keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        command.__signature__ = inspect.Signature(keyword[:at] + parameters(cls, only, require) + keyword[at + 1:])
        return command
    return wrap
