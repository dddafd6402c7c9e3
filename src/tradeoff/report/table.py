"""The comparison as tables and lines: one column per model and one row per question (the summary), the
recommendation's lines, the environment line. Renders a `tradeoff.compare.Comparison`; computes no decision."""
from __future__ import annotations

from tradeoff.compare import (EAGER, Comparison, Scored, alike, data_name, latency_of, memory_of, n_rows, ratios,
                              shape_of, timed, told_apart)
from tradeoff.coverage import NOT_MEANINGFUL
from tradeoff.decide import use_cases
from tradeoff.record import Record, number

MB = 1e6


def environment_line(c: Comparison) -> str:
    """The one environment every latency and memory figure here comes from (the notes name any left out)."""
    e = c.env
    if not e:
        return "environment: unknown"
    gpu = f", GPU {e['gpu']}" if e.get("gpu") else ", no GPU"
    return (f"Measured on {e.get('cpu', '?')} ({e.get('cores', '?')} cores, {e.get('threads', '?')} threads, "
            f"{e.get('ram_gb', '?')} GB RAM{gpu}); torch {e.get('torch', '?')}, transformers {e.get('transformers', '?')}"
            f" (environment {e.get('id', '?')}).")


def summary_table(c: Comparison) -> tuple[list[str], list[dict]]:
    """One column per model, one row per question: speed per backend and shape, quality per way of scoring."""
    rows: dict[str, dict] = {}

    def put(label, model, value):
        rows.setdefault(label, {"": label})[model] = value

    base = c.anatomy[c.baseline].parameters
    for m in c.models:
        a = c.anatomy[m]
        put("layers", m, a.layers)
        put("attention heads", m, f"{a.heads}" + (f" ({a.kv_heads} KV)" if a.kv_heads != a.heads else ""))
        put("hidden size", m, a.hidden)
        put("parameters", m, f"{a.parameters / 1e6:,.1f}M" + ("" if m == c.baseline else f" ({(a.parameters / base - 1) * 100:+.1f}%)"))
        put("context window", m, f"{a.max_context:,}")
        put("KV cache (fp16, full context)", m, f"{a.kv_cache_bytes_full_context / 2**30:.2f} GiB" if a.kv_cache_bytes_full_context else "n/a (encoder)")
        put("weights fp32 / int8", m, f"{a.weight_bytes['fp32'] / MB:,.0f} / {a.weight_bytes['int8'] / MB:,.0f} MB")
    if c.teachers:
        for m in c.models:
            students = [s for s, t in c.teachers.items() if t == m]
            put("distillation", m, f"distilled from {c.teachers[m]}" if m in c.teachers else
                f"teacher of {', '.join(students)}" if students else "-")
    _speed_rows(c, put)
    _capacity_rows(c, put)
    _quality_rows(c, put)
    uses = use_cases(c.candidates, decider=c.recommendation.decider) if c.recommendation else {}
    several = len(c.scopes) > 1 or len({sh for (_, _, sh) in timed(c.records)}) > 1
    for m in c.models:
        put("best use case" + (f" ({c.shape}, {c.quality_name})" if several else ""), m, uses.get(m, "-"))
    return ["", *c.models], list(rows.values())


def _speed_rows(c: Comparison, put) -> None:
    """Latency, throughput, peak memory and the paired speed-up per backend and shape, the decision shape first."""
    bench = timed(c.records)
    paired = ratios(bench, c.records)
    estimates = {(m, s): r for (m, b, s), r in bench.items() if b == "estimate"}
    blocks = list(dict.fromkeys((b, s) for (_, b, s) in bench if b != "estimate"))
    blocks += [(EAGER, s) for (_, s) in estimates if (EAGER, s) not in blocks]
    blocks.sort(key=lambda bs: (bs[1] != c.shape, bs[1]))  # the decision shape first, backends as run
    if not blocks:
        for label in ("latency p50, p95", "peak memory", "speed-up vs baseline"):
            for m in c.models:
                put(label, m, "not measured")
        return
    for backend, shape in blocks:
        where = f" [{backend}, {shape}]"
        for m in c.models:
            r = bench.get((m, backend, shape)) or (estimates.get((m, shape)) if backend == EAGER else None)
            if r is None:
                for label in ("latency p50, p95", "throughput", "peak memory", "speed-up vs " + c.baseline):
                    put(label + where, m, "-")
                continue
            put("latency p50, p95" + where, m, _latency_cell(r))
            put("throughput" + where, m, _throughput_cell(r))
            mem = memory_of(r)
            put("peak memory" + where, m, "-" if mem is None else
                f"≥ {mem.value:,.0f} MB (estimate: bf16 weights only)" if r.weights == "estimate" else _memory_text(r))
            found = paired.get((m, backend, shape_of(r), c.baseline))  # the ratio timed with the latency beside it
            sp = found.metrics.get("speedup") if found is not None else None
            put("speed-up vs " + c.baseline + where, m, "baseline" if m == c.baseline else
                f"{sp.value:.2f}x [{sp.low:.2f}, {sp.high:.2f}]" if sp and sp.low is not None else "-")


def _capacity_rows(c: Comparison, put) -> None:
    """"max QPS at p99 <= X" per backend: the serving capacity searches (bench --workload server)."""
    from tradeoff.bench.suite import qps_text

    from tradeoff.compare import serving_bound

    first = {}
    for (_, b), r in sorted(c.capacity.items(), key=lambda kv: serving_bound(kv[1])[0]):  # a row per backend and bound kind
        first.setdefault((b, serving_bound(r)[0]), r.cell)
    for (backend, kind), cell in first.items():
        bound = (f"p99 <= {cell.get('p99_ms'):g} ms" if kind == "p99" else
                 f"TTFT p99 <= {cell['ttft_ms']:g} ms, TPOT p99 <= {cell['tpot_ms']:g} ms, {cell['output_tokens']} output tokens")
        label = f"max QPS at {bound} [{backend}, max batch {cell.get('batch')}]"
        for m in c.models:
            r = c.capacity.get((m, backend))
            r = r if r is not None and serving_bound(r)[0] == kind else None
            put(label, m, "-" if r is None else ("cannot sustain the lowest rate tried" if r.details.get("trials") else r.details.get("stop"))
                if r.details.get("cannot_sustain")
                else qps_text(r.metrics["max_qps"]) + " queries/s")


def _latency_cell(r: Record) -> str:
    """p50 with its interval and p95; a decoder's time to first token; an estimate as the lower bound it is."""
    if r.weights == "estimate":
        return f"≥ {number(latency_of(r).value)} ms (estimate: a compute-bound lower bound)"
    gen = r.cell.get("workload") == "generate"
    p50 = latency_of(r)
    p95 = r.metrics.get("ttft_p95_ms" if gen else "latency_p95_ms")
    return p50.fmt(3) + (" to first token" if gen else "") + (f", p95 {number(p95.value)}" if p95 else "")


def _throughput_cell(r: Record) -> str:
    """Items per second, a decoder's decode tokens per second; none for an estimate."""
    if r.weights == "estimate":
        return "-"
    m = r.metrics.get("decode_tokens_per_s") if r.cell.get("workload") == "generate" else r.metrics.get("throughput_per_s")
    return (("decode " if r.cell.get("workload") == "generate" else "") + m.fmt(3)) if m else "-"


def _quality_rows(c: Comparison, put) -> None:
    """One row per way of scoring (scope, mode, backend, settings), then the retained % where a baseline was scored so."""
    if not c.scored:
        for m in c.models:
            put("quality", m, "not measured (no real weights here)" if m in c.without_weights else "not measured")
        return
    groups = list(dict.fromkeys(s.group for s in c.scored))
    first_scope = c.scored[0].scope
    groups.sort(key=lambda g: (g[:3] != first_scope, g[4] != EAGER))
    labels = _group_labels(c.scored, groups)
    scored_models = {s.model for s in c.scored}
    for i, g in enumerate(groups):
        mine = {s.model: s for s in c.scored if s.group == g}
        label = labels[g]
        for m in c.models:
            s = mine.get(m)
            if s is None:
                put(label, m, "not measured (no real weights here)" if i == 0 and m not in scored_models and m in c.without_weights else "-")
            else:
                put(label, m, _fmt_scored(s))
        if any(s.retained_vs for s in mine.values()):  # someone measured against a baseline, not just the baseline
            baselines = {s.retained_vs for s in mine.values() if s.retained_vs}
            for m in c.models:
                s = mine.get(m)
                put(f"{label}: retained", m, "-" if s is None else _fmt_retained(s) if s.retained_vs else
                    "baseline" if s.retained is not None or m in baselines else "-")


def recommendation_lines(c: Comparison) -> list[str]:
    """Each scope's decision, every other candidate's reasons and the Pareto frontiers, then the notes."""
    scopes = [s for s in c.scopes if s.recommendation is not None]
    if not scopes:
        return ["nothing measured for speed or quality yet: run `tradeoff compare` with benchmarks to get a recommendation",
                *[f"note: {n}" for n in c.notes]]
    lines = []
    for scope in scopes:
        rec = scope.recommendation
        head = f"on {scope.label}: " if len(scopes) > 1 else ""
        lines.append(head + rec.summary())
        lines += [f"{v.candidate.label}: {'; '.join([*v.reasons, *v.notes])}" for v in rec.verdicts
                  if v.candidate is not rec.best and v.reasons]
        lines.append(f"Pareto frontier over {', '.join(rec.frontier_axes) or 'nothing measured'}: "
                     + ", ".join(x.label for x in rec.frontier))
        if rec.quality_frontier:
            lines.append("Pareto frontier over latency, memory, quality (models scored with real weights): "
                         + ", ".join(x.label for x in rec.quality_frontier))
    return lines + [f"note: {n}" for n in c.notes]


def _group_labels(scored: list[Scored], groups: list[tuple]) -> dict[tuple, str]:
    """'accuracy, fine-foods:test (400 rows), probe[, onnx-int8]'; groups that would read the same get the settings
    they differ in ("epochs 3, train big.jsonl"), else their rows' hash."""
    first = {s.group: s.records[0] for s in reversed(scored)}
    labels = {}
    for g in groups:
        task, metric, rows, mode, backend, _ = g
        r = first[g]
        labels[g] = f"{metric.replace('_', ' ')}, {data_name(r)} ({n_rows(r)} rows), {mode}" + (f", {backend}" if backend != EAGER else "")
    for same in alike(groups, labels.get):
        for g, apart in zip(same, told_apart([g[5] for g in same])):
            labels[g] += f", {apart}" if apart else ""
    return {g: labels[g] + (f", rows {str(g[2][1])[:8]}" if len(same) > 1 else "")
            for same in alike(groups, labels.get) for g in same}



def _fmt_scored(s: Scored) -> str:
    v = s.value
    text = (f"{v.value:.1f}%" + (f" [{v.low:.1f}, {v.high:.1f}]" if v.low is not None else "")) if v.unit == "%" else v.fmt(3)
    extra = []
    if len(s.records) > 1:
        values = [r.metrics[s.metric].value for r in s.records]
        extra.append(f"mean of {len(values)} seeds, {number(min(values))}-{number(max(values))}")
    cut = max(r.details.get("truncated_rows") or 0 for r in s.records)
    if cut:
        extra.append(f"{cut} of {n_rows(s.records[0])} rows cut at {s.records[0].details.get('text_tokens', '?')} tokens")
    agree = s.agreement()
    if agree is not None:
        # A probe is refit on each backend's embeddings: its agreement mixes the backend's effect with a second fit's.
        extra.append(f"agrees with eager {agree:.1f}%" + (", each probe fit on its own backend's embeddings" if s.mode == "probe" else ""))
    return text + (f" ({'; '.join(extra)})" if extra else "")



def _fmt_retained(s: Scored) -> str:
    r = s.retained
    if r.method == NOT_MEANINGFUL:
        return f"not meaningful (the {s.against()} score's interval reaches 0)"
    return (f"{r.value:.1%} [{r.low:.1%}, {r.high:.1%}]" if r.low is not None else f"{r.value:.1%}") + f" of {s.against()}" + \
        (f", McNemar p = {s.retained_p:.2g}" if s.retained_p is not None else "")


def _memory_text(r: Record) -> str:
    """'898 MB (451 process + 447 model)': the peak, split so the model's own working set (what the memory
    ratio and C6 compare) is visible beside the interpreter's baseline every process pays."""
    peak, base, own = (r.metrics.get(k) for k in ("peak_rss_mb", "baseline_rss_mb", "model_memory_mb"))
    if peak is None or base is None or own is None:
        return f"{memory_of(r).value:,.0f} MB"
    return f"{peak.value:,.0f} MB ({base.value:,.0f} process + {own.value:,.0f} model)"
