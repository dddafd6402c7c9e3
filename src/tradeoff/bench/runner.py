"""Run one group of cells: several models on one backend and device, timed together.

Models are loaded once, then for each cell (shape) they are warmed up one by one (with memory
sampled) and timed in interleaved rounds, so every model gets a record and every non-baseline
model a paired speed-up record against the baseline. Failures become records; nothing raises
except bad input.
"""
from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import replace
from typing import Callable

import numpy as np
import psutil

from tradeoff.bench import backends as backends_mod
from tradeoff.bench import hardware, paired, timing, workloads
from tradeoff.bench.memory import PeakRss, disk_bytes, trim_heap
from tradeoff.bench.source import Source
from tradeoff.bench.spec import SCENARIOS, TOKEN_KEYS, Cell, Group, Settings, threads_problem
from tradeoff.env import environment
from tradeoff.errors import failure
from tradeoff.record import Metric, Record

MB = 1e6


def pin_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already ran in this process
        pass


def _failure_in(where: str, e: BaseException) -> tuple[str, str]:
    """(status, message) of a step an exception stopped, `where` naming the step (errors.failure: oom or error)."""
    status, why = failure(e)
    return status, f"{where}: {why}"


def prepare_group(group: Group, on_result: Callable[[dict], None], on_status: Callable[[str], None] = lambda _: None) -> None:
    """The one-off exports and quantizations of `group`'s models (run in a child by `isolate.prepare_in_child`):
    one result per model, with this process's id and peak RSS so far (the export's memory, kept apart)."""
    import resource

    settings = Settings(**group.settings)
    backend = backends_mod.get(group.backend)
    pin_threads(group.threads)
    for m in group.models:
        t0 = time.perf_counter()
        try:
            backend.prepare(Source(m, group.weights, settings.seed), status=lambda s: on_status(f"{group.backend}: {s}"))
            result = {"status": "ok"}
        except backends_mod.CannotRun as e:
            result = {"status": "skipped", "error": str(e)}
        except Exception as e:
            status, error = _failure_in(f"preparing for {group.backend}", e)
            result = {"status": status, "error": error}
        on_result({"model": m, **result, "seconds": time.perf_counter() - t0, "pid": os.getpid(),
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB})  # ru_maxrss: KiB on Linux


def run_group(group: Group, on_record: Callable[[Record], None], on_status: Callable[[str], None] = lambda _: None) -> None:
    """Time `group`'s models together, cell by cell, in the steps of `GroupRun`; failures become records."""
    settings = Settings(**group.settings)
    backend = backends_mod.get(group.backend)
    reason = backend.unavailable(group.device) or threads_problem(group.threads)
    if not reason:
        pin_threads(group.threads)  # before the environment is read: it records the threads
    run = GroupRun(group, settings, backend, on_record, on_status)
    if reason:
        for m, c in group.expected():
            on_record(run.record(m, c, "skipped", reason))
        return
    run.measure_limits()
    run.skip_unsupported()
    run.prepare()
    run.load()
    for cell_dict in group.cells:
        cell = Cell.from_dict(cell_dict)
        step = run.serve if cell.workload == "server" else run.scenario if cell.workload in SCENARIOS else run.time_cell
        step(cell_dict, cell)
        trim_heap()


class GroupRun:
    """One group's models on one backend and device, run step by step. Each step drops the models it cannot take,
    with a record per cell saying why, so every (model, cell) the group expects gets one record."""

    def __init__(self, group: Group, settings: Settings, backend, on_record: Callable[[Record], None],
                 on_status: Callable[[str], None]):
        self.group, self.settings, self.backend, self.on_record, self.on_status = group, settings, backend, on_record, on_status
        self.env = environment()
        self.sources = {m: Source(m, group.weights, self.settings.seed) for m in group.models}  # the models still in
        self.prepared: dict[str, dict] = {}  # model -> its export's result (pid, seconds, peak RSS)
        self.loaded: dict[str, tuple] = {}  # model -> (loaded model, load memory, load seconds)
        self.base_rss = 0

    def record(self, model: str, cell: dict, status: str = "ok", error: str | None = None, **kw) -> Record:
        return Record(kind="bench", model=self.sources[model].name, weights=self.group.weights, cell=cell, env=self.env,
                      status=status, error=error, **kw)

    def label(self, cell: Cell) -> str:
        """'eager 1x128 fixed': how status lines name a cell."""
        return f"{self.group.backend} {cell.batch}x{cell.seq_len} {cell.workload}"

    def drop(self, model: str, status: str, error: str) -> None:
        """`model` leaves the group: one record per cell saying why."""
        for c in self.group.cells:
            self.on_record(self.record(model, c, status, error))
        del self.sources[model]

    def measure_limits(self) -> None:
        """The hardware limits cells are judged against, measured (or read from the cache) before any memory figure is
        taken, so their own memory is not counted; LoadGen's cells report no utilisation."""
        group = self.group
        self.native, self.support = hardware.dtype_support(self.backend.dtype, group.device)
        self.limits = Limits(group.device, self.backend.dtype, group.threads)
        if self.limits.has_peak and any(c.get("workload") not in ("server", *SCENARIOS) for c in group.cells):
            self.on_status(f"{group.backend}: measuring peak matmul FLOP/s")
            self.limits.peak()
        if any(c.get("workload") == "generate" for c in group.cells):
            self.on_status(f"{group.backend}: measuring memory bandwidth")
            self.limits.bandwidth()

    def skip_unsupported(self) -> None:
        """Models this backend can time in none of the cells leave before any export or load, which would be wasted."""
        for m, source in list(self.sources.items()):
            reasons = [workloads.unsupported(self.backend, source, c) for c in self.group.cells]
            if all(reasons):
                for c, why in zip(self.group.cells, reasons):
                    self.on_record(self.record(m, c, "skipped", why))
                del self.sources[m]

    def prepare(self) -> None:
        """Code imports and the meta-device anatomy first, then exports and quantizations in a child process, so that
        this process's memory is what serving costs."""
        where = f"preparing for {self.group.backend}"
        for m, source in list(self.sources.items()):
            try:
                source.flops_model
            except Exception as e:
                self.drop(m, *_failure_in(where, e))
        needing = [m for m, source in self.sources.items() if self.backend.needs_prepare(source)]
        if needing:
            from tradeoff.bench.isolate import prepare_in_child

            self.prepared = prepare_in_child(replace(self.group, models=needing), self.on_status)
            for m, result in self.prepared.items():
                if result["status"] != "ok":
                    self.drop(m, result["status"], result["error"])

    def load(self) -> None:
        """Each model loaded once for every cell, from a trimmed heap, so its load memory and time are its own."""
        backend = self.group.backend
        trim_heap()
        self.base_rss = psutil.Process().memory_info().rss
        for m in list(self.sources):
            self.on_status(f"{backend}: loading {m}")
            try:
                with PeakRss(device=self.group.device) as mem:
                    t0 = time.perf_counter()
                    model = self.backend.load(self.sources[m], self.group.device, self.group.threads,
                                              status=lambda s: self.on_status(f"{backend}: {s}"))
                    load_s = time.perf_counter() - t0
                self.loaded[m] = (model, mem, load_s)
            except backends_mod.CannotRun as e:
                self.drop(m, "skipped", str(e))
            except Exception as e:
                self.drop(m, *_failure_in(f"loading for {backend}", e))

    def serve(self, cell_dict: dict, cell: Cell) -> None:
        """A server cell: the capacity search of every loaded model that can serve it (`serve_cell`)."""
        label = self.label(cell)
        servable = {m: v for m, v in self.loaded.items() if not workloads.unsupported(self.backend, self.sources[m], cell_dict)}
        serve_cell(cell_dict, servable, self.sources, self.group, self.settings, self.base_rss, self.prepared, self.record,
                   self.on_record, lambda s: self.on_status(f"{label}: {s}"))

    def scenario(self, cell_dict: dict, cell: Cell) -> None:
        """A single-stream or offline cell: each model in a LoadGen run of its own (LoadGen drives one system at a
        time, so no paired speed-up comes from here): latencies or throughput beside LoadGen's verdict."""
        from tradeoff.bench import loadgen, serving

        label, s = self.label(cell), self.settings
        for m, (model, load_mem, load_s) in self.loaded.items():
            if why := workloads.unsupported(self.backend, self.sources[m], cell_dict):
                self.on_record(self.record(m, cell_dict, "skipped", why))
                continue
            try:
                srv = workloads.server(model, self.sources[m], cell.as_dict(), s.seed, self.group.device)
                self.on_status(f"{label}: warming up {m}")
                with PeakRss(device=self.group.device) as mem:
                    batch_s = srv.service_s(cell.batch)
                    seed = serving.trial_seed(s.seed, m, 0)
                    self.on_status(f"{label}: {m} under LoadGen")
                    if cell.workload == "single-stream":
                        run = loadgen.single_stream_run(srv.for_trial(seed), s.min_queries, s.min_duration_s, seed,
                                                        samples=len(srv.lengths))
                        metrics = loadgen.single_stream_metrics(run)
                    else:  # LoadGen sizes the run from a guess of the throughput: full batches back to back
                        run = loadgen.offline_run(srv.for_trial(seed), s.min_queries, cell.batch, s.min_duration_s,
                                                  cell.batch / batch_s, seed, samples=len(srv.lengths))
                        metrics = loadgen.offline_metrics(run)
            except Exception as e:
                self.on_record(self.record(m, cell_dict, *_failure_in(cell.workload, e)))
                continue
            metrics.update(memory_metrics(model, load_mem, load_s, mem, self.base_rss, self.sources[m], self.prepared.get(m)))
            self.on_record(self.record(m, cell_dict, metrics=metrics, details={
                **srv.details, **model.details, "seed": seed, "log_dir": run.log_dir, "loadgen": run.loadgen,
                "threads": self.group.threads, "dtype": model.dtype, "memory": "peak while warming up and under LoadGen",
                "how": SCENARIO_HOW[cell.workload]}))

    def time_cell(self, cell_dict: dict, cell: Cell) -> None:
        """A fixed, real or generate cell: first calls, then every model timed in the same interleaved rounds (so they
        share the machine's noise), one record each, then the paired ratios against the baseline."""
        label = self.label(cell)
        called = self.first_calls(cell_dict, cell, label)
        if not called:
            return
        self.on_status(f"{label}: timing {', '.join(called)}")
        baseline = self.group.baseline if self.group.baseline in called else None
        run = self.time(cell_dict, called, baseline)
        if run is None:
            return
        footprint = self.timed_records(cell_dict, label, called, run)
        if baseline is not None:
            self.ratios(cell_dict, run, baseline, footprint)

    def first_calls(self, cell_dict: dict, cell: Cell, label: str) -> dict[str, tuple]:
        """model -> (its work, first-call memory, first-call seconds): the work built and called once with memory
        sampled, so a model that cannot take the cell leaves it with a record before any timing."""
        called = {}
        for m, (model, _, _) in self.loaded.items():
            source = self.sources[m]
            try:
                why = workloads.unsupported(self.backend, source, cell_dict)
                if why:
                    raise workloads.Unsupported(why)
                work = workloads.BUILDERS[cell.workload](model, source, cell.as_dict(), self.settings.seed)
            except workloads.Unsupported as e:
                self.on_record(self.record(m, cell_dict, "skipped", str(e)))
                continue
            except Exception as e:
                self.on_record(self.record(m, cell_dict, *_failure_in(f"building the {cell.workload} work", e)))
                continue
            self.on_status(f"{label}: first call of {m}")
            try:
                with PeakRss(device=self.group.device) as mem:
                    t0 = time.perf_counter()
                    work.call()
                    seconds = time.perf_counter() - t0
            except Exception as e:
                self.on_record(self.record(m, cell_dict, *_failure_in("first call", e)))
                trim_heap()
                continue
            called[m] = (work, mem, seconds)
        return called

    def time(self, cell_dict: dict, called: dict[str, tuple], baseline: str | None) -> timing.Run | None:
        """Interleaved rounds until the intervals are tight or the budget is spent; a failure fails every model in it."""
        s = self.settings
        try:
            return timing.measure({m: work.call for m, (work, _, _) in called.items()}, device=self.group.device,
                                  budget_s=s.budget_s, target=s.target, min_rounds=s.min_rounds, max_rounds=s.max_rounds,
                                  warmup_s={m: max(0.0, s.warmup_s - first) for m, (_, _, first) in called.items()},
                                  min_warmup=0, baseline=baseline)  # the first call was the first warm-up call
        except Exception as e:
            for m in called:
                self.on_record(self.record(m, cell_dict, *_failure_in("timing", e)))
            return None

    def timed_records(self, cell_dict: dict, label: str, called: dict[str, tuple], run: timing.Run) -> dict[str, float]:
        """Each model's record of the cell: latency, throughput and utilisation from its rounds, memory as served;
        returns each model's own working set (MB), which the memory ratios compare."""
        footprint = {}
        for m, (work, first_mem, first_s) in called.items():
            model, load_mem, load_s = self.loaded[m]
            metrics = work.summarize(run.seconds[m], run.extras[m])
            how = self.limits.apply(metrics, lambda text: self.on_status(f"{label}: {text}"))
            metrics.update(memory_metrics(model, load_mem, load_s, first_mem, self.base_rss, self.sources[m], self.prepared.get(m)))
            footprint[m] = metrics["model_memory_mb"].value
            noise = timing.noise(run.seconds[m], run, self.settings.target)
            export = self.prepared.get(m)
            self.on_record(self.record(m, cell_dict, metrics=metrics, details={
                **work.details, "samples_ms": [round(s * 1e3, 4) for s in run.seconds[m]], "rounds": len(run.seconds[m]),
                "stop": run.stop_reason, "warmup_calls": run.warmup_calls[m], "noisy": noise["noisy"], "noise": noise,
                "timing_s": run.warmup_s + run.elapsed_s, "round_s": run.round_s,
                "interval": timing.interval_how(len(run.seconds[m])), "rounds_how": run.how,
                "attention": model.attention, "dtype": model.dtype, "dtype_native": self.native, "dtype_support": self.support,
                "threads": self.group.threads, "paired_with": [o for o in called if o != m], "limits": how,
                "pid": os.getpid(), "export_pid": export["pid"] if export else None, "prepare_s": export["seconds"] if export else None,
                "first_call_s": first_s, **model.details}))  # first call: includes torch.compile's compile time
        return footprint

    def ratios(self, cell_dict: dict, run: timing.Run, baseline: str, footprint: dict[str, float]) -> None:
        """Each other model's paired speed-up and memory ratio against the baseline, from the same rounds: machine
        noise shared by both cancels in the ratio."""
        for m, ratio in paired.speedups(run.seconds, baseline).items():
            metrics = {"speedup": ratio}
            if footprint.get(baseline):
                metrics["memory_ratio"] = Metric(value=footprint[m] / footprint[baseline], unit="x")
            ratios = [b / x for b, x in zip(run.seconds[baseline], run.seconds[m])]
            noise = timing.noise(ratios, run, self.settings.target)
            self.on_record(Record(kind="bench", model=self.sources[m].name, weights=self.group.weights, env=self.env,
                                  cell={**cell_dict, "baseline": self.sources[baseline].name}, metrics=metrics,
                                  details={"rounds": len(run.seconds[m]), "stop": run.stop_reason, "rounds_how": run.how,
                                           "timing_s": run.warmup_s + run.elapsed_s, "round_s": run.round_s,
                                           "ratio_halfwidth": noise["median_halfwidth"],
                                           "noisy": noise["noisy"], "noise": noise,
                                           "how": "median over interleaved rounds of baseline time / model time; interval: "
                                                  + timing.interval_how(len(run.seconds[m])),
                                           "memory_ratio_how": "served working sets: peak RSS while running minus the process baseline"}))


def serve_cell(cell: dict, loaded: dict, sources: dict, group: Group, settings: Settings, base_rss: int, prepared: dict,
               record: Callable[..., Record], on_record: Callable[[Record], None], on_status: Callable[[str], None]) -> None:
    """Serving capacity of every loaded model in one server cell: the most queries/s sustained within the bound
    (encoders: p99 latency; decoders: TTFT and TPOT p99), or one trial at the cell's fixed rate, searched with the
    models taking turns trial by trial."""
    from tradeoff.bench import decode_serving, serving

    asked = Cell.from_dict(cell).as_dict()  # with the defaults a study cell may leave out; records keep `cell` verbatim
    max_wait_s, fixed, max_batch = asked["max_wait_ms"] / 1e3, asked.get("qps"), asked["batch"]
    tokens = {k: asked.get(k, getattr(Settings, k)) for k in TOKEN_KEYS}
    ttft_s, tpot_s = tokens["ttft_ms"] / 1e3, tokens["tpot_ms"] / 1e3
    servers, mems, single, full, bounds = {}, {}, {}, {}, {}
    for m, (model, _, _) in loaded.items():
        decoder = sources[m].role == "decoder"
        try:
            srv = (workloads.token_server(model, sources[m], {**asked, **tokens}, settings.seed) if decoder
                   else workloads.server(model, sources[m], asked, settings.seed, group.device))
            on_status(f"warming up {m}")
            with PeakRss(device=group.device) as mem:
                full[m] = srv.timed(max_batch)[0]
                single[m] = srv.timed(1)  # (request alone, its first tokens)
        except Exception as e:
            on_record(record(m, cell, *_failure_in("server", e)))
            continue
        servers[m], mems[m] = srv, mem
        bounds[m] = (ttft_s, tpot_s) if decoder else asked["p99_ms"] / 1e3  # the search's bound: TTFT for decoders

    def search_bound(m) -> float:
        return bounds[m][0] if servers[m].tokens else bounds[m]

    def abort_s(m) -> float:  # a request this old means the queue is running away
        return max(10 * search_bound(m), 1.0)

    def runner(m, srv):
        trials = itertools.count()

        def run(rate: float, queries: int = 0):  # every trial its own arrivals and request order
            seed = serving.trial_seed(settings.seed, m, next(trials))
            n = max(settings.min_queries, math.ceil(rate * settings.min_duration_s), queries)
            if srv.tokens:
                return decode_serving.serve(srv.for_trial(seed), rate, n, max_batch, max_wait_s, abort_s(m), ttft_s, tpot_s,
                                            settings.min_duration_s, seed, samples=len(srv.lengths))
            return serving.serve(srv.for_trial(seed), rate, n, max_batch, max_wait_s, abort_s(m), bounds[m],
                                 settings.min_duration_s, seed, samples=len(srv.lengths))
        return run

    hopeless = {m: serving.Capacity(search_bound(m), [], why) for m in servers if (why := alone_too_slow(
        single[m], bounds[m], tokens["output_tokens"] if servers[m].tokens else None))}
    trying = {m: runner(m, s) for m, s in servers.items() if m not in hopeless}
    if fixed is not None:
        caps = {}
        for m, run in trying.items():
            on_status(f"{m}: {fixed:g} queries/s")
            caps[m] = serving.Capacity(search_bound(m), [run(fixed)], "one fixed rate")
    else:  # start at half what full batches could sustain: low rates cost the longest trials
        caps = {}
        for bound in dict.fromkeys(search_bound(m) for m in trying):  # models under one bound take turns
            same = {m: run for m, run in trying.items() if search_bound(m) == bound}
            caps.update(serving.search(same, bound, {m: 0.5 * max_batch / full[m] for m in same}, settings.serve_budget_s,
                                       on_status=on_status))
    caps.update(hopeless)
    estimates, for_ratio = {}, {}
    for m, cap in caps.items():
        model, load_mem, load_s = loaded[m]
        metrics = {"service_ms_batch1": Metric(value=single[m][0] * 1e3, unit="ms")}
        shown = cap.best() or min(cap.trials, key=lambda t: t.rate, default=None)  # latencies quoted at the capacity found
        if shown is not None:
            metrics.update(token_metrics(shown) if servers[m].tokens else latency_metrics(shown, bounds[m]))
            metrics.update({"achieved_qps": Metric(value=shown.achieved_qps, unit="queries/s"),
                            "mean_batch": Metric(value=float(np.mean(shown.batch_sizes or [0])), unit="requests")})
            if len(shown.schedule_errors):
                metrics["schedule_error_p99_ms"] = Metric(value=float(np.quantile(shown.schedule_errors, 0.99)) * 1e3, unit="ms")
        if fixed is None or m in hopeless:
            point, low, high = cap.estimate() if cap.trials else (0.0, 0.0, 0.0)
            estimates[m] = (point, low, high)
            metrics["max_qps"] = Metric(value=point, unit="queries/s", low=low, high=high, method="serving_max_qps")
            for_ratio[m] = cap.estimate(serving.RATIO_CONFIDENCE) if cap.trials else (0.0, 0.0, 0.0)
        metrics = {k: v for k, v in metrics.items() if v is not None}
        metrics.update(memory_metrics(model, load_mem, load_s, mems[m], base_rss, sources[m], prepared.get(m)))
        on_record(record(m, cell, metrics=metrics, details={
            **servers[m].details, "trials": [t.summary(search_bound(m)) for t in sorted(cap.trials, key=lambda t: t.rate)],
            "stop": cap.stop, "sustained": bool(shown and shown.sustained(search_bound(m))),
            "cannot_sustain": "max_qps" in metrics and cap.best() is None,
            "quoted_at_qps": shown.rate if shown else None, "abort_after_s": abort_s(m), "threads": group.threads,
            "dtype": model.dtype, "memory": "peak while warming up on full batches", "pid": os.getpid(), **model.details,
            "base_seed": settings.seed, "how": SERVE_TOKENS_HOW if servers[m].tokens else SERVE_HOW,
            "p99_how": SERVE_P99_HOW, "max_qps_how": SERVE_MAX_QPS_HOW}))
    base = group.baseline if group.baseline in estimates else None
    if base is None or estimates[base][0] <= 0:
        return
    for m, (p, _, _) in estimates.items():
        if m == base or p <= 0 or servers[m].tokens != servers[base].tokens:  # comparable under one bound only
            continue
        value, low, high = serving.ratio_interval(for_ratio[m], for_ratio[base])
        ratio = Metric(value=value, unit="x", low=low, high=high, method="serving_ratio")
        on_record(Record(kind="bench", model=sources[m].name, weights=group.weights, env=environment(),
                         cell={**cell, "baseline": sources[base].name}, metrics={"max_qps_ratio": ratio},
                         details={"how": SERVE_RATIO_HOW,
                                  "trials": len(caps[m].trials), "baseline_trials": len(caps[base].trials)}))


def alone_too_slow(alone: tuple[float, float], bound, output_tokens: int | None) -> str | None:
    """Why no rate can be sustained, known from one request alone (low-rate trials are the longest): it takes
    longer than the p99 bound; a decoder's first token is later than the TTFT bound, or its tokens slower than TPOT."""
    whole, first = alone
    if output_tokens is None:
        return f"one request alone takes {whole * 1e3:.0f} ms, over the {bound * 1e3:g} ms bound" if whole > bound else None
    ttft_s, tpot_s = bound
    tpot = (whole - first) / max(output_tokens - 1, 1)
    if first > ttft_s:
        return f"one request alone gets its first token after {first * 1e3:.0f} ms, over the {ttft_s * 1e3:g} ms TTFT bound"
    if output_tokens > 1 and tpot > tpot_s:
        return f"one request alone takes {tpot * 1e3:.0f} ms per output token, over the {tpot_s * 1e3:g} ms TPOT bound"
    return None


def latency_metrics(trial, bound_s: float) -> dict[str, Metric | None]:
    """An encoder trial's latencies from scheduled arrival to its batch's end, and the share over the bound."""
    from tradeoff.bench import serving

    p99, p99_low, p99_high = trial.quantile(serving.QUANTILE)
    return {"serve_p50_ms": _ms(trial.quantile(0.5)[0]), "serve_p90_ms": _ms(trial.quantile(0.9)[0]),
            "serve_p99_ms": _ms(p99, p99_low, p99_high, method="serving_p99"),
            "late_fraction": Metric(value=trial.late(bound_s) / trial.offered, unit="of requests")}


def token_metrics(trial) -> dict[str, Metric | None]:
    """A decoder trial's TTFT and TPOT p50 / p99 with their busy-period intervals, and the tokens it delivered."""
    from tradeoff.bench import serving

    out = {}
    for name, fn in (("ttft", trial.ttft_quantile), ("tpot", trial.tpot_quantile)):
        for q, label in ((0.5, "p50"), (serving.QUANTILE, "p99")):
            out[f"serve_{name}_{label}_ms"] = _ms(*fn(q), method="serving_token_quantile")
    served = np.isfinite(trial.latencies)
    out["output_tokens_per_s"] = Metric(value=float(trial.tokens[served].sum()) / trial.elapsed_s if trial.elapsed_s else 0.0,
                                        unit="tokens/s")
    return out


SERVE_HOW = ("MLPerf LoadGen's Server scenario: Poisson arrivals issued by LoadGen, each trial its own (seed per "
             "trial, from base_seed), into a dynamic batcher (max batch, max wait), latency from each request's "
             "scheduled arrival to its batch's end; a rate is sustained when LoadGen finds it VALID, its p99 is "
             "within the bound and no request waited past the abort limit (each trial keeps LoadGen's log_dir)")
SERVE_TOKENS_HOW = ("MLPerf LoadGen's Server scenario with token latencies: Poisson arrivals issued by LoadGen (seed per "
                    "trial), served in static batches (max batch, max wait) with the KV cache; TTFT from each request's "
                    "scheduled arrival to its first token (reported to LoadGen as FirstTokenComplete), TPOT as (last "
                    "token - first token) / (output tokens - 1); a rate is sustained when LoadGen finds it VALID, both "
                    "p99s are within their bounds and no request waited past the abort limit")
SCENARIO_HOW = {
    "single-stream": ("MLPerf LoadGen's SingleStream scenario: one query at a time, the next issued once the last is done, "
                      "each a text of the data set's length (seeded order) run as a batch of 1; latency from issue to end, "
                      "quantiles with order-statistic intervals (queries run alone are independent); LoadGen's p90 and its "
                      "early-stopping estimate beside them"),
    "offline": ("MLPerf LoadGen's Offline scenario: every query issued at once and served in batches of max batch, texts "
                "of the data set's lengths padded to the longest in each batch; throughput as queries over first issue to "
                "last completion (one run: a point, no interval), LoadGen's samples/s beside it"),
}
SERVE_P99_HOW = ("order-statistic interval with each busy period (from a request finding the server idle until it is "
                 "idle again) counted as one sample, since queued requests' latencies move together; an end that too "
                 "few busy periods cannot bound is unbounded")
SERVE_MAX_QPS_HOW = ("from the highest rate whose p99's upper 95% limit was within the bound to the lowest above it that "
                     "surely failed (overloaded, or its p99's lower limit over the bound); an end no trial gave is unbounded")
SERVE_RATIO_HOW = ("max_qps / the baseline's; interval from the ends of both capacities' 97.5% intervals (each trial's p99 "
                   "at 97.5%), so that by Bonferroni both hold together, and the ratio's interval, with at least 95%")


def _ms(point: float, low: float | None = None, high: float | None = None, method: str | None = None) -> Metric | None:
    """Seconds -> a Metric in ms; an infinite point (unserved requests) is no figure, an unbounded side none."""
    if not math.isfinite(point):
        return None
    side = lambda v: v * 1e3 if v is not None and math.isfinite(v) else None  # noqa: E731
    return Metric(value=point * 1e3, unit="ms", low=side(low), high=side(high),
                  method=method if side(low) is not None or side(high) is not None else None)


class Limits:
    """The hardware limits a group's cells are judged against: the matmul peak for its dtype (none for
    int8, whose kernels mix int8 and fp32 work) and, for decoding, the memory bandwidth."""

    def __init__(self, device: str, dtype: str, threads: int):
        self.device, self.dtype, self.threads = device, dtype, threads
        self.has_peak = dtype in ("fp32", "bf16")

    def peak(self, force: bool = False) -> hardware.Limit | None:
        try:  # utilisation is a bonus, never a reason to fail a cell
            return hardware.peak(self.device, self.dtype, self.threads, force=force) if self.has_peak else None
        except Exception:
            return None

    def bandwidth(self, force: bool = False) -> hardware.Limit | None:
        try:
            return hardware.bandwidth(self.device, self.threads, force=force)
        except Exception:
            return None

    # utilisation metric: (achieved metric, limit method, prefix of the limit's metrics, unit, unit of the fraction)
    KINDS = {"utilisation": ("flops_per_s", "peak", "peak_flops", "FLOP/s", "of peak"),
             "decode_bandwidth_utilisation": ("decode_bytes_per_s", "bandwidth", "bandwidth", "B/s", "of bandwidth")}

    def apply(self, metrics: dict[str, Metric], on_status: Callable[[str], None] = lambda _: None) -> dict:
        """Add `utilisation` (FLOP/s of the peak) and, for decoding, `decode_bandwidth_utilisation` (bytes
        read per token / time, of the copy bandwidth) to `metrics`, with the limits beside them; returns
        how each was found."""
        how = {}
        for name, (achieved, which, prefix, unit, of) in self.KINDS.items():
            get = getattr(self, which)
            limit = get() if achieved in metrics else None
            if limit is None:
                continue

            def again(get=get, limit=limit):
                on_status(f"a cell beat the measured {limit.what} limit: measuring it again")
                return get(force=True) or limit

            value, found = hardware.utilisation(metrics[achieved].value, limit, again)
            limit = get() or limit  # the re-measured one, if it was
            if value is not None:
                metrics[name] = Metric(value=value, unit=of)
            metrics[f"{prefix}_measured"] = Metric(value=limit.measured, unit=unit)
            if limit.theoretical:
                metrics[f"{prefix}_theoretical"] = Metric(value=limit.theoretical, unit=unit)
            how[name] = {**found, **limit.as_details()}
        return how


def memory_metrics(model, load_mem: PeakRss, load_s: float, run_mem: PeakRss, base_rss: int, source: Source,
                   export: dict | None = None) -> dict[str, Metric]:
    """Memory of one model in one cell, as served: this process never exported or quantized (that
    ran in a child, whose peak is `export_peak_rss_mb`). `baseline_rss_mb` is the process before any
    model (interpreter and libraries); `loaded_rss_mb` what it holds after loading; `peak_rss_mb` the
    peak while running; `model_memory_mb` the model's working set above the baseline. Several models
    may share the process (paired timing), so each figure is the baseline plus this model's own deltas:
    what a process serving only this model would reach. `load_peak_rss_mb` is the transient while loading."""
    own = load_mem.kept + run_mem.delta
    m = {"load_time_s": Metric(value=load_s, unit="s"),
         "baseline_rss_mb": Metric(value=base_rss / MB, unit="MB"),
         "loaded_rss_mb": Metric(value=(base_rss + load_mem.kept) / MB, unit="MB"),
         "peak_rss_mb": Metric(value=(base_rss + own) / MB, unit="MB"),
         "model_memory_mb": Metric(value=own / MB, unit="MB"),
         "load_peak_rss_mb": Metric(value=(base_rss + load_mem.delta) / MB, unit="MB")}
    if export and export.get("peak_rss_mb"):
        m["export_peak_rss_mb"] = Metric(value=export["peak_rss_mb"], unit="MB")
    if model.param_bytes is not None:
        m["param_mb"] = Metric(value=model.param_bytes / MB, unit="MB")
    disk = disk_bytes(source.weights_path())
    if disk:
        m["weights_disk_mb"] = Metric(value=disk / MB, unit="MB")
    if model.artifact is not None and disk_bytes(model.artifact):
        m["artifact_disk_mb"] = Metric(value=disk_bytes(model.artifact) / MB, unit="MB")
    if getattr(run_mem, "cuda", False):
        m["cuda_weights_mb"] = Metric(value=load_mem.cuda_max_allocated / MB, unit="MB")
        m["cuda_max_allocated_mb"] = Metric(value=run_mem.cuda_max_allocated / MB, unit="MB")
        m["cuda_max_reserved_mb"] = Metric(value=run_mem.cuda_max_reserved / MB, unit="MB")
    return m
