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


STORE_HELP = "Results store (SQLite file); default $TRADEOFF_STORE, else results.db in the user data folder."


@app.command("run")
def run_study_command(
    study: str = typer.Argument(..., help="Study file (.toml or .yaml) describing the grid of cells."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    force: bool = typer.Option(False, "--force", help="Re-run cells the store already holds."),
    executor: str = typer.Option("process", "--executor", help="inline | process (one child process per cell) | ray."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (with --executor ray); default: start a local one."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and what would run, without running."),
):
    """Run a study: every cell of the grid the store lacks, each record written as soon as it exists.

    Stop it any time (Ctrl-C): finished cells are kept and the next run resumes where it stopped.
    """
    from tradeoff import api
    from tradeoff.render import emit

    if dry_run:
        rows = api.plan_study(study, store=store, force=force)
        emit(list(rows[0]) if rows else ["key"], rows, "table", title=f"{len(rows)} cells")
        return

    from rich.markup import escape

    def progress(i: int, n: int, cell, record, seconds: float) -> None:
        status = "[green]ok[/]" if record.status == "ok" else f"[red]{record.status}[/]: {escape(record.error or '')}"
        err.print(f"{escape(f'[{i}/{n}]')} {escape(cell.label())} {status} ({seconds:.1f} s)", highlight=False, soft_wrap=True)

    summary = api.run_study(study, store=store, force=force, executor=executor, address=address, progress=progress)
    for failure in summary.failures:
        err.print(f"[yellow]failed:[/] {escape(failure)}", highlight=False, soft_wrap=True)
    print(summary.line())
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def results(
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    kind: Optional[str] = typer.Option(None, "--kind", help="inspect | bench | eval | distill."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model (catalog alias, folder or name)."),
    status: Optional[str] = typer.Option(None, "--status", help="ok | oom | error | skipped."),
    where: list[str] = typer.Option([], "--where", help="Cell filter FIELD=VALUE, e.g. --where backend=onnx (repeatable)."),
    json_: bool = typer.Option(False, "--json", help="Full records with provenance (same shape as `export` to .json)."),
    csv_: bool = typer.Option(False, "--csv", help="One row per record, one column per cell field and metric."),
):
    """List the records in a store, filtered."""
    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, False, csv_)
    filters = {}
    for item in where:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise BadInput(f"--where {item!r} is not FIELD=VALUE", "e.g. --where backend=onnx")
        filters[field] = value
    pairs = api.results(store=store, kind=kind, model=model, status=status, **filters)
    if fmt == "json":
        print(to_json([{"key": r.key, "provenance": p, "record": r.model_dump(mode="json")} for r, p in pairs]))
        return
    if fmt == "csv":
        from tradeoff.store import flat_table

        print(flat_table(pairs).drop(columns="record").to_csv(index=False), end="")
        return
    rows = [{"key": r.key, "kind": r.kind, "model": r.model, "weights": r.weights,
             "cell": " ".join(f"{k}={v}" for k, v in r.cell.items()), "status": r.status,
             "metrics": "; ".join(f"{n} {m.fmt()}" for n, m in list(r.metrics.items())[:3]) or (r.error or ""),
             "created": r.created} for r, _ in pairs]
    emit(["key", "kind", "model", "weights", "cell", "status", "metrics", "created"], rows, "table",
         title=f"{len(rows)} records")


@app.command("export")
def export_command(
    out: str = typer.Argument(..., help="Output file: .csv, .json or .parquet (written atomically)."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    kind: Optional[str] = typer.Option(None, "--kind"),
    model: Optional[str] = typer.Option(None, "--model"),
):
    """Export records (with provenance) to CSV, JSON or Parquet; `tradeoff import` reads them back."""
    from tradeoff import api

    n = api.export_results(out, store=store, kind=kind, model=model)
    print(f"exported {n} records to {out}")


@app.command("import")
def import_command(
    source: str = typer.Argument(..., help="Another results store (.db) or an export (.json, .csv, .parquet)."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
):
    """Merge results from another machine's store: for a cell both have, the newer record wins."""
    from tradeoff import api

    counts = api.import_results(source, store=store)
    print(f"imported from {source}: {counts['added']} added, {counts['replaced']} replaced by newer, "
          f"{counts['kept']} kept (ours as new or newer)")


def main(argv: list[str] | None = None) -> int:
    try:
        code = app(args=argv, standalone_mode=False)  # typer turns Ctrl-C and typer.Exit(n) into a returned code
        if code == 130:
            err.print("interrupted; finished results were kept")
        return code if isinstance(code, int) else 0
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
