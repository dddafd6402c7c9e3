"""Every kind of interval the tool prints, once, with the method that makes it.

A printed "95%" interval is a promise about coverage: over repeated measurements it contains the true value at
least 95% of the time. `benchmarks/coverage.py` simulates each kind with a known truth and measures that rate;
the docs show its table. A Metric's `method` is a key of METHODS, so a record says how its interval was made.
"""
from __future__ import annotations

from dataclasses import dataclass

NOT_MEANINGFUL = "not_meaningful"


@dataclass(frozen=True)
class Method:
    function: str  # where it is computed
    how: str  # one sentence


METHODS: dict[str, Method] = {
    "order_statistic_median": Method(
        "tradeoff.bench.timing.median_interval",
        "[x(l), x(n+1-l)] of the rounds with l from Bin(n, 1/2): distribution-free for independent rounds, "
        "from 6 rounds on."),
    "log_t": Method(
        "tradeoff.stats.log_t_interval",
        "Student's t on log timings, for 3 to 5 rounds (too few for a distribution-free interval)."),
    "order_statistic_quantile": Method(
        "tradeoff.bench.timing.quantile_interval",
        "[x(l), x(u)] with l, u from Bin(n, q): distribution-free; an end no order statistic can bound is '?' "
        "(p99's upper end needs 368 calls)."),
    "inverse_median": Method(
        "tradeoff.bench.workloads.inverse",
        "batch size (or tokens) over the p50's interval, ends swapped: a monotone map keeps its coverage."),
    "adaptive_stop": Method(
        "tradeoff.bench.timing.measure",
        "once every 95% interval is within the target, as many rounds are timed again and only those are "
        "reported: their count was fixed before they ran, so choosing when to stop cannot narrow them. The "
        "budget is looked at first: a round that spends it ends the loop whatever the intervals say."),
    "clopper_pearson": Method(
        "tradeoff.stats.exact_proportion",
        "exact binomial (Clopper-Pearson) interval of the share of rows right."),
    "bootstrap": Method(
        "tradeoff.stats.bootstrap",
        "percentile bootstrap over rows (2,000 resamples), widened to Clopper-Pearson at 0% and 100%."),
    "bootstrap_t": Method(
        "tradeoff.stats.studentized_mean",
        "bootstrap-t of a mean of per-row values (2,000 resamples of (mean* - mean) / se*), which follows their skew."),
    "fisher_z_jackknife": Method(
        "tradeoff.stats.fisher_z_interval",
        "Fisher's z of the correlation ± Student's t times the jackknife standard error of z (leave-one-row-out)."),
    "jackknife": Method(
        "tradeoff.stats.jackknife_interval",
        "Student's t times the jackknife standard error, each row left out of both models at once (on log scale "
        "for a ratio)."),
    "paired_bootstrap": Method(
        "tradeoff.stats.bootstrap",
        "percentile bootstrap resampling the same rows for both models, so shared difficulty cancels."),
    "exact_paired_difference": Method(
        "tradeoff.evaluate.metrics.DiscordantSplit.difference",
        "accuracy difference q(2w - 1) over the Clopper-Pearson intervals of the disagreement share q and the win "
        "share w (excludes 0 exactly when McNemar's p < 0.05)."),
    "exact_paired_retained": Method(
        "tradeoff.evaluate.metrics.DiscordantSplit.retained",
        "1 + the exact paired difference over the baseline accuracy's Clopper-Pearson end that widens it."),
    NOT_MEANINGFUL: Method(
        "tradeoff.evaluate.metrics.near_zero",
        "no interval: the baseline's interval reaches 0 or lies within half its value of it, where a ratio is "
        "unbounded."),
    "seed_pooled": Method(
        "tradeoff.compare._seed_bootstrap",
        "row bootstrap plus a jackknife over seeds, variances added, Student's t on Satterthwaite's degrees of "
        "freedom (one with two seeds)."),
    "serving_p99": Method(
        "tradeoff.bench.serving.Trial.quantile",
        "order statistics with each busy period (idle server to idle again) counted as one sample, since queued "
        "requests' latencies move together; an end too few busy periods cannot bound is '?'."),
    "serving_token_quantile": Method(
        "tradeoff.bench.decode_serving.TokenTrial.ttft_quantile",
        "a decoder's TTFT and TPOT quantiles by the same order statistics as the p99 under load, each busy period "
        "counted as one sample."),
    "serving_max_qps": Method(
        "tradeoff.bench.serving.Capacity.estimate",
        "the highest rate whose p99's upper limit was within the bound to the lowest above it that surely failed; "
        "an end no trial gave is '?'."),
    "serving_ratio": Method(
        "tradeoff.bench.serving.ratio_interval",
        "max QPS over the baseline's, from the ends of both capacities' 97.5% intervals (Bonferroni: both hold "
        "together, so the ratio's at 95% or more)."),
    "quiet_peak": Method(
        "tradeoff.bench.hardware.peak",
        "a point: achieved over the best-of measured limit, cached only when measured quiet (others under 2% of "
        "the CPUs); bf16 only against a native bf16 peak."),
    "point": Method("", "a point measurement, printed without an interval."),
}


@dataclass(frozen=True)
class Kind:
    name: str
    metrics: tuple[str, ...]  # the record metrics (or printed values) of this kind
    method: str  # key of METHODS
    interval: bool = True  # printed with a 95% interval (False: a point, checked against its own promise)
    serving: bool = False  # simulated by the serving benchmark


KINDS: tuple[Kind, ...] = (
    Kind("latency p50", ("latency_p50_ms", "ttft_p50_ms", "decode_token_p50_ms", "pass_p50_ms"), "order_statistic_median"),
    Kind("latency p50 (3-5 rounds)", ("latency_p50_ms",), "log_t"),
    Kind("latency p90", ("latency_p90_ms", "ttft_p90_ms", "decode_token_p90_ms", "pass_p90_ms"), "order_statistic_quantile"),
    Kind("latency p95", ("latency_p95_ms", "ttft_p95_ms", "decode_token_p95_ms", "pass_p95_ms"), "order_statistic_quantile"),
    Kind("latency p99", ("latency_p99_ms", "ttft_p99_ms", "decode_token_p99_ms", "pass_p99_ms"), "order_statistic_quantile"),
    Kind("throughput", ("throughput_per_s", "tokens_per_s", "decode_tokens_per_s"), "inverse_median"),
    Kind("speed-up", ("speedup",), "order_statistic_median"),
    Kind("adaptive stopping (p50, speed-up)", ("latency_p50_ms", "speedup"), "adaptive_stop"),
    Kind("memory", ("peak_rss_mb", "model_memory_mb", "loaded_rss_mb"), "point", interval=False),
    Kind("accuracy", ("accuracy",), "clopper_pearson"),
    Kind("F1, MCC, perplexity", ("macro_f1", "f1", "mcc", "entity_f1", "entity_precision", "entity_recall",
                                  "perplexity"), "bootstrap"),
    Kind("MSE", ("mse",), "bootstrap_t"),
    Kind("correlations", ("pearson", "spearman"), "fisher_z_jackknife"),
    Kind("retained % (accuracy)", ("retained",), "exact_paired_retained"),
    Kind("retained % (correlations)", ("retained",), "jackknife"),
    Kind("retained % (other metrics)", ("retained",), "paired_bootstrap"),
    Kind("retained % near a 0 baseline", ("retained",), NOT_MEANINGFUL, interval=False),
    Kind("paired difference (accuracy)", ("difference",), "exact_paired_difference"),
    Kind("paired difference (correlations)", ("difference",), "jackknife"),
    Kind("paired difference (other metrics)", ("difference",), "paired_bootstrap"),
    Kind("retained % (MSE)", ("retained",), "jackknife"),
    Kind("paired difference (MSE)", ("difference",), "jackknife"),
    Kind("seed-pooled mean", ("quality",), "seed_pooled"),
    Kind("p99 under load", ("serve_p99_ms",), "serving_p99", serving=True),
    Kind("TTFT / TPOT under load", ("serve_ttft_p50_ms", "serve_ttft_p99_ms", "serve_tpot_p50_ms", "serve_tpot_p99_ms"),
         "serving_token_quantile", serving=True),
    Kind("max QPS", ("max_qps",), "serving_max_qps", serving=True),
    Kind("capacity ratio", ("max_qps_ratio",), "serving_ratio", serving=True),
    Kind("utilisation", ("utilisation",), "quiet_peak", interval=False),
    Kind("decode bandwidth utilisation", ("decode_bandwidth_utilisation",), "quiet_peak", interval=False),
)


def kind(name: str) -> Kind:
    found = next((k for k in KINDS if k.name == name), None)
    if found is None:
        raise KeyError(f"no interval kind {name!r}; known: {', '.join(k.name for k in KINDS)}")
    return found


def method_of(name: str) -> str:
    """A kind's method in one sentence, with the function that computes it."""
    m = METHODS[kind(name).method]
    return f"{m.how} ({m.function})" if m.function else m.how
