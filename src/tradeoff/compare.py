"""The main job: put models side by side on anatomy, speed, memory and quality, check the
published claims, and recommend — every figure backed by a record in the store.

compare() measures what the store lacks (bench, eval), then builds a Comparison from the store
alone; report and recommend read that Comparison.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tradeoff import claims as claims_mod
from tradeoff.anatomy import Anatomy, inspect_ref
from tradeoff.decide import Candidate, Recommendation, check_budgets, recommend, use_cases
from tradeoff.models import parse_ref
from tradeoff.record import Metric, Record, number

MB = 1e6


@dataclass
class Comparison:
    title: str
    baseline: str
    models: list[str]
    anatomy: dict[str, Anatomy]
    records: list[Record]
    candidates: list[Candidate]
    claims: list[claims_mod.ClaimResult]
    recommendation: Recommendation | None
    quality: dict[str, Quality] = field(default_factory=dict)
    quality_name: str = "quality"
    quality_baseline: str | None = None
    latency_samples: dict[str, list[float]] = field(default_factory=dict)
    store_path: str | None = None
    tool_version: str = ""
    env: dict = field(default_factory=dict)

    @property
    def n_records(self) -> int:
        return len(self.records)

    def environment_line(self) -> str:
        e = self.env
        if not e:
            return "environment: unknown"
        gpu = f", GPU {e['gpu']}" if e.get("gpu") else ", no GPU"
        return (f"Measured on {e.get('cpu', '?')} ({e.get('cores', '?')} cores, {e.get('threads', '?')} threads, "
                f"{e.get('ram_gb', '?')} GB RAM{gpu}); torch {e.get('torch', '?')}, transformers {e.get('transformers', '?')}.")

    def _best_candidate(self, model: str) -> Candidate | None:
        mine = [c for c in self.candidates if c.model == model and c.latency_ms is not None]
        return min(mine, key=lambda c: c.latency_ms) if mine else None

    def summary_table(self) -> tuple[list[str], list[dict]]:
        """The seed-style table: one column per model, one row per question people ask."""
        uses = use_cases(self.candidates)
        rows: dict[str, dict] = {}

        def put(label, model, value):
            rows.setdefault(label, {"": label})[model] = value

        for m in self.models:
            a = self.anatomy[m]
            put("layers", m, a.layers)
            put("attention heads", m, f"{a.heads}" + (f" ({a.kv_heads} KV)" if a.kv_heads != a.heads else ""))
            put("hidden size", m, a.hidden)
            base = self.anatomy[self.baseline].parameters
            put("parameters", m, f"{a.parameters / 1e6:,.1f}M" + ("" if m == self.baseline else f" ({(a.parameters / base - 1) * 100:+.1f}%)"))
            put("context window", m, f"{a.max_context:,}")
            put("KV cache (fp16, full context)", m, f"{a.kv_cache_bytes_full_context / 2**30:.2f} GiB" if a.kv_cache_bytes_full_context else "n/a (encoder)")
            put("weights fp32 / int8", m, f"{a.weight_bytes['fp32'] / MB:,.0f} / {a.weight_bytes['int8'] / MB:,.0f} MB")
            c = self._best_candidate(m)
            if c is None:
                for label in ("latency p50 (decoders: first token)", "latency p95", "throughput (decoders: tokens/s)", "peak memory", "speed-up vs baseline"):
                    put(label, m, "not measured")
            else:
                tag = " (estimate)" if c.weights == "estimate" else ""
                gen = a.role == "decoder" and c.weights != "estimate"
                names = ("ttft_p50_ms", "ttft_p95_ms", "decode_tokens_per_s") if gen else ("latency_p50_ms", "latency_p95_ms", "throughput_per_s")
                p50, p95, thr = (self._metric(m, c.backend, k) for k in names)
                put("latency p50 (decoders: first token)", m, (p50.fmt(3) if p50 else f"{number(c.latency_ms)} ms") + f" [{c.backend}]{tag}")
                put("latency p95", m, p95.fmt(3) if p95 else "-")
                put("throughput (decoders: tokens/s)", m, thr.fmt(3) if thr else "-")
                put("peak memory", m, f"{c.memory_mb:,.0f} MB{tag}" if c.memory_mb else "-")
                sp = self._speedup(m)
                put("speed-up vs baseline", m, "baseline" if m == self.baseline else (f"{sp.value:.2f}x [{sp.low:.2f}, {sp.high:.2f}]" if sp and sp.low is not None else "-"))
            q = self.quality.get(m)
            put(self.quality_name, m, _fmt_quality(q) if q else "not measured (no real weights here)" if not has_weights(m) else "not measured")
            r = q.retained if q else None
            put("performance retained", m, "baseline" if m == self.quality_baseline and q else
                f"{r.value:.1%} [{r.low:.1%}, {r.high:.1%}]" if r and r.low is not None else "-")
            put("best use case", m, uses.get(m, "-"))
        return ["", *self.models], list(rows.values())

    def recommendation_lines(self) -> list[str]:
        rec = self.recommendation
        if rec is None:
            return ["nothing measured for speed or quality yet: run `tradeoff compare` with benchmarks to get a recommendation"]
        lines = [rec.summary()]
        lines += [f"{v.candidate.label}: {'; '.join(v.reasons)}" for v in rec.verdicts if v.candidate is not rec.best and v.reasons]
        lines.append(f"Pareto frontier over {', '.join(rec.frontier_axes) or 'nothing measured'}: " + ", ".join(c.label for c in rec.frontier))
        if rec.quality_frontier:
            lines.append("Pareto frontier over latency, memory, quality (models scored with real weights): "
                         + ", ".join(c.label for c in rec.quality_frontier))
        return lines

    def memory_bars(self) -> dict[str, dict[str, float]]:
        measured = {c.label: c.memory_mb for c in self.candidates if c.memory_mb and c.weights != "estimate"}
        weights = {m: self.anatomy[m].weight_bytes["fp32"] / MB for m in self.models}
        return {k: v for k, v in {"peak memory (measured)": measured, "weights fp32 (exact)": weights}.items() if v}

    # -- record lookups -------------------------------------------------------------------------
    def _records(self, kind: str, model: str) -> list[Record]:
        return [r for r in self.records if r.kind == kind and r.model == model and r.status == "ok"]

    def _metric(self, model: str, backend: str, name: str) -> Metric | None:
        for r in self._records("bench", model):
            if r.cell.get("backend") == backend and name in r.metrics:
                return r.metrics[name]
        return None

    def _speedup(self, model: str) -> Metric | None:
        for r in self.records:
            if r.kind == "bench" and r.status == "ok" and r.cell.get("baseline") == self.baseline and r.model == model and "speedup" in r.metrics:
                return r.metrics["speedup"]
        return None



def _data_name(r: Record) -> str:
    data = str(r.cell.get("data") or r.details.get("data", "?"))
    return data.rstrip("/").rsplit("/", 1)[-1] or data


def _fmt_quality(q: "Quality") -> str:
    v = q.value
    if v.unit == "%":  # eval stores percentages: 79.0 means 79%
        return f"{v.value:.1f}%" + (f" [{v.low:.1f}, {v.high:.1f}]" if v.low is not None else "")
    return v.fmt(3)


def has_weights(model: str) -> bool:
    from tradeoff.models.weights import availability

    try:
        return availability(parse_ref(model))[0] != "missing"
    except Exception:
        return False


@dataclass
class Quality:
    """A model's best real-weight score on the task, and what it keeps of the quality baseline's."""

    record: Record
    metric_name: str
    value: Metric
    retained: Metric | None  # as a fraction of the baseline's score


def quality_by_model(records: list[Record], quality_baseline: str | None) -> dict[str, Quality]:
    from tradeoff.evaluate.metrics import PRIMARY
    from tradeoff.evaluate.suite import _label, compare_all

    best: dict[str, Record] = {}
    for r in records:
        eager = r.details.get("backend", "eager") == "eager"  # a quantized model's accuracy is not the model's
        if r.kind == "eval" and r.status == "ok" and r.weights == "pretrained" and eager and r.details.get("task") in PRIMARY:
            name = PRIMARY[r.details["task"]]
            old = best.get(r.model)
            better = old is None or (r.metrics[name].value < old.metrics[name].value if name == "perplexity" else r.metrics[name].value > old.metrics[name].value)
            if better:
                best[r.model] = r
    base = best.get(quality_baseline) if quality_baseline else None
    paired = compare_all(list(best.values()), _label(base)) if base else {}
    out = {}
    for model, r in best.items():
        name = PRIMARY[r.details["task"]]
        ret = paired.get(_label(r), {}).get("retained")
        if ret is not None:
            ret = Metric(value=ret.value / 100, unit="", low=ret.low / 100, high=ret.high / 100)
        elif r is base:
            ret = Metric(value=1.0)
        out[model] = Quality(r, name, r.metrics[name], ret)
    return out


def _latency(r: Record) -> Metric | None:
    """One forward pass over the prompt: an encoder's latency, a decoder's time to first token (what
    classifying by label likelihood costs), so encoders and decoders compare like for like."""
    if r.kind != "bench" or r.status != "ok" or r.cell.get("baseline"):
        return None
    return r.metrics.get("ttft_p50_ms") if r.cell.get("workload") == "generate" else r.metrics.get("latency_p50_ms")


def candidates_from(records: list[Record], anatomy: dict[str, Anatomy], quality: dict[str, Quality]) -> list[Candidate]:
    """One candidate per (model, backend) with a latency, at the first shape measured; quality from eval records."""
    out, seen = [], set()
    for r in records:
        latency = _latency(r)
        if latency is None:
            continue
        if (r.model, r.cell.get("backend")) in seen:
            continue
        seen.add((r.model, r.cell.get("backend")))
        q = quality.get(r.model)
        mem = r.metrics.get("peak_rss_mb") or r.metrics.get("weight_mb")
        higher_better = q is not None and q.metric_name != "perplexity"
        out.append(Candidate(model=r.model, backend=r.cell.get("backend", "?"), latency_ms=latency.value,
                             memory_mb=mem.value if mem else None,
                             quality=(q.value.value if higher_better else -q.value.value) if q else None,
                             retained=q.retained.value if q and q.retained else None,
                             context=anatomy[r.model].max_context if r.model in anatomy else None, weights=r.weights))
    return out


def build_comparison(records: list[Record], refs: list[str], baseline: str, quality_baseline: str | None = None,
                     constraints: dict | None = None, title: str | None = None, store_path: str | None = None) -> Comparison:
    """Everything the table, the claims check, the recommendation and the report need, from records alone.

    `refs` are what the user typed; records and the table use each ref's canonical name.
    """
    from tradeoff import __version__

    parsed = [parse_ref(r) for r in refs]
    models = [p.name for p in parsed]
    baseline = parse_ref(baseline).name
    quality_baseline = parse_ref(quality_baseline).name if quality_baseline else None
    anatomy = {p.name: inspect_ref(p) for p in parsed}
    records = [r for r in records if r.model in models]
    quality = quality_by_model(records, quality_baseline)
    cands = candidates_from(records, anatomy, quality)
    evidence = claims_mod.Evidence(anatomy=anatomy)
    paired = [r for r in records if r.kind == "bench" and r.status == "ok" and r.cell.get("baseline")]
    # Published speed and memory claims were measured with eager fp32 PyTorch: when that backend ran,
    # its ratio is the evidence (sorted last, so it is the one kept), not an int8 export's.
    for r in sorted(paired, key=lambda r: r.cell.get("backend") == "eager"):
        where = f"{r.cell.get('backend')}, {r.cell.get('batch')}x{r.cell.get('seq_len')}, {r.env.get('cpu', 'CPU')} ({r.weights} weights)"
        for q in ("speedup", "memory_ratio"):
            if q in r.metrics:
                evidence.add(q, r.model, r.cell["baseline"], r.metrics[q], where)
    for m, q in quality.items():
        if q.retained is not None and m != quality_baseline:
            evidence.add("retained", m, quality_baseline, q.retained, f"{q.metric_name} on {_data_name(q.record)}")
    for m in models:
        if anatomy[m].role == "encoder":
            evidence.missing[("retained", m, "bert-base-uncased")] = (
                "needs real bert-base-uncased and distilbert weights, which are not available offline here (random weights get no accuracy)")
    samples = {}
    for r in records:
        if r.kind == "bench" and r.status == "ok" and r.details.get("samples_ms") and not r.cell.get("baseline"):
            samples[f"{r.model} [{r.cell.get('backend')}, {r.cell.get('batch')}x{r.cell.get('seq_len')}]"] = r.details["samples_ms"]
    first = next(iter(quality.values()), None)
    qname = f"{first.metric_name} ({_data_name(first.record)})" if first else "quality"
    env = next((r.env for r in records if r.kind == "bench" and r.env), {})
    return Comparison(
        title=title or " vs ".join(models), baseline=baseline, models=models, anatomy=anatomy, records=records,
        candidates=cands, claims=claims_mod.check_all(models, evidence),
        recommendation=recommend(cands, **(constraints or {})) if cands else None,
        quality=quality, quality_name=qname, quality_baseline=quality_baseline,
        latency_samples=samples, store_path=store_path, tool_version=__version__, env=env)


# -- measuring what the store lacks --------------------------------------------------------------

def fits_here(a: Anatomy, ram_bytes: float) -> bool:
    """Run for real only what loads comfortably in fp32 and times in seconds on this machine."""
    return a.weight_bytes["fp32"] * 3 < ram_bytes and a.parameters < 1.5e9


def estimate_record(ref, cell: dict, measured: list[Record]) -> Record:
    """Latency of a model too heavy to run, from its exact FLOPs and the FLOP/s real runs reached here.

    Labelled weights="estimate": a compute-bound lower bound, honest about being one.
    """
    from tradeoff.env import environment

    achieved = [r.metrics["flops_per_s"].value for r in measured if r.status == "ok" and "flops_per_s" in r.metrics
                and r.cell.get("device") == cell.get("device")]
    if achieved:
        flops_per_s, how = max(achieved), "the best FLOP/s a real model reached in this run"
    else:
        from tradeoff.bench.hardware import peak_flops

        flops_per_s, how = peak_flops(cell.get("device", "cpu")), "this machine's matmul peak (an optimistic bound)"
    a = inspect_ref(ref, seq_len=cell["seq_len"])
    flops = a.flops_per_token * cell["batch"] * cell["seq_len"]
    return Record(kind="bench", model=a.model, weights="estimate", cell=cell, env=environment(),
                  metrics={"latency_p50_ms": Metric(value=flops / flops_per_s * 1e3, unit="ms"),
                           "weight_mb": Metric(value=a.weight_bytes["bf16"] / MB, unit="MB")},
                  details={"how": f"forward FLOPs ({flops:.3g}) / {flops_per_s:.3g} FLOP/s, {how}; memory = bf16 weights only"})


def _bench_missing(refs: list[str], baseline: str, backends, shapes, store, settings, on_status) -> None:
    """Run the bench groups whose records (cells and paired ratios) the store does not hold yet."""
    from tradeoff.bench.isolate import run_isolated
    from tradeoff.bench.suite import plan

    the_plan = plan(refs, backends, ("cpu",), shapes, None, baseline, settings, "random")
    for group in the_plan.groups:
        names = {m: parse_ref(m).name for m in group.models}
        keys = [Record(kind="bench", model=names[m], weights="random", cell=c).key for m, c in group.expected()]
        if group.baseline:
            keys += [Record(kind="bench", model=names[m], weights="random", cell={**c, "baseline": names[group.baseline]}).key
                     for m, c in group.expected() if m != group.baseline]
        if all(store.has(k) for k in keys):
            on_status(f"reusing stored {group.backend} results")
            continue
        run_isolated(group, store.put, on_status)


def compare(refs: list[str], baseline: str | None = None, backends=("eager",), shapes=("1x128",),
            eval_cell: dict | None = None, eval_refs: list[str] | None = None, quality_baseline: str | None = None,
            constraints: dict | None = None, store=None, settings=None, title: str | None = None,
            eval_modes: dict[str, str] | None = None, on_status=lambda _: None) -> Comparison:
    """Measure what the store lacks for these models, then build the comparison from the store alone.

    Models too heavy for this machine get a labelled estimate instead of a run; only models with real
    weights (`eval_refs`, default: those available here) are scored on `eval_cell`'s task, each in
    `eval_modes[ref]` if given (e.g. "checkpoint" for a model already fine-tuned on it).
    """
    import psutil

    from tradeoff.anatomy import run_cell as inspect_cell
    from tradeoff.errors import BadInput
    from tradeoff.store import Store

    if not refs:
        raise BadInput("no models given", "e.g. `tradeoff compare bert-base-uncased distilbert-base-uncased`")
    check_budgets(**(constraints or {}))
    store = store or Store.open()
    parsed = [parse_ref(r) for r in refs]
    baseline = baseline or refs[0]
    if parse_ref(baseline).name not in [p.name for p in parsed]:
        raise BadInput(f"baseline {baseline} is not among the compared models", "add it to the list or pick one of them")
    anatomy = {p.name: inspect_ref(p) for p in parsed}
    for p in parsed:
        on_status(f"inspect {p.name}")
        store.put(inspect_cell(p.text, {}))
    ram = psutil.virtual_memory().total
    runnable = [p.text for p in parsed if fits_here(anatomy[p.name], ram)]
    heavy = [p for p in parsed if p.text not in runnable]
    base_runs = parse_ref(baseline).text in runnable or any(parse_ref(baseline).name == parse_ref(r).name for r in runnable)
    if runnable:
        _bench_missing(runnable, baseline if base_runs else runnable[0], backends, shapes, store, settings, on_status)
    measured = [r for p in parsed for r in store.query(kind="bench", model=p.name)]
    for p in heavy:
        for shape in shapes:
            from tradeoff.bench.spec import parse_shape

            batch, seq = parse_shape(shape)
            on_status(f"estimate {p.name} (too heavy to run here)")
            store.put(estimate_record(p, {"backend": "estimate", "device": "cpu", "workload": "fixed", "batch": batch, "seq_len": seq}, measured))
    if eval_cell:
        for ref in eval_refs or [p.text for p in parsed if has_weights(p.text)]:
            _eval_missing(ref, {**eval_cell, "mode": (eval_modes or {}).get(ref, eval_cell.get("mode", "auto"))}, store, on_status)
    records = [r for p in parsed for r in store.query(model=p.name)]
    return build_comparison(records, refs, baseline, quality_baseline or (eval_refs[0] if eval_refs else None),
                            constraints=constraints, title=title, store_path=str(store.path))


def _eval_missing(ref: str, cell: dict, store, on_status) -> None:
    """Score a model once per (task, data, mode); stored results are reused."""
    from tradeoff.evaluate import run_cell
    from tradeoff.evaluate.suite import plan

    for model, c in plan([ref], cell, [cell.get("mode") or "auto"]):
        key = Record(kind="eval", model=parse_ref(model).name, weights="pretrained", cell=c).key
        if store.has(key):
            on_status(f"reusing stored eval of {model}")
            continue
        on_status(f"eval {model} ({c['mode']})")
        store.put(run_cell(model, c, "pretrained"))
