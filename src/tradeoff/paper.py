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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tradeoff import executors
from tradeoff.errors import BadInput
from tradeoff.evaluate import glue
from tradeoff.options import setting
from tradeoff.paths import usable_path
from tradeoff.record import Metric, Record

PAPERS = ("distilbert",)
PLANS = ("cpu", "gpu")
STUDIES = Path(__file__).resolve().parents[2] / "studies"
LAYER_MAP = "0,2,4,7,9,11"  # the released DistilBERT extraction's teacher layers
C7_CLAIM, C14_FLOOR = 97.0, 95.0  # % retained claimed by the paper; "a large loss" for C14
ALPHA, N_BOOT = 0.05, 2000
# The training recipe a plan gives every task (its limits on test rows and max length may differ per task).
RECIPE = ("layer_map", "epochs", "max_steps", "lr", "batch_size", "train_limit", "seed", "loss", "temperature",
          "mixed_precision", "grad_accum")
# C13's decoder row, fixed before any score is seen: few-shot (how Llama 2 is evaluated), else zero-shot.
DECODER_MODES = ("k-shot", "zero-shot")


@dataclass(frozen=True)
class PaperSettings:
    """How `tradeoff paper` runs a reproduction: each field is an option of the command and a keyword of
    `api.paper`, declared here once."""

    plan: str = setting("cpu", "cpu (400 training rows per task, one epoch: studies/distilbert-cpu.toml) | gpu (full "
                               "training sets) | a study file.")
    tasks: list[str] | None = setting(None, f"Comma list of GLUE tasks: {','.join(glue.TASKS)} (default: all).",
                                      parse="csv")
    executor: str = setting(executors.DEFAULT, executors.HELP)


def plan_path(plan: str | Path) -> Path:
    """`cpu` / `gpu` (the shipped studies) or a study file of the same shape (tests use tiny models)."""
    text = str(plan)
    if text in PLANS:
        path = STUDIES / f"distilbert-{text}.toml"
        if not path.is_file():
            raise BadInput(f"the {text} plan's study file is missing ({path})", "run from a tradeoff checkout")
        return path
    path = usable_path(text, "--plan", f"use {' or '.join(PLANS)}, or a study file with a shorter path")
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
    gain_p: float | None = None  # the distill gain's two-sided p (McNemar for accuracy, else paired bootstrap)
    key: str = ""  # the distill record's key
    plan: str = ""  # the teacher and recipe of the plan the record belongs to

    @property
    def learned(self) -> bool:
        return self.trivial is None

    def unstable(self) -> str | None:
        """Why a ratio to this teacher's score means little, or None: its interval spans more than a factor of 2
        (low end under half the high end), so the ratio's interval is set by where in it the teacher falls."""
        t = self.teacher_score[self.task.metric]
        if t.low is not None and t.low >= t.high / 2:
            return None
        return f"teacher's {self.task.metric} {t.fmt(3)} is too near 0 for a ratio"


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


def _resampled(metric: str, a: dict, b: dict, combine, seed: int = 0) -> np.ndarray:
    """combine(metric of a, metric of b) on each bootstrap resample of the rows both were scored on."""
    from tradeoff.stats import resamples

    stat = _stat(metric)
    k = len(stat.keys)
    arrays = [np.asarray(a[key]) for key in stat.keys] + [np.asarray(b[key]) for key in stat.keys]
    samples = resamples(lambda *x: combine(stat.fn(*x[:k]), stat.fn(*x[k:])), *arrays, seed=seed, n_boot=N_BOOT)[1]
    return samples[np.isfinite(samples)]


def _share(samples: np.ndarray, side) -> float:
    """The bootstrap p of one side: the share of resamples on it, counting the observed one."""
    return float((1 + np.sum(side(samples))) / (1 + len(samples)))


def _gain(metric: str, student: dict, hard: dict, seed: int = 0) -> tuple[Metric, float]:
    """Distilled minus hard-label student on the same rows, and its two-sided p: McNemar's exact test for accuracy
    (it agrees with the exact interval), else the paired bootstrap's (twice the share of resamples past 0)."""
    from tradeoff.evaluate.metrics import mcnemar, paired_difference

    gain = paired_difference(metric, student, hard, seed)
    if metric == "accuracy":
        return gain, mcnemar(student, hard)["p_value"]
    d = _resampled(metric, student, hard, lambda x, y: x - y, seed)
    return gain, min(1.0, 2 * min(_share(d, lambda v: v <= 0), _share(d, lambda v: v >= 0)))


def _task_result(task: glue.GlueTask, record: Record, seed: int = 0, plan: str = "") -> TaskResult:
    from tradeoff.evaluate.metrics import compute, retained

    truth, guess = _keys(task.regression)
    s = record.details["scores"]
    student = {truth: s[truth], guess: s[guess]}
    teacher = {truth: s[truth], guess: s[f"teacher_{guess}"]}
    trivial = trivial_teacher(task, teacher, seed)
    hard = s.get(f"hard_{guess}")  # the hard-label ablation's predictions: the gain in the paper's metric
    gain, p = (_gain(task.metric, student, {truth: s[truth], guess: hard}, seed) if hard is not None
               else (record.metrics.get("distill_gain"), None))
    return TaskResult(
        task=task, teacher=record.model, n_test=len(s[truth]), rows_sha256=record.details["test_rows"]["rows_sha256"],
        teacher_score={m: _paper_units(m, compute(m, teacher, seed)) for m in task.metrics},
        student_score={m: _paper_units(m, compute(m, student, seed)) for m in task.metrics},
        retained=Metric(value=float("nan"), unit="%") if trivial else retained(task.metric, student, teacher, seed),
        distill_gain=gain,
        gain_metric=task.metric if hard is not None else "pearson" if task.regression else "accuracy",
        arrays={"truth": s[truth], "student": s[guess], "teacher": s[f"teacher_{guess}"]}, trivial=trivial,
        gain_p=p, key=record.key, plan=plan)


@dataclass(frozen=True)
class Ablation:
    """One distilled student against the same student trained on hard labels only, paired on the same rows."""

    label: str
    gain: Metric
    metric: str
    p_value: float | None  # None: the record kept no predictions to test on
    key: str

    def text(self) -> str:
        return f"{self.label} {self.gain.fmt(3)} ({self.metric}" + (f", p = {self.p_value:.2g})" if self.p_value is not None
                                                                   else ", untested: no predictions kept)")


def ablation_of(record: Record, seed: int = 0) -> Ablation | None:
    """A task-distill record's hard-label ablation, any teacher and data (the demo's too), or None without one."""
    scores = record.details.get("scores") or {}
    truth, guess = _keys("target" in scores)
    metric = "pearson" if truth == "target" else "accuracy"
    layers = record.cell.get("layers") or (record.details.get("settings") or {}).get("layers") or []
    label = f"{Path(str(record.cell.get('data', '?'))).name} ({record.model} -> {len(layers) or '?'} layers)"
    if scores.get(f"hard_{guess}") is not None:
        gain, p = _gain(metric, {truth: scores[truth], guess: scores[guess]},
                        {truth: scores[truth], guess: scores[f"hard_{guess}"]}, seed)
        return Ablation(label, gain, metric, p, record.key)
    if "distill_gain" in record.metrics:
        return Ablation(label, record.metrics["distill_gain"], metric, None, record.key)
    return None


def _decoder_row(result: TaskResult, record: Record, seed: int = 0) -> dict:
    """A decoder's score on the task's metric and its paired difference to the student, when on the same rows."""
    from tradeoff.evaluate.metrics import compute, paired_difference

    task = result.task
    scores = record.details["scores"]
    row = {"model": record.model, "mode": record.details.get("mode", record.cell.get("mode")), "key": record.key,
           "score": _paper_units(task.metric, compute(task.metric, scores, seed)), "n_test": len(scores["y_true"]),
           "same_rows": record.details.get("test_rows", {}).get("rows_sha256") == result.rows_sha256, "vs_student": None}
    if row["same_rows"]:
        student = {"y_true": result.arrays["truth"], "y_pred": result.arrays["student"]}
        row["vs_student"] = _paper_units(task.metric, paired_difference(task.metric, scores, student, seed))
    return row


def macro(results: list[TaskResult], seed: int = 0, n_boot: int = 1000) -> dict[str, Metric]:
    """Macro teacher and student scores (paper units) over the tasks run, and the macro retained %."""
    def sides(r: TaskResult) -> tuple:
        keys = _stat(r.task.metric).keys
        return tuple([dict(zip(keys, (r.arrays["truth"], r.arrays[side])))] for side in ("teacher", "student"))

    return macro_of([(r.task.metric, *sides(r)) for r in results], seed, n_boot)


def macro_of(parts: list[tuple[str, list[dict], list[dict]]], seed: int = 0, n_boot: int = 1000) -> dict[str, Metric]:
    """The paper's macro over tasks: the teacher's (or any baseline's) and the student's mean score in points (every
    metric x 100) and the retained % of the two means, with a bootstrap that resamples each task's rows (paired within
    a task, tasks independent). `parts`: per task (metric, the teacher's scores, the student's), one dict per seed."""
    def score(metric: str, seeds: list[dict], rows) -> float:
        stat = _stat(metric)
        return 100 * float(np.mean([stat.fn(*[np.asarray(s[k])[rows] for k in stat.keys]) for s in seeds]))

    def scores(idx):
        return (float(np.mean([score(m, t, i) for (m, t, _), i in zip(parts, idx)])),
                float(np.mean([score(m, s, i) for (m, _, s), i in zip(parts, idx)])))

    sizes = [len(t[0][_stat(m).keys[0]]) for m, t, _ in parts]
    t0, s0 = scores([np.arange(n) for n in sizes])
    rng = np.random.default_rng(seed)
    boots = np.array([scores([rng.integers(0, n, n) for n in sizes]) for _ in range(n_boot)])
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


def _newest(records: list[Record]) -> Record:
    return max(records, key=lambda r: (r.created, r.key))


def _records_by_task(records: list[Record]) -> tuple[dict, dict, str]:
    """Per GLUE task the distilled-student record with the paper's layer map, all of one plan and one teacher (the
    one covering most tasks, then the most recently run, then by its settings: never the store's order), and the
    decoder evals; with a line naming that plan and how many records of others were left out."""
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

    plans: dict[tuple, dict[str, list[Record]]] = {}  # (teacher, recipe) -> task -> records
    decoders: dict[str, list[Record]] = {}
    for r in records:
        if r.status != "ok":
            continue
        if r.kind == "distill" and r.cell.get("mode") == "task" and r.cell.get("method", "distilled") == "distilled" \
                and r.cell.get("layer_map") == LAYER_MAP and "scores" in r.details:
            t = task_of(r.cell.get("data"))
            if t:
                plan = (r.model, *(str(r.cell.get(k)) for k in RECIPE))
                plans.setdefault(plan, {}).setdefault(t.name, []).append(r)
        elif r.kind == "eval" and r.details.get("mode") in DECODER_MODES:
            t = task_of(r.cell.get("data"))
            if t:
                decoders.setdefault(t.name, []).append(r)
    if not plans:
        return {}, decoders, ""
    chosen = max(plans, key=lambda p: (len(plans[p]), max(_newest(v).created for v in plans[p].values()), p))
    left_out = sum(len(v) for p in plans for v in plans[p].values()) - len(plans[chosen])
    label = f"teacher {chosen[0]}, " + ", ".join(f"{k} {v}" for k, v in zip(RECIPE, chosen[1:]) if v != "None")
    if left_out:
        label += f"; {left_out} distill record(s) of other plans, teachers or reruns left out"
    return {t: _newest(v) for t, v in plans[chosen].items()}, decoders, label


def results_from(records: list[Record], tasks: list[glue.GlueTask], seed: int = 0) -> list[TaskResult]:
    """The table's tasks, from one plan's records (`_records_by_task`); per decoder and mode its newest eval."""
    distilled, decoders, plan = _records_by_task(records)
    out = []
    for t in tasks:
        record = distilled.get(t.name)
        if record is None:
            continue
        result = _task_result(t, record, seed, plan)
        latest = {}
        for d in sorted(decoders.get(t.name, []), key=lambda r: (r.created, r.key)):
            latest[(d.model, d.details.get("mode"))] = d
        ordered = sorted(latest.values(), key=lambda r: (r.model, str(r.details.get("mode"))))
        result.decoders = [_decoder_row(result, d, seed) for d in ordered]
        out.append(result)
    return out


def _verdict(low: float, high: float, target: float) -> str:
    from tradeoff.claims import HELD, INCONCLUSIVE, NOT_HELD

    return HELD if low >= target else NOT_HELD if high < target else INCONCLUSIVE


def _named(results: list[TaskResult]) -> str:
    """The records a verdict rests on, and the plan they share."""
    text = "records " + ", ".join(f"{x.task.name} {x.key[:8]}" for x in results)
    return text + (f" (one plan: {results[0].plan})" if results and results[0].plan else "")


def c8_verdict(ablations: list[Ablation]) -> dict | None:
    """Held when, after Holm's correction over every tested ablation, at least one is significantly better and none
    significantly worse; not held when one is worse and none better; else inconclusive."""
    from tradeoff.claims import HELD, INCONCLUSIVE, NOT_HELD
    from tradeoff.stats import holm

    if not ablations:
        return None
    ablations = sorted(ablations, key=lambda a: (a.label, a.key))
    tested = [a for a in ablations if a.p_value is not None]
    significant = [a for a, p in zip(tested, holm([a.p_value for a in tested])) if p < ALPHA]
    better = [a.label for a in significant if a.gain.value > 0]
    worse = [a.label for a in significant if a.gain.value < 0]
    return {"measured": "; ".join(a.text() for a in ablations),
            "verdict": HELD if better and not worse else NOT_HELD if worse and not better else INCONCLUSIVE,
            "context": "distilled student minus the same student trained on hard labels only (same data, schedule and "
                       f"seed), paired on the same rows, Holm-corrected over the {len(tested)} tested: better on "
                       f"{', '.join(better) or 'none'}, worse on {', '.join(worse) or 'none'}; records "
                       + ", ".join(a.key[:8] for a in ablations)}


def _decoder_rows(results: list[TaskResult]) -> list[tuple[TaskResult, dict]]:
    """Per task the decoder row C13 tests, chosen without its score: the decoder on the rows of most tasks (ties: by
    name), in DECODER_MODES' order. Taking the best-scoring row of several would favour the decoder (winner's curse)."""
    rows = {x.task.name: [d for d in x.decoders if d["vs_student"] is not None] for x in results}
    coverage = Counter(m for task_rows in rows.values() for m in {d["model"] for d in task_rows})

    def rank(d: dict) -> tuple:
        return -coverage[d["model"]], d["model"], DECODER_MODES.index(d["mode"])

    return [(x, min(rows[x.task.name], key=rank)) for x in results if rows[x.task.name]]


def _p_lost(x: TaskResult, seed: int = 0) -> float:
    """One-sided bootstrap p that the student keeps under C14_FLOOR % of the teacher: the share of row resamples
    where it keeps at least that."""
    keys = _stat(x.task.metric).keys
    student, teacher = (dict(zip(keys, (x.arrays["truth"], x.arrays[side]))) for side in ("student", "teacher"))
    ratios = _resampled(x.task.metric, student, teacher, lambda s, t: s / t if t else np.nan, seed)
    return _share(ratios, lambda v: 100 * v >= C14_FLOOR)


def claim_verdicts(results: list[TaskResult], macro_: dict[str, Metric] | None,
                   other_ablations: list[Ablation] = ()) -> dict[str, dict]:
    """C7 (proxy), C8, C13 and C14 decided from the table's numbers (all from one plan and one teacher, named in each
    context), keyed by claim id; C8 also from `other_ablations` (hard-label ablations outside the table)."""
    from tradeoff.claims import HELD, INCONCLUSIVE, NOT_HELD, NOT_MEASURABLE
    from tradeoff.stats import holm

    learned = [x for x in results if x.learned]
    c8 = c8_verdict([Ablation(x.task.name, x.distill_gain, x.gain_metric, x.gain_p, x.key)
                     for x in learned if x.distill_gain is not None] + list(other_ablations))
    if not results:
        return {"C8": c8} if c8 else {}
    teacher = results[0].teacher
    skipped = [x for x in results if not x.learned]
    left_out = ("; left out, the teacher learned nothing there: " + ", ".join(f"{x.task.name} ({x.trivial})" for x in skipped)
                if skipped else "")
    if macro_ is None or not learned:
        out = {cid: {"measured": "no task where the teacher beat a trivial predictor", "verdict": NOT_MEASURABLE,
                     "context": "the plan's training budget left every teacher at chance" + left_out} for cid in ("C7", "C8", "C14")}
    else:
        names = ", ".join(r.task.name for r in learned)
        r = macro_["retained"]
        out = {"C7": {"measured": f"{r.value:.1f} % [{r.low:.1f}, {r.high:.1f}] (proxy)",
                      "verdict": _verdict(r.low, r.high, C7_CLAIM),
                      "context": f"proxy: the DistilBERT recipe on a BERT-base-shaped teacher ({teacher} -> 6 layers {LAYER_MAP}, "
                                 f"task-distilled) keeps {r.value:.1f} % [{r.low:.1f}, {r.high:.1f}] on {names} "
                                 f"(macro of the paper's metrics, GLUE dev); not BERT and DistilBERT's own weights; "
                                 + _named(learned) + left_out}}
    if c8:
        out["C8"] = c8
    pairs = _decoder_rows(results)  # decoders are judged against the student whatever its teacher learned
    if pairs:
        wins = [x.task.name for x, d in pairs if d["vs_student"].low > 0]
        losses = [x.task.name for x, d in pairs if d["vs_student"].high < 0]
        verdict = HELD if len(wins) == len(pairs) else NOT_HELD if len(losses) == len(pairs) else INCONCLUSIVE
        out["C13"] = {"measured": "; ".join(f"{x.task.name}: {d['model']} {d['mode']} {d['vs_student'].fmt(3)} vs the student"
                                            for x, d in pairs),
                      "verdict": verdict,
                      "context": "proxy: per task one decoder row fixed before any score is seen (the decoder run on most "
                                 f"tasks, {' before '.join(DECODER_MODES)}) against the 6-layer distilled encoder, paired on "
                                 "the same GLUE dev rows (a small decoder standing in for Llama 2); held or not held only "
                                 "when every task agrees; decoder records "
                                 + ", ".join(f"{x.task.name} {d['key'][:8]}" for x, d in pairs)
                                 + "; student " + _named([x for x, _ in pairs])}
    if not learned:
        return out
    unstable = [x for x in learned if x.unstable()]
    usable = [x for x in learned if not x.unstable()]
    left_out += "".join(f"; left out, {x.task.name}: {x.unstable()}" for x in unstable)
    if not usable:
        out["C14"] = {"measured": "no task whose teacher's score allows a ratio", "verdict": NOT_MEASURABLE,
                      "context": left_out.lstrip("; ")}
        return out
    weakest = min(usable, key=lambda x: x.retained.value)
    lost = [x.task.name for x, p in zip(usable, holm([_p_lost(x) for x in usable])) if p < ALPHA]
    kept = all(x.retained.low is not None and x.retained.low >= C14_FLOOR for x in usable)
    out["C14"] = {"measured": f"weakest: {weakest.task.name} {weakest.retained.fmt(3)} retained",
                  "verdict": NOT_HELD if lost else HELD if kept else INCONCLUSIVE,
                  "context": f"general-domain GLUE tasks where the student keeps under {C14_FLOOR:g} % of the BERT-base-shaped "
                             f"teacher (one-sided bootstrap tests, Holm-corrected over {len(usable)} tasks): "
                             f"{', '.join(lost) or 'none'} (a loss there means the big model is needed beyond specialised "
                             "tasks); held only if every task keeps at least that with confidence; "
                             + _named(usable) + left_out}
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


def store_verdicts(store) -> dict[str, dict]:
    """The claim verdicts an open store's paper results support (empty when it has none), for `compare`; C8 from
    every hard-label ablation in it (the paper plan's and any other distillation's, the demo's included)."""
    records = store.query(kind="distill") + store.query(kind="eval")
    results = results_from(records, list(glue.TASKS.values()))
    learned = [r for r in results if r.learned]
    used = {x.key for x in results}
    others = [a for r in records if r.kind == "distill" and r.status == "ok" and r.key not in used
              and r.cell.get("mode") == "task" and r.cell.get("method", "distilled") == "distilled"
              and (a := ablation_of(r)) is not None]
    return claim_verdicts(results, macro(learned) if learned else None, others)


def run(paper: str = "distilbert", settings: PaperSettings | None = None, *, store: str | Path | None = None,
        progress=None, **options):
    """Run the plan's cells the store lacks (resumable), then build the table from the store. `options` are
    PaperSettings fields by name, over `settings`.

    Returns (the study summary, the PaperTable)."""
    from tradeoff.options import check_names
    from tradeoff.store import Store
    from tradeoff.study import run_study

    check_names(PaperSettings, options, "paper setting")
    settings = dataclasses.replace(settings or PaperSettings(), **{k: v for k, v in options.items() if v is not None})
    if paper not in PAPERS:
        raise BadInput(f"unknown paper {paper!r}", f"use one of {', '.join(PAPERS)}")
    study = load_plan(settings.plan, settings.tasks)
    chosen = glue.tasks(settings.tasks)
    with Store.open(store) as s:
        summary = run_study(study, s, executor=settings.executor, progress=progress)
        records = [r for c in study.cells if (r := s.get(c.key)) is not None]
    return summary, table_from(records, chosen, plan=str(settings.plan))
