"""`tradeoff paper distilbert`: the DistilBERT paper's GLUE table, reproduced by proxy on this machine.

The experiment is a study file (`studies/distilbert-{cpu,gpu}.toml`) run by the ordinary study runner, so it
resumes like any study. In it a task's data is written `@rte`, `@mrpc`, ...: the GLUE registry
(`tradeoff.evaluate.glue`) fills in the folder and, for decoder eval cells, the prompt, the verbalisers, the
paper's metric and the label range, so the study and the table cannot disagree about a task. The table is
built from the store alone: per task the fine-tuned teacher and its task-distilled 6-layer student, scored on
the same GLUE dev rows in the paper's metric (recomputed from the per-example predictions each record keeps),
retained % with its paired interval beside the paper's figures, the macro over the tasks run, the decoders
on the same rows, and the claims C7 (as a proxy), C8, C13 and C14 decided from those numbers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tradeoff.errors import BadInput
from tradeoff.evaluate import glue
from tradeoff.executors import DEFAULT as DEFAULT_EXECUTOR
from tradeoff.record import Metric, Record

PAPERS = ("distilbert",)
PLANS = ("cpu", "gpu")
STUDIES = Path(__file__).resolve().parents[2] / "studies"
LAYER_MAP = "0,2,4,7,9,11"  # the released DistilBERT extraction's teacher layers
C7_CLAIM, C14_FLOOR = 97.0, 95.0  # % retained claimed by the paper; "a large loss" for C14


def plan_path(plan: str | Path) -> Path:
    """`cpu` / `gpu` (the shipped studies) or a study file of the same shape (tests use tiny models)."""
    text = str(plan)
    if text in PLANS:
        path = STUDIES / f"distilbert-{text}.toml"
        if not path.is_file():
            raise BadInput(f"the {text} plan's study file is missing ({path})", "run from a tradeoff checkout")
        return path
    path = Path(text).expanduser()
    if path.suffix.lower() in (".toml", ".yaml", ".yml") and path.is_file():
        return path
    raise BadInput(f"unknown plan {text!r}", f"use {' or '.join(PLANS)}, or a study file path")


def _task_of(data) -> glue.GlueTask | None:
    return glue.task(data[1:]) if isinstance(data, str) and data.startswith("@") else None


def _expand(cell, task: glue.GlueTask):
    """A study cell with the registry's facts for `task` filled in (values the file sets win)."""
    values = {"data": str(task.path())}
    if cell.kind == "eval":
        values["metric"] = task.metric
        if task.regression:
            values["label_range"] = list(task.label_range)
        if task.template is not None:
            values.update(template=task.template, verbalisers=list(task.verbalisers))
    return dataclasses.replace(cell, cell={**values, **{k: v for k, v in cell.cell.items() if k != "data"}, "data": values["data"]})


def load_plan(plan: str | Path, tasks: str | list[str] | None = None):
    """The plan's study, limited to `tasks`, with every `@task` filled in and the whole grid validated."""
    from tradeoff.study import Study, load_study_file, parse_study, validate

    path = plan_path(plan)
    chosen = {t.name for t in glue.tasks(tasks)}
    data, where = load_study_file(path)
    study = parse_study(data, where, name=path.stem)
    cells = []
    for cell in study.cells:
        task = _task_of(cell.cell.get("data"))
        if task is None:
            raise where.error((cell.kind, "data"), f"{cell.cell.get('data')!r} is not a GLUE task of the paper",
                              f"write data = \"@TASK\" with TASK one of {', '.join(glue.TASKS)}")
        if task.name not in chosen:
            continue
        if cell.kind == "eval" and task.template is None:
            continue  # no decoder row for a regression task: the table says why
        cells.append(_expand(cell, task))
    if not cells:
        raise BadInput(f"{path}: the plan has no cells for {', '.join(sorted(chosen))}", "pick tasks the plan covers")
    return validate(Study(study.name, study.source, cells), where)


# ---- the table ----------------------------------------------------------------------------------

def _stat(name: str):
    from tradeoff.evaluate.metrics import STATISTICS

    return STATISTICS[name]


def _paper_units(name: str, m: Metric) -> Metric:
    """Percent for every metric, correlations x 100, as the paper prints them."""
    if _stat(name).unit == "%":
        return m
    return Metric(value=m.value * 100, unit="", low=None if m.low is None else m.low * 100,
                  high=None if m.high is None else m.high * 100)


def _keys(regression: bool) -> tuple[str, str]:
    return ("target", "prediction") if regression else ("y_true", "y_pred")


@dataclass
class TaskResult:
    """One task of the table: the measured pair beside the paper's, all on `n_test` GLUE dev rows."""

    task: glue.GlueTask
    teacher: str
    n_test: int
    rows_sha256: str
    teacher_score: dict[str, Metric]  # paper metric -> score in paper units
    student_score: dict[str, Metric]
    retained: Metric  # student / teacher on task.metric, paired interval (metrics.retained)
    distill_gain: Metric | None  # distilled - hard labels, paired (the paper's metric; older records: accuracy/pearson)
    gain_metric: str
    arrays: dict  # truth, student and teacher predictions (for the macro and paired tests)
    decoders: list[dict] = field(default_factory=list)
    trivial: str | None = None  # why the teacher is no better than a trivial predictor here (then nothing is "retained")

    @property
    def learned(self) -> bool:
        return self.trivial is None


def trivial_teacher(task: glue.GlueTask, teacher: dict, seed: int = 0) -> str | None:
    """Why the fine-tuned teacher is no better, with confidence, than a trivial predictor on these rows (always
    the test rows' majority class, which is the hardest constant to beat; for a score, no correlation), or None.
    A student "keeping 100 %" of a teacher that only predicts the majority class is no evidence of anything."""
    from tradeoff.evaluate.metrics import compute, paired_difference

    truth, guess = _keys(task.regression)
    if task.regression:
        m = compute(task.metric, teacher, seed)
        return None if m.low is not None and m.low > 0 else f"teacher's {task.metric} {_paper_units(task.metric, m).fmt(3)} is not above 0"
    values, counts = np.unique(np.asarray(teacher[truth]), return_counts=True)
    majority = {truth: teacher[truth], guess: [values[counts.argmax()]] * len(teacher[truth])}
    d = _paper_units(task.metric, paired_difference(task.metric, teacher, majority, seed))
    if d.low is not None and d.low > 0:
        return None
    return f"teacher no better than always predicting the majority class ({task.metric} {d.fmt(3)} above it)"


def _latest(records: list[Record]) -> Record | None:
    ok = [r for r in records if r.status == "ok"]
    return max(ok, key=lambda r: r.created) if ok else None


def _task_result(task: glue.GlueTask, record: Record, seed: int = 0) -> TaskResult:
    from tradeoff.evaluate.metrics import compute, retained

    truth, guess = _keys(task.regression)
    s = record.details["scores"]
    student = {truth: s[truth], guess: s[guess]}
    teacher = {truth: s[truth], guess: s[f"teacher_{guess}"]}
    from tradeoff.evaluate.metrics import paired_difference

    trivial = trivial_teacher(task, teacher, seed)
    hard = s.get(f"hard_{guess}")  # the hard-label ablation's predictions: the gain in the paper's metric
    gain = (paired_difference(task.metric, student, {truth: s[truth], guess: hard}, seed) if hard is not None
            else record.metrics.get("distill_gain"))
    return TaskResult(
        task=task, teacher=record.model, n_test=len(s[truth]), rows_sha256=record.details["test_rows"]["rows_sha256"],
        teacher_score={m: _paper_units(m, compute(m, teacher, seed)) for m in task.metrics},
        student_score={m: _paper_units(m, compute(m, student, seed)) for m in task.metrics},
        retained=Metric(value=float("nan"), unit="%") if trivial else retained(task.metric, student, teacher, seed),
        distill_gain=gain,
        gain_metric=task.metric if hard is not None else "pearson" if task.regression else "accuracy",
        arrays={"truth": s[truth], "student": s[guess], "teacher": s[f"teacher_{guess}"]}, trivial=trivial)


def _decoder_row(result: TaskResult, record: Record, seed: int = 0) -> dict:
    """A decoder's score on the task's metric and its paired difference to the student, when on the same rows."""
    from tradeoff.evaluate.metrics import compute, paired_difference

    task = result.task
    scores = record.details["scores"]
    row = {"model": record.model, "mode": record.details.get("mode", record.cell.get("mode")),
           "score": _paper_units(task.metric, compute(task.metric, scores, seed)), "n_test": len(scores["y_true"]),
           "same_rows": record.details.get("test_rows", {}).get("rows_sha256") == result.rows_sha256, "vs_student": None}
    if row["same_rows"]:
        student = {"y_true": result.arrays["truth"], "y_pred": result.arrays["student"]}
        row["vs_student"] = _paper_units(task.metric, paired_difference(task.metric, scores, student, seed))
    return row


def macro(results: list[TaskResult], seed: int = 0, n_boot: int = 1000) -> dict[str, Metric]:
    """Macro teacher and student scores (paper units) over the tasks run, and the macro retained %, with a
    bootstrap that resamples each task's rows (paired within a task, tasks independent)."""
    def scores(idx):
        t, s = [], []
        for r, i in zip(results, idx):
            stat = _stat(r.task.metric)
            truth = np.asarray(r.arrays["truth"])[i]
            t.append(stat.fn(truth, np.asarray(r.arrays["teacher"])[i]) * 100)
            s.append(stat.fn(truth, np.asarray(r.arrays["student"])[i]) * 100)
        return float(np.mean(t)), float(np.mean(s))

    t0, s0 = scores([np.arange(r.n_test) for r in results])
    rng = np.random.default_rng(seed)
    boots = np.array([scores([rng.integers(0, r.n_test, r.n_test) for r in results]) for _ in range(n_boot)])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = 100 * boots[:, 1] / boots[:, 0]

    def metric(value, samples, unit=""):
        low, high = np.percentile(samples[np.isfinite(samples)], [2.5, 97.5])
        return Metric(value=value, unit=unit, low=float(low), high=float(high))

    return {"teacher": metric(t0, boots[:, 0]), "student": metric(s0, boots[:, 1]),
            "retained": metric(100 * s0 / t0 if t0 else float("nan"), ratios, "%")}


@dataclass
class PaperTable:
    plan: str
    results: list[TaskResult]
    macro: dict[str, Metric] | None
    claims: list[dict]
    missing: list[str]  # tasks of the plan with no result in the store (yet)
    notes: list[str]

    def rows(self) -> list[dict]:
        out = []
        for r in self.results:
            t = r.task
            for i, m in enumerate(t.metrics):
                out.append({"task": t.name + ("" if i == 0 else f" ({m})"), "metric": m, "n test": r.n_test,
                            "teacher": r.teacher_score[m].fmt(3), "student (6 layers)": r.student_score[m].fmt(3),
                            "retained": ("not meaningful: " + r.trivial if r.trivial else r.retained.fmt(3)) if i == 0 else "-",
                            "paper BERT-base": f"{t.paper_teacher:g}" if i == 0 else "-",
                            "paper DistilBERT": f"{t.paper_student:g}" if i == 0 else "-",
                            "paper retained": f"{t.paper_retained:.1f} %" if i == 0 else "-"})
            for d in r.decoders:
                out.append({"task": f"{t.name}: {d['model']} {d['mode']}", "metric": t.metric, "n test": d["n_test"],
                            "teacher": "-", "student (6 layers)": "-", "retained": "-", "paper BERT-base": "-",
                            "paper DistilBERT": "-", "paper retained": "-", "decoder": d["score"].fmt(3),
                            "vs student": d["vs_student"].fmt(3) if d["vs_student"] else "not on the same rows"})
        if self.macro:
            learned = [r for r in self.results if r.learned]
            out.append({"task": f"macro ({len(learned)} tasks: {', '.join(r.task.name for r in learned)})", "metric": "mean",
                        "n test": sum(r.n_test for r in learned),
                        "teacher": self.macro["teacher"].fmt(3), "student (6 layers)": self.macro["student"].fmt(3),
                        "retained": self.macro["retained"].fmt(3), "paper BERT-base": f"{glue.PAPER_MACRO['teacher']:g} (9 tasks)",
                        "paper DistilBERT": f"{glue.PAPER_MACRO['student']:g} (9 tasks)",
                        "paper retained": f"{100 * glue.PAPER_MACRO['student'] / glue.PAPER_MACRO['teacher']:.1f} %"})
        return out

    def as_json(self) -> dict:
        return {"plan": self.plan, "paper": glue.PAPER, "rows": self.rows(), "claims": self.claims,
                "macro": {k: v.model_dump() for k, v in (self.macro or {}).items()}, "missing": self.missing,
                "notes": self.notes}


def _records_by_task(records: list[Record]) -> tuple[dict, dict]:
    """The latest distilled-student record with the paper's layer map, and the decoder evals, per GLUE task."""
    paths = {}
    for t in glue.TASKS.values():
        try:
            paths[str(Path(t.path()).resolve())] = t
        except BadInput:
            continue

    def task_of(source) -> glue.GlueTask | None:
        if not source:
            return None
        p = Path(str(source)).resolve()
        return paths.get(str(p)) or paths.get(str(p.parent))

    distilled: dict[str, list[Record]] = {}
    decoders: dict[str, list[Record]] = {}
    for r in records:
        if r.status != "ok":
            continue
        if r.kind == "distill" and r.cell.get("mode") == "task" and r.cell.get("method", "distilled") == "distilled" \
                and r.cell.get("layer_map") == LAYER_MAP and "scores" in r.details:
            t = task_of(r.cell.get("data"))
            if t:
                distilled.setdefault(t.name, []).append(r)
        elif r.kind == "eval" and r.details.get("mode") in ("zero-shot", "k-shot"):
            t = task_of(r.cell.get("data"))
            if t:
                decoders.setdefault(t.name, []).append(r)
    return {k: _latest(v) for k, v in distilled.items()}, decoders


def results_from(records: list[Record], tasks: list[glue.GlueTask], seed: int = 0) -> list[TaskResult]:
    distilled, decoders = _records_by_task(records)
    out = []
    for t in tasks:
        record = distilled.get(t.name)
        if record is None:
            continue
        result = _task_result(t, record, seed)
        latest = {}
        for d in sorted(decoders.get(t.name, []), key=lambda r: r.created):
            latest[(d.model, d.details.get("mode"))] = d
        result.decoders = [_decoder_row(result, d, seed) for d in latest.values()]
        out.append(result)
    return out


def _verdict(low: float, high: float, target: float) -> str:
    from tradeoff.claims import HELD, INCONCLUSIVE, NOT_HELD

    return HELD if low >= target else NOT_HELD if high < target else INCONCLUSIVE


def claim_verdicts(results: list[TaskResult], macro_: dict[str, Metric] | None) -> dict[str, dict]:
    """C7 (proxy), C8, C13 and C14 decided from the table's numbers, keyed by claim id."""
    from tradeoff.claims import HELD, INCONCLUSIVE, NOT_HELD

    from tradeoff.claims import NOT_MEASURABLE

    if not results:
        return {}
    teacher = results[0].teacher
    skipped = [x for x in results if not x.learned]
    left_out = ("; left out, the teacher learned nothing there: " + ", ".join(f"{x.task.name} ({x.trivial})" for x in skipped)
                if skipped else "")
    decoder_pairs = results  # decoders are judged against the student whatever its teacher learned
    results = [x for x in results if x.learned]
    if macro_ is None or not results:
        out = {cid: {"measured": "no task where the teacher beat a trivial predictor", "verdict": NOT_MEASURABLE,
                     "context": "the plan's training budget left every teacher at chance" + left_out} for cid in ("C7", "C8", "C14")}
    else:
        names = ", ".join(r.task.name for r in results)
        r = macro_["retained"]
        out = {"C7": {"measured": f"{r.value:.1f} % [{r.low:.1f}, {r.high:.1f}] (proxy)",
                      "verdict": _verdict(r.low, r.high, C7_CLAIM),
                      "context": f"proxy: the DistilBERT recipe on a BERT-base-shaped teacher ({teacher} -> 6 layers {LAYER_MAP}, "
                                 f"task-distilled) keeps {r.value:.1f} % [{r.low:.1f}, {r.high:.1f}] on {names} "
                                 f"(macro of the paper's metrics, GLUE dev); not BERT and DistilBERT's own weights" + left_out}}
    gains = [(x.task.name, x.distill_gain, x.gain_metric) for x in results if x.distill_gain is not None]
    if gains:
        better = [n for n, g, _ in gains if g.low is not None and g.low > 0]
        worse = [n for n, g, _ in gains if g.high is not None and g.high < 0]
        verdict = HELD if better and not worse else NOT_HELD if worse and not better else INCONCLUSIVE
        out["C8"] = {"measured": "; ".join(f"{n} {g.fmt(3)} ({m})" for n, g, m in gains),
                     "verdict": verdict,
                     "context": "distilled student minus the same student trained on hard labels only (same data, schedule "
                                f"and seed), paired on the same rows; better on {', '.join(better) or 'no task'}, "
                                f"worse on {', '.join(worse) or 'no task'}"}
    pairs = []
    for x in decoder_pairs:
        rows = [d for d in x.decoders if d["vs_student"] is not None]
        if rows:
            best = max(rows, key=lambda d: d["vs_student"].value)
            pairs.append((x.task.name, best))
    if pairs:
        wins = [n for n, d in pairs if d["vs_student"].low > 0]
        losses = [n for n, d in pairs if d["vs_student"].high < 0]
        verdict = HELD if len(wins) == len(pairs) else NOT_HELD if len(losses) == len(pairs) else INCONCLUSIVE
        out["C13"] = {"measured": "; ".join(f"{n}: {d['model']} {d['mode']} {d['vs_student'].fmt(3)} vs the student"
                                            for n, d in pairs),
                      "verdict": verdict,
                      "context": "proxy: the best zero/few-shot decoder row per task against the 6-layer distilled encoder, "
                                 "paired on the same GLUE dev rows (a small decoder standing in for Llama 2)"}
    if not results:
        return out
    weakest = min(results, key=lambda x: x.retained.value)
    lost = [x.task.name for x in results if x.retained.high is not None and x.retained.high < C14_FLOOR]
    kept = all(x.retained.low is not None and x.retained.low >= C14_FLOOR for x in results)
    out["C14"] = {"measured": f"weakest: {weakest.task.name} {weakest.retained.fmt(3)} retained",
                  "verdict": NOT_HELD if lost else HELD if kept else INCONCLUSIVE,
                  "context": f"general-domain GLUE tasks where the student keeps under {C14_FLOOR:g} % of the BERT-base-shaped "
                             f"teacher with confidence: {', '.join(lost) or 'none'} (a loss there means the big model is "
                             "needed beyond specialised tasks)" + left_out}
    return out


def table_from(records: list[Record], tasks: list[glue.GlueTask], plan: str = "", seed: int = 0) -> PaperTable:
    results = results_from(records, tasks, seed)
    learned = [r for r in results if r.learned]
    m = macro(learned, seed) if learned else None  # retained % means nothing where the teacher learned nothing
    verdicts = claim_verdicts(results, m)
    claims = [{"claim": cid, "measured here": v["measured"], "verdict": v["verdict"], "why / where": v["context"]}
              for cid, v in verdicts.items()]
    notes = [n for n in (t.decoder_note() for t in tasks) if n]
    if results:
        notes.append("scores in the paper's units (percent; MCC and correlations x 100); paper figures: " + glue.PAPER +
                     f"; its macro is over nine tasks, ours over the {len(learned)} of {len(results)} run here whose teacher "
                     "beat a trivial predictor (the majority class; for STS-B, no correlation) with confidence")
    missing = [t.name for t in tasks if t.name not in {r.task.name for r in results}]
    return PaperTable(plan, results, m, claims, missing, notes)


def store_verdicts(store_path: str | Path | None) -> dict[str, dict]:
    """The claim verdicts a store's paper results support (empty when it has none), for `compare`."""
    from tradeoff.store import Store

    if not store_path or not Path(store_path).is_file():
        return {}
    with Store.open(store_path) as s:
        records = s.query(kind="distill") + s.query(kind="eval")
    results = results_from(records, list(glue.TASKS.values()))
    learned = [r for r in results if r.learned]
    return claim_verdicts(results, macro(learned) if learned else None)


def run(paper: str = "distilbert", plan: str | Path = "cpu", tasks: str | list[str] | None = None,
        store: str | Path | None = None, executor: str = DEFAULT_EXECUTOR, progress=None):
    """Run the plan's cells the store lacks (resumable), then build the table from the store.

    Returns (the study summary, the PaperTable)."""
    from tradeoff.store import Store
    from tradeoff.study import run_study

    if paper not in PAPERS:
        raise BadInput(f"unknown paper {paper!r}", f"use one of {', '.join(PAPERS)}")
    study = load_plan(plan, tasks)
    chosen = glue.tasks(tasks)
    with Store.open(store) as s:
        summary = run_study(study, s, executor=executor, progress=progress)
        records = [r for c in study.cells if (r := s.get(c.key)) is not None]
    return summary, table_from(records, chosen, plan=str(plan))
