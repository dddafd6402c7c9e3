"""The public Python API: each function returns structured results; the CLI only renders them."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from tradeoff.anatomy import Anatomy, inspect_ref
from tradeoff.bench.spec import DEFAULT_SHAPE
from tradeoff.errors import BadInput
from tradeoff.executors import DEFAULT as DEFAULT_EXECUTOR
from tradeoff.models import catalog, parse_ref


@dataclass
class InspectResult:
    models: list[Anatomy]
    baseline: str

    def _base(self) -> Anatomy:
        return next(a for a in self.models if a.model == self.baseline)

    def as_json(self) -> dict:
        base = self._base()
        return {"baseline": self.baseline,
                "models": [{**a.model_dump(), "parameters_vs_baseline": a.parameters / base.parameters - 1} for a in self.models]}

    def table(self) -> tuple[list[str], list[dict]]:
        from tradeoff.render import anatomy_table

        return anatomy_table(self.models, self._base())

    def dataframe(self):
        import pandas as pd

        return pd.DataFrame([a.model_dump() for a in self.models]).set_index("model")


def inspect(refs: list[str], baseline: str | None = None, seq_len: int | None = None,
            trust_remote_code: bool = False) -> InspectResult:
    """Anatomy of each model, with ratios against `baseline` (default: the first)."""
    if not refs:
        raise BadInput("no models given", "name at least one model, e.g. `tradeoff inspect bert-base-uncased`")
    parsed = [parse_ref(r) for r in refs]
    if baseline is not None:
        b = parse_ref(baseline)
        if b.name not in [p.name for p in parsed]:
            parsed.append(b)
    anatomies = [inspect_ref(r, seq_len=seq_len, trust_remote_code=trust_remote_code) for r in _unique(parsed)]
    if seq_len is not None:
        for a in anatomies:
            if seq_len > a.max_context:
                raise BadInput(f"--seq-len {seq_len} exceeds {a.model}'s context of {a.max_context}", "use a shorter sequence")
    return InspectResult(anatomies, parse_ref(baseline).name if baseline else anatomies[0].model)


def _unique(refs):
    seen, out = set(), []
    for r in refs:
        if r.name not in seen:
            seen.add(r.name)
            out.append(r)
    return out


def catalog_models() -> list[dict]:
    """Every catalog entry, where its real weights are on this machine (packaged, assembled, the Hugging
    Face cache with the snapshot's revision), and how to get them if not."""
    from tradeoff.models.weights import locate
    from tradeoff.render import human_count

    rows = []
    for name, entry in catalog.entries().items():
        ref = parse_ref(name)
        a = inspect_ref(ref)
        w = locate(ref)
        rows.append({"model": name, "family": entry.family, "year": entry.year, "role": a.role,
                     "parameters": human_count(a.parameters), "context": a.max_context, "hub id": entry.hub_id,
                     "packaged weights": ", ".join(entry.weights.packages[:1]) + (" (+more)" if len(entry.weights.packages) > 1 else "") if entry.weights else "-",
                     "weights here": w.state, "where": str(w.folder or ""), "revision": w.revision or "",
                     "how to get them": w.hint})
    return rows


def run_study(study: str, store: str | None = None, force: bool = False, executor: str = DEFAULT_EXECUTOR,
              address: str | None = None, progress=None):
    """Run a study file into a store (resumable); returns a tradeoff.planner.RunSummary."""
    from tradeoff.store import Store
    from tradeoff.study import prepare, run_study as run

    plan = prepare(study)  # the whole grid is checked before the store is touched
    with Store.open(store) as s:
        return run(plan, s, executor=executor, force=force, address=address, progress=progress)


def plan_study(study: str, store: str | None = None, force: bool = False) -> list[dict]:
    """The cells of a study file and whether a run would compute or skip each."""
    from tradeoff.store import Store
    from tradeoff.study import plan_rows, prepare

    plan = prepare(study)
    with Store.open(store) as s:
        return plan_rows(plan, s, force)


def results(store: str | None = None, kind: str | None = None, model: str | None = None, status: str | None = None,
            **cell_filters) -> list:
    """(Record, provenance) pairs from a store; `model` may be any reference to the model (alias, folder)."""
    from tradeoff.store import Store

    if model is not None:
        try:
            model = parse_ref(model).name
        except BadInput:
            pass  # not resolvable here (another machine's folder): match the stored name as given
    with Store.open(store) as s:
        return list(s.rows(kind=kind, model=model, status=status, **cell_filters))


def export_results(out: str, store: str | None = None, **filters) -> int:
    from tradeoff.store import Store

    with Store.open(store) as s:
        return s.export(out, **{k: v for k, v in filters.items() if v is not None})


def import_results(source: str, store: str | None = None) -> dict[str, int]:
    from tradeoff.store import Store

    with Store.open(store) as s:
        return s.import_from(source)


def _measure_now(works: list, store: str | None, title: str, on_record=None):
    """A command that measures measures now: its work runs through the planner with force (nothing reused), its
    records kept in `store` when given; returns the planner's RunSummary."""
    from tradeoff import planner

    with _opened(store) as s:
        return planner.run(works, s, force=True, title=title, on_record=on_record)


@contextlib.contextmanager
def _opened(store: str | None):
    """The store a command keeps its records in, or None (then records only go back to the caller)."""
    if store is None:
        yield None
        return
    from tradeoff.store import Store

    with Store.open(store) as s:
        yield s


def distill(teacher: str, *, corpus: str | None = None, data: str | None = None, settings=None,
            store: str | None = None, on_record=None, progress: bool = True, **options):
    """Distil `teacher` on a text corpus (task-agnostic) or on labelled `data` (task-specific), measure the
    student against it, and keep the records in `store` when given; returns a DistillResult. One distillation
    is one distill cell, run now (force) through the planner like every other command's work.

    `settings` is a tradeoff.distill.settings.DistillSettings; `options` are its fields by name (out, layers,
    epochs, lr, ...), over it; the cell checks both against its fields."""
    import dataclasses
    from pathlib import Path

    from tradeoff.cells import Cell
    from tradeoff.distill import validate_cell
    from tradeoff.distill.run import DistillResult
    from tradeoff.errors import Failure

    if (corpus is None) == (data is None):
        raise BadInput("give either --corpus (task-agnostic) or --data (task-specific)",
                       "e.g. --corpus austen.txt, or --data sst2/ with a fine-tunable teacher")
    given = dataclasses.asdict(settings) if settings is not None else {}
    cell = {"mode": "corpus" if corpus is not None else "task", "data": str(corpus if corpus is not None else data),
            **{k: str(v) if isinstance(v, Path) else v for k, v in {**given, **options}.items() if v is not None}}
    validate_cell(teacher, cell)
    work = Cell("distill", teacher, parse_ref(teacher).name, "pretrained", cell, options={"progress": progress})
    summary = _measure_now([work], store, "distill", on_record)
    first = summary.records[0]
    if first.status != "ok":
        raise Failure(f"the distillation failed ({first.status}): {first.error}",
                      "its record is in the store (`tradeoff results --kind distill`); fix the cause and run again")
    return DistillResult(summary.records, Path(first.details["student_dir"]))


def evaluate(models: list[str], data: str | None = None, *, settings=None, modes: list[str] | None = None,
             baseline: str | None = None, store: str | None = None, save: str | None = None, progress: bool = True,
             on_record=None, **options):
    """Task quality of each model (x mode) on `data`, with 95% intervals and retained % vs `baseline`.

    `settings` is a tradeoff.evaluate.settings.EvalSettings; `options` are its fields by name (task, train, seed,
    limit, epochs, lr, ...), over it. Returns an EvalResult (records, table(), as_json()).
    """
    import dataclasses

    from tradeoff.evaluate.settings import check_names
    from tradeoff.evaluate.suite import EvalResult, plan_cells

    check_names(options)
    given = dataclasses.asdict(settings) if settings is not None else {}
    cell = {k: v for k, v in {**given, **options, "data": data or given.get("data")}.items() if v is not None}
    cells, base_label = plan_cells(models, cell, modes, baseline, save_dir=save, progress=progress)
    summary = _measure_now(cells, store, "eval", on_record)
    return EvalResult.of(summary.records, base_label)


def bench(models: list[str], grid=None, *, baseline: str | None = None, store: str | None = None, on_plan=None,
          on_record=None, on_status=None, settings=None, **options):
    """Latency, throughput and memory per model x backend x device x shape, with paired speed-ups vs
    `baseline` (default: the first model). `grid`: a tradeoff.bench.spec.Grid, what to measure (backend, device,
    shape, workload, pretrained, isolate); `settings`: a tradeoff.bench.spec.Settings, how hard (budget_s, target,
    threads, p99_ms, output_tokens, ...); `options`: either's fields by name, over them. Returns a BenchResult
    (records, table(), speedup_table())."""
    from dataclasses import fields, replace

    from tradeoff.bench.spec import Grid, Settings
    from tradeoff.bench.suite import BenchResult, GroupWork, plan
    from tradeoff.options import check_names

    check_names((Grid, Settings), options, "bench setting")
    given = {k: v for k, v in options.items() if v is not None}
    on_grid = {f.name for f in fields(Grid)}
    grid = replace(grid or Grid(), **{k: v for k, v in given.items() if k in on_grid})
    checked = replace(settings or Settings(), **{k: v for k, v in given.items() if k not in on_grid})
    the_plan = plan(models, grid, baseline, checked)
    if on_plan:
        on_plan(the_plan)
    summary = _measure_now([GroupWork(g, grid.isolate, on_status) for g in the_plan.groups], store, "bench", on_record)
    return BenchResult(summary.records, the_plan.baseline)


def compare(refs: list[str], *, baseline: str | None = None, backends: str | None = None, shapes: str = DEFAULT_SHAPE,
            eval_cell: dict | None = None, eval_refs: list[str] | None = None, quality_baseline: str | None = None,
            decision=None, store: str | None = None, budget_s: float | None = None, env: str | None = None,
            on_status=None, **budgets):
    """Anatomy, speed, memory and quality side by side (measuring only what the store lacks), claims
    checked, and a recommendation under `decision`, a tradeoff.decide.DecisionSettings, or its fields as keywords
    (max_latency_ms, max_memory_mb, min_retained, prefer, ...); speed and memory from one environment (`env`: see
    compare.one_environment); measured as compare_plan.measured_comparison says."""
    from tradeoff.bench.spec import Settings, parse_list, parse_shapes, BACKENDS
    from tradeoff.compare_plan import measured_comparison
    from tradeoff.decide import decision_settings
    from tradeoff.store import Store

    decision = decision_settings(decision, budgets)
    settings = Settings(**({"budget_s": budget_s} if budget_s else {})).check()
    parse_shapes(shapes)
    with Store.open(store) as s:
        return measured_comparison(refs, baseline=baseline, backends=parse_list(backends, BACKENDS, "backend") if backends else None,
                                   shapes=shapes.split(","), eval_cell=eval_cell, eval_refs=eval_refs,
                                   quality_baseline=quality_baseline, decision=decision, store=s, settings=settings,
                                   env=env, on_status=on_status or (lambda _: None))


def stored_comparison(refs: list[str], *, baseline: str | None = None, quality_baseline: str | None = None,
                      decision=None, store: str | None = None, env: str | None = None, **budgets):
    """The comparison from stored records only (no measuring): for `recommend` and `report`; `decision` and `budgets`
    as for `compare`."""
    from tradeoff.compare_plan import build_comparison
    from tradeoff.decide import decision_settings
    from tradeoff.errors import BadInput
    from tradeoff.paper import store_verdicts
    from tradeoff.store import Store

    decision = decision_settings(decision, budgets)
    if not refs:
        raise BadInput("no models given", "name the models to compare, as given to `tradeoff compare`")
    names = [parse_ref(r).name for r in refs]
    with Store.open(store) as s:
        records = [r for n in names for r in s.query(model=n)]
        path, verdicts = str(s.path), store_verdicts(s)
    if not any(r.kind in ("bench", "eval") for r in records):
        raise BadInput(f"the store {path} holds no speed or quality results for {', '.join(names)}",
                       "run `tradeoff compare` (or bench / eval) with the same --store first")
    return build_comparison(records, refs, baseline or refs[0], quality_baseline, decision=decision, store_path=path,
                            env=env, verdicts=verdicts)


def paper(name: str = "distilbert", settings=None, *, store: str | None = None, progress=None, **options):
    """Run a paper's reproduction study (resumable) and build its table from the store: (summary, PaperTable).

    `settings` is a tradeoff.paper.PaperSettings; `options` are its fields by name (plan, tasks, executor), over it.
    A plan is "cpu", "gpu" or a study file of the same shape (e.g. tiny models in tests)."""
    from tradeoff.paper import run

    return run(name, settings, store=store, progress=progress, **options)
