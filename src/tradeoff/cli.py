"""The `tradeoff` command: parse, call the Python API, render. Nothing else lives here.

Every TradeoffError becomes one line on stderr (exit 2 for bad input, 1 for failures); an
unexpected exception becomes one line too, with TRADEOFF_DEBUG=1 to see the traceback.
"""
from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from typing import Optional

import typer

from tradeoff import __version__
from tradeoff import executors
from tradeoff.errors import BadInput, TradeoffError, first_line
from tradeoff.bench import backends as backend_names
from tradeoff.bench.spec import Grid, Settings as BENCH
from tradeoff.decide import DecisionSettings
from tradeoff.demo import DemoSettings
from tradeoff.distill.settings import DistillSettings
from tradeoff.evaluate.settings import EvalSettings
from tradeoff.options import csv_list, with_settings
from tradeoff.paper import PaperSettings
from tradeoff.render import STDERR

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Which transformer should I use? Architecture, speed, memory and quality, measured side by side.")
err = STDERR

# Options several commands share, declared once so each means the same everywhere.
STORE_HELP = "Results store (SQLite file); default $TRADEOFF_STORE, else results.db in the user data folder."
STORE = typer.Option(None, "--store", help=STORE_HELP)
MARKDOWN = typer.Option(False, "--markdown", help="Print as Markdown.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")


def output_path(flag: str):
    """An output path checked as it is parsed, so one the file system cannot take stops the command before its work."""
    def check(value: Optional[str]) -> Optional[str]:
        from tradeoff.paths import usable_path

        return value and str(usable_path(value, flag, f"pass {flag} a shorter path"))
    return check


HTML_OUT = typer.Option(None, "--html", callback=output_path("--html"),
                        help="Write the self-contained HTML report (offline, interactive plots) here.")
MARKDOWN_OUT = typer.Option(None, "--markdown-out", callback=output_path("--markdown-out"),
                            help="Write a Markdown report file (for a README or paper) here.")
PNG_OUT = typer.Option(None, "--png", callback=output_path("--png"), help="Write PNG figures into this folder.")
ENV = typer.Option(None, "--env", help="Compare speed and memory from this environment (its id, or a piece of its CPU name); "
                                       "default: the one with most results in the store. The notes list the others.")


def json_option(holds: str = "Machine-readable output."):
    """--json, with what this command's JSON holds."""
    return typer.Option(False, "--json", help=holds)


def csv_option(holds: str = "Print as CSV."):
    """--csv, with what this command's CSV holds."""
    return typer.Option(False, "--csv", help=holds)


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
    json_: bool = json_option("Machine-readable output (schema: tradeoff.anatomy.Anatomy)."),
    markdown: bool = MARKDOWN,
    csv_: bool = csv_option(),
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
def models(json_: bool = json_option()):
    """The catalog: known models, their family and size, and where their real weights are here (packaged,
    assembled, or the Hugging Face cache with the snapshot's revision) or how to get them."""
    from tradeoff import api
    from tradeoff.render import emit

    rows = api.catalog_models()
    emit(list(rows[0]), rows, "json" if json_ else "table", title="Catalog")


@app.command("run")
def run_study_command(
    study: str = typer.Argument(..., help="Study file (.toml or .yaml) describing the grid of cells."),
    store: Optional[str] = STORE,
    force: bool = typer.Option(False, "--force", help="Re-run cells the store already holds."),
    executor: str = typer.Option(executors.DEFAULT, "--executor", help=executors.HELP),
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

    summary = api.run_study(study, store=store, force=force, executor=executor, address=address, progress=print_step)
    for failure in summary.failures:
        err.print(f"[yellow]failed:[/] {escape(failure)}", highlight=False, soft_wrap=True)
    print(summary.line())
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def results(
    store: Optional[str] = STORE,
    kind: Optional[str] = typer.Option(None, "--kind", help="inspect | bench | eval | distill."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model (catalog alias, folder or name)."),
    status: Optional[str] = typer.Option(None, "--status", help="ok | oom | error | skipped."),
    where: list[str] = typer.Option([], "--where", help="Cell filter FIELD=VALUE, e.g. --where backend=onnx (repeatable)."),
    json_: bool = json_option("Full records with provenance (same shape as `export` to .json)."),
    csv_: bool = csv_option("One row per record, one column per cell field and metric."),
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
    store: Optional[str] = STORE,
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
    store: Optional[str] = STORE,
):
    """Merge results from another machine's store: for a cell both have, the newer record wins."""
    from tradeoff import api

    counts = api.import_results(source, store=store)
    print(f"imported from {source}: {counts['added']} added, {counts['replaced']} replaced by newer, "
          f"{counts['kept']} kept (ours as new or newer)")


@app.command()
@with_settings(DistillSettings)
def distill(
    teacher: str = typer.Argument(..., help="Teacher: a catalog model with offline weights, or a folder."),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="Task-agnostic: a plain UTF-8 text file to distil on."),
    data: Optional[str] = typer.Option(None, "--data", help="Task-specific: labelled training data (JSONL/CSV/Parquet, a folder, or fine-foods)."),
    settings: DistillSettings = None,
    store: Optional[str] = STORE,
    quiet: bool = QUIET,
    json_: bool = json_option("The records as JSON."),
    markdown: bool = MARKDOWN,
    csv_: bool = csv_option(),
):
    """Make a smaller student from a teacher (DistilBERT-style), train it, and measure it against the teacher."""
    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, markdown, csv_)
    result = api.distill(teacher, corpus=corpus, data=data, settings=settings, progress=not quiet, store=store)
    if fmt == "json":
        print(to_json({"student": str(result.student_dir), "records": [r.model_dump(mode="json") for r in result.records]}))
        return
    emit(list(result.rows[0]), result.rows, fmt, title=f"Distilled student in {result.student_dir}")


@app.command("eval")
@with_settings(EvalSettings)
def eval_command(
    models: list[str] = typer.Argument(..., help="Models with real pretrained weights: catalog names, folders, .gguf files."),
    settings: EvalSettings = None,
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b", help="MODEL or MODEL:MODE for performance retained (default: the first row)."),
    save: Optional[str] = typer.Option(None, "--save", help="Keep the fine-tuned model in this folder (from_pretrained loads it)."),
    store: Optional[str] = STORE,
    quiet: bool = QUIET,
    json_: bool = json_option("Records (without per-example arrays) and comparisons as JSON."),
    markdown: bool = MARKDOWN,
    csv_: bool = csv_option(),
):
    """Task quality on real data with 95% intervals: fine-tuned, probed and prompted models in one table."""
    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, markdown, csv_)
    result = api.evaluate(models, settings=settings, modes=csv_list(settings.mode), baseline=baseline, store=store,
                          save=save, progress=not quiet)
    if fmt == "json":
        print(to_json(result.as_json()))
        return
    columns, rows = result.table()
    emit(columns, rows, fmt, title=f"Task quality on {settings.data}; {result.test_rows_line()}")


@app.command()
@with_settings(BENCH)
@with_settings(Grid, into="grid")
def bench(
    refs: list[str] = typer.Argument(..., help="Models: catalog names, hub ids, folders or .gguf files (random weights from the exact config)."),
    grid: Grid = None,
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b", help="Speed-ups against this model (default: the first)."),
    settings: BENCH = None,
    store: Optional[str] = STORE,
    quiet: bool = QUIET,
    json_: bool = json_option("The records as JSON."),
    markdown: bool = MARKDOWN,
    csv_: bool = csv_option(),
):
    """Latency (p50/p90/p99 with 95% intervals), throughput, memory and utilisation per backend and shape,
    and each model's speed-up over the baseline from interleaved (paired) timing."""
    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, markdown, csv_)
    started = time.perf_counter()
    with progress("bench", quiet=quiet) as status:
        def on_record(record):
            if "baseline" not in record.cell:  # a cell's own record, not its pairing with the baseline
                status(advance=1)

        result = api.bench(refs, grid, baseline=baseline, store=store, on_plan=lambda plan: status(total=plan.cells),
                           on_record=on_record, on_status=status, settings=settings)
    if fmt == "json":
        print(to_json(result.as_json()))
        return
    weights = "pretrained" if grid.pretrained else "random, so speed and memory only"
    columns, rows = result.table()
    if rows or not result.cells:
        emit(columns, rows, fmt, title=f"Latency, throughput and memory (weights: {weights})")
    columns, rows = result.serving_table()
    if rows:
        emit(columns, rows, fmt, title="Serving capacity: MLPerf LoadGen Server scenario, dynamic batcher, latency from scheduled arrival")
    columns, rows = result.serving_table(decoders=True)
    if rows:
        emit(columns, rows, fmt, title="Decoder serving capacity: MLPerf LoadGen Server scenario with token latencies, "
                                       "static batches with the KV cache, TTFT from scheduled arrival")
    columns, rows = result.speedup_table()
    if rows:
        emit(columns, rows, fmt, title="Speed-up from paired, interleaved timing (95% interval over rounds)")
    columns, rows = result.limits_table()
    if rows:
        emit(columns, rows, fmt, title="Hardware limits utilisation is taken against (measured best-of, theoretical beside)")
    cost = result.timing_line(time.perf_counter() - started)
    if cost and fmt != "csv":  # a CSV stays one table
        print(cost)


# The budgets compare decides under: recommend's, less the serving ones (compare runs no server workload).
COMPARE_BUDGETS = ("max_latency_ms", "max_memory_mb", "min_retained", "prefer", "tie_margin")
# The eval settings compare offers for scoring quality on the way (the others: `tradeoff eval`).
COMPARE_EVAL = ("data", "train", "test_fraction", "task", "mode", "limit", "train_limit", "epochs", "max_length")


def _show_comparison(comparison, fmt: str, html: Optional[str], markdown_out: Optional[str], png: Optional[str],
                     full: bool = False, seed_models: tuple[str, ...] = ()) -> None:
    """The decision first (its block and one row per candidate), then the claims; the full matrix with --full and in
    the reports. `seed_models` get a section of their own: their anatomy, speed and memory side by side."""
    from pathlib import Path

    from tradeoff.render import emit, to_json
    from tradeoff.report import to_markdown, write_html
    from tradeoff.report.decision import candidates_table, decision_block
    from tradeoff.report.json_output import compare_output
    from tradeoff.report.plots import write_pngs
    from tradeoff.report.table import recommendation_lines, summary_table

    if fmt == "json":
        print(to_json(compare_output(comparison)))
    elif fmt != "none":
        print("\n".join(decision_block(comparison.recommendation, comparison.shape)))
        columns, rows = candidates_table(comparison.recommendation)
        if rows:
            emit(columns, rows, fmt, title=f"Candidates at {comparison.shape or 'the decision shape'} (verdicts from every pairwise comparison)")
        if seed_models:
            columns, rows = summary_table(comparison)
            keep = [m for m in comparison.models if m in seed_models]
            rows = [r for r in rows if any(r.get(m) not in (None, "-", "") for m in keep)]
            emit(["", *keep], rows, fmt, title=f"{' vs '.join(keep)}: anatomy, speed and memory (random weights from exact configs)")
        if full:
            columns, rows = summary_table(comparison)
            emit(columns, rows, fmt, title=f"{comparison.title} (baseline {comparison.baseline})")
            print("Recommendation, every candidate\n" + "\n".join(f"  - {line}" for line in recommendation_lines(comparison)))
        claims = [c.row() for c in comparison.claims]
        if claims:
            emit(list(claims[0]), claims, fmt, title="Claimed vs measured")
        if not full:
            print("\n".join(f"note: {n}" for n in comparison.notes) + ("\n" if comparison.notes else "")
                  + "Every model's full matrix and every candidate's reasons: --full, or the HTML report.")
    if html:
        err.print(f"HTML report: {write_html(comparison, html)}")
    if markdown_out:
        from tradeoff.report.html import atomic_write_text

        err.print(f"Markdown report: {atomic_write_text(Path(markdown_out), to_markdown(comparison))}")
    if png:
        err.print("Figures: " + ", ".join(str(p) for p in write_pngs(comparison, Path(png))))


@app.command()
@with_settings(DecisionSettings, into="decision", only=COMPARE_BUDGETS)
@with_settings(EvalSettings, into="quality", only=COMPARE_EVAL, require=False)
@with_settings(Grid, into="grid", only=("shape",))
@with_settings(BENCH, into="timing", only=("budget_s",))
def compare(
    refs: list[str] = typer.Argument(..., help="Models to put side by side (catalog names, hub ids, folders, .gguf files)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b", help="Speed and size ratios against this model (default: the first)."),
    backend: Optional[str] = typer.Option(None, "--backend", help=f"Comma list of bench backends ({', '.join(backend_names.NAMES)}); default eager, plus eager-bf16 where bf16 is native."),
    grid: Grid = None,
    timing: BENCH = None,
    quality: EvalSettings = None,
    quality_models: Optional[str] = typer.Option(None, "--quality-models", help="Comma list of the models to score (default: those with real weights here)."),
    quality_baseline: Optional[str] = typer.Option(None, "--quality-baseline", help="Performance retained against this model (default: the first scored)."),
    decision: DecisionSettings = None,
    store: Optional[str] = STORE, env: Optional[str] = ENV,
    html: Optional[str] = HTML_OUT, markdown_out: Optional[str] = MARKDOWN_OUT, png: Optional[str] = PNG_OUT,
    json_: bool = json_option(), markdown: bool = MARKDOWN,
    full: bool = typer.Option(False, "--full", help="Also print the full matrix and every candidate's reasons."),
):
    """The decision first (what to use and on what it rests), one row per candidate, claims checked; --full for the matrix."""
    from tradeoff import api

    fmt = output_format(json_, markdown, False)
    eval_cell = {k: v for k in COMPARE_EVAL if (v := getattr(quality, k)) is not None} if quality.data else None
    with progress("comparing") as status:
        comparison = api.compare(refs, baseline=baseline, backends=backend, shapes=grid.shape, eval_cell=eval_cell,
                                 eval_refs=csv_list(quality_models), quality_baseline=quality_baseline,
                                 decision=decision.as_fraction(),
                                 store=store, budget_s=timing.budget_s, env=env, on_status=status)
    _show_comparison(comparison, fmt, html, markdown_out, png, full=full)


@app.command()
@with_settings(DecisionSettings)
def recommend(
    refs: list[str] = typer.Argument(..., help="Candidate models (already measured into the store by compare/bench/eval)."),
    settings: DecisionSettings = None,
    quality_baseline: Optional[str] = typer.Option(None, "--quality-baseline", help="Retained % against this model."),
    store: Optional[str] = STORE, env: Optional[str] = ENV,
    json_: bool = json_option(),
):
    """The best model and backend under your budgets, why each other candidate lost, or that nothing fits."""
    from tradeoff import api
    from tradeoff.render import to_json

    comparison = api.stored_comparison(refs, quality_baseline=quality_baseline, store=store, env=env,
                                       decision=settings.as_fraction())
    if json_:
        from tradeoff.report.json_output import recommend_output

        print(to_json(recommend_output(comparison)))
    else:
        from tradeoff.render import emit
        from tradeoff.report.decision import candidates_table, decision_block
        from tradeoff.report.table import recommendation_lines

        print("\n".join(decision_block(comparison.recommendation, comparison.shape)))
        columns, rows = candidates_table(comparison.recommendation)
        if rows:
            emit(columns, rows, title="Candidates")
        print("Every candidate's reasons\n" + "\n".join(f"  - {line}" for line in recommendation_lines(comparison)))


@app.command()
def report(
    refs: list[str] = typer.Argument(..., help="Models to report on (from the store)."),
    html: Optional[str] = HTML_OUT,
    markdown_out: Optional[str] = MARKDOWN_OUT,
    png: Optional[str] = PNG_OUT,
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b"),
    quality_baseline: Optional[str] = typer.Option(None, "--quality-baseline"),
    store: Optional[str] = STORE, env: Optional[str] = ENV,
):
    """Write the comparison as HTML, Markdown and/or PNG figures, from the store alone."""
    from tradeoff import api

    if not (html or markdown_out or png):
        raise BadInput("nothing to write", "pass --html FILE, --markdown-out FILE and/or --png DIR")
    comparison = api.stored_comparison(refs, baseline=baseline, quality_baseline=quality_baseline, store=store, env=env)
    _show_comparison(comparison, "none", html, markdown_out, png)


@app.command()
@with_settings(DemoSettings)
def demo(
    settings: DemoSettings = None,
    full: bool = typer.Option(False, "--full", help="Also print the full matrix and every candidate's reasons."),
):
    """The offline demo: BERT-base vs DistilBERT vs Llama-2-7B, and real-weight quality on fine-food reviews."""
    from datetime import datetime, timezone

    from tradeoff import demo as demo_mod

    since, started = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.perf_counter()
    with progress("demo") as status:
        comparison, paths, distillation = demo_mod.run(settings, on_status=status)
    seconds = time.perf_counter() - started
    _show_comparison(comparison, "table", None, None, None, full=full, seed_models=tuple(demo_mod.ARCHITECTURES))
    if distillation:
        print(f"\n{distillation}")
    print(f"\nHTML report: {paths['html']}\nMarkdown: {paths['markdown']}\nFigures: {', '.join(map(str, paths['figures']))}\n"
          f"Every figure is a record in {comparison.store_path}")
    work = demo_mod.work_line(settings.plan, comparison, since, seconds)
    if work:
        print(work)


@app.command("paper")
@with_settings(PaperSettings)
def paper_command(
    name: str = typer.Argument(..., help="The paper to reproduce: distilbert (its GLUE dev table, by proxy)."),
    settings: PaperSettings = None,
    store: Optional[str] = STORE,
    json_: bool = json_option("The table, macro and claims as JSON."),
    markdown: bool = MARKDOWN,
):
    """Reproduce a paper's table here: run its study (resumable: a rerun skips finished cells), then show the
    measured figures with intervals and test-set sizes beside the paper's, and the claims they decide."""
    from rich.markup import escape

    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, markdown, False)
    summary, table = api.paper(name, settings, store=store, progress=print_step)
    for failure in summary.failures:
        err.print(f"[yellow]failed:[/] {escape(failure)}", highlight=False, soft_wrap=True)
    if fmt == "json":
        print(to_json({"summary": summary.line(), **table.as_json()}))
    else:
        rows = table.rows()
        columns = list(dict.fromkeys(c for r in rows for c in r))
        emit(columns, rows, fmt, title=f"{name}: measured here beside the paper (plan {settings.plan})")
        if table.claims:
            emit(list(table.claims[0]), table.claims, fmt, title="claims")
        for note in table.notes + ([f"not in the store yet: {', '.join(table.missing)}"] if table.missing else []):
            print(f"note: {note}")
        print(summary.line())
    if summary.failed:
        raise typer.Exit(1)


def print_step(i: int, n: int, cell, record, seconds: float) -> None:
    """A study's or paper's progress: one line per finished cell, on a terminal and in a log alike."""
    from rich.markup import escape

    status = "[green]ok[/]" if record.status == "ok" else f"[red]{escape(record.status)}[/]: {escape(record.error or '')}"
    err.print(f"{escape(f'[{i}/{n}]')} {escape(cell.label())} {status} ({seconds:.1f} s)", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def progress(label: str, quiet: bool = False):
    """Yields `status(text=None, step=None, *, total=None, advance=0)`, every command's one progress printer. On a
    terminal: a bar of the steps done (`step=(done, total)`, or `total` and `advance` by turns), with the elapsed time
    and an ETA, under the latest status text; in a log, where a bar would show nothing, each status text as a
    timestamped line; with `quiet`, nothing."""
    if quiet or not err.is_terminal:
        def line(text: str | None = None, step=None, *, total=None, advance=0) -> None:
            if text is not None and not quiet:
                err.print(f"[{time.strftime('%H:%M:%S')}] {text}", markup=False, highlight=False, soft_wrap=True)

        yield line
        return
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=16), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=True)
    task = bar.add_task(label, total=None)
    room = max(20, err.width - 48 - len(label))  # what the bar, counts and clocks leave of the line

    def status(text: str | None = None, step: tuple[int, int] | None = None, *, total: int | None = None,
               advance: int = 0) -> None:
        shown = {"advance": advance, **({"total": total} if total is not None else {})}
        if text is not None:
            text = text if len(text) <= room else text[:room - 3] + "..."
            shown["description"] = escape(f"{label}: {text}")  # model names in [brackets] are text, not markup
        if step:
            shown.update(completed=step[0], total=step[1])
        bar.update(task, **shown)

    with bar:
        yield status


def _quiet_libraries() -> None:
    """tradeoff shows its own progress; library bars and notices would interleave with it."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main_error(e: TradeoffError) -> int:
    """A tradeoff error as its one line on stderr; returns its exit code."""
    err.print(f"[bold red]error:[/] {e.one_line()}", highlight=False, soft_wrap=True)
    return e.exit_code


def main(argv: list[str] | None = None) -> int:
    _quiet_libraries()
    try:
        code = app(args=argv, standalone_mode=False)  # typer turns Ctrl-C and typer.Exit(n) into a returned code
        if code == 130:
            err.print("interrupted; finished results were kept")
        return code if isinstance(code, int) else 0
    except TradeoffError as e:
        return main_error(e)
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
        if isinstance(e, OSError) and e.errno == errno.ENAMETOOLONG:  # a path no check before the file system caught
            shown = str(e.filename)[:60] + ("..." if len(str(e.filename)) > 60 else "")
            return main_error(BadInput(f"a path is too long for the file system: {shown}", "pass a shorter path"))
        err.print(f"[bold red]internal error:[/] {first_line(e)} "
                  "(hint: rerun with TRADEOFF_DEBUG=1 for the traceback, and report it)", highlight=False, soft_wrap=True)
        return 1


def run() -> None:
    sys.exit(main())
