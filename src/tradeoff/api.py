"""The public Python API: each function returns structured results; the CLI only renders them."""
from __future__ import annotations

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
    rows = []
    for name, entry in catalog.entries().items():
        a = inspect_ref(parse_ref(name))
        rows.append({"model": name, "family": entry.family, "year": entry.year, "role": a.role,
                     "parameters": human_count(a.parameters), "context": a.max_context,
                     "offline weights": ", ".join(entry.weights.packages[:1]) + (" (+more)" if entry.weights and len(entry.weights.packages) > 1 else "") if entry.weights else "config only (random weights)",
                     "hub id": entry.hub_id})
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
