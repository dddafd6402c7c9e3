"""What a comparison measures, and what it knows of each model before reading records: the planning side of
`tradeoff compare`. `measured_comparison` runs what the store lacks through the one planner; `lineup_of` reads
each model's config, provenance and weights from disk once, so `tradeoff.compare.comparison_from` builds from
records alone."""
from __future__ import annotations

import json
import time
from pathlib import Path

from tradeoff.anatomy import Anatomy, inspect_ref
from tradeoff.bench.spec import DEFAULT_SHAPE
from tradeoff.compare import EAGER, Comparison, Lineup, comparison_from
from tradeoff.decide import DecisionSettings
from tradeoff.errors import BadInput, TradeoffError
from tradeoff.models import parse_ref
from tradeoff.models.refs import display_names
from tradeoff.record import Record


def lineup_of(refs: list[str]) -> Lineup:
    """Each model as typed, gathered from disk: its shown name, exact anatomy, teacher among the others (from the
    provenance a distilled student's folder holds) and whether real weights are here."""
    parsed = [parse_ref(r) for r in refs]
    shown = display_names(p.name for p in parsed)  # from here on, each model goes by the name its column shows
    return Lineup(shown=shown, anatomy={shown[p.name]: inspect_ref(p) for p in parsed},
                  teachers={shown[s]: shown[t] for s, t in teachers_of(refs).items()},
                  without_weights=frozenset(shown[p.name] for p in parsed if not real_weights_here(p.text)))


def shown_name(ref: str, lineup: Lineup) -> str:
    """The name a model typed as `ref` goes by in a comparison of `lineup`."""
    name = parse_ref(ref).name
    return lineup.shown.get(name, name)


def build_comparison(records: list[Record], refs: list[str], baseline: str, quality_baseline: str | None = None,
                     decision: DecisionSettings | None = None, title: str | None = None, store_path: str | None = None,
                     notes: list[str] | None = None, env: str | None = None, lineup: Lineup | None = None,
                     verdicts: dict[str, dict] | None = None) -> Comparison:
    """The comparison of `refs` (as the user typed them) from `records` and the claim `verdicts` of the store's paper
    results (`paper.store_verdicts`, read by the caller that holds the store): the lineup read from disk here (unless
    the caller that planned has it), then `comparison_from`, which reads neither."""
    decision = (decision or DecisionSettings()).check()  # impossible budgets are bad input before any model is read
    lineup = lineup or lineup_of(refs)
    return comparison_from(records, lineup, shown_name(baseline, lineup),
                           shown_name(quality_baseline, lineup) if quality_baseline else None, decision=decision,
                           title=title, store_path=store_path, notes=notes, env=env, verdicts=verdicts or {})


def teachers_of(models: list[str]) -> dict[str, str]:
    """student -> teacher, among the compared models, from the provenance distillation saves with a student."""
    names = {}
    for m in models:
        try:
            ref = parse_ref(m)
        except BadInput:
            continue
        names[ref.name] = ref
    out = {}
    for name, ref in names.items():
        path = Path(ref.location) / "distill.json" if ref.kind == "folder" else None
        if path is None or not path.is_file():
            continue
        try:
            teacher = json.loads(path.read_text()).get("teacher")
        except (OSError, ValueError):
            continue
        if not teacher:
            continue
        try:
            teacher_name = parse_ref(str(teacher)).name
        except BadInput:
            teacher_name = Path(str(teacher)).name
        if teacher_name in names and teacher_name != name:
            out[name] = teacher_name
    return out


def real_weights_here(ref: str) -> bool:
    """Real weights here (packaged, assembled or in the Hugging Face cache): a default comparison never downloads
    (an explicit --quality-models may)."""
    from tradeoff.models.weights import MISSING, ON_HUB, locate

    try:
        return locate(parse_ref(ref)).state not in (MISSING, ON_HUB)
    except TradeoffError:
        return False


def fits_here(a: Anatomy, ram_bytes: float) -> bool:
    """Run for real only what loads comfortably in fp32 and times in seconds on this machine."""
    return a.weight_bytes["fp32"] * 3 < ram_bytes and a.parameters < 1.5e9


def default_backends(base: tuple[str, ...] = (EAGER,)) -> tuple[tuple[str, ...], list[str]]:
    """The backends timed when none are named: `base`, plus eager-bf16 where this CPU runs bf16 natively
    (there it is the fast path; elsewhere it is emulated and only slower); the note says which and why."""
    from tradeoff.bench import hardware

    native = getattr(hardware, "native_dtypes", None)
    if native is None or "eager-bf16" in base:
        return base, []
    ok, why = native().get("bf16", (False, "unknown"))
    if ok:
        return (*base, "eager-bf16"), [f"eager-bf16 included: bf16 is native on this CPU ({why})"]
    return base, [f"eager-bf16 left out: bf16 is not native on this CPU ({why})"]


def eval_backends(backends) -> list[str]:
    """The timed backends quality can be scored through, so each candidate's accuracy is its own backend's."""
    from tradeoff.evaluate.backend import BACKENDS

    return [b for b in backends if b in BACKENDS] or [EAGER]


def measured_comparison(refs: list[str], *, store, baseline: str | None = None, backends=None, shapes=(DEFAULT_SHAPE,),
                        eval_cell: dict | None = None, eval_refs: list[str] | None = None, quality_baseline: str | None = None,
                        decision: DecisionSettings | None = None, settings=None, title: str | None = None,
                        eval_overrides: dict[str, dict] | None = None, notes: list[str] | None = None,
                        retrained: tuple[str, ...] = (), env: str | None = None, on_status=lambda *_, **__: None):
    """Measure what `store` lacks for these models through the one planner, then the comparison from the store alone.

    The work: each model's anatomy; bench groups for the models that fit here (`backends=None`:
    default_backends()); for models with real weights (`eval_refs`, default: those available here) quality on
    `eval_cell`'s task, with `eval_overrides[ref]`'s settings where given (a mode, or fewer backends), else through every
    timed backend that can score. Models too heavy for this machine get a labelled estimate from the FLOP/s
    the real runs reached. `notes` are shown with the recommendation (e.g. why a backend was left out); models in
    `retrained` (folders trained again in this run) are scored again even where the store holds their results.
    """
    import psutil

    from tradeoff import planner
    from tradeoff.bench.spec import Grid, parse_shape
    from tradeoff.bench.suite import GroupWork, plan as bench_plan
    from tradeoff.cells import Cell
    from tradeoff.evaluate.cell import max_length_for
    from tradeoff.evaluate.suite import plan_cells
    from tradeoff.paper import store_verdicts

    if not refs:
        raise BadInput("no models given", "e.g. `tradeoff compare bert-base-uncased distilbert-base-uncased`")
    decision = (decision or DecisionSettings()).check()
    notes = list(notes or [])
    if backends is None:
        backends, why = default_backends()
        notes += why
    parsed = [parse_ref(r) for r in refs]
    baseline = baseline or refs[0]
    if parse_ref(baseline).name not in [p.name for p in parsed]:
        raise BadInput(f"baseline {baseline} is not among the compared models", "add it to the list or pick one of them")
    lineup = lineup_of(refs)
    ram = psutil.virtual_memory().total
    runnable = [p.text for p in parsed if fits_here(lineup.anatomy[lineup.shown[p.name]], ram)]
    heavy = [p for p in parsed if p.text not in runnable]
    todo = [Cell("inspect", p.text, p.name, "random", {}) for p in parsed]
    if runnable:
        base_runs = any(parse_ref(baseline).name == parse_ref(r).name for r in runnable)
        grid = Grid(backend=",".join(backends), shape=",".join(shapes))  # on this CPU, random weights: speed and memory
        groups = bench_plan(runnable, grid, baseline if base_runs else runnable[0], settings).groups
        todo += [GroupWork(g, on_status=on_status) for g in _timed_where_scored(groups, eval_overrides or {})]
    if eval_cell:
        scored = eval_refs or [p.text for p in parsed if lineup.shown[p.name] not in lineup.without_weights]
        cell = {**eval_cell, "backend": eval_cell.get("backend") or eval_backends(backends),
                "max_length": max_length_for(scored, eval_cell.get("max_length"))}  # every model reads the same text
        for ref in scored:
            todo += plan_cells([ref], {**cell, **(eval_overrides or {}).get(ref, {})})[0]

    started, left, steps = {}, {}, {"done": 0, "total": 0}

    def planned(run: list, reused: list) -> None:
        # the bar counts the records of the units that take time (an inspection is instant)
        steps["total"] = sum(len(w.keys()) for w in run if w.kind != "inspect")
        if reused:
            on_status(f"reusing {len(reused)} stored unit(s) of work; {len(run)} to run")

    def start(work) -> None:
        started[id(work)], left[id(work)] = time.perf_counter(), len(work.keys())
        on_status(f"start {_short(work)}")

    def done(i: int, n: int, work, record, seconds: float) -> None:
        """One line per unit of work, when its last record arrives, with the unit's wall time."""
        left[id(work)] -= 1
        steps["done"] += work.kind != "inspect"
        if left[id(work)] == 0:
            on_status(f"[{i}/{n}] done {_short(work)}: {record.status} in {time.perf_counter() - started[id(work)]:.1f} s",
                      step=(steps["done"], steps["total"]))

    planner.run(todo, store, title="compare", rerun=lambda w: w.kind == "eval" and w.model in retrained,
                on_plan=planned, on_start=start, progress=done)
    if heavy:  # estimates follow what was measured, so they are made anew each time
        measured = [r for p in parsed for r in store.query(kind="bench", model=p.name)]
        achieved = [r.metrics["flops_per_s"].value for r in measured if r.status == "ok" and "flops_per_s" in r.metrics
                    and r.cell.get("device", "cpu") == "cpu"]
        how = {"flops_per_s": max(achieved), "how": "the best FLOP/s a real model reached in this run"} if achieved else {}
        estimates = [Cell("bench", p.text, p.name, "estimate", {"backend": "estimate", "device": "cpu", "workload": "fixed",
                                                                "batch": b, "seq_len": q}, runner="tradeoff.bench.estimate",
                          options=how)
                     for p in heavy for b, q in map(parse_shape, shapes)]
        planner.run(estimates, store, force=True, title="estimates",
                    on_start=lambda w: on_status(f"estimate {w.model_name} (too heavy to run here)"))
    records = [r for p in parsed for r in store.query(model=p.name)]
    return build_comparison(records, refs, baseline, quality_baseline or (eval_refs[0] if eval_refs else None),
                            decision=decision, title=title, store_path=str(store.path), notes=notes, env=env,
                            lineup=lineup, verdicts=store_verdicts(store))


def _timed_where_scored(groups: list, eval_overrides: dict[str, dict]) -> list:
    """Bench groups without the models whose quality is scored through fewer backends (`eval_overrides[ref]["backend"]`)
    on the backends they are not scored on: such a model x backend would be a candidate with speed and no quality,
    timed for nothing the decision uses. The group's baseline stays, so every paired ratio keeps its reference."""
    import dataclasses

    kept = []
    for g in groups:
        models = [m for m in g.models if m == g.baseline or g.backend in eval_overrides.get(m, {}).get("backend", [g.backend])]
        if models:
            kept.append(dataclasses.replace(g, models=models))
    return kept


def _short(work) -> str:
    """A unit's label on one line, short enough for a status line."""
    first = work.label().splitlines()[0]
    return first if len(first) <= 110 else first[:107] + "..."
