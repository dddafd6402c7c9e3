"""`bench`: a grid of models x backends x devices x shapes, checked up front and laid out as groups.

A group is one backend on one device for one workload, with all its models and shapes; as a unit
of work (`GroupWork`, run by tradeoff.planner) it runs by default in its own child process
(isolate.py). Inside a group the models are timed interleaved, which is where the paired
speed-ups against the baseline come from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, ClassVar

from tradeoff.bench import spec, timing
from tradeoff.bench.runner import run_group
from tradeoff.bench.spec import Group
from tradeoff.bench.source import Source
from tradeoff.errors import BadInput
from tradeoff.record import Metric, Record, number


@dataclass
class Plan:
    groups: list[Group]
    baseline: str  # model name

    @property
    def cells(self) -> int:
        return sum(len(g.expected()) for g in self.groups)


@dataclass(frozen=True)
class GroupWork:
    """A bench group as one unit of work (tradeoff.cells.Work): its models are timed together, so it leaves one
    record per model and cell, and a paired ratio against the baseline wherever both timings are ok."""

    group: Group
    isolate: bool = True  # in a clean child process of its own, so memory figures start from nothing
    on_status: Callable[[str], None] | None = field(default=None, compare=False, repr=False)
    kind: ClassVar[str] = "bench"

    @property
    def isolated(self) -> bool:
        return self.isolate

    @property
    def cpus(self) -> float:
        return float(self.group.threads)

    @property
    def gpus(self) -> float:
        return 0.0 if self.group.device == "cpu" else 1.0

    @cached_property
    def names(self) -> dict[str, str]:
        """Each model ref -> the name its records carry."""
        return {m: Source(m).name for m in self.group.models}

    def refs(self) -> dict[str, str]:
        return {name: m for m, name in self.names.items()}

    def _key(self, name: str, cell: dict) -> str:
        return Record(kind="bench", model=name, weights=self.group.weights, cell=cell).key

    def keys(self) -> list[str]:
        return [self._key(self.names[m], c) for m, c in self.group.expected()]

    def derived(self) -> list[tuple[str, list[str]]]:
        if not self.group.baseline:
            return []
        base = self.names[self.group.baseline]
        return [(self._key(self.names[m], {**c, "baseline": base}), [self._key(base, c), self._key(self.names[m], c)])
                for m, c in self.group.expected() if m != self.group.baseline]

    def label(self) -> str:
        g = self.group
        return f"bench {g.backend} on {g.device}: {', '.join(self.names.values())} x {len(g.cells)} cell(s)"

    def run(self, emit: Callable[[Record], None]) -> None:
        status = self.on_status or (lambda _: None)
        if self.isolate:
            from tradeoff.bench.isolate import run_isolated

            run_isolated(self.group, emit, status)
        else:
            run_group(self.group, emit, status)

    def stand_ins(self, status: str, message: str, env: dict) -> list[Record]:
        from tradeoff.bench.isolate import stand_ins

        return stand_ins(self.group, status, message, env)


def plan(models: list[str], grid: spec.Grid = spec.Grid(), baseline: str | None = None,
         settings: spec.Settings | None = None) -> Plan:
    """Check everything the user asked for and lay out the groups; no model is loaded."""
    settings = (settings or spec.Settings()).check()
    if not models:
        raise BadInput("no models given", "name at least one model, e.g. `tradeoff bench bert-base-uncased distilbert`")
    weights = grid.weights
    backends = spec.parse_list(grid.backend, spec.BACKENDS, "backend")
    devices = spec.parse_list(grid.device, spec.DEVICES, "device")
    check_runnable(backends, devices)
    shapes = spec.parse_shapes(grid.shape)
    chosen = spec.parse_list(grid.workload, spec.WORKLOADS, "workload") if grid.workload else None
    sources: dict[str, Source] = {}
    for ref in [*models, *([baseline] if baseline else [])]:
        source = Source(ref, weights, settings.seed)
        source.role  # parses the ref and config: bad refs fail here, before any work
        sources.setdefault(source.name, source)
    base = Source(baseline).name if baseline else next(iter(sources))
    for source in sources.values():
        limit = source.max_positions()
        for w in chosen or [default_workload(source.role)]:
            extra = {"generate": settings.new_tokens, "server": settings.output_tokens}.get(w, 0) if source.role == "decoder" else 0
            if w == "server" and source.role == "decoder" and not getattr(source.config, "use_cache", True):
                raise BadInput(f"{source.name} has no KV cache (use_cache is off in its config): it cannot be served token by token",
                               "turn use_cache on in the model's config, or time it with --workload generate")
            for _, seq in shapes:
                spec.check_seq_len(source.name, seq, limit, extra)
    if chosen and set(spec.TEXT_WORKLOADS) & set(chosen):
        from tradeoff.bench.workloads import read_texts

        read_texts(settings.dataset, 1)  # a missing or unreadable data set is bad input, found now
    if weights == "pretrained":
        from tradeoff.models.weights import require_weights

        for source in sources.values():
            require_weights(source.ref)
    threads = settings.threads or spec.default_threads()
    groups = []
    for device in devices:
        for backend in backends:
            for workload in chosen or dict.fromkeys(default_workload(s.role) for s in sources.values()):
                members = [s for s in sources.values() if chosen or default_workload(s.role) == workload]
                # served encoders and decoders are judged on different bounds (p99; TTFT and TPOT): a group each
                roles = dict.fromkeys(s.role == "decoder" for s in members) if workload == "server" else [None]
                for decoders in roles:
                    them = [s for s in members if decoders is None or (s.role == "decoder") == decoders]
                    sizes = batch_sizes(workload, shapes, settings)
                    axes = extra_axes(workload, settings, bool(decoders))
                    cells = [spec.Cell(backend, device, workload, b, s, threads, axes).as_dict() for b, s in sizes]
                    base_ref = next((s.ref_text for s in them if s.name == base), None)
                    groups.append(Group(models=[s.ref_text for s in them], backend=backend, device=device, cells=cells,
                                        weights=weights, baseline=base_ref, threads=threads, settings=settings.as_dict()))
    return Plan(groups, base)


def check_runnable(backends: list[str], devices: list[str]) -> None:
    """A backend or device this machine cannot run is bad input here (a study records it as skipped instead)."""
    from tradeoff.bench.backends import get

    for device in devices:
        for backend in backends:
            why = get(backend).unavailable(device)
            if why:
                raise BadInput(why, f"leave {backend} on {device} out of --backend/--device on this machine")


def default_workload(role: str) -> str:
    return "generate" if role == "decoder" else "fixed"


def batch_sizes(workload: str, shapes: list[tuple[int, int]], settings: spec.Settings) -> list[tuple[int, int]]:
    """The (batch, seq) cells of a workload: the shape's batch, except under LoadGen, where the batch is the
    batcher's limit (server, offline) or one query at a time (single-stream) and the shape gives only SEQ."""
    batch = {"server": settings.max_batch, "offline": settings.max_batch, "single-stream": 1}.get(workload)
    return list(dict.fromkeys((batch, s) for _, s in shapes)) if batch else shapes


def extra_axes(workload: str, settings: spec.Settings, decoders: bool = False) -> dict:
    if workload == "generate":
        return {"new_tokens": settings.new_tokens}
    if workload == "real":
        return {"dataset": settings.dataset, "padding": settings.padding, "samples": settings.samples}
    if workload in spec.SCENARIOS:
        return {"dataset": settings.dataset}
    if workload == "server":
        bounds = ({k: getattr(settings, k) for k in spec.TOKEN_KEYS} if decoders else {"p99_ms": settings.p99_ms})
        axes = {"dataset": settings.dataset, **bounds, "max_wait_ms": settings.max_wait_ms}
        return {**axes, "qps": settings.qps} if settings.qps is not None else axes
    return {}


@dataclass
class BenchResult:
    records: list[Record]
    baseline: str
    notes: list[str] = field(default_factory=list)

    @property
    def cells(self) -> list[Record]:
        return [r for r in self.records if "baseline" not in r.cell]

    @property
    def speedups(self) -> list[Record]:
        return [r for r in self.records if "baseline" in r.cell]

    def as_json(self) -> dict:
        return {"baseline": self.baseline, "records": [r.model_dump(mode="json") for r in self.records]}

    def table(self) -> tuple[list[str], list[dict]]:
        gen = any(r.cell.get("workload") == "generate" for r in self.cells)
        scenario = any(r.cell.get("workload") in spec.SCENARIOS for r in self.cells)
        columns = ["model", "backend", "device", "shape", "workload", "p50", "p90", "p99", "throughput",
                   *(["TTFT p50", "decode/token p50", "decode tokens/s", "decode of bandwidth"] if gen else []),
                   *(["LoadGen"] if scenario else []),
                   "peak RSS", "baseline RSS", "model memory", "utilisation", "status", "noisy"]
        rows = []
        for r in self.cells:
            if r.cell.get("workload") == "server":
                continue
            m = r.metrics
            support = str(r.details.get("dtype_support", ""))
            backend = r.cell.get("backend") + (f" ({support.split(' (')[0]})" if r.details.get("dtype_native") is False else "")
            row = {"model": r.model, "backend": backend, "device": r.cell.get("device"),
                   "shape": f"{r.cell.get('batch')}x{r.cell.get('seq_len')}", "workload": r.cell.get("workload")}
            if r.status != "ok":
                rows.append({**row, "status": f"{r.status}: {r.error}"})
                continue
            lat = "pass" if r.cell.get("workload") == "real" else "latency"
            row.update({"p50": _fmt(m.get(f"{lat}_p50_ms")), "p90": _fmt(m.get(f"{lat}_p90_ms")), "p99": _fmt(m.get(f"{lat}_p99_ms")),
                        "throughput": _fmt(m.get("throughput_per_s"), interval=False),
                        "TTFT p50": _fmt(m.get("ttft_p50_ms")), "decode/token p50": _fmt(m.get("decode_token_p50_ms")),
                        "decode tokens/s": _fmt(m.get("decode_tokens_per_s"), interval=False),
                        "decode of bandwidth": _fraction(r, "decode_bandwidth_utilisation"),
                        "peak RSS": _fmt(m.get("peak_rss_mb"), interval=False), "baseline RSS": _fmt(m.get("baseline_rss_mb"), interval=False),
                        "model memory": _fmt(m.get("model_memory_mb"), interval=False),
                        "utilisation": _fraction(r, "utilisation"),
                        "LoadGen": r.details.get("loadgen", {}).get("verdict", "-"),
                        "status": "ok", "noisy": r.details["noise"]["short"] if r.details.get("noisy") else "no"})
            rows.append(row)
        return columns, rows

    def timing_cost(self) -> dict | None:
        """How long the timing took against the least this precision needs here: SMALL_SAMPLE interleaved rounds
        per cell (the fewest with a distribution-free 95% interval of a median) at the round cost measured in
        this run; the one-off exports beside, since no stop rule can shorten them. None when nothing was timed."""
        cells, exports = {}, {}
        for r in self.cells:
            d = r.details
            if r.status == "ok" and "round_s" in d:  # one entry per cell: its models share one timing loop
                cells[tuple(sorted((k, str(v)) for k, v in r.cell.items()))] = (d["timing_s"], d["round_s"])
            if d.get("prepare_s"):
                exports[(r.model, r.cell.get("backend"), r.cell.get("device"))] = d["prepare_s"]
        if not cells:
            return None
        took = sum(t for t, _ in cells.values())
        needed = sum(timing.SMALL_SAMPLE * r for _, r in cells.values())
        return {"timing_s": took, "needed_s": needed, "cells": len(cells), "exports_s": sum(exports.values())}

    def timing_line(self, wall_s: float | None = None) -> str | None:
        """`timing_cost` as one line, with the whole run's wall time when the caller measured it."""
        cost = self.timing_cost()
        if cost is None:
            return None
        line = (f"Timing took {cost['timing_s']:.0f} s of a needed {cost['needed_s']:.0f} s "
                f"({cost['timing_s'] / cost['needed_s']:.2f}x; needed: {timing.SMALL_SAMPLE} interleaved rounds per cell "
                f"at the round cost measured here, {cost['cells']} cells)")
        if cost["exports_s"]:
            line += f"; exports {cost['exports_s']:.0f} s"
        if wall_s is not None:
            line += f"; the whole bench {wall_s:.0f} s"
        return line + "."

    def limits_table(self) -> tuple[list[str], list[dict]]:
        """The limits utilisation was judged against, measured beside theoretical, once per device/dtype/threads."""
        columns = ["device", "limit", "threads", "measured", "theoretical", "theoretical from", "measured while"]
        rows = {}
        for r in self.cells:
            for how in (r.details.get("limits") or {}).values():
                unit = "B/s" if how.get("what") == "bandwidth" else "FLOP/s"
                key = (r.cell.get("device"), how.get("what"), r.details.get("threads"))
                load = how.get("foreign_load") or 0.0
                rows[key] = {"device": key[0], "limit": f"{how.get('what')} {'copy bandwidth' if unit == 'B/s' else 'matmul peak'}",
                             "threads": key[2], "measured": _fmt(Metric(value=how["measured"], unit=unit)),
                             "theoretical": _fmt(Metric(value=how["theoretical"], unit=unit)) if how.get("theoretical") else "-",
                             "theoretical from": how.get("theoretical_how", "-") + (
                                 "; below the measured peak, so the clock runs faster than reported"
                                 if how.get("theoretical") and how["theoretical"] < how["measured"] else ""),
                             "measured while": "quiet" if how.get("quiet") else f"busy (others used {load:.0%} of the CPUs)"}
        return columns, list(rows.values())

    def speedup_table(self) -> tuple[list[str], list[dict]]:
        columns = ["backend", "device", "shape", "workload", "model", f"speed-up vs {self.baseline}", "memory ratio", "rounds", "noisy"]
        rows = []
        for r in self.speedups:
            if "speedup" not in r.metrics:
                continue
            s = r.metrics["speedup"]
            half = (s.high - s.low) / 2 / s.value if s.low is not None else None
            rows.append({"backend": r.cell.get("backend"), "device": r.cell.get("device"), "shape": f"{r.cell.get('batch')}x{r.cell.get('seq_len')}",
                         "workload": r.cell.get("workload"), "model": r.model,
                         f"speed-up vs {self.baseline}": f"{s.value:.2f}x [{s.low:.2f}, {s.high:.2f}]" + (f" (±{half:.1%})" if half is not None else ""),
                         "memory ratio": f"{r.metrics['memory_ratio'].value:.2f}x" if "memory_ratio" in r.metrics else "-",
                         "rounds": r.details.get("rounds"), "noisy": r.details["noise"]["short"] if r.details.get("noisy") else "no"})
        return columns, rows

    def serving_table(self, decoders: bool = False) -> tuple[list[str], list[dict]]:
        """Per model and backend: the most queries/s sustained within the bound (encoders: p99 latency; decoders: TTFT
        and TPOT p99, served token by token), and the latencies there."""
        ratios = {(r.model, r.cell.get("backend"), r.cell.get("seq_len")): r.metrics["max_qps_ratio"]
                  for r in self.speedups if "max_qps_ratio" in r.metrics}
        latencies = (["TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "tokens/s"] if decoders
                     else ["p50", "p99", "late"])
        columns = ["model", "backend", "device", "max batch", *(["output tokens"] if decoders else []), "bound", "max QPS",
                   f"vs {self.baseline}", "at QPS", *latencies, "mean batch", "schedule error p99", "trials", "status"]
        rows = []
        for r in self.cells:
            if r.cell.get("workload") != "server" or ("ttft_ms" in r.cell) != decoders:
                continue
            bound = (f"TTFT {r.cell['ttft_ms']:g} / TPOT {r.cell['tpot_ms']:g} ms" if decoders else f"{r.cell.get('p99_ms'):g} ms")
            row = {"model": r.model, "backend": r.cell.get("backend"), "device": r.cell.get("device"),
                   "max batch": r.cell.get("batch"), **({"output tokens": r.cell.get("output_tokens")} if decoders else {}),
                   "bound": bound}
            if r.status != "ok":
                rows.append({**row, "status": f"{r.status}: {r.error}"})
                continue
            m, d = r.metrics, r.details
            ratio = ratios.get((r.model, r.cell.get("backend"), r.cell.get("seq_len")))
            if decoders:
                row.update({"TTFT p50": _fmt(m.get("serve_ttft_p50_ms"), interval=False), "TTFT p99": _fmt(m.get("serve_ttft_p99_ms")),
                            "TPOT p50": _fmt(m.get("serve_tpot_p50_ms"), interval=False), "TPOT p99": _fmt(m.get("serve_tpot_p99_ms")),
                            "tokens/s": _fmt(m.get("output_tokens_per_s"), interval=False)})
            else:
                row.update({"p50": _fmt(m.get("serve_p50_ms"), interval=False), "p99": _fmt(m.get("serve_p99_ms")),
                            "late": f"{m['late_fraction'].value:.1%}" if "late_fraction" in m else "-"})
            row.update({"max QPS": qps_text(m.get("max_qps")) if "qps" not in r.cell else f"fixed {r.cell['qps']:g}: "
                        + ("sustained" if d.get("sustained") else "not sustained"),
                        f"vs {self.baseline}": qps_text(ratio, "x") if ratio else "-",
                        "at QPS": number(d["quoted_at_qps"]) if d.get("quoted_at_qps") else "-",
                        "mean batch": f"{m['mean_batch'].value:.2f}" if "mean_batch" in m else "-",
                        "schedule error p99": _fmt(m.get("schedule_error_p99_ms"), interval=False),
                        "trials": len(d.get("trials", [])),
                        "status": (d.get("stop") if not d.get("trials") else "cannot sustain the lowest rate tried")
                        if d.get("cannot_sustain") else "ok"})
            rows.append(row)
        return columns, rows


def qps_text(m: Metric | None, unit: str = "") -> str:
    """A capacity (or its ratio) with its interval; an upper end the search never found is open."""
    if m is None:
        return "-"
    high = number(m.high) if m.high is not None else "?"
    low = number(m.low) if m.low is not None else "?"
    return f"{number(m.value)}{unit} [{low}, {high}]"


def _fraction(r: Record, name: str) -> str:
    """A utilisation and what it is a fraction of; when a cell beat every limit, say so instead of a number."""
    how = (r.details.get("limits") or {}).get(name, {})
    if name in r.metrics:
        return f"{r.metrics[name].value:.1%}" + (" of theoretical" if how.get("basis") == "theoretical" else "")
    return "beat the limits: n/a" if how.get("basis") == "none" else "-"


def _fmt(m: Metric | None, interval: bool = True) -> str:
    if m is None:
        return "-"
    return m.fmt(3) if interval else Metric(value=m.value, unit=m.unit).fmt(3)
