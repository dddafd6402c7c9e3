"""MLPerf LoadGen as the load generator of the serving workloads: tradeoff's dynamic batcher is the system under
test, fed through LoadGen's callbacks, in three scenarios sharing one path (`_run`): Server (`server_run`, below),
SingleStream (`single_stream_run`: one query at a time, each a batch of 1; LoadGen reports the p90 and its
early-stopping estimate) and Offline (`offline_run`: every sample at once, served in batches of `max_batch`;
LoadGen reports samples per second). `single_stream_metrics` and `offline_metrics` turn a run into a record's
metrics; single-stream latencies get order-statistic intervals, since queries run one at a time are independent.

LoadGen (`mlcommons-loadgen`, imported as `mlperf_loadgen`) draws the Poisson schedule from its seeds, issues
each query from its own thread at its scheduled time, and judges the run: VALID only if the p99 of latency from
*scheduled* arrival to completion is within the target, the minimum duration and query count were met, and its
early-stopping rule (a confidence bound on the share of queries over the target) agrees. Its logs
(`mlperf_log_summary.txt`, `mlperf_log_detail.txt`) are the ones MLPerf submissions are read from.

The system under test is two threads, as in a real server: LoadGen's issue thread only appends each query to
a queue; a model thread runs a batch once `max_batch` queries wait or the oldest has waited `max_wait_s`,
then reports the batch's queries complete. A query that has waited over `abort_after_s` means the queue is
running away: from then on every waiting and arriving query is reported complete at once, unserved, so the
run ends soon (LoadGen cannot be stopped early); those already over the bound keep LoadGen's verdict INVALID,
and tradeoff counts the unserved ones as infinitely late.

Per-query latencies come from LoadGen's own trace (scheduled time, issue delay, completion), read once the run
is over and then removed (about 1 KB a query), so tradeoff's p99 interval is computed on the very latencies
LoadGen judged. Nothing here imports torch: the batch function is given.
"""
from __future__ import annotations

import json
import math
import re
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from tradeoff.record import Metric

PERCENTILE = 0.99
LIBRARY = 1024  # LoadGen's sample library where the caller names none; name the texts' count, so each is equally likely
TRACE = "mlperf_log_trace.json"
# a sample's begin event in the trace: its scheduled time (ts, microseconds from the test's start), the
# order it was issued in, and nanoseconds from the schedule to its issue and to its completion
_SAMPLE = re.compile(r'"name":"Sample".*?"ph":"b".*?"ts":([0-9.]+).*?"sample_seq":(\d+).*?'
                     r'"issue_start_ns":(-?\d+).*?"complete_ns":(-?\d+)')
# what a trial's record keeps from the detail log
DETAIL_KEYS = {"result_validity": "verdict", "early_stopping_met": "early_stopping_met",
               "early_stopping_result": "early_stopping", "result_perf_constraints_met": "perf_constraints_met",
               "result_min_duration_met": "min_duration_met", "result_min_queries_met": "min_queries_met",
               "result_query_count": "query_count", "result_overlatency_query_count": "overlatency_queries",
               "result_scheduled_samples_per_sec": "scheduled_qps", "result_completed_samples_per_sec": "completed_qps",
               "result_99.00_percentile_latency_ns": "p99_ns", "result_90.00_percentile_latency_ns": "p90_ns",
               "result_50.00_percentile_latency_ns": "p50_ns", "early_stopping_latency_ss": "early_stopping_p90_ns",
               "result_samples_per_second": "samples_per_s", "loadgen_version": "version",
               "effective_scenario": "scenario", "effective_target_qps": "target_qps", "effective_target_latency_ns": "target_latency_ns",
               "effective_min_duration_ms": "min_duration_ms", "effective_min_query_count": "min_query_count",
               "effective_schedule_rng_seed": "schedule_rng_seed", "qsl_reported_total_count": "library",
               "effective_sample_index_rng_seed": "sample_index_rng_seed",
               "result_invalid_reason": "invalid_reason",
               "early_stopping_ttft_result": "early_stopping_ttft", "early_stopping_tpot_result": "early_stopping_tpot",
               "result_first_token_99.00_percentile_latency_ns": "ttft_p99_ns",
               "result_first_token_50.00_percentile_latency_ns": "ttft_p50_ns",
               "result_time_per_output_token_99.00_percentile_ns": "tpot_p99_ns",
               "result_time_per_output_token_50.00_percentile_ns": "tpot_p50_ns",
               "result_completed_tokens_per_second": "completed_tokens_per_s",
               "requested_server_ttft_latency": "ttft_latency_ns", "requested_server_tpot_latency": "tpot_latency_ns"}


@dataclass
class Run:
    """One LoadGen Server run: per query in issue order (nan latency: reported unserved after an abort)."""

    scheduled_s: np.ndarray  # seconds from the first query's schedule
    latencies_s: np.ndarray  # schedule to completion, as LoadGen measured it
    issue_delays_s: np.ndarray  # schedule to LoadGen's issue
    batch_sizes: list[int]
    overloaded: bool
    log_dir: str
    loadgen: dict = field(default_factory=dict)  # from the detail log: verdict, early stopping, settings used
    decode_s: np.ndarray | None = None  # token runs only: first token to the last, per query (nan: unserved)
    tokens: np.ndarray | None = None  # token runs only: tokens generated per query

    @property
    def verdict(self) -> str | None:
        return self.loadgen.get("verdict")


class Batcher:
    """The system under test: a queue LoadGen's issue thread fills and a model thread empties in batches.

    Encoders: `run_batch(indices)`, then the batch's queries are complete. Decoders (`first_token` given):
    `run_batch(indices, first)` generates the batch's tokens (static batching: the batch runs to its end
    before the next one starts), calls `first()` once the first tokens are out (reported to LoadGen as
    FirstTokenComplete) and returns the tokens per query, reported with QuerySamplesComplete."""

    def __init__(self, run_batch: Callable, max_batch: int, max_wait_s: float, abort_after_s: float,
                 complete: Callable[[list[int], int], None], first_token: Callable[[list[int]], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.run_batch, self.max_batch, self.max_wait_s, self.abort_after_s = run_batch, max_batch, max_wait_s, abort_after_s
        self.complete, self.first_token, self.clock = complete, first_token, clock
        self.decode: dict[int, tuple[float, int]] = {}  # issue order -> (first token to last, s; tokens)
        self.cond = threading.Condition()
        self.waiting: deque[tuple[int, int, int, float]] = deque()  # (LoadGen id, sample index, issue order, arrival)
        self.issued = 0
        self.sizes: list[int] = []
        self.unserved: list[int] = []  # issue order of the queries reported without being served
        self.overloaded = False
        self.stopping = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="tradeoff-batcher", daemon=True)

    def issue(self, samples) -> None:  # LoadGen's issue thread: enqueue only
        now = self.clock()
        with self.cond:
            for s in samples:
                self.waiting.append((s.id, s.index, self.issued, now))
                self.issued += 1
            self.cond.notify()

    def flush(self) -> None:
        pass

    def start(self) -> "Batcher":
        self.thread.start()
        return self

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify()
        self.thread.join()

    def _next_batch(self) -> tuple[list, bool] | None:
        """The next batch and whether to serve it (False: the queue ran away), or None once stopped and empty."""
        with self.cond:
            while not self.waiting:
                if self.stopping:
                    return None
                self.cond.wait()
            if self.overloaded or self.clock() - self.waiting[0][3] > self.abort_after_s:
                self.overloaded = True
                batch = list(self.waiting)
                self.waiting.clear()
                return batch, False
            deadline = self.waiting[0][3] + self.max_wait_s
            while len(self.waiting) < self.max_batch and not self.stopping:
                left = deadline - self.clock()
                if left <= 0:
                    break
                self.cond.wait(left)
            take = min(len(self.waiting), self.max_batch)
            return [self.waiting.popleft() for _ in range(take)], True

    def _loop(self) -> None:
        while (nxt := self._next_batch()) is not None:
            batch, serve = nxt
            ids, tokens, first = [b[0] for b in batch], 1, []
            if serve and self.error is None:
                try:
                    indices = np.array([b[1] for b in batch])
                    if self.first_token is None:
                        self.run_batch(indices)
                    else:
                        def on_first() -> None:
                            if not first:
                                first.append(self.clock())
                                self.first_token(ids)
                        tokens = int(self.run_batch(indices, on_first))
                        if not first:
                            raise RuntimeError("the decoder's batch function never reported its first token")
                        took = self.clock() - first[0]
                        for b in batch:
                            self.decode[b[2]] = (took, tokens)
                    self.sizes.append(len(batch))
                except BaseException as e:  # reported after the run; LoadGen still needs every query back
                    self.error = e
            if not serve or self.error is not None:
                self.unserved.extend(b[2] for b in batch)
                if self.first_token is not None and not first:
                    self.first_token(ids)
            self.complete(ids, tokens)


def default_log_dir(seed: int | None) -> Path:
    """A fresh folder per trial under tradeoff's cache: `loadgen/<UTC time>-<seed>-<random>`."""
    from tradeoff.paths import cache_dir

    root = cache_dir() / "loadgen"
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-{seed if seed is not None else 'x'}-", dir=root))


def server_run(run_batch: Callable, rate: float, queries: int, bound_s: float, min_duration_s: float, max_batch: int,
               max_wait_s: float, abort_after_s: float, seed: int = 0, log_dir: str | Path | None = None,
               samples: int = LIBRARY, token_bounds: tuple[float, float] | None = None) -> Run:
    """One LoadGen Server-scenario run at `rate` queries/s with the p99 target `bound_s`, at least `queries`
    queries and `min_duration_s` seconds; `run_batch` computes one batch (see Batcher; sample indices below
    `samples`, LoadGen's sample library size). `seed` is LoadGen's schedule, sample-index and library seed.
    `token_bounds`: (TTFT, TPOT) p99 targets in seconds, for a decoder served token by token; LoadGen then
    judges those two instead of the whole query's latency."""
    import mlperf_loadgen as lg

    def configure(settings) -> None:
        settings.server_target_qps = float(rate)
        settings.server_target_latency_ns = max(1, round(bound_s * 1e9))
        settings.server_target_latency_percentile = PERCENTILE
        if token_bounds is not None:
            settings.use_token_latencies = True
            settings.ttft_latency = max(1, round(token_bounds[0] * 1e9))
            settings.tpot_latency = max(1, round(token_bounds[1] * 1e9))

    return _run(lg.TestScenario.Server, configure, run_batch, queries, min_duration_s, max_batch, max_wait_s,
                abort_after_s, seed, log_dir, samples, tokens=token_bounds is not None)


def single_stream_run(run_batch: Callable, queries: int, min_duration_s: float, seed: int = 0,
                      log_dir: str | Path | None = None, samples: int = LIBRARY) -> Run:
    """One LoadGen SingleStream run: one query at a time, the next issued once the last completes, each run as
    a batch of 1; at least `queries` queries and `min_duration_s` seconds. LoadGen reports the p90 latency and
    its early-stopping estimate of it."""
    import mlperf_loadgen as lg

    return _run(lg.TestScenario.SingleStream, lambda settings: None, run_batch, queries, min_duration_s, 1, 0.0,
                math.inf, seed, log_dir, samples)


def offline_run(run_batch: Callable, samples_count: int, max_batch: int, min_duration_s: float, expected_qps: float,
                seed: int = 0, log_dir: str | Path | None = None, samples: int = LIBRARY) -> Run:
    """One LoadGen Offline run: every sample issued at once, served in batches of `max_batch`. LoadGen issues
    `samples_count` samples or 1.1 x `expected_qps` x `min_duration_s`, whichever is more, and the run is
    VALID only if it lasted `min_duration_s`: `expected_qps` is a guess of the throughput. LoadGen reports
    samples per second."""
    import mlperf_loadgen as lg

    def configure(settings) -> None:
        settings.offline_expected_qps = float(expected_qps)

    return _run(lg.TestScenario.Offline, configure, run_batch, samples_count, min_duration_s, max_batch, 0.0,
                math.inf, seed, log_dir, samples)


def _run(scenario, configure: Callable, run_batch: Callable, queries: int, min_duration_s: float, max_batch: int,
         max_wait_s: float, abort_after_s: float, seed: int, log_dir: str | Path | None, samples: int,
         tokens: bool = False) -> Run:
    """The one path of every scenario: the batcher as LoadGen's SUT, the run, then its trace and detail log."""
    import mlperf_loadgen as lg

    out = Path(log_dir) if log_dir is not None else default_log_dir(seed)
    out.mkdir(parents=True, exist_ok=True)

    def complete(ids: list[int], n: int) -> None:
        if not tokens:
            lg.QuerySamplesComplete([lg.QuerySampleResponse(i, 0, 0) for i in ids])
        else:
            lg.QuerySamplesComplete([lg.QuerySampleResponse(i, 0, 0, max(int(n), 2)) for i in ids])

    def first_token(ids: list[int]) -> None:
        lg.FirstTokenComplete([lg.QuerySampleResponse(i, 0, 0) for i in ids])

    batcher = Batcher(run_batch, max_batch, max_wait_s, abort_after_s, complete,
                      first_token if tokens else None).start()
    settings = lg.TestSettings()
    settings.scenario = scenario
    settings.mode = lg.TestMode.PerformanceOnly
    settings.min_duration_ms = max(0, math.ceil(min_duration_s * 1e3))
    settings.min_query_count = int(queries)
    settings.max_query_count = 0
    configure(settings)
    seed64 = int(seed) & 0xFFFFFFFFFFFFFFFF
    settings.schedule_rng_seed = settings.sample_index_rng_seed = settings.qsl_rng_seed = seed64
    log = lg.LogSettings()
    log.log_output.outdir = str(out)
    log.log_output.copy_summary_to_stdout = False
    log.log_output.copy_detail_to_stdout = False
    log.enable_trace = True
    sut = lg.ConstructSUT(batcher.issue, batcher.flush)
    qsl = lg.ConstructQSL(samples, samples, lambda _: None, lambda _: None)
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log)
    finally:
        batcher.stop()
        lg.DestroySUT(sut)
        lg.DestroyQSL(qsl)
    if batcher.error is not None:
        raise batcher.error
    scheduled, latencies, delays = read_trace(out / TRACE)
    latencies[np.asarray(batcher.unserved, dtype=int)] = np.nan
    (out / TRACE).unlink(missing_ok=True)
    run = Run(scheduled, latencies, delays, batcher.sizes, batcher.overloaded, str(out), read_detail(out))
    if tokens:
        decode = np.full(len(latencies), np.nan)
        counts = np.zeros(len(latencies), dtype=int)
        for k, (d, n) in batcher.decode.items():
            if k < len(decode):
                decode[k], counts[k] = d, n
        decode[np.asarray(batcher.unserved, dtype=int)] = np.nan
        run.decode_s, run.tokens = decode, counts
    return run


def single_stream_metrics(run: Run) -> dict[str, Metric]:
    """Latency quantiles with order-statistic intervals (queries run one at a time are independent samples), the
    queries per second the run achieved (a point), LoadGen's own p90 and its early-stopping estimate beside them,
    and the verdict (1 VALID, 0 not)."""
    from tradeoff.bench.timing import latency_metrics

    out = latency_metrics(run.latencies_s) | {"throughput_per_s": _per_second(run, "queries/s")}
    for key, name in (("p90_ns", "loadgen_p90_ms"), ("early_stopping_p90_ns", "loadgen_early_stopping_p90_ms")):
        if run.loadgen.get(key) is not None:
            out[name] = Metric(value=run.loadgen[key] / 1e6, unit="ms")
    return out | _verdict_metrics(run)


def offline_metrics(run: Run) -> dict[str, Metric]:
    """Samples per second (tradeoff's: samples over first issue to last completion; LoadGen's beside it), the
    mean batch and the verdict."""
    out = {"throughput_per_s": _per_second(run, "samples/s"),
           "mean_batch": Metric(value=float(np.mean(run.batch_sizes or [0])), unit="samples")}
    if run.loadgen.get("samples_per_s") is not None:
        out["loadgen_samples_per_s"] = Metric(value=float(run.loadgen["samples_per_s"]), unit="samples/s")
    return out | _verdict_metrics(run)


def _per_second(run: Run, unit: str) -> Metric:
    """Queries over the span from the first scheduled to the last completion: a point (one run, one number)."""
    return Metric(value=len(run.latencies_s) / float(np.nanmax(run.scheduled_s + run.latencies_s)), unit=unit)


def _verdict_metrics(run: Run) -> dict[str, Metric]:
    return {"loadgen_valid": Metric(value=float(run.verdict == "VALID"), unit="VALID"),
            "loadgen_queries": Metric(value=float(len(run.latencies_s)), unit="queries")}


def read_trace(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scheduled s from the first, latency s, issue delay s) per sample, in issue order, from LoadGen's trace."""
    rows = [tuple(float(x) for x in m.groups()) for m in _SAMPLE.finditer(path.read_text())]
    if not rows:
        raise RuntimeError(f"LoadGen's trace {path} holds no samples")
    ts, seq, issue, done = np.asarray(sorted(rows, key=lambda r: r[1])).T
    return (ts - ts.min()) / 1e6, done / 1e9, issue / 1e9


def read_detail(out: Path) -> dict:
    """The verdict, early-stopping result, measured figures and effective settings from the detail log."""
    found = {}
    for line in (out / "mlperf_log_detail.txt").read_text().splitlines():
        if not line.startswith(":::MLLOG"):
            continue
        try:
            entry = json.loads(line[len(":::MLLOG"):])
        except json.JSONDecodeError:
            continue
        if entry.get("key") in DETAIL_KEYS:
            found[DETAIL_KEYS[entry["key"]]] = entry.get("value")
    for key in ("early_stopping", "early_stopping_ttft", "early_stopping_tpot", "invalid_reason"):
        if isinstance(found.get(key), str):
            text = found[key]
            found[key] = " ".join(text.replace("*", " ").split())
            more = re.search(r"at least (\d+) more queries", text)
            if more:
                found[f"{key}_more_queries"] = int(more.group(1))
    return found
