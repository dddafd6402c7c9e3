"""The comparison as data: models side by side on anatomy, speed, memory and quality, the published claims
checked, and a recommendation, every figure backed by a stored record.

`comparison_from` builds a Comparison from records, a `Lineup` (what the caller found about each model on disk:
its name, exact anatomy, teacher and whether real weights are here) and the claim verdicts already computed from
the store; it opens no store and reads no file, so a stored comparison builds the same on any machine.
`tradeoff.compare_plan` measures what the store lacks and gathers the lineup; `tradeoff.report.table` renders.

Like for like: quality records are grouped by how they were scored (task, exact test rows, mode,
backend, every other setting); each group is its own table row, its seeds are averaged, never maxed, and retained %
is only ever against a baseline scored the same way on the same rows (a distilled student's baseline
is its teacher). Speed and memory come per backend and shape, and a decision is made at one shape.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from tradeoff import claims as claims_mod
from tradeoff.anatomy import Anatomy
from tradeoff.bench.spec import DEFAULT_SHAPE, SCENARIOS, parse_shape
from tradeoff.coverage import NOT_MEANINGFUL
from tradeoff.decide import Candidate, DecisionSettings, Judgement, Recommendation, recommend
from tradeoff.errors import BadInput
from tradeoff.record import Metric, Record

EAGER = "eager"


# -- quality: scored the same way, or not compared ------------------------------------------------

def data_name(r: Record) -> str:
    """The scored data's file or set name, as labels show it."""
    data = str(r.cell.get("data") or r.details.get("data", "?"))
    return data.rstrip("/").rsplit("/", 1)[-1] or data


def n_rows(r: Record):
    """How many test rows a record scored ("?" when it does not say)."""
    return (r.details.get("test_rows") or {}).get("n", r.details.get("n", "?"))


@dataclass(eq=False)
class Scored:
    """One model's quality scored one way (task, exact rows, mode, backend, every other setting): one record per seed."""

    model: str
    task: str
    metric: str
    rows: tuple
    mode: str
    backend: str
    records: list[Record]
    settings: tuple = ()  # (name, JSON value) of every setting but the seed, see _settings
    distinct: str = ""  # the settings it differs in from this model's other groups scored the same way ("epochs 1")
    value: Metric | None = None  # one seed: the record's metric; several: their mean, interval over rows and seeds
    retained: Metric | None = None  # as a fraction of `retained_vs`'s score on the same rows
    retained_vs: str | None = None  # the baseline's model name; None for the baseline itself
    vs_teacher: bool = False
    retained_p: float | None = None
    _pairs: dict = field(default_factory=dict, repr=False)  # id(other) -> (other, paired difference)

    def against(self) -> str | None:
        return None if self.retained_vs is None else self.retained_vs + (" (its teacher)" if self.vs_teacher else "")

    @property
    def scope(self) -> tuple:
        return (self.task, self.metric, self.rows)

    @property
    def group(self) -> tuple:
        return (*self.scope, self.mode, self.backend, self.settings)

    @property
    def scores(self) -> list[dict]:
        return [r.details["scores"] for r in self.records]

    @property
    def higher_is_better(self) -> bool:
        from tradeoff.evaluate.metrics import STATISTICS

        return STATISTICS[self.metric].higher_is_better

    @property
    def variant(self) -> str:
        return self.mode + (f", {self.distinct}" if self.distinct else "")

    def prompt_note(self, timed: Record | None) -> str | None:
        """Said where its latency was timed on fewer tokens than its prompts hold (k-shot demonstrations, a template)."""
        lengths = [r.details["prompt_tokens"] for r in self.records if r.details.get("prompt_tokens")]
        seq = timed.cell.get("seq_len") if timed is not None else None
        if not lengths or not seq or int(np.median(lengths)) <= seq:
            return None
        return (f"latency timed at {seq} tokens, but its {self.mode} prompts hold {int(np.median(lengths)):,} (median): "
                "its time to first token is longer than shown")

    def agreement(self) -> float | None:
        values = [r.details["agreement_with_eager"] for r in self.records if r.details.get("agreement_with_eager") is not None]
        return float(np.mean(values)) if values else None


def _settings(r: Record) -> tuple:
    """Everything an eval cell asked for, defaults filled in, but the seed (what a mean is taken over) and what the
    group key holds resolved (task, mode, backend, metric): any other setting (training file, epochs, lr, k,
    template, calibration, max length...) may change the score, so it tells groups apart."""
    from tradeoff.evaluate.settings import DEFAULTS

    asked = {**DEFAULTS, **{k: v for k, v in r.cell.items() if v is not None}}
    return tuple(sorted((k, json.dumps(v, sort_keys=True, default=str)) for k, v in asked.items()
                        if k not in ("seed", "task", "mode", "backend", "metric")))


def scored_groups(records: list[Record]) -> list[Scored]:
    """Every (model, task, metric, rows, mode, backend, settings) with real-weight eval records: only seeds of one
    configuration are pooled, and a rerun of a seed replaces it. The metric is the one the run was judged on
    (`primary_metric`, e.g. MCC for CoLA), else the task's."""
    from tradeoff.evaluate.metrics import PRIMARY, STATISTICS
    from tradeoff.evaluate.suite import test_rows_id

    by_key: dict[tuple, dict] = {}
    for r in records:
        task = r.details.get("task")
        metric = r.details.get("primary_metric") or PRIMARY.get(task)
        if r.kind != "eval" or r.status != "ok" or r.weights != "pretrained" or metric not in r.metrics or metric not in STATISTICS:
            continue
        mode = str(r.details.get("mode", r.cell.get("mode", "?")))
        key = (r.model, task, metric, test_rows_id(r), mode, r.details.get("backend", EAGER), _settings(r))
        seeds = by_key.setdefault(key, {})
        seed = r.details.get("seed", r.cell.get("seed", 0))
        if seed not in seeds or (r.created, r.key) >= (seeds[seed].created, seeds[seed].key):  # same second: by key
            seeds[seed] = r
    out = []
    for (model, task, metric, rows, mode, backend, settings), seeds in by_key.items():
        s = Scored(model, task, metric, rows, mode, backend, [seeds[k] for k in sorted(seeds, key=str)], settings)
        s.value = s.records[0].metrics[s.metric] if len(s.records) == 1 else _seed_mean(s)
        out.append(s)
    for same in alike(out, lambda s: (s.model, s.scope, s.mode, s.backend)):
        for s, apart in zip(same, told_apart([s.settings for s in same])):
            s.distinct = apart
    return out


def _seed_bootstrap(metric: str, sides: list[list[dict]], combine, seed: int = 0, n_boot: int = 1000) -> tuple[float, float, float]:
    """combine(mean over seeds of the metric, for each side), with a 95% interval that holds both sources of error:
    the rows (a bootstrap resampling a row for every seed at once, since all were scored on the same rows) and the
    seeds (a delete-one jackknife over each side's seeds). Their variances add, and Student's t on Satterthwaite's
    degrees of freedom keeps two or three seeds' interval as wide as so few warrant."""
    from scipy.stats import t

    from tradeoff.evaluate.metrics import STATISTICS
    from tradeoff.stats import resamples

    stat = STATISTICS[metric]
    k = len(stat.keys)
    arrays = [np.column_stack([np.asarray(s[key]) for s in side]) for side in sides for key in stat.keys]

    def per_seed(arr) -> list[list[float]]:
        return [[stat.fn(*[c[:, j] for c in arr[i * k:(i + 1) * k]]) for j in range(len(side))] for i, side in enumerate(sides)]

    values = per_seed(arrays)
    means = [float(np.mean(v)) for v in values]
    point, boots = resamples(lambda *arr: combine(*map(np.mean, per_seed(arr))), *arrays, seed=seed, n_boot=n_boot)
    variances, dfs = [float(np.nanvar(boots, ddof=1))], [np.inf]
    for i, v in enumerate(values):
        if len(v) > 1:
            left_out = np.array([combine(*means[:i], np.mean(v[:j] + v[j + 1:]), *means[i + 1:]) for j in range(len(v))])
            variances.append((len(v) - 1) / len(v) * float(np.sum((left_out - left_out.mean()) ** 2)))
            dfs.append(len(v) - 1)
    total = sum(variances)
    df = total ** 2 / sum(var ** 2 / d for var, d in zip(variances, dfs)) if total > variances[0] else np.inf
    if min(dfs) < 2 and total > variances[0]:  # two seeds' spread is one degree of freedom: Satterthwaite's df
        df = 1  # soars whenever the two happen to nearly agree, and two-seed means covered 92%; one df keeps 95%
    half = float(t.ppf(0.975, df)) * np.sqrt(total)
    return point, point - half, point + half


def _scale(metric: str) -> float:
    from tradeoff.evaluate.metrics import STATISTICS

    return 100.0 if STATISTICS[metric].unit == "%" else 1.0


def _margin_unit(metric: str) -> str:
    """What a tie margin is counted in: percentage points for every metric in %, else the metric's own scale."""
    return "pp" if _scale(metric) == 100 else metric


def _seed_mean(s: Scored) -> Metric:
    """The seeds' mean, its interval over rows and seeds; without per-example scores, the mean alone."""
    scale, unit = _scale(s.metric), s.records[0].metrics[s.metric].unit
    try:
        point, low, high = _seed_bootstrap(s.metric, [s.scores], lambda m: m)
    except (KeyError, ValueError):
        return Metric(value=float(np.mean([r.metrics[s.metric].value for r in s.records])), unit=unit)
    return Metric(value=point * scale, unit=unit, low=low * scale, high=high * scale)


def paired_difference(a: Scored, b: Scored) -> tuple[Metric, float | None] | None:
    """a − b on the same rows (paired interval) and McNemar's p for single-seed accuracy, or None
    when the two cannot be paired (other rows, no per-example scores). Computed once per pair."""
    if a.scope != b.scope:
        return None
    if id(b) in a._pairs:
        return a._pairs[id(b)][1]
    if id(a) in b._pairs:  # the same resamples, negated
        flipped = b._pairs[id(a)][1]
        if flipped is None:
            return None
        d, p = flipped
        return Metric(value=-d.value, unit=d.unit, low=-d.high, high=-d.low), p
    a._pairs[id(b)] = (b, _paired_difference(a, b))
    return a._pairs[id(b)][1]


def _paired_difference(a: Scored, b: Scored) -> tuple[Metric, float | None] | None:
    from tradeoff.evaluate import metrics

    try:
        if len(a.records) == len(b.records) == 1:
            diff = metrics.paired_difference(a.metric, a.scores[0], b.scores[0])
            p = metrics.mcnemar(a.scores[0], b.scores[0])["p_value"] if a.metric == "accuracy" else None  # tests accuracy only
            return diff, p
        point, low, high = _seed_bootstrap(a.metric, [a.scores, b.scores], lambda x, y: x - y)
    except (BadInput, KeyError, ValueError):
        return None
    scale = _scale(a.metric)
    unit = "pp" if scale == 100 else ""
    return Metric(value=point * scale, unit=unit, low=low * scale, high=high * scale), None


def _retained(a: Scored, base: Scored) -> Metric | None:
    """a's score as a fraction of base's on the same rows (baseline / a for lower-is-better), paired interval."""
    from tradeoff.evaluate import metrics

    try:
        if len(a.records) == len(base.records) == 1:
            r = metrics.retained(a.metric, a.scores[0], base.scores[0])
            return Metric(value=r.value / 100, low=None if r.low is None else r.low / 100,
                          high=None if r.high is None else r.high / 100, method=r.method)
        up = a.higher_is_better
        point, low, high = _seed_bootstrap(a.metric, [a.scores, base.scores],
                                           lambda x, y: (x / y if up else y / x) if (y if up else x) else np.nan)
    except (BadInput, KeyError, ValueError):
        return None
    b = base.value
    if b is not None and metrics.near_zero(b.value, b.low, b.high):  # a ratio over a baseline that may be 0
        return Metric(value=point, method=NOT_MEANINGFUL)
    return Metric(value=point, low=low, high=high, method="seed_pooled")


def _fmt_diff(d: Metric, p: float | None, metric: str) -> str:
    if d.unit == "pp":
        v, lo, hi = (round(x, 1) + 0.0 for x in (d.value, d.low, d.high))  # + 0.0: "+0.0", never "-0.0"
        nums = f"{v:+.1f} pp [{lo:+.1f}, {hi:+.1f}]"
    else:
        nums = f"{d.value:+.3g} {metric.replace('_', ' ')} [{d.low:+.3g}, {d.high:+.3g}]"
    return nums + (f", McNemar p = {p:.2g}" if p is not None else "")


def baseline_for(model: str, like: Scored, scored: list[Scored]) -> Scored | None:
    """`model`'s group that `like` is measured against: scored the same way (rows, mode, eager) and, when it was run
    in several configurations, the one with `like`'s settings; None when several are left and none has them (which
    one would be the store's order, not the data)."""
    pool = [o for o in scored if o.model == model and o.scope == like.scope and o.backend == EAGER and o.mode == like.mode]
    if like in pool:
        return like
    same = [o for o in pool if o.settings == like.settings]
    return same[0] if same else pool[0] if len(pool) == 1 else None


def assign_retained(scored: list[Scored], quality_baseline: str | None, teachers: dict[str, str]) -> None:
    """Retained % only against a baseline scored the same way on the same rows (`baseline_for`): a student's
    teacher, else the quality baseline. The baseline itself gets 1."""
    for s in scored:
        base, teacher = None, teachers.get(s.model)
        if teacher:
            base = baseline_for(teacher, s, scored)
        if base is None and quality_baseline:
            base = baseline_for(quality_baseline, s, scored)
        if base is None:
            continue
        if base is s:
            s.retained, s.retained_vs = Metric(value=1.0), None
            continue
        s.retained = _retained(s, base)
        if s.retained is not None:
            s.retained_vs, s.vs_teacher = base.model, base.model == teacher
            paired = paired_difference(s, base)
            s.retained_p = paired[1] if paired else None


def _default_quality_baseline(scored: list[Scored], models: list[str]) -> str | None:
    """Without --quality-baseline: the first listed model that was scored (eager)."""
    return next((m for m in models if any(s.model == m and s.backend == EAGER for s in scored)), None)


def _beside(models: list[str], teachers: dict[str, str]) -> list[str]:
    """Each student right after its teacher, so the table shows what distillation kept."""
    out: list[str] = []

    def place(m: str) -> None:
        if m not in out:
            out.append(m)
            for s in models:
                if teachers.get(s) == m:
                    place(s)

    for m in models:
        if teachers.get(m) not in models:
            place(m)
    for m in models:  # a cycle of teachers: whatever is left, in order
        place(m)
    return out


# -- speed and memory: per backend and shape ------------------------------------------------------

def shape_of(r: Record) -> str:
    """BATCHxSEQ, with the device when not the CPU and the workload when it is real sentences."""
    c = r.cell
    extra = [c["device"]] if c.get("device", "cpu") != "cpu" else []
    if c.get("workload") == "real":
        extra.append(f"real {c.get('dataset', '')}".strip())
    return f"{c.get('batch', '?')}x{c.get('seq_len', '?')}" + (f" ({', '.join(extra)})" if extra else "")


def latency_of(r: Record) -> Metric | None:
    """One forward pass over the prompt: an encoder's latency, a decoder's time to first token (what
    classifying by label likelihood costs), so encoders and decoders compare like for like. None for LoadGen's
    single-stream runs: each model runs alone, at another time than the others, so two of them are not a
    comparison that shares the machine's drift (the interleaved workloads are)."""
    if r.kind != "bench" or r.status != "ok" or r.cell.get("baseline") or r.cell.get("workload") in SCENARIOS:
        return None
    return r.metrics.get("ttft_p50_ms") if r.cell.get("workload") == "generate" else r.metrics.get("latency_p50_ms")


def environment_of(r: Record) -> tuple[str, str, str, int]:
    """(CPU, GPU, torch, threads) a record ran with: latencies compare only within one. The threads a cell pinned
    win over the process's count."""
    e = r.env
    return (str(e.get("cpu", "?")), str(e.get("gpu") or "no GPU"), str(e.get("torch", "?")),
            int(r.cell.get("threads") or e.get("threads") or 0))


def environment_id(env: tuple[str, str, str, int]) -> str:
    return hashlib.sha256(json.dumps(env).encode()).hexdigest()[:8]


def environment_label(env: tuple[str, str, str, int]) -> str:
    """'Xeon 6338, no GPU, torch 2.3.0, 16 threads [1a2b3c4d]': the bracketed id is what --env takes."""
    cpu, gpu, torch, threads = env
    return f"{cpu}, {gpu}, torch {torch}, {threads or '?'} threads [{environment_id(env)}]"


def one_environment(records: list[Record], wanted: str | None = None) -> tuple[list[Record], tuple | None, list[str]]:
    """The records a comparison reads: bench records of one environment (`wanted`: its id or a piece of its label;
    else the one with most results, then the most recently measured, then by label, never the store's order), the
    estimates made on that machine, and every record of another kind; with the environment and a note on what was
    left out."""
    results = [r for r in records if r.kind == "bench" and r.status == "ok" and r.weights != "estimate"]
    counts = Counter(environment_of(r) for r in results)
    labels = {env: environment_label(env) for env in counts}
    if wanted:
        matches = [env for env in counts if wanted.lower() in labels[env].lower()]
        if len(matches) != 1:
            found = "; ".join(sorted(labels.values())) or "none"
            raise BadInput(f"--env {wanted!r} matches {len(matches) or 'none'} of the environments with speed results "
                           f"here ({found})", "give one environment's id (in brackets) or a piece of its name that only it has")
        chosen = matches[0]
    elif counts:
        newest = {env: max(r.created for r in results if environment_of(r) == env) for env in counts}
        chosen = max(counts, key=lambda env: (counts[env], newest[env], labels[env]))
    else:
        return records, None, []

    def inside(r: Record) -> bool:
        if r.kind != "bench":
            return True
        env = environment_of(r)
        return env[:3] == chosen[:3] if r.weights == "estimate" else env == chosen  # an estimate is never timed

    kept = [r for r in records if inside(r)]
    left = Counter(environment_of(r) for r in records if not inside(r))
    notes = []
    if left:
        notes.append(f"speed and memory from one environment, {labels[chosen]} ({counts[chosen]} results); left out "
                     f"{sum(left.values())} bench record(s) of {len(left)} other(s): "
                     + "; ".join(f"{environment_label(env)} ({n})" for env, n in sorted(left.items(), key=lambda x: str(x[0])))
                     + " (pick one with --env)")
    return kept, chosen, notes


def timed(records: list[Record]) -> dict[tuple[str, str, str], Record]:
    """(model, backend, shape) -> its latest bench record with a latency (ties: by key), in key order. The records
    are of one environment (`one_environment`), so no latency is set beside another machine's."""
    out: dict[tuple[str, str, str], Record] = {}
    for r in records:
        if latency_of(r) is None:
            continue
        key = (r.model, r.cell.get("backend", "?"), shape_of(r))
        if key not in out or (r.created, r.key) > (out[key].created, out[key].key):
            out[key] = r
    return dict(sorted(out.items()))


def ratios(bench: dict[tuple[str, str, str], Record], records: list[Record]) -> dict[tuple[str, str, str, str], Record]:
    """(model, backend, shape, baseline) -> the paired ratio record timed with the latency `bench` shows: its cell is
    that record's cell plus the baseline, and its weights and environment are that record's, so the ratio, the
    latencies beside it and the claims it decides come from one run (a store holding an older run at another thread
    count or budget no longer mixes them)."""
    shown = {(r.model, r.weights, environment_of(r), json.dumps(r.cell, sort_keys=True)): key for key, r in bench.items()}
    out: dict[tuple[str, str, str, str], Record] = {}
    for r in records:
        if r.kind != "bench" or r.status != "ok" or not r.cell.get("baseline"):
            continue
        cell = json.dumps({k: v for k, v in r.cell.items() if k != "baseline"}, sort_keys=True)
        key = shown.get((r.model, r.weights, environment_of(r), cell))
        if key is not None:
            out[(*key, r.cell["baseline"])] = r
    return out


def memory_of(r: Record) -> Metric | None:
    """Peak memory as served, else an estimate's weight memory."""
    return r.metrics.get("peak_rss_mb") or r.metrics.get("weight_mb")


def decision_shape(bench: dict[tuple[str, str, str], Record]) -> str | None:
    """The shape most models were timed at (ties: the smallest), so candidates are compared at one shape."""
    counts: dict[str, set] = {}
    for model, _, shape in bench:
        counts.setdefault(shape, set()).add(model)
    if not counts:
        return None

    def size(shape: str) -> float:
        try:
            b, s = shape.split(" ")[0].split("x")
            return int(b) * int(s)
        except ValueError:
            return float("inf")

    return min(counts, key=lambda s: (-len(counts[s]), size(s)))


# -- what published claims are checked on ---------------------------------------------------------

# A retained claim's mode, in this order: papers fine-tune both models on each task.
CLAIM_MODES = ("finetune", "checkpoint", "probe", "k-shot", "zero-shot")


def claim_ratios(found: dict[tuple[str, str, str, str], Record]) -> dict[tuple[str, str], tuple[Record | None, list[Record]]]:
    """(model, baseline) -> the ratio record published speed and memory claims are checked on, and every ratio found
    (shown as context). Those claims were measured with eager fp32 PyTorch on a CPU at batch 1 (DistilBERT's: one
    pass over STS-B dev): that setting's record at 1x128 when there, else at the sequence length nearest 128 (then
    the shorter); None when none is in that setting. Never the store's order."""
    by_pair: dict[tuple[str, str], list[Record]] = {}
    for (model, _, _, base), r in sorted(found.items()):
        by_pair.setdefault((model, base), []).append(r)

    def in_setting(r: Record) -> bool:
        c = r.cell
        return (c.get("backend") == EAGER and c.get("device", "cpu") == "cpu" and c.get("batch") == 1
                and c.get("workload", "fixed") in ("fixed", "real"))

    def rank(r: Record) -> tuple:
        seq = int(r.cell.get("seq_len") or 0)
        return shape_of(r) != DEFAULT_SHAPE, abs(seq - parse_shape(DEFAULT_SHAPE)[1]), seq, shape_of(r)

    return {pair: (min(filter(in_setting, rs), key=rank, default=None), rs) for pair, rs in by_pair.items()}


def claim_retained(scored: list[Scored]) -> dict[tuple[str, str], list[list[tuple[Scored, Scored]]]]:
    """(model, baseline) -> per task, the (model, baseline) pairs scored the same way through eager on the task's
    rows in its metric, the one a retained claim reads first (CLAIM_MODES' order), the other modes after it."""
    eager = [s for s in scored if s.backend == EAGER and s.higher_is_better]
    found: dict[tuple[str, str], dict[tuple, list]] = {}
    for s in eager:
        base = baseline_for(s.retained_vs, s, eager) if s.retained_vs else None
        if base is not None and base is not s:
            found.setdefault((s.model, base.model), {}).setdefault(s.scope, []).append((s, base))

    def rank(pair: tuple[Scored, Scored]) -> tuple:
        mode = pair[0].mode  # then by settings: two configurations of one mode are never read in the store's order
        return CLAIM_MODES.index(mode) if mode in CLAIM_MODES else len(CLAIM_MODES), mode, pair[0].settings

    return {key: [sorted(pairs, key=rank) for _, pairs in sorted(tasks.items(), key=lambda t: str(t[0]))]
            for key, tasks in sorted(found.items())}


def _retained_evidence(tasks: list[list[tuple[Scored, Scored]]]) -> tuple[Metric, str] | None:
    """A retained claim's number and what it rests on: each task's retained in its own metric and, over several
    tasks, their macro (the mean score over the baseline's mean, as the paper's GLUE macro); None without scores."""
    from tradeoff.paper import macro_of

    def fmt(m: Metric) -> str:
        if m.method == NOT_MEANINGFUL:
            return "not meaningful (the baseline's interval reaches 0)"
        return f"{m.value:.1%}" + (f" [{m.low:.1%}, {m.high:.1%}]" if m.low is not None else "")

    chosen = [(s, base, _retained(s, base)) for (s, base), *_ in tasks]
    chosen = [c for c in chosen if c[2] is not None]
    if not chosen:
        return None
    parts = [f"{s.metric} on {data_name(s.records[0])}, {s.mode}: {fmt(r)}" for s, _, r in chosen]
    others = [f"{s.variant} on {data_name(s.records[0])}: {fmt(r)}" for _, *rest in tasks for s, base in rest
              if (r := _retained(s, base)) is not None]
    tail = f"; other modes, not the claim's: {'; '.join(others)}" if others else ""
    if len(chosen) == 1:
        return chosen[0][2], parts[0] + tail
    m = macro_of([(s.metric, base.scores, s.scores) for s, base, _ in chosen])["retained"]
    macro = Metric(value=m.value / 100, low=m.low / 100, high=m.high / 100)
    return macro, f"macro over {len(chosen)} tasks ({'; '.join(parts)})" + tail


# -- the comparison -------------------------------------------------------------------------------

@dataclass
class Scope:
    """Quality measured on one task and one set of rows: the candidates decided on it."""

    label: str
    candidates: list[Candidate]
    recommendation: Recommendation | None


@dataclass(frozen=True)
class Lineup:
    """The models compared, as the caller that plans found them before any record is read: what each is called,
    its exact anatomy, its teacher among the others and whether real weights are here. Building a comparison then
    reads no file (`tradeoff.compare_plan.lineup_of` gathers it)."""

    shown: dict[str, str]  # each model's canonical name (as its records hold it) -> the name its column shows
    anatomy: dict[str, Anatomy]  # by shown name
    teachers: dict[str, str] = field(default_factory=dict)  # student -> teacher, by shown name
    without_weights: frozenset[str] = frozenset()  # shown names with no real weights here


@dataclass
class Comparison:
    """What a comparison found, as data: the models' anatomy, the records it read (one environment's speed), quality
    grouped by how it was scored, each scope's candidates and recommendation, and the claims checked;
    `tradeoff.report.table` renders it."""

    title: str
    baseline: str
    models: list[str]
    anatomy: dict[str, Anatomy]
    records: list[Record]
    candidates: list[Candidate]  # the first scope's, at the decision shape
    claims: list[claims_mod.ClaimResult]
    recommendation: Recommendation | None  # the first scope's
    scored: list[Scored] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    quality_name: str = "quality"
    quality_baseline: str | None = None
    teachers: dict[str, str] = field(default_factory=dict)
    shape: str | None = None
    notes: list[str] = field(default_factory=list)
    latency_samples: dict[str, list[float]] = field(default_factory=dict)
    store_path: str | None = None
    tool_version: str = ""
    env: dict = field(default_factory=dict)
    capacity: dict[tuple[str, str], Record] = field(default_factory=dict)  # serving capacity searches, by (model, backend)
    without_weights: frozenset[str] = frozenset()  # models with no real weights where the lineup was gathered

    @property
    def n_records(self) -> int:
        return len(self.records)


def alike(items: list, key) -> list[list]:
    """`items` in runs of equal key(item), in first-seen order."""
    runs: dict = {}
    for item in items:
        runs.setdefault(key(item), []).append(item)
    return list(runs.values())


def told_apart(settings: list[tuple]) -> list[str]:
    """For each of several settings (from _settings), the values it differs from the others in: "epochs 1, lr 2e-05"."""
    def shown(value: str) -> str:
        v = json.loads(value)
        text = ",".join(map(str, v)) if isinstance(v, list) else "default" if v is None else str(v)
        if "/" in text and not any(c.isspace() for c in text):  # a file by its name
            text = text.rstrip("/").rsplit("/", 1)[-1] or text
        return text if len(text) <= 24 else text[:8] + "…"

    asked = [dict(s) for s in settings]
    differ = sorted({k for a in asked for k in a if len({b.get(k) for b in asked}) > 1})
    return [", ".join(f"{k.replace('_', ' ')} {shown(a.get(k, 'null'))}" for k in differ) for a in asked]


def scope_label(s: Scored) -> str:
    r = s.records[0]
    return f"{s.metric.replace('_', ' ')}, {data_name(r)} ({n_rows(r)} rows)"


def candidate_judgement(a: Candidate, b: Candidate) -> Judgement | None:
    """decide's paired test: a's quality minus b's on the same rows, with its interval, McNemar's p (accuracy) and
    the rows it rests on; the Decider corrects and decides."""
    if not isinstance(a.evidence, Scored) or not isinstance(b.evidence, Scored):
        return None
    paired = paired_difference(a.evidence, b.evidence)
    if paired is None:
        return None
    d, p = paired
    rows = len(next(iter(a.evidence.scores[0].values()), []))
    method = ("exact: Clopper-Pearson on the rows exactly one got right, McNemar's exact p" if p is not None else
              "paired bootstrap over rows" + (" and the seeds' mean" if len(a.evidence.records) > 1 else ""))
    return Judgement(0, _fmt_diff(d, p, a.evidence.metric), criterion="quality", difference=d.value, low=d.low, high=d.high,
                     unit=d.unit, p_value=p, method=method, rows=rows, sign=1 if a.evidence.higher_is_better else -1)


def predictions_of(s: Scored) -> str:
    """A fingerprint of every per-row output behind `s`: two ways of running one model that agree on every row
    (eager and bf16, say) get the same one and share one quality verdict."""
    import hashlib

    blob = json.dumps([s.scope, [{k: list(map(str, v)) for k, v in sorted(sc.items())} for sc in s.scores]])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def attach_retained(cands: list[Candidate], scored: list[Scored], quality_baseline: str | None) -> None:
    """Each candidate's retained % against the named quality baseline only, scored the same way (mode) on the same
    rows and through eager; without such a record, none (a student's retained % of its teacher stays in the table)."""
    for c in cands:
        s = c.evidence
        if not isinstance(s, Scored) or quality_baseline is None:
            continue
        c.retained_vs = quality_baseline
        base = baseline_for(quality_baseline, s, scored)
        if base is None:
            continue
        if base is s:
            c.retained = 1.0
            continue
        r = _retained(s, base)
        if r is not None and r.method == NOT_MEANINGFUL:
            c.retained_why = f"{quality_baseline}'s score interval reaches 0 or near it, so a ratio to it means nothing"
        if r is not None and r.method != NOT_MEANINGFUL:  # not meaningful: unknown, never a number to meet a floor
            c.retained = r.value
            c.retained_interval = (r.low, r.high) if r.low is not None else None


def _candidate(model: str, backend: str, shape: str | None, r: Record | None, s: Scored | None, anatomy: dict,
               variant: str | None) -> Candidate:
    latency = latency_of(r) if r is not None else None
    mem = memory_of(r) if r is not None else None
    c = Candidate(model=model, backend=backend, shape=shape, variant=variant,
                  latency_ms=latency.value if latency else None, memory_mb=mem.value if mem else None,
                  latency_interval=(latency.low, latency.high) if latency is not None and latency.low is not None else None,
                  context=anatomy[model].max_context if model in anatomy else None,
                  weights=r.weights if r is not None else "pretrained",
                  decoder=model in anatomy and anatomy[model].role == "decoder")
    if s is not None:
        sign = 1 if s.higher_is_better else -1
        v = s.value
        c.quality, c.quality_unit, c.evidence = sign * v.value, v.unit, s
        if v.low is not None:
            c.quality_interval = tuple(sorted((sign * v.low, sign * v.high)))
        c.predictions = predictions_of(s) if s.records and "scores" in s.records[0].details else None
        c.weights = "pretrained"
    return c


def serving_bound(r: Record) -> tuple:
    """What a capacity search was judged under: an encoder's p99 bound, or a decoder's TTFT and TPOT bounds and output
    tokens (capacities under different bounds answer different questions)."""
    if "ttft_ms" in r.cell:
        return ("tokens", float(r.cell["ttft_ms"]), float(r.cell["tpot_ms"]), int(r.cell["output_tokens"]))
    return ("p99", r.cell.get("p99_ms"))


def served(records: list[Record], p99_ms: float | None = None,
           tokens: tuple[float, float, int] | None = None) -> dict[tuple[str, str], Record]:
    """(model, backend) -> its latest capacity search (server workload): encoders' at the p99 bound `p99_ms`, decoders'
    at `tokens` (TTFT ms, TPOT ms, output tokens); for either not given, the bound most of that kind were searched
    under (ties: the tighter)."""
    found = capacity_searches(records)
    wanted = set()
    for kind, asked in (("p99", None if p99_ms is None else ("p99", p99_ms)),
                        ("tokens", None if tokens is None else ("tokens", *map(float, tokens[:2]), int(tokens[2])))):
        bounds = [serving_bound(r) for r in found if serving_bound(r)[0] == kind]
        if asked is None and bounds:
            asked = min(set(bounds), key=lambda b: (-bounds.count(b), b))
        wanted.add(asked)
    return {(r.model, r.cell.get("backend", "?")): r for r in found if serving_bound(r) in wanted}


def capacity_searches(records: list[Record]) -> list[Record]:
    """The capacity searches among `records`, oldest first (ties by key, never the store's order)."""
    return sorted((r for r in records if r.kind == "bench" and r.status == "ok" and r.cell.get("workload") == "server"
                   and "baseline" not in r.cell and "max_qps" in r.metrics), key=lambda r: (r.created, r.key))


def attach_capacity(cands: list[Candidate], capacity: dict[tuple[str, str], Record], shape: str | None, anatomy: dict,
                    searched: dict[tuple[str, str], Record]) -> None:
    """Each candidate's serving capacity at the bound asked; a model and backend only searched for capacity (at
    any bound, never timed at the decision shape) becomes a candidate of its own, with the served process's memory."""
    have = {(c.model, c.backend) for c in cands}
    for (model, backend), r in searched.items():
        if (model, backend) not in have and model in anatomy:
            c = _candidate(model, backend, shape, None, None, anatomy, None)
            c.memory_mb = r.metrics["peak_rss_mb"].value if "peak_rss_mb" in r.metrics else None
            c.weights = r.weights
            cands.append(c)
    for c in cands:
        r = capacity.get((c.model, c.backend))
        if r is not None:
            q = r.metrics["max_qps"]
            c.max_qps, c.max_qps_interval, c.qps_bound_ms = q.value, (q.low, q.high), r.cell.get("p99_ms")
            bound = serving_bound(r)
            c.qps_tokens = bound[1:] if bound[0] == "tokens" else None
            c.qps_high_sure = _surely_failed(r, q.high)


def _surely_failed(r: Record, rate: float | None) -> bool:
    """Whether the trial at `rate` (a capacity's interval top) surely failed: overloaded, or its p99's lower 95% limit
    over the bound. When none surely failed the search's top is a failure at the point estimate, which shows no
    limit. A record without trials is taken as sure."""
    trials = r.details.get("trials")
    if rate is None or not trials:
        return True
    kind, *bound = serving_bound(r)
    # a decoder fails surely when either token latency's p99 lower limit is over its bound
    limits = ({"ttft_p99_low_ms": bound[0], "tpot_p99_low_ms": bound[1]} if kind == "tokens" else {"p99_low_ms": bound[0]})
    at = [t for t in trials if t.get("rate") is not None and abs(t["rate"] - rate) <= max(1e-3, 1e-6 * rate)]  # trials keep 3 decimals
    if not at:
        return True
    return any(t.get("overloaded") or any(b is not None and t.get(k) is not None and t[k] > b for k, b in limits.items())
               for t in at)


def candidates_for(scope: tuple | None, shape: str | None, bench: dict, scored: list[Scored], models: list[str],
                   anatomy: dict) -> list[Candidate]:
    """One candidate per model x backend at `shape` (x eval mode, when a model was scored in several ways):
    quality from that backend's eval on the scope's rows, latency and memory from that backend at that shape."""
    mine = [s for s in scored if s.scope == scope]
    out = []
    for m in models:
        backends = list(dict.fromkeys([b for (model, b, sh) in bench if model == m and sh == shape]
                                      + [s.backend for s in mine if s.model == m]))
        for b in backends:
            r = bench.get((m, b, shape))
            quality = [s for s in mine if s.model == m and s.backend == b]
            if not quality:
                c = _candidate(m, b, shape, r, None, anatomy, None)
                if b != "estimate" and any(s.model == m for s in mine):
                    c.notes.append(f"no eval through {b}")
                out.append(c)
            for s in quality:
                c = _candidate(m, b, shape, r, s, anatomy, s.variant if len(quality) > 1 else None)
                c.notes += filter(None, [s.prompt_note(r)])
                out.append(c)
    return out


def comparison_from(records: list[Record], lineup: Lineup, baseline: str, quality_baseline: str | None = None,
                    decision: DecisionSettings | None = None, title: str | None = None, store_path: str | None = None,
                    notes: list[str] | None = None, env: str | None = None, verdicts: dict | None = None) -> Comparison:
    """Everything the table, the claims check, the recommendation and the report need, from records, the lineup and
    the claim verdicts the store's paper results support (`paper.store_verdicts`), reading no file and no store: one
    stored comparison builds the same on any machine.

    `baseline` and `quality_baseline` are shown names (`Lineup.shown`). Speed and memory come from one environment
    (`env`, see `one_environment`).
    """
    from tradeoff import __version__

    decision = (decision or DecisionSettings()).check()  # impossible budgets are bad input even when nothing is measured yet
    shown, teachers, anatomy = lineup.shown, lineup.teachers, lineup.anatomy
    models = _beside(list(dict.fromkeys(shown.values())), teachers)
    records, environment, env_notes = one_environment([r.model_copy(update={"model": shown[r.model]}) for r in records
                                                       if r.model in shown], env)
    scored = scored_groups(records)
    scope_keys = list(dict.fromkeys(s.scope for s in scored))
    # The first scope: where most models were scored (ties: the one the quality baseline is in, then by its key,
    # never the store's order).
    scope_keys.sort(key=lambda k: (-len({s.model for s in scored if s.scope == k}),
                                   not any(s.model == quality_baseline for s in scored if s.scope == k), str(k)))
    scored.sort(key=lambda s: scope_keys.index(s.scope))
    quality_baseline = quality_baseline or _default_quality_baseline(scored, models)
    assign_retained(scored, quality_baseline, teachers)
    bench = timed(records)
    shape = decision_shape(bench)
    all_notes = list(notes or []) + env_notes
    shapes = sorted({sh for (_, _, sh) in bench})
    if len(shapes) > 1:
        all_notes.append(f"decided at {shape}, the shape most models were timed at; "
                         f"{', '.join(s for s in shapes if s != shape)} in the table only")
    capacity = served(records, *decision.serving_bounds())
    searched = {(r.model, r.cell.get("backend", "?")): r for r in capacity_searches(records)}  # the latest at any bound
    scopes = []
    for key in scope_keys or [None]:
        cands = candidates_for(key, shape, bench, scored, models, anatomy)
        attach_capacity(cands, capacity, shape, anatomy, searched)
        attach_retained(cands, scored, quality_baseline)
        label = scope_label(next(s for s in scored if s.scope == key)) if key else "speed and memory"
        budgets = decision
        # --tie-margin is one number in one unit (the first scope's): 1 pp is not 1 on MCC's or perplexity's scale.
        if decision.tie_margin is not None and key and _margin_unit(key[1]) != _margin_unit(scope_keys[0][1]):
            first = scope_label(next(s for s in scored if s.scope == scope_keys[0]))
            all_notes.append(f"--tie-margin {decision.tie_margin:g} is in the unit of {first}; {label} keeps its "
                             "default margin")
            budgets = replace(decision, tie_margin=None)
        rec = recommend(cands, budgets, paired=candidate_judgement, scope=label) if cands else None
        scopes.append(Scope(label, cands, rec))
    evidence = claims_mod.Evidence(anatomy=anatomy)
    for (model, base), (r, found) in claim_ratios(ratios(bench, records)).items():
        for q in ("speedup", "memory_ratio"):
            others = "; ".join(f"{o.cell.get('backend')} {shape_of(o)} {o.metrics[q].value:.2f}x" for o in found
                               if o is not r and q in o.metrics)
            others = f"; other settings, not the claim's: {others}" if others else ""
            if r is not None and q in r.metrics:
                evidence.add(q, model, base, r.metrics[q],
                             f"{EAGER}, {shape_of(r)}, {r.env.get('cpu', 'CPU')} ({r.weights} weights){others}")
            elif others:
                evidence.missing[(q, model, base)] = (f"{claims_mod.MEASURED[q]} vs {base} not measured in the claim's setting "
                                                      f"(eager fp32 on a CPU at batch 1){others}")
    for (model, base), tasks in claim_retained(scored).items():
        if (kept := _retained_evidence(tasks)) is not None:
            evidence.add("retained", model, base, *kept)
    for m in models:
        if anatomy[m].role == "encoder":
            evidence.missing[("retained", m, "bert-base-uncased")] = (
                "needs real bert-base-uncased and distilbert-base-uncased weights: `hf download google-bert/bert-base-uncased "
                "distilbert/distilbert-base-uncased` puts them in the Hugging Face cache (random weights get no accuracy)")
    evidence.verdicts = verdicts or {}  # C7 as a proxy, C8, C13, C14: decided by `tradeoff paper distilbert`
    samples = {}
    for (m, b, sh), r in bench.items():
        if r.details.get("samples_ms"):
            samples[f"{m} [{b}, {sh}]"] = r.details["samples_ms"]
    used = [r for r in records if r.kind == "bench" and r.env and environment_of(r) == environment]
    env = {**max(used, key=lambda r: (r.created, r.key)).env, "threads": environment[3],
           "id": environment_id(environment)} if used else {}
    first = scopes[0]
    return Comparison(
        title=title or " vs ".join(models), baseline=baseline, models=models, anatomy=anatomy, records=records,
        candidates=first.candidates, claims=claims_mod.check_all(models, evidence), recommendation=first.recommendation,
        scored=scored, scopes=scopes, quality_name=first.label if scored else "quality", quality_baseline=quality_baseline,
        teachers=teachers, shape=shape, notes=all_notes, latency_samples=samples, store_path=store_path,
        tool_version=__version__, env=env, capacity=capacity, without_weights=lineup.without_weights)


