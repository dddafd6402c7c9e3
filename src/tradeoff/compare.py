"""The main job: put models side by side on anatomy, speed, memory and quality, check the
published claims, and recommend — every figure backed by a record in the store.

compare() measures what the store lacks (bench, eval), then builds a Comparison from the store
alone; report and recommend read that Comparison.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tradeoff import claims as claims_mod
from tradeoff.anatomy import Anatomy, inspect_ref
from tradeoff.decide import Candidate, Recommendation, recommend, use_cases
from tradeoff.models import parse_ref
from tradeoff.record import Metric, Record

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
                for label in ("latency p50", "latency p95", "throughput", "peak memory", "speed-up vs baseline"):
                    put(label, m, "not measured")
            else:
                tag = " (estimate)" if c.weights == "estimate" else ""
                p50, p95, thr = (self._metric(m, c.backend, k) for k in ("latency_p50_ms", "latency_p95_ms", "throughput_per_s"))
                put("latency p50", m, (p50.fmt(3) if p50 else f"{c.latency_ms:.3g} ms") + f" [{c.backend}]{tag}")
                put("latency p95", m, p95.fmt(3) if p95 else "-")
                put("throughput", m, thr.fmt(3) if thr else "-")
                put("peak memory", m, f"{c.memory_mb:,.0f} MB{tag}" if c.memory_mb else "-")
                sp = self._speedup(m)
                put("speed-up vs baseline", m, "baseline" if m == self.baseline else (f"{sp.value:.2f}x [{sp.low:.2f}, {sp.high:.2f}]" if sp and sp.low is not None else "-"))
            q = self._quality(m)
            put(self.quality_name, m, q.fmt(3) if q else "not measured (no real weights here)" if self._weights(m) != "pretrained" else "not measured")
            r = self._retained(m)
            put("performance retained", m, f"{r.value:.1%} [{r.low:.1%}, {r.high:.1%}]" if r and r.low is not None else ("baseline" if m == self.quality_baseline else "-"))
            put("best use case", m, uses.get(m, "-"))
        return ["", *self.models], list(rows.values())

    def recommendation_lines(self) -> list[str]:
        rec = self.recommendation
        if rec is None:
            return ["nothing measured for speed or quality yet: run `tradeoff compare` with benchmarks to get a recommendation"]
        lines = [rec.summary()]
        lines += [f"{v.candidate.label}: {'; '.join(v.reasons)}" for v in rec.verdicts if v.candidate is not rec.best and v.reasons]
        lines.append(f"Pareto frontier over {', '.join(rec.frontier_axes) or 'nothing measured'}: " + ", ".join(c.label for c in rec.frontier))
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

    def _quality(self, model: str) -> Metric | None:
        for r in self._records("eval", model):
            return r.metrics.get(r.details.get("primary_metric", "accuracy"))
        return None

    def _retained(self, model: str) -> Metric | None:
        for r in self._records("eval", model):
            if "retained" in r.metrics:
                return r.metrics["retained"]
        return None

    def _weights(self, model: str) -> str:
        return next((r.weights for r in self._records("eval", model)), "random")


def candidates_from(records: list[Record], anatomy: dict[str, Anatomy], quality_baseline: str | None) -> list[Candidate]:
    """One candidate per (model, backend) with a latency; quality and retained come from eval records."""
    quality: dict[str, tuple[float, float | None]] = {}
    for r in records:
        if r.kind == "eval" and r.status == "ok" and r.weights == "pretrained":
            primary = r.metrics.get(r.details.get("primary_metric", "accuracy"))
            retained = r.metrics.get("retained")
            if primary is not None:
                quality[r.model] = (primary.value, retained.value if retained else (1.0 if r.model == quality_baseline else None))
    out = []
    for r in records:
        if r.kind != "bench" or r.status != "ok" or "latency_p50_ms" not in r.metrics or r.cell.get("baseline"):
            continue
        q, ret = quality.get(r.model, (None, None))
        mem = r.metrics.get("peak_rss_mb") or r.metrics.get("weight_mb")
        out.append(Candidate(model=r.model, backend=r.cell.get("backend", "?"), latency_ms=r.metrics["latency_p50_ms"].value,
                             memory_mb=mem.value if mem else None, quality=q, retained=ret,
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
    cands = candidates_from(records, anatomy, quality_baseline)
    evidence = claims_mod.Evidence(anatomy=anatomy)
    for r in records:
        if r.kind == "bench" and r.status == "ok" and r.cell.get("baseline"):
            where = f"{r.cell.get('backend')}, {r.cell.get('batch')}x{r.cell.get('seq_len')}, {r.env.get('cpu', 'CPU')} ({r.weights} weights)"
            for q in ("speedup", "memory_ratio"):
                if q in r.metrics:
                    evidence.add(q, r.model, r.cell["baseline"], r.metrics[q], where)
        if r.kind == "eval" and r.status == "ok" and "retained" in r.metrics and r.details.get("baseline"):
            evidence.add("retained", r.model, r.details["baseline"], r.metrics["retained"],
                         f"{r.cell.get('task', '?')} on {r.details.get('data_name', r.cell.get('data', '?'))}")
    for m in models:
        if anatomy[m].role == "encoder":
            evidence.missing[("retained", m, "bert-base-uncased")] = (
                "needs real bert-base-uncased and distilbert weights, which are not available offline here (random weights get no accuracy)")
    samples = {}
    for r in records:
        if r.kind == "bench" and r.status == "ok" and r.details.get("samples_ms") and not r.cell.get("baseline"):
            samples[f"{r.model} [{r.cell.get('backend')}, {r.cell.get('batch')}x{r.cell.get('seq_len')}]"] = r.details["samples_ms"]
    qname = next((r.details.get("primary_metric", "accuracy") for r in records if r.kind == "eval" and r.status == "ok"), "quality")
    data_name = next((r.details.get("data_name") for r in records if r.kind == "eval" and r.status == "ok" and r.details.get("data_name")), None)
    env = next((r.env for r in records if r.kind == "bench" and r.env), {})
    return Comparison(
        title=title or " vs ".join(models), baseline=baseline, models=models, anatomy=anatomy, records=records,
        candidates=cands, claims=claims_mod.check_all(models, evidence),
        recommendation=recommend(cands, **(constraints or {})) if cands else None,
        quality_name=f"{qname} ({data_name})" if data_name else qname, quality_baseline=quality_baseline,
        latency_samples=samples, store_path=store_path, tool_version=__version__, env=env)
