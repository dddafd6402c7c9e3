"""The `tradeoff` command: parse, call the Python API, render. Nothing else lives here.

Every TradeoffError becomes one line on stderr (exit 2 for bad input, 1 for failures); an
unexpected exception becomes one line too, with TRADEOFF_DEBUG=1 to see the traceback.
"""
from __future__ import annotations

import os
import sys
from typing import Optional

import typer
from rich.console import Console

from tradeoff import __version__
from tradeoff.errors import BadInput, TradeoffError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Which transformer should I use? Architecture, speed, memory and quality, measured side by side.")
err = Console(stderr=True)


def check_format(fmt: str) -> str:
    from tradeoff.render import FORMATS

    if fmt not in FORMATS:
        raise BadInput(f"unknown output format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    return fmt


def output_format(json_: bool, markdown: bool, csv_: bool) -> str:
    chosen = [f for f, on in (("json", json_), ("markdown", markdown), ("csv", csv_)) if on]
    if len(chosen) > 1:
        raise BadInput("choose one of --json, --markdown, --csv", "drop the others")
    return chosen[0] if chosen else "table"


def _version(value: bool):
    if value:
        print(f"tradeoff {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True, help="Print the version.")):
    pass


@app.command()
def inspect(
    refs: list[str] = typer.Argument(..., help="Models: catalog names, hub ids, folders with config.json, or .gguf files."),
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b", help="Show ratios against this model (default: the first)."),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", help="Sequence length for FLOPs per token."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow models that need custom code."),
    json_: bool = typer.Option(False, "--json", help="Machine-readable output (schema: tradeoff.anatomy.Anatomy)."),
    markdown: bool = typer.Option(False, "--markdown"),
    csv_: bool = typer.Option(False, "--csv"),
):
    """Exact architecture, parameters, FLOPs and memory, side by side, without downloading weights."""
    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, markdown, csv_)
    if seq_len is not None and seq_len <= 0:
        raise BadInput(f"--seq-len must be positive, got {seq_len}", "pass e.g. --seq-len 128")
    result = api.inspect(refs, baseline=baseline, seq_len=seq_len, trust_remote_code=trust_remote_code)
    if fmt == "json":
        print(to_json(result.as_json()))
        return
    columns, rows = result.table()
    emit(columns, rows, fmt, title="Anatomy" + (f" (ratios vs {result.baseline})" if len(result.models) > 1 else ""))


@app.command()
def models(json_: bool = typer.Option(False, "--json")):
    """The catalog: known models, their family, size and whether real weights are available offline."""
    from tradeoff import api
    from tradeoff.render import emit

    rows = api.catalog_models()
    emit(list(rows[0]), rows, "json" if json_ else "table", title="Catalog")


def main(argv: list[str] | None = None) -> int:
    try:
        app(args=argv, standalone_mode=False)
        return 0
    except TradeoffError as e:
        err.print(f"[bold red]error:[/] {e.one_line()}", highlight=False, soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        err.print("interrupted; finished results were kept")
        return 130
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        err.print("aborted; finished results were kept")
        return 130
    except typer.TyperException as e:  # usage errors (typer's own click)
        err.print(f"[bold red]error:[/] {e.format_message()} (hint: see `tradeoff --help`)", highlight=False, soft_wrap=True)
        return 2
    except Exception as e:  # anything unexpected: still one line
        if os.environ.get("TRADEOFF_DEBUG"):
            raise
        err.print(f"[bold red]internal error:[/] {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                  "(hint: rerun with TRADEOFF_DEBUG=1 for the traceback, and report it)", highlight=False, soft_wrap=True)
        return 1


def run() -> None:
    sys.exit(main())
