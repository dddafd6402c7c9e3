"""The `tradeoff` command: parse, call the Python API, render. Nothing else lives here.

Every TradeoffError becomes one line on stderr (exit 2 for bad input, 1 for failures); an
unexpected exception becomes one line too, with TRADEOFF_DEBUG=1 to see the traceback.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Optional

import typer

from tradeoff import __version__
from tradeoff import executors
from tradeoff.errors import BadInput, TradeoffError, first_line
from tradeoff.bench import backends as backend_names
from tradeoff.bench import spec as bench_defaults
from tradeoff.bench.spec import Settings as BENCH
from tradeoff.distill.settings import DistillSettings
from tradeoff.evaluate import data as data_defaults
from tradeoff.evaluate.settings import DEFAULTS as EVAL, MAX_LENGTH_HELP, TEST_FRACTION_HELP, EvalSettings
from tradeoff.options import csv_list, with_settings
from tradeoff.render import STDERR

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Which transformer should I use? Architecture, speed, memory and quality, measured side by side.")
err = STDERR


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
    """The catalog: known models, their family and size, and where their real weights are here (packaged,
    assembled, or the Hugging Face cache with the snapshot's revision) or how to get them."""
    from tradeoff import api
    from tradeoff.render import emit

    rows = api.catalog_models()
    emit(list(rows[0]), rows, "json" if json_ else "table", title="Catalog")


STORE_HELP = "Results store (SQLite file); default $TRADEOFF_STORE, else results.db in the user data folder."
TEST_FRACTION = typer.Option(data_defaults.TEST_FRACTION, "--test-fraction", help=TEST_FRACTION_HELP)


@app.command("run")
def run_study_command(
    study: str = typer.Argument(..., help="Study file (.toml or .yaml) describing the grid of cells."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
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


@app.command()
@with_settings(DistillSettings)
def distill(
    teacher: str = typer.Argument(..., help="Teacher: a catalog model with offline weights, or a folder."),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="Task-agnostic: a plain UTF-8 text file to distil on."),
    data: Optional[str] = typer.Option(None, "--data", help="Task-specific: labelled training data (JSONL/CSV/Parquet, a folder, or fine-foods)."),
    settings: DistillSettings = None,
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    json_: bool = typer.Option(False, "--json", help="The records as JSON."),
    markdown: bool = typer.Option(False, "--markdown"),
    csv_: bool = typer.Option(False, "--csv"),
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
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    json_: bool = typer.Option(False, "--json", help="Records (without per-example arrays) and comparisons as JSON."),
    markdown: bool = typer.Option(False, "--markdown"),
    csv_: bool = typer.Option(False, "--csv"),
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
def bench(
    refs: list[str] = typer.Argument(..., help="Models: catalog names, hub ids, folders or .gguf files (random weights from the exact config)."),
    backend: str = typer.Option(",".join(bench_defaults.DEFAULT_BACKENDS), "--backend", help=f"Comma list: {', '.join(backend_names.NAMES)}."),
    device: str = typer.Option("cpu", "--device", help="Comma list: cpu, cuda."),
    shape: str = typer.Option(bench_defaults.DEFAULT_SHAPE, "--shape", help="Comma list of BATCHxSEQ, e.g. 1x128,32x128."),
    workload: Optional[str] = typer.Option(None, "--workload", help="fixed | real | generate | server (default: fixed for encoders, generate for decoders)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b", help="Speed-ups against this model (default: the first)."),
    settings: BENCH = None,
    pretrained: bool = typer.Option(False, "--pretrained", help="Load real weights instead of random ones (must be available offline)."),
    isolate: bool = typer.Option(True, "--isolate/--no-isolate", help="Run each backend group in its own child process."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    json_: bool = typer.Option(False, "--json", help="The records as JSON."),
    markdown: bool = typer.Option(False, "--markdown"),
    csv_: bool = typer.Option(False, "--csv"),
):
    """Latency (p50/p90/p99 with 95% intervals), throughput, memory and utilisation per backend and shape,
    and each model's speed-up over the baseline from interleaved (paired) timing."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, markdown, csv_)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} cells"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True, disable=quiet)
    task = progress.add_task("bench", total=None)

    def on_record(record):
        if "baseline" not in record.cell:
            progress.advance(task)

    started = time.perf_counter()
    with progress:
        result = api.bench(refs, backends=backend, devices=device, shapes=shape, workloads=workload, baseline=baseline,
                           weights="pretrained" if pretrained else "random", isolate=isolate, store=store,
                           on_plan=lambda plan: progress.update(task, total=plan.cells),
                           on_record=on_record, on_status=lambda text: progress.update(task, description=text[:60]),
                           settings=settings)
    if fmt == "json":
        print(to_json(result.as_json()))
        return
    weights = "pretrained" if pretrained else "random, so speed and memory only"
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


BUDGETS = {
    "max_latency_ms": typer.Option(None, "--max-latency-ms", help="Latency budget (p50, ms)."),
    "max_memory_mb": typer.Option(None, "--max-memory-mb", help="Memory budget (peak RSS, MB)."),
    "min_retained": typer.Option(None, "--min-retained", help="Quality floor: fraction of the quality baseline kept, scored the same way on the same rows (0.95 or 95)."),
    "prefer": typer.Option("quality", "--prefer", help="The first criterion among models that fit: quality, latency or memory; those it cannot tell apart go to the next."),
    "tie_margin": typer.Option(None, "--tie-margin", help="Quality differences whose 95% interval lies within this margin are equivalent (metric's unit: pp for % metrics; default 1 pp, or 0.01 of the metric's scale)."),
    "qps": typer.Option(None, "--qps", help="Load to serve (queries/s): fits when the capacity measured by `bench --workload server` reaches it."),
    "p99_ms": typer.Option(None, "--p99-ms", help=f"Encoders: the p99 latency bound that load must be served within (default {BENCH.p99_ms:g} ms)."),
    "ttft_ms": typer.Option(None, "--ttft-ms", help=f"Decoders: the TTFT p99 bound that load must be served within (default {BENCH.ttft_ms:g} ms)."),
    "tpot_ms": typer.Option(None, "--tpot-ms", help=f"Decoders: the TPOT p99 bound (default {BENCH.tpot_ms:g} ms)."),
    "output_tokens": typer.Option(None, "--output-tokens", help=f"Decoders: tokens each request generates, as served by bench (default {BENCH.output_tokens})."),
}
ENV = typer.Option(None, "--env", help="Compare speed and memory from this environment (its id, or a piece of its CPU name); "
                                       "default: the one with most results in the store. The notes list the others.")


def _constraints(max_latency_ms, max_memory_mb, min_retained, prefer, qps=None, p99_ms=None, tie_margin=None,
                 ttft_ms=None, tpot_ms=None, output_tokens=None) -> dict:
    if min_retained is not None and min_retained > 1:
        min_retained /= 100  # given in percent
    return {"max_latency_ms": max_latency_ms, "max_memory_mb": max_memory_mb, "min_retained": min_retained, "prefer": prefer,
            "qps": qps, "p99_ms": p99_ms, "tie_margin": tie_margin, "ttft_ms": ttft_ms, "tpot_ms": tpot_ms,
            "output_tokens": output_tokens}


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
def compare(
    refs: list[str] = typer.Argument(..., help="Models to put side by side (catalog names, hub ids, folders, .gguf files)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b", help="Speed and size ratios against this model (default: the first)."),
    backend: Optional[str] = typer.Option(None, "--backend", help=f"Comma list of bench backends ({', '.join(backend_names.NAMES)}); default eager, plus eager-bf16 where bf16 is native."),
    shape: str = typer.Option(bench_defaults.DEFAULT_SHAPE, "--shape", help="Comma list of BATCHxSEQ."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Seconds of timing per bench cell at most."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="Score quality on this data (see `tradeoff eval --help`)."),
    task: str = typer.Option("auto", "--task"),
    mode: str = typer.Option("auto", "--mode", help="Eval mode: finetune, probe, checkpoint, zero-shot, k-shot."),
    train: Optional[str] = typer.Option(None, "--train", help="Eval: training data (default: a folder's train split, or the rows of --data not held out)."),
    test_fraction: float = TEST_FRACTION,
    limit: Optional[int] = typer.Option(None, "--limit", help="Eval: score a seeded subset."),
    train_limit: Optional[int] = typer.Option(None, "--train-limit", help="Eval: train on a seeded subset."),
    epochs: int = typer.Option(EVAL["epochs"], "--epochs", help="Eval: fine-tuning epochs."),
    max_length: Optional[int] = typer.Option(EVAL["max_length"], "--max-length", help="Eval: " + MAX_LENGTH_HELP),
    quality_models: Optional[str] = typer.Option(None, "--quality-models", help="Comma list of the models to score (default: those with real weights here)."),
    quality_baseline: Optional[str] = typer.Option(None, "--quality-baseline", help="Performance retained against this model (default: the first scored)."),
    max_latency_ms: Optional[float] = BUDGETS["max_latency_ms"], max_memory_mb: Optional[float] = BUDGETS["max_memory_mb"],
    min_retained: Optional[float] = BUDGETS["min_retained"], prefer: str = BUDGETS["prefer"],
    tie_margin: Optional[float] = BUDGETS["tie_margin"],
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP), env: Optional[str] = ENV,
    html: Optional[str] = typer.Option(None, "--html", help="Also write the HTML report here."),
    markdown_out: Optional[str] = typer.Option(None, "--markdown-out", help="Also write a Markdown report here."),
    png: Optional[str] = typer.Option(None, "--png", help="Also write PNG figures into this folder."),
    json_: bool = typer.Option(False, "--json"), markdown: bool = typer.Option(False, "--markdown"),
    full: bool = typer.Option(False, "--full", help="Also print the full matrix and every candidate's reasons."),
):
    """The decision first (what to use and on what it rests), one row per candidate, claims checked; --full for the matrix."""
    from tradeoff import api

    fmt = output_format(json_, markdown, False)
    eval_cell = None
    if data:
        eval_cell = {"data": data, "train": train, "test_fraction": test_fraction, "task": task, "mode": mode, "limit": limit,
                     "train_limit": train_limit, "epochs": epochs, "max_length": max_length}
        eval_cell = {k: v for k, v in eval_cell.items() if v is not None}
    with progress("comparing") as status:
        comparison = api.compare(refs, baseline=baseline, backends=backend, shapes=shape, eval_cell=eval_cell,
                                 eval_refs=csv_list(quality_models), quality_baseline=quality_baseline,
                                 constraints=_constraints(max_latency_ms, max_memory_mb, min_retained, prefer, tie_margin=tie_margin),
                                 store=store, budget_s=budget, env=env, on_status=status)
    _show_comparison(comparison, fmt, html, markdown_out, png, full=full)


@app.command()
def recommend(
    refs: list[str] = typer.Argument(..., help="Candidate models (already measured into the store by compare/bench/eval)."),
    max_latency_ms: Optional[float] = BUDGETS["max_latency_ms"], max_memory_mb: Optional[float] = BUDGETS["max_memory_mb"],
    min_retained: Optional[float] = BUDGETS["min_retained"], prefer: str = BUDGETS["prefer"],
    qps: Optional[float] = BUDGETS["qps"], p99_ms: Optional[float] = BUDGETS["p99_ms"],
    ttft_ms: Optional[float] = BUDGETS["ttft_ms"], tpot_ms: Optional[float] = BUDGETS["tpot_ms"],
    output_tokens: Optional[int] = BUDGETS["output_tokens"],
    tie_margin: Optional[float] = BUDGETS["tie_margin"],
    quality_baseline: Optional[str] = typer.Option(None, "--quality-baseline", help="Retained % against this model."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP), env: Optional[str] = ENV,
    json_: bool = typer.Option(False, "--json"),
):
    """The best model and backend under your budgets, why each other candidate lost, or that nothing fits."""
    from tradeoff import api
    from tradeoff.render import to_json

    comparison = api.stored_comparison(refs, quality_baseline=quality_baseline, store=store, env=env,
                                       constraints=_constraints(max_latency_ms, max_memory_mb, min_retained, prefer, qps, p99_ms,
                                                                tie_margin, ttft_ms, tpot_ms, output_tokens))
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
    html: Optional[str] = typer.Option(None, "--html", help="Self-contained HTML report (offline, interactive plots)."),
    markdown_out: Optional[str] = typer.Option(None, "--markdown-out", help="Markdown report for a README or paper."),
    png: Optional[str] = typer.Option(None, "--png", help="Folder for PNG figures."),
    baseline: Optional[str] = typer.Option(None, "--baseline", "-b"),
    quality_baseline: Optional[str] = typer.Option(None, "--quality-baseline"),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP), env: Optional[str] = ENV,
):
    """Write the comparison as HTML, Markdown and/or PNG figures, from the store alone."""
    from tradeoff import api

    if not (html or markdown_out or png):
        raise BadInput("nothing to write", "pass --html FILE, --markdown-out FILE and/or --png DIR")
    comparison = api.stored_comparison(refs, baseline=baseline, quality_baseline=quality_baseline, store=store, env=env)
    _show_comparison(comparison, "none", html, markdown_out, png)


@app.command()
def demo(
    quick: bool = typer.Option(False, "--quick", help="Smaller samples, no distillation, no ONNX backends: a fraction of the full run's time."),
    out: str = typer.Option("tradeoff-demo", "--out", help="Folder for the store, the HTML/Markdown report and figures."),
    store: Optional[str] = typer.Option(None, "--store", help="Results store (default: OUT/results.db); reruns reuse it."),
    full: bool = typer.Option(False, "--full", help="Also print the full matrix and every candidate's reasons."),
):
    """The offline demo: BERT-base vs DistilBERT vs Llama-2-7B, and real-weight quality on fine-food reviews."""
    from pathlib import Path

    from tradeoff import demo as demo_mod

    from datetime import datetime, timezone

    since, started = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.perf_counter()
    with progress("demo") as status:
        comparison, paths, distillation = demo_mod.run(Path(out), quick=quick, store_path=store, on_status=status)
    seconds = time.perf_counter() - started
    _show_comparison(comparison, "table", None, None, None, full=full, seed_models=tuple(demo_mod.ARCHITECTURES))
    if distillation:
        print(f"\n{distillation}")
    print(f"\nHTML report: {paths['html']}\nMarkdown: {paths['markdown']}\nFigures: {', '.join(map(str, paths['figures']))}\n"
          f"Every figure is a record in {comparison.store_path}")
    work = demo_mod.work_line(demo_mod.QUICK if quick else demo_mod.FULL, comparison, since, seconds)
    if work:
        print(work)


@app.command("paper")
def paper_command(
    name: str = typer.Argument(..., help="The paper to reproduce: distilbert (its GLUE dev table, by proxy)."),
    plan: str = typer.Option("cpu", "--plan", help="cpu (400 training rows per task, one epoch: studies/distilbert-cpu.toml) | gpu (full training sets) | a study file."),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="Comma list of GLUE tasks: cola,sst2,mrpc,stsb,rte (default: all)."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    executor: str = typer.Option(executors.DEFAULT, "--executor", help=executors.HELP),
    json_: bool = typer.Option(False, "--json", help="The table, macro and claims as JSON."),
    markdown: bool = typer.Option(False, "--markdown"),
):
    """Reproduce a paper's table here: run its study (resumable: a rerun skips finished cells), then show the
    measured figures with intervals and test-set sizes beside the paper's, and the claims they decide."""
    from rich.markup import escape

    from tradeoff import api
    from tradeoff.render import emit, to_json

    fmt = output_format(json_, markdown, False)
    summary, table = api.paper(name, plan=plan, tasks=tasks, store=store, executor=executor, progress=print_step)
    for failure in summary.failures:
        err.print(f"[yellow]failed:[/] {escape(failure)}", highlight=False, soft_wrap=True)
    if fmt == "json":
        print(to_json({"summary": summary.line(), **table.as_json()}))
    else:
        rows = table.rows()
        columns = list(dict.fromkeys(c for r in rows for c in r))
        emit(columns, rows, fmt, title=f"{name}: measured here beside the paper (plan {plan})")
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
def progress(label: str):
    """Yields `status(text, step=None)`. On a terminal: a bar of the steps done (`step=(done, total)`), with the
    elapsed time and an ETA, under the latest status text; in a log, where a bar would show nothing, each status
    as a timestamped line."""
    if not err.is_terminal:
        yield lambda text, step=None: err.print(f"[{time.strftime('%H:%M:%S')}] {text}", markup=False, highlight=False,
                                                soft_wrap=True)
        return
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=16), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=True)
    task = bar.add_task(label, total=None)
    room = max(20, err.width - 48 - len(label))  # what the bar, counts and clocks leave of the line

    def status(text: str, step: tuple[int, int] | None = None) -> None:
        text = text if len(text) <= room else text[:room - 3] + "..."
        text = escape(f"{label}: {text}")  # model names in [brackets] are text, not markup
        if step:
            bar.update(task, description=text, completed=step[0], total=step[1])
        else:
            bar.update(task, description=text)

    with bar:
        yield status


def _quiet_libraries() -> None:
    """tradeoff shows its own progress; library bars and notices would interleave with it."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    _quiet_libraries()
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
        err.print(f"[bold red]internal error:[/] {first_line(e)} "
                  "(hint: rerun with TRADEOFF_DEBUG=1 for the traceback, and report it)", highlight=False, soft_wrap=True)
        return 1


def run() -> None:
    sys.exit(main())
