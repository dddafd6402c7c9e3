"""The public Python API: each function returns structured results; the CLI only renders them."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from tradeoff.anatomy import BYTES_PER_PARAM, PARTS, Anatomy, inspect_ref
from tradeoff.errors import BadInput
from tradeoff.models import catalog, parse_ref


def human_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def human_count(n: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.3g}"


def pct_change(value: float, base: float) -> str:
    """-39.4% for modest changes, 61.5x once the ratio passes 2."""
    if not base:
        return ""
    return f"{value / base:.3g}x" if value / base >= 2 else f"{(value / base - 1) * 100:+.1f}%"


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
        base = self._base()
        facts: list[tuple[str, callable]] = [
            ("source", lambda a: a.source), ("type", lambda a: f"{a.model_type} ({a.role})"),
            ("layers", lambda a: a.layers), ("attention heads", lambda a: a.heads), ("KV heads", lambda a: a.kv_heads),
            ("head dim", lambda a: a.head_dim), ("hidden size", lambda a: a.hidden), ("FFN size", lambda a: a.ffn),
            ("vocabulary", lambda a: f"{a.vocab:,}"), ("max context", lambda a: f"{a.max_context:,}"),
            ("attention", lambda a: a.attention), ("positions", lambda a: a.positions), ("norm", lambda a: a.norm),
            ("activation", lambda a: a.activation), ("tied embeddings", lambda a: "yes" if a.tied_embeddings else "no"),
            ("parameters", lambda a: f"{a.parameters:,}" + ("" if a is base else f" ({pct_change(a.parameters, base.parameters)})")),
            *[(f"  {part}", (lambda p: lambda a: f"{a.parameters_by_part[p]:,}")(part)) for part in PARTS if any(a.parameters_by_part[part] for a in self.models)],
            ("  per layer", lambda a: f"{a.parameters_per_layer:,}"),
            ("FLOPs/token (fwd)", lambda a: f"{human_count(a.flops_per_token)} @ {a.seq_len}"),
            *[(f"weights {d}", (lambda d: lambda a: human_bytes(a.weight_bytes[d]))(d)) for d in BYTES_PER_PARAM],
            ("KV cache/token fp16", lambda a: human_bytes(a.kv_cache_bytes_per_token)),
            ("KV cache full ctx", lambda a: human_bytes(a.kv_cache_bytes_full_context)),
        ]
        columns = ["", *[a.model for a in self.models]]
        rows = [{"": label, **{a.model: fn(a) for a in self.models}} for label, fn in facts]
        return columns, rows

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


def run_study(study: str, store: str | None = None, force: bool = False, executor: str = "process",
              address: str | None = None, progress=None):
    """Run a study file into a store (resumable); returns a tradeoff.study.StudySummary."""
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


@contextlib.contextmanager
def _recording(store: str | None, on_record=None):
    """The `on_record` a stage is given: with `store`, each record is put there the moment the stage hands it
    over (one transaction each, so a crash loses nothing finished), then passed on to `on_record`."""
    if store is None:
        yield on_record
        return
    from tradeoff.store import Store

    with Store.open(store) as s:
        def keep(record) -> None:
            s.put(record)
            if on_record is not None:
                on_record(record)

        yield keep


def distill(teacher: str, *, corpus: str | None = None, data: str | None = None, store: str | None = None,
            on_record=None, **options):
    """Distil `teacher` on a text corpus (task-agnostic) or on labelled `data` (task-specific), measure
    the student against it, and keep the records in `store` when given; returns a DistillResult."""
    from tradeoff.distill import distill as run

    with _recording(store, on_record) as keep:
        return run(teacher, corpus=corpus, data=data, on_record=keep, **options)


def evaluate(models: list[str], data: str, *, modes: list[str] | None = None, baseline: str | None = None,
             store: str | None = None, save: str | None = None, progress: bool = True, on_record=None, **options):
    """Task quality of each model (x mode) on `data`, with 95% intervals and retained % vs `baseline`.

    options are eval cell settings (task, train, seed, limit, train_limit, epochs, lr, batch_size, k, ...);
    see tradeoff.evaluate.settings.DEFAULTS. Returns an EvalResult (records, table(), as_json()).
    """
    from tradeoff.evaluate.suite import evaluate as run

    cell = {"data": data, **{k: v for k, v in options.items() if v is not None}}
    with _recording(store, on_record) as keep:
        return run(models, cell, modes, baseline, save_dir=save, progress=progress, on_record=keep)


def bench(models: list[str], *, backends="eager,onnx,onnx-int8", devices="cpu", shapes="1x128", workloads=None,
          baseline: str | None = None, weights: str = "random", isolate: bool = True, store: str | None = None,
          on_plan=None, on_record=None, on_status=None, **settings):
    """Latency, throughput and memory per model x backend x device x shape, with paired speed-ups vs
    `baseline` (default: the first model). settings: budget_s, target, threads, new_tokens, padding,
    samples, seed (see tradeoff.bench.spec.Settings). Returns a BenchResult (records, table(), speedup_table())."""
    from tradeoff.bench.spec import Settings
    from tradeoff.bench.suite import bench as run

    checked = Settings(**{k: v for k, v in settings.items() if v is not None})
    with _recording(store, on_record) as keep:
        return run(models, backends=backends, devices=devices, shapes=shapes, workloads=workloads, baseline=baseline,
                   settings=checked, weights=weights, isolate=isolate, on_plan=on_plan, on_record=keep, on_status=on_status)


def compare(refs: list[str], *, baseline: str | None = None, backends: str | None = None, shapes: str = "1x128",
            eval_cell: dict | None = None, eval_refs: list[str] | None = None, quality_baseline: str | None = None,
            constraints: dict | None = None, store: str | None = None, budget_s: float | None = None, on_status=None):
    """Anatomy, speed, memory and quality side by side (measuring only what the store lacks), claims
    checked, and a recommendation under `constraints` (max_latency_ms, max_memory_mb, min_retained, prefer)."""
    from tradeoff.bench.spec import Settings, parse_list, parse_shapes, BACKENDS
    from tradeoff.compare import compare as run
    from tradeoff.store import Store

    settings = Settings(**({"budget_s": budget_s} if budget_s else {})).check()
    parse_shapes(shapes)
    with Store.open(store) as s:
        return run(refs, baseline=baseline, backends=parse_list(backends, BACKENDS, "backend") if backends else None, shapes=shapes.split(","),
                   eval_cell=eval_cell, eval_refs=eval_refs, quality_baseline=quality_baseline, constraints=constraints,
                   store=s, settings=settings, on_status=on_status or (lambda _: None))


def stored_comparison(refs: list[str], *, baseline: str | None = None, quality_baseline: str | None = None,
                      constraints: dict | None = None, store: str | None = None):
    """The comparison from stored records only (no measuring): for `recommend` and `report`."""
    from tradeoff.compare import build_comparison
    from tradeoff.errors import BadInput
    from tradeoff.store import Store

    if not refs:
        raise BadInput("no models given", "name the models to compare, as given to `tradeoff compare`")
    names = [parse_ref(r).name for r in refs]
    with Store.open(store) as s:
        records = [r for n in names for r in s.query(model=n)]
        path = str(s.path)
    if not any(r.kind in ("bench", "eval") for r in records):
        raise BadInput(f"the store {path} holds no speed or quality results for {', '.join(names)}",
                       "run `tradeoff compare` (or bench / eval) with the same --store first")
    return build_comparison(records, refs, baseline or refs[0], quality_baseline, constraints=constraints, store_path=path)


def paper(name: str = "distilbert", *, plan: str = "cpu", tasks: str | list[str] | None = None, store: str | None = None,
          executor: str = "process", progress=None):
    """Run a paper's reproduction study (resumable) and build its table from the store: (summary, PaperTable).

    `plan` is "cpu", "gpu" or a study file of the same shape (e.g. tiny models in tests)."""
    from tradeoff.paper import run

    return run(name, plan=plan, tasks=tasks, store=store, executor=executor, progress=progress)
