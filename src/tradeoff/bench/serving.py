"""Serving capacity: latency under an open-loop Poisson load through a dynamic batcher, and the largest
rate a model sustains with its p99 latency within a bound (MLPerf Inference's Server scenario, scaled
to a small machine).

`serve` runs one trial with MLPerf LoadGen as the load generator (`bench/loadgen.py`): LoadGen draws the
arrivals from the trial's seed and issues them from its own thread, tradeoff's dynamic batcher is the system
under test, and the trial keeps LoadGen's verdict (VALID / INVALID), its early-stopping result and its log
folder beside tradeoff's own p99 interval, computed on the latencies LoadGen measured (scheduled arrival to
completion, so queueing, batching delay and LoadGen's issue lateness all count; the lateness is also kept
apart as `schedule error`).

`simulate` is the same batcher on a virtual clock, with arrivals drawn here (`arrivals`): the tests and the
coverage benchmark (`benchmarks/coverage_serving.py`, thousands of trials) need exact, instant trials, which a
real-time load generator cannot give. It is not a second way to measure: nothing that times a model calls it.

Queued requests' latencies are strongly correlated, so a trial's p99 interval counts busy periods, not
requests (`load_quantile_interval`). The capacity search (`search`) runs whichever trial function it is given.

Nothing here imports torch: the batch function is given.
"""
from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable

import numpy as np

from tradeoff.errors import BadInput
from tradeoff.stats import order_statistic_ranks

CONFIDENCE = 0.95
QUANTILE = 0.99
# MLPerf's Server scenario asks for 600 s and 270,336 queries; scaled to a small machine, a trial gets at least
# this long and this many queries: the fewest for which the p99's 95% order-statistic interval is bounded is 400.
MIN_DURATION_S = 5.0
MIN_QUERIES = 500
RESOLUTION = 1.15  # the search stops once the sustained and failed rates are this close (ratio)
MAX_TRIALS = 12


def check(p99_ms: float, max_batch: int, max_wait_ms: float, qps: float | None = None,
          min_queries: int = MIN_QUERIES, min_duration_s: float = MIN_DURATION_S, budget_s: float = 1.0) -> None:
    """Bad serving settings, found before any model loads."""
    for name, value, hint in (("--p99-ms", p99_ms, "e.g. --p99-ms 100"), ("--qps", qps, "e.g. --qps 50, or leave it out to search"),
                              ("--serve-budget", budget_s, "e.g. --serve-budget 120 (seconds per model)"),
                              ("--min-duration", min_duration_s, "e.g. --min-duration 5")):
        if value is not None and (isinstance(value, bool) or not value > 0 or not math.isfinite(value)):
            raise BadInput(f"{name} must be a positive number, got {value}", hint)
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise BadInput(f"--max-batch must be a positive integer, got {max_batch}", "e.g. --max-batch 8")
    if not max_wait_ms >= 0 or not math.isfinite(max_wait_ms):
        raise BadInput(f"--max-wait-ms must be zero or positive, got {max_wait_ms}", "e.g. --max-wait-ms 5")
    if min_queries < upper_rank_bound(QUANTILE):
        raise BadInput(f"--min-queries {min_queries} is too few for a bounded p99 interval",
                       f"use at least {upper_rank_bound(QUANTILE)}")


def arrivals(rate: float, n: int, seed: int = 0) -> np.ndarray:
    """Seconds from the start of `n` Poisson arrivals at `rate` per second. Give every trial its own seed
    (`trial_seed`): one shared pattern would leave the arrivals' own variability unsampled."""
    gaps = np.random.default_rng(seed).exponential(1.0, n)
    return np.cumsum(gaps) / rate


def trial_seed(base: int, name: str, index: int) -> int:
    """The seed of trial `index` of model `name`, derived from the run's recorded base seed: reproducible,
    and different for every trial, rate and model."""
    return int(np.random.SeedSequence([int(base) & 0xFFFFFFFF, zlib.crc32(name.encode()), int(index)]).generate_state(1)[0])


class Served:
    """What a trial reports from its latencies (nan: never served), elapsed time and LoadGen's result; shared by
    an encoder's `Trial` and a decoder's `decode_serving.TokenTrial`, which declare those fields."""

    @property
    def verdict(self) -> str | None:
        """LoadGen's VALID / INVALID; None for a simulated trial."""
        return self.loadgen.get("verdict") if self.loadgen else None

    @property
    def offered(self) -> int:
        return len(self.latencies)

    @property
    def served(self) -> int:
        return int(np.isfinite(self.latencies).sum())

    @property
    def achieved_qps(self) -> float:
        return self.served / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class Trial(Served):
    """One run at one target rate."""

    rate: float
    latencies: np.ndarray  # seconds, per request in arrival order; nan for a request never served
    schedule_errors: np.ndarray  # seconds from each arrival's schedule to its issue (LoadGen's, or the virtual loop's)
    batch_sizes: list[int]
    elapsed_s: float  # first scheduled arrival to the last batch's end
    overloaded: bool  # stopped early: a request had waited longer than the abort limit
    arrivals: np.ndarray | None = None  # seconds from the start, per request; None: busy periods unknown
    seed: int | None = None  # the seed its arrivals (and request order) were drawn from
    loadgen: dict | None = None  # LoadGen's verdict, early stopping, figures and settings; None: simulated
    log_dir: str | None = None  # LoadGen's log folder (mlperf_log_summary.txt, mlperf_log_detail.txt)

    @cached_property
    def _sorted_latencies(self) -> np.ndarray:
        """Latencies sorted once (quantile is asked for several times per trial); unserved ones as inf."""
        return np.sort(np.where(np.isfinite(self.latencies), self.latencies, np.inf))

    @cached_property
    def busy_periods(self) -> int:
        """Times a request found the server idle: the trial's independent units (see load_quantile_interval)."""
        return len(busy_starts(self.arrivals, self.latencies)) if self.arrivals is not None else 1

    def quantile(self, q: float, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
        """(point, low, high) of the q-quantile of latency, seconds; unserved requests count as infinitely
        late, so an overloaded trial's tail is inf. The interval treats busy periods as the independent units."""
        if self.arrivals is None:
            return quantile_interval(self._sorted_latencies, q, confidence)[0], -math.inf, math.inf
        return load_quantile_interval(self._sorted_latencies, self.busy_periods, q, confidence)

    def late(self, bound_s: float) -> int:
        """Requests over the bound, unserved ones included."""
        return int((~(self.latencies <= bound_s)).sum())

    def sustained(self, bound_s: float) -> bool:
        """Not overloaded, p99 within the bound, and (a LoadGen trial) VALID under LoadGen."""
        return not self.overloaded and self.verdict in (None, "VALID") and self.quantile(QUANTILE)[0] <= bound_s

    def surely_sustained(self, bound_s: float, confidence: float = CONFIDENCE) -> bool:
        """Sustained even at the p99's upper confidence limit."""
        return self.sustained(bound_s) and self.quantile(QUANTILE, confidence)[2] <= bound_s

    def surely_failed(self, bound_s: float, confidence: float = CONFIDENCE) -> bool:
        """Overloaded, or failed even at the p99's lower confidence limit."""
        return self.overloaded or self.quantile(QUANTILE, confidence)[1] > bound_s

    def summary(self, bound_s: float) -> dict:
        p99, p99_low, p99_high = self.quantile(QUANTILE)
        sizes = np.asarray(self.batch_sizes or [0])
        return {"rate": round(self.rate, 3), "seed": self.seed, "busy_periods": self.busy_periods,
                "offered": self.offered, "served": self.served,
                "achieved_qps": round(self.achieved_qps, 3), "p50_ms": _ms(self.quantile(0.5)[0]),
                "p90_ms": _ms(self.quantile(0.9)[0]), "p99_ms": _ms(p99), "p99_low_ms": _ms(p99_low), "p99_high_ms": _ms(p99_high), "late": self.late(bound_s),
                "overloaded": self.overloaded, "sustained": self.sustained(bound_s), "mean_batch": round(float(sizes.mean()), 3),
                "max_batch_used": int(sizes.max()), "batches": len(self.batch_sizes),
                "schedule_error_p99_ms": _ms(float(np.quantile(self.schedule_errors, 0.99))) if len(self.schedule_errors) else None,
                "elapsed_s": round(self.elapsed_s, 3), **self._loadgen_summary()}

    def _loadgen_summary(self) -> dict:
        if self.loadgen is None:
            return {}
        lg = self.loadgen
        p99 = lg.get("p99_ns")
        return {"loadgen_verdict": lg.get("verdict"), "early_stopping": lg.get("early_stopping"),
                "early_stopping_more_queries": lg.get("early_stopping_more_queries"),
                "loadgen_p99_ms": round(p99 / 1e6, 4) if isinstance(p99, (int, float)) else None,
                "loadgen_scheduled_qps": lg.get("scheduled_qps"), "loadgen_completed_qps": lg.get("completed_qps"),
                "loadgen_settings": {k: lg.get(k) for k in ("target_qps", "target_latency_ns", "min_duration_ms",
                                                            "min_query_count", "schedule_rng_seed", "library", "version")},
                "log_dir": self.log_dir}


def _ms(seconds: float) -> float | None:
    return round(seconds * 1e3, 4) if math.isfinite(seconds) else None


def quantile_interval(sorted_x: np.ndarray, q: float, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(point, low, high): the sample q-quantile and the order statistics x_(l) <= xi_q <= x_(u) that cover
    it with the given confidence; a side without enough samples is -inf / inf."""
    n = len(sorted_x)
    if n == 0:
        return math.inf, -math.inf, math.inf
    point = float(sorted_x[min(n - 1, math.ceil(q * n) - 1)])
    lo, hi = order_statistic_ranks(n, q, confidence)
    low = float(sorted_x[lo]) if lo >= 0 else -math.inf
    high = float(sorted_x[hi]) if hi < n else math.inf
    return point, low, high


def busy_starts(arrivals: np.ndarray, latencies: np.ndarray) -> np.ndarray:
    """Indices of the requests that found the server idle: every earlier request done by their arrival.
    With Poisson arrivals and independent requests the server starts afresh there, so busy periods are
    independent of one another while the requests inside one share its queue."""
    arrivals = np.asarray(arrivals, dtype=float)
    done = arrivals + np.where(np.isfinite(latencies), latencies, np.inf)
    before = np.maximum.accumulate(np.concatenate([[-np.inf], done[:-1]]))
    return np.flatnonzero(arrivals >= before)


def load_quantile_interval(sorted_x: np.ndarray, units: int, q: float,
                           confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(point, low, high) of the q-quantile of latencies gathered in `units` independent busy periods.
    The order-statistic interval's ranks are those for `units` samples, scaled to the n latencies: as if each
    busy period were one sample. Queued requests' latencies move together, so the n latencies carry far
    less than n samples' worth; counting them as independent (the binomial ranks for n) covered a true p99
    56% of the time at 60% load and 14% at 85% (`benchmarks/coverage_serving.py`'s server). A bounded upper end
    needs `upper_rank_bound(q)` busy periods: at heavy load a trial of practical length has fewer, and the
    end is unbounded."""
    n = len(sorted_x)
    if n == 0 or units < 1:
        return math.inf, -math.inf, math.inf
    point = float(sorted_x[min(n - 1, math.ceil(q * n) - 1)])
    lo_rank, hi_rank = (r + 1 for r in order_statistic_ranks(units, q, confidence))  # 1-based, among `units`
    # a lower rank at or above q * units (few busy periods) would map to a latency above the point: the largest rank
    # below it is taken instead, a lower order statistic covering more often, so the ends widen as `confidence` rises
    lo_rank = min(lo_rank, math.ceil(q * units) - 1)
    low = float(sorted_x[max(1, math.floor(lo_rank / units * n)) - 1]) if lo_rank >= 1 else -math.inf
    high = float(sorted_x[min(n, math.ceil(hi_rank / units * n)) - 1]) if hi_rank <= units else math.inf
    return point, min(low, point), max(high, point)


@lru_cache
def upper_rank_bound(q: float, confidence: float = CONFIDENCE) -> int:
    """The fewest samples whose q-quantile has a bounded upper confidence limit."""
    n = 2
    while order_statistic_ranks(n, q, confidence)[1] >= n:
        n += 1
    return n


def serve(run_batch: Callable[[np.ndarray], None], rate: float, queries: int, max_batch: int, max_wait_s: float,
          abort_after_s: float, bound_s: float, min_duration_s: float = MIN_DURATION_S, seed: int = 0,
          log_dir: str | None = None, samples: int | None = None) -> Trial:
    """One trial driven by MLPerf LoadGen's Server scenario: `queries` queries and `min_duration_s` seconds at
    least, Poisson at `rate` from `seed`, the p99 target `bound_s`; `run_batch(indices)` computes one batch of
    the dynamic batcher (max batch, max wait). Once a waiting request is `abort_after_s` old the rest go
    unserved and the trial is overloaded. `log_dir`: LoadGen's log folder (default: a new one under the cache);
    `samples`: LoadGen's sample library, the texts the requests are drawn from (each then equally likely)."""
    from tradeoff.bench import loadgen

    run = loadgen.server_run(run_batch, rate, queries, bound_s, min_duration_s, max_batch, max_wait_s, abort_after_s,
                             seed, log_dir, samples or loadgen.LIBRARY)
    done = run.scheduled_s + run.latencies_s
    elapsed = float(np.nanmax(done)) if np.isfinite(done).any() else 0.0
    return Trial(rate, run.latencies_s, run.issue_delays_s, run.batch_sizes, elapsed, run.overloaded, run.scheduled_s,
                 seed, run.loadgen, run.log_dir)


def simulate(run_batch: Callable[[np.ndarray], None], due: np.ndarray, max_batch: int, max_wait_s: float,
             abort_after_s: float, rate: float, clock: Callable[[], float], sleep: Callable[[float], None],
             seed: int | None = None) -> Trial:
    """The dynamic batcher on a virtual clock (`clock`, and `sleep(until)` that advances it; `run_batch` advances
    it by a batch's cost), serving requests arriving at `due` (seconds from now) in one loop: exact and instant,
    for the tests and the coverage benchmark (see the module's docstring). Stops early, as overloaded, once a
    waiting request is `abort_after_s` old."""
    n = len(due)
    offsets = np.asarray(due, dtype=float)
    start = clock() + 0.002  # a moment to set up, so the first arrival is not already late
    due = start + np.asarray(due, dtype=float)
    done = np.full(n, np.nan)
    errors, sizes = [], []
    head, overloaded = 0, False  # head: the oldest request not yet in a batch
    while head < n:
        now = clock()
        arrived = int(np.searchsorted(due, now, side="right"))
        if arrived == head:  # idle: wait for the next arrival
            sleep(due[head])
            errors.append(clock() - due[head])
            continue
        oldest = due[head]
        if now - oldest > abort_after_s:
            overloaded = True
            break
        waiting = arrived - head
        deadline = oldest + max_wait_s
        if waiting < max_batch and now < deadline:  # room in the batch and time to wait for more
            target = min(deadline, due[arrived]) if arrived < n else deadline
            sleep(target)
            if arrived < n and target == due[arrived]:
                errors.append(clock() - target)
            continue
        take = min(waiting, max_batch)
        run_batch(np.arange(head, head + take))
        done[head:head + take] = clock()
        sizes.append(take)
        head += take
    end = clock() if overloaded or not np.isfinite(done).any() else float(np.nanmax(done))
    return Trial(rate, done - due, np.asarray(errors), sizes, float(end - start), overloaded, offsets, seed)


@dataclass
class Capacity:
    """The largest rate sustained within the bound, as (point, low, high) queries/s, from the trials run.

    point: the highest rate whose p99 was within the bound (and no lower rate failed above it);
    low: the highest rate at or below the point whose p99's upper limit was within the bound (surely
    sustained; 0 if none);
    high: the lowest rate above the point that surely failed (overloaded, or its p99's lower limit over the
    bound), else None (unbounded). Each end errs only if a trial's p99 interval misses on that side (the low end
    may come from a climb of long retries, which ends at its first miss: `raise_lower_end`). Each rate is judged
    by its trial with the most busy periods.
    The interval holds both the measurement's uncertainty and the search's resolution.
    """

    bound_s: float
    trials: list[Trial] = field(default_factory=list)
    stop: str = ""

    def _sorted(self) -> list[Trial]:
        """One trial per rate, by rate: where a rate was retried long, the trial with the most busy periods (the
        best-informed) judges it, so a short trial never outvotes its long retry."""
        judged = {}
        for t in self.trials:
            if t.rate not in judged or t.busy_periods > judged[t.rate].busy_periods:
                judged[t.rate] = t
        return sorted(judged.values(), key=lambda t: t.rate)

    def best(self) -> Trial | None:
        """The highest-rate trial sustained below every failed rate (rates above a failure are not trusted)."""
        best = None
        for t in self._sorted():
            if not t.sustained(self.bound_s):
                break
            best = t
        return best

    def failed_above(self, rate: float) -> list[Trial]:
        return [t for t in self._sorted() if t.rate > rate and not t.sustained(self.bound_s)]

    def estimate(self, confidence: float = CONFIDENCE) -> tuple[float, float, float | None]:
        """(point, low, high) with each trial's p99 interval at `confidence` (a ratio of two capacities asks
        for 97.5% so that both hold together at 95%)."""
        best = self.best()
        point = best.rate if best else 0.0
        sure = [t.rate for t in self._sorted() if t.rate <= point and t.surely_sustained(self.bound_s, confidence)]
        low = max(sure, default=0.0)
        surely = [t.rate for t in self._sorted() if t.rate > point and t.surely_failed(self.bound_s, confidence)]
        return point, low, min(surely, default=None)


def ratio_interval(model: tuple[float, float, float | None],
                   baseline: tuple[float, float, float | None]) -> tuple[float, float | None, float | None]:
    """(point, low, high) of model capacity / baseline capacity from two (point, low, high) estimates made at
    RATIO_CONFIDENCE each: when both intervals hold (at least 95% by Bonferroni) the ratio lies in
    [low_m / high_b, high_m / low_b]. None: an end no trial bounded."""
    (p, low, high), (bp, bl, bh) = model, baseline
    return (p / bp, low / bh if bh else None, high / bl if high is not None and bl > 0 else None)


RATIO_CONFIDENCE = 1 - (1 - CONFIDENCE) / 2  # per capacity, so that the two together keep CONFIDENCE


def search(runs: dict[str, Callable[..., Trial]], bound_s: float, start: dict[str, float], budget_s: float,
           resolution: float = RESOLUTION, max_trials: int = MAX_TRIALS, clock: Callable[[], float] = time.perf_counter,
           on_status: Callable[[str], None] = lambda _: None) -> dict[str, Capacity]:
    """For each name, the highest rate `runs[name](rate)` sustains: double from `start` until a rate fails
    (or halve until one holds), then bisect geometrically. The names take turns trial by trial, in
    alternating order, so a noisy spell hits every model alike; each stops at the resolution, after
    `max_trials`, or when its `budget_s` of trials is spent. A trial run to bound a p99 from above asks for
    more queries: `runs[name](rate, queries=n)`."""
    caps = {name: Capacity(bound_s) for name in runs}
    spent = dict.fromkeys(runs, 0.0)
    plan: dict[str, tuple[float, int | None]] = {name: (start[name], None) for name in runs}
    turn = 0
    while any(not c.stop for c in caps.values()):
        names = [n for n in runs if not caps[n].stop]
        for name in names if turn % 2 == 0 else names[::-1]:
            cap, (rate, queries) = caps[name], plan[name]
            on_status(f"{name}: {rate:.3g} queries/s" + (f", {queries} queries" if queries else ""))
            t0 = clock()
            cap.trials.append(runs[name](rate) if queries is None else runs[name](rate, queries=queries))
            spent[name] += clock() - t0
            nxt, why, queries = next_rate(cap, resolution, budget_s - spent[name])
            if why is None and len(cap.trials) >= max_trials:
                why = f"{max_trials} trials"
            if why is None and spent[name] >= budget_s:
                why = f"budget of {budget_s:g} s spent"
            if why:
                cap.stop = why
            else:
                plan[name] = (nxt, queries)
        turn += 1
    return caps


LOWEST_FRACTION = 1 / 64  # below start / 64 a model "cannot sustain the lowest rate" (recorded, not an error)


def next_rate(cap: Capacity, resolution: float, budget_left_s: float = math.inf) -> tuple[float, str | None, int | None]:
    """The next rate to try and, for a trial that must bound a p99 from above, its queries; or why the search
    is over."""
    trials = cap._sorted()
    best = cap.best()
    failed = cap.failed_above(best.rate if best else 0.0)
    if best is None:  # nothing held yet: halve below the lowest failure
        lowest = trials[0].rate
        first = cap.trials[0].rate
        if lowest / 2 < first * LOWEST_FRACTION:
            return 0.0, f"cannot sustain even {lowest:.3g} queries/s within p99 {cap.bound_s * 1e3:g} ms", None
        return lowest / 2, None, None
    if not failed:  # nothing failed above the best yet: double
        return best.rate * 2, None, None
    top = failed[0].rate
    if top / best.rate > resolution:
        return math.sqrt(best.rate * top), None, None
    # bracketed. If no rate above the point surely failed, double the highest tried (up to 4x the lowest failure)
    # until one does: a rate past what the server completes is overloaded and stops early; an upper end for the interval.
    if not any(t.rate > best.rate and t.surely_failed(cap.bound_s) for t in trials) and trials[-1].rate < 4 * top:
        return trials[-1].rate * 2, None, None
    # If no rate is *surely* sustained yet (its p99's upper limit within the bound), step below the
    # lowest tried with a trial long enough for the busy periods a bounded upper limit needs: a lower rate
    # leaves the server idle more often, so the lowest trial's busy periods per query is a safe guide.
    need = upper_rank_bound(QUANTILE, RATIO_CONFIDENCE)  # enough for the 97.5% intervals a capacity ratio uses too
    sure = max((t.rate for t in trials if t.rate <= best.rate and t.surely_sustained(cap.bound_s)), default=None)
    if sure is not None:
        return raise_lower_end(cap, sure, best.rate, need, resolution, budget_left_s)
    lowest = trials[0]
    lower = lowest.rate / resolution ** 2
    queries = confirm_queries(lowest, need)
    if lower < cap.trials[0].rate * LOWEST_FRACTION:
        return 0.0, f"bracketed within {resolution:.2f}x; no rate surely sustained", None
    if queries / lower > budget_left_s:
        return 0.0, (f"bracketed within {resolution:.2f}x; no rate surely sustained: a bounded p99 upper limit (at 97.5%, "
                     f"for a ratio too) needs {need} busy periods, about {queries} queries at {lower:.3g} queries/s "
                     f"({queries / lower:.0f} s, over the budget left; raise --serve-budget)"), None
    return lower, None, queries


def confirm_queries(trial: Trial, need: int) -> int:
    """Queries a trial at `trial`'s rate needs for `need` busy periods, from that trial's busy periods per query."""
    return math.ceil(CONFIRM_MARGIN * need * trial.offered / max(trial.busy_periods, 1))


def raise_lower_end(cap: Capacity, sure: float, point: float, need: int, resolution: float,
                    budget_left_s: float) -> tuple[float, str | None, int | None]:
    """With the budget left, retry the next rate up from the surely sustained `sure` (one tried, below the point)
    with a trial long enough to bound its p99 from above: if it holds, the interval's lower end rises to it. The
    rates are climbed in order and the climb ends at the first that is not surely sustained, so (with p99 rising
    with the rate) only one retried rate above the true capacity can ever be judged, at 95% as any trial."""
    tries = lambda rate: sum(u.rate == rate for u in cap.trials)  # noqa: E731
    retried = [t for t in cap._sorted() if t.rate > sure and tries(t.rate) > 1]
    if retried:  # the climb's last step did not hold
        t = retried[0]  # its longest trial
        if tries(t.rate) == 2 and t.rate <= point and math.isinf(t.quantile(QUANTILE)[2]):
            # too few busy periods for any upper end (the short trial's count per query was a poor guide): once more,
            # sized from the long trial's own count; an end over the bound, or a second miss, ends the climb
            queries = confirm_queries(t, need)
            if queries / t.rate <= budget_left_s:
                return t.rate, None, queries
        return 0.0, (f"bracketed; surely sustained up to {sure:.3g} queries/s, not at {t.rate:.3g} in a trial "
                     f"of {t.offered} queries"), None
    if point / sure <= resolution:
        return 0.0, f"bracketed within {resolution:.2f}x", None
    nxt = next(t for t in cap._sorted() if sure < t.rate <= point)  # the point itself at least
    queries = confirm_queries(nxt, need)
    if queries / nxt.rate > budget_left_s:
        return 0.0, (f"bracketed within {resolution:.2f}x; surely sustained up to {sure:.3g} queries/s (a trial long "
                     f"enough at {nxt.rate:.3g} needs about {queries / nxt.rate:.0f} s, over the budget left; raise "
                     f"--serve-budget to narrow)"), None
    return nxt.rate, None, queries


CONFIRM_MARGIN = 1.25  # queries asked beyond the estimate of what gives enough busy periods
