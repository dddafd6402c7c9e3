"""The offline demo: BERT-base vs DistilBERT vs Llama-2-7B on anatomy, speed and memory (random
weights from exact configs, labelled so; Llama-2-7B as a labelled estimate), plus real-weight quality
on the fine-food reviews for two pretrained encoders (linear probes), a Llama-architecture decoder
(zero-shot) and, in the full plan, a half-depth student distilled from the fine-tuned small encoder,
shown next to that fine-tuned teacher — one table, the claims check, a recommendation and a report.

Everything goes through the store in the output folder, so a second run reuses what the first measured.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tradeoff.options import setting

ARCHITECTURES = ["bert-base-uncased", "distilbert-base-uncased", "llama-2-7b"]
QUALITY_BASELINE, SMALL, DECODER = "all-mpnet-base-v2", "all-MiniLM-L6-v2", "SmolLM2-135M"
DATA = "fine-foods"


@dataclass(frozen=True)
class Plan:
    """How much work each stage does; `quick` trades sample size (wider intervals) for minutes."""

    distill: bool
    encoder_mode: str
    train_limit: int
    test_limit: int
    epochs: int
    max_length: int
    backends: tuple[str, ...]
    bench_budget_s: float


# Sized for a small CPU, where fine-tuning is what costs: the pretrained encoders are probed (frozen
# embeddings, no training of the 110M all-mpnet-base-v2), and the full plan fine-tunes the 6-layer
# all-MiniLM-L6-v2 (2,000 reviews, 3 epochs: enough for it to learn more than the majority class) and
# distils it into 3 layers, with a hard-label ablation.
QUICK = Plan(distill=False, encoder_mode="probe", train_limit=1000, test_limit=300, epochs=1, max_length=64,
             backends=("eager",), bench_budget_s=3.0)
FULL = Plan(distill=True, encoder_mode="probe", train_limit=2000, test_limit=400, epochs=3, max_length=64,
            backends=("eager", "onnx-int8"), bench_budget_s=6.0)


@dataclass(frozen=True)
class DemoSettings:
    """What `tradeoff demo` runs and where it keeps it: each field is an option of the command, declared here once."""

    quick: bool = setting(False, "Smaller samples, no distillation, no ONNX backends: a fraction of the full run's time.",
                          flags=("--quick",))
    out: str = setting("tradeoff-demo", "Folder for the store, the HTML/Markdown report and figures.")
    store: str | None = setting(None, "Results store (SQLite file); default OUT/results.db, which reruns reuse.")

    @property
    def plan(self) -> Plan:
        return QUICK if self.quick else FULL


def training_precision() -> str:
    """bf16 mixed precision where this CPU multiplies bf16 in hardware (weights and optimiser stay fp32), fp32
    elsewhere: training is the demo's dearest stage, and emulated bf16 would be slower than fp32."""
    from tradeoff.bench.hardware import native_dtypes

    return "bf16" if native_dtypes("cpu")["bf16"][0] else "no"


def run(settings: DemoSettings = DemoSettings(), on_status=lambda *_, **__: None):
    """Run (or resume) the demo; returns the Comparison and the paths of what was written."""
    from tradeoff.bench.spec import DEFAULT_SHAPE, Settings
    from tradeoff.compare_plan import default_backends, measured_comparison
    from tradeoff.report import to_markdown, write_html
    from tradeoff.report.html import atomic_write_text
    from tradeoff.report.plots import write_pngs
    from tradeoff.store import Store

    from tradeoff.paths import usable_path

    plan, out = settings.plan, usable_path(settings.out, "--out", "pass --out a shorter folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # before any work: a folder it cannot write is the user's to fix
        from tradeoff.errors import BadInput

        raise BadInput(f"cannot create the demo's output folder {out}: {e.strerror}", "pass --out a folder you can write") from e
    distillation, retrained = None, ()
    with Store.open(settings.store or out / "results.db") as store:
        # The pretrained encoders and the decoder are scored once, through eager: what each backend does to accuracy is
        # asked of the candidates the decision is about (the fine-tuned teacher and its student), not of every probe.
        quality_refs = [QUALITY_BASELINE, SMALL]
        overrides = {ref: {"backend": ["eager"]} for ref in (QUALITY_BASELINE, SMALL)}
        if plan.distill:
            teacher, student, distillation, trained = _student(out, plan, store, on_status)
            retrained = (teacher, student) if trained else ()
            # Both already trained on the task: scored as saved, on the same rows, so the student's
            # retained % is against its own teacher (not against a probe scored another way).
            for folder in (teacher, student):
                quality_refs.append(folder)
                overrides[folder] = {"mode": "checkpoint"}
        quality_refs.append(DECODER)
        eval_cell = {"data": f"{DATA}:test", "train": f"{DATA}:train", "mode": plan.encoder_mode, "limit": plan.test_limit,
                     "train_limit": plan.train_limit, "epochs": plan.epochs, "max_length": plan.max_length}
        overrides[DECODER] = {"mode": "zero-shot", "backend": ["eager"]}
        # "other" (under five stars) is no word a language model answers with: score sentiment words instead
        eval_cell.update(template="Review: {text}\nSentiment:", verbalisers=["negative", "positive"])
        backends, notes = default_backends(plan.backends)
        comparison = measured_comparison(
            [*ARCHITECTURES, *quality_refs], baseline=ARCHITECTURES[0], backends=backends, shapes=(DEFAULT_SHAPE,),
            eval_cell=eval_cell, eval_refs=quality_refs, eval_overrides=overrides, quality_baseline=QUALITY_BASELINE, store=store,
            settings=Settings(budget_s=plan.bench_budget_s), notes=notes, retrained=retrained, on_status=on_status,
            title="BERT-base vs DistilBERT vs Llama-2-7B, and real-weight quality on fine-food reviews")
    paths = {"html": write_html(comparison, out / "report.html"),
             "markdown": atomic_write_text(out / "report.md", to_markdown(comparison)),
             "figures": write_pngs(comparison, out / "figures")}
    return comparison, paths, distillation


def distill_cell(out: Path, plan: Plan):
    """The demo's distillation as a cell: SMALL fine-tuned on the reviews, then distilled to half depth."""
    from tradeoff.cells import Cell
    from tradeoff.models.refs import parse_ref
    from tradeoff.render import STDERR

    # on a terminal each training run shows its bar with an ETA (under the demo's own)
    return Cell("distill", SMALL, parse_ref(SMALL).name, "pretrained", options={"progress": STDERR.is_terminal}, cell={
        "mode": "task", "data": f"{DATA}:train", "test": f"{DATA}:test", "out": str(out / "students" / f"{SMALL}-3L"),
        "layer_map": "alternate", "train_limit": plan.train_limit, "test_limit": plan.test_limit, "epochs": plan.epochs,
        "max_length": plan.max_length, "mixed_precision": training_precision()})


def _student(out: Path, plan: Plan, store, on_status) -> tuple[str, str, str, bool]:
    """SMALL fine-tuned, then distilled to half depth (layers by `alternate`), as one distill cell through the
    planner (reused once stored, like all work; run again if its student folder is gone, since it is scored next).

    Returns the fine-tuned teacher's folder, the student's folder, a one-line summary of the distillation, and
    whether it ran now (then both folders hold new models, and stored scores of them are stale)."""
    from tradeoff import planner

    cell = distill_cell(out, plan)
    folder = Path(cell.cell["out"])
    ran = planner.run([cell], store, force=not (folder / "distill.json").is_file(), title="distill",
                      on_start=lambda _: on_status(f"start fine-tuning {SMALL}, then distilling it to 3 layers "
                                                   "(with a hard-label ablation)"))
    if ran.ran:
        on_status(f"done distillation: {'ok' if ran.ok else 'failed'} in {ran.seconds:.1f} s")
    distilled = store.get(cell.key)
    if distilled is None or distilled.status != "ok":
        from tradeoff.errors import Failure

        raise Failure(f"the demo's distillation failed: {distilled.error if distilled else 'no record'}",
                       "see the record with `tradeoff results --kind distill`, fix the cause, and run the demo again")
    # The student names its teacher (the fine-tuned SMALL) in the provenance distillation saved with it.
    teacher = json.loads((folder / "distill.json").read_text())["teacher"]
    return teacher, str(folder), summary(distilled), ran.ran > 0


def summary(r) -> str:
    """Teacher -> student in one line: quality kept, speed gained, and whether the teacher helped at all."""
    m, layers = r.metrics, (r.details.get("settings") or r.cell)["layers"]
    line = (f"Distillation: {r.model} fine-tuned {m['teacher_quality'].fmt(3)} -> {len(layers)}-layer student "
            f"{m['quality'].fmt(3)}, retained {m['retained'].fmt(3)}, {m['speedup'].fmt(3)} faster")
    if "distill_gain" in m:
        from tradeoff.decide import DEFAULT_MARGIN

        gain, margin = m["distill_gain"], DEFAULT_MARGIN["%"]
        verdict = ("significant" if gain.low > 0 or gain.high < 0 else
                   f"equivalent within ±{margin:g} pp" if -margin <= gain.low and gain.high <= margin else
                   f"inconclusive: neither excludes 0 nor lies within ±{margin:g} pp")
        line += f"; vs the same student on hard labels: {gain.fmt(3)} ({verdict})"
    return line


def work_line(plan: Plan, comparison, since: str, seconds: float) -> str | None:
    """'N TFLOP of training and scoring in M min: X % of this machine's measured peak', for the work this run did
    (records created since `since`). An estimate: each model's forward FLOPs per token at the plan's max length times
    the tokens a stage reads with every row padded to it (training counts 3 forwards; distillation adds the teacher's).
    The peak is each part's own: training's at the precision it ran in, scoring's at fp32, so X is the time the work
    would take at those peaks over the time it took."""
    from tradeoff.bench.hardware import peak_flops

    def per_token(name: str) -> float:
        """Forward FLOPs per token at the plan's length: the anatomy's, its attention term moved to that length."""
        a = comparison.anatomy[name]
        return a.flops_per_token + 4 * a.layers * a.heads * a.head_dim * (plan.max_length - a.seq_len)

    tokens_train = plan.train_limit * plan.epochs * plan.max_length
    flops = {"train": 0.0, "score": 0.0}
    precision = "fp32"
    for r in comparison.records:
        if r.created < since or r.status != "ok":
            continue
        if r.kind == "distill":
            students = list(comparison.teachers) or [r.model]  # student -> teacher names, from the student's provenance
            teacher, student = per_token(r.model), per_token(students[0])
            # the teacher fine-tuned; the student trained against it; the same student on hard labels
            flops["train"] += tokens_train * (3 * teacher + (teacher + 3 * student) + 3 * student)
            # the cell as run (its resolved settings over the cell asked for)
            settings = {**r.cell, **(r.details.get("settings") or {})}
            precision = {"bf16": "bf16", "fp16": "fp16"}.get(settings.get("mixed_precision"), "fp32")
        elif r.kind == "eval":
            rows = (r.details.get("test_rows") or {}).get("n") or plan.test_limit
            rows += plan.train_limit if r.cell.get("mode") == "probe" else 0
            flops["score"] += rows * plan.max_length * per_token(r.model)
    total = sum(flops.values())
    if not total or seconds <= 0:
        return None
    peaks = {"fp32": peak_flops("cpu")}
    if precision != "fp32":  # set only by a distillation counted above
        peaks[precision] = peak_flops("cpu", precision)
    ideal = flops["train"] / peaks[precision] + flops["score"] / peaks["fp32"]
    named = ", ".join(f"{d} {p / 1e9:.0f} GFLOP/s" for d, p in peaks.items())
    trained = f"training in {precision}, " if flops["train"] else ""
    return (f"{total / 1e12:.1f} TFLOP of training and scoring in {seconds / 60:.1f} min: {ideal / seconds:.0%} of this "
            f"machine's measured peak ({trained}measured peaks {named}; the work estimated from FLOPs per token x "
            f"tokens read, rows padded to {plan.max_length})")
