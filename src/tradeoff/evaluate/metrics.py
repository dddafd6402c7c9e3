"""Task metrics with 95% intervals, paired comparisons, and "performance retained".

Accuracy, a plain proportion, gets the exact binomial (Clopper-Pearson) interval; a correlation Fisher's z
with a jackknife standard error; the other metrics a percentile bootstrap over examples. A bootstrap collapses to zero width at 0% and 100% (every resample
of 30 perfect predictions is perfect), so there the interval falls back to the exact interval of the
proportion the metric rests on (see `Statistic.proportion`): a perfect score on few examples is never
printed as a certainty.

Each metric is a statistic of per-example arrays kept in a record's details (`scores`): predictions and
labels for classification, per-sentence entity counts for NER, per-window log-loss for perplexity. Keeping
the per-example arrays is what makes paired statistics possible later: two models scored on the same
examples are resampled together, so their shared difficulty cancels out of the interval.

Two accuracies on the same rows differ only on the rows exactly one model got right; their paired
difference and retained % get exact intervals built on that split (`DiscordantSplit`), which exclude 0
(or 100%) exactly when McNemar's exact p < 0.05. (A percentile bootstrap of the difference excluded 0 at
McNemar p = 0.053 and told the reader two things.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tradeoff.coverage import NOT_MEANINGFUL
from tradeoff.errors import BadInput
from tradeoff.record import Metric
from tradeoff.stats import bootstrap, exact_proportion, fisher_z_interval, jackknife_interval, studentized_mean


def _accuracy(y_true, y_pred) -> float:
    return float(np.mean(y_true == y_pred))


def _correct(y_true, y_pred) -> tuple[int, int]:
    return int(np.sum(y_true == y_pred)), len(y_true)


def _macro_f1(y_true, y_pred) -> float:
    """Mean per-class F1 over every class in y_true or y_pred, as sklearn's f1_score(average="macro"): a
    class the model predicts but the data never has counts with F1 0. In numpy: the bootstrap calls it
    thousands of times."""
    k = int(max(y_true.max(), y_pred.max())) + 1
    tp = np.bincount(y_true[y_true == y_pred], minlength=k)
    denom = np.bincount(y_true, minlength=k) + np.bincount(y_pred, minlength=k)  # 2tp + fp + fn
    seen = denom > 0
    return float((2 * tp[seen] / denom[seen]).mean())


def _binary_f1(y_true, y_pred) -> float:
    """F1 of class 1, the positive class (GLUE's convention for MRPC and QQP)."""
    tp = np.sum((y_true == 1) & (y_pred == 1))
    denom = np.sum(y_true == 1) + np.sum(y_pred == 1)
    return float(2 * tp / denom) if denom else 0.0


def _mcc(y_true, y_pred) -> float:
    """Matthews correlation (GLUE's CoLA metric), multi-class form as sklearn's matthews_corrcoef; 0 when undefined."""
    k = int(max(y_true.max(), y_pred.max())) + 1
    t, p = np.bincount(y_true, minlength=k).astype(float), np.bincount(y_pred, minlength=k).astype(float)
    n, c = float(len(y_true)), float(np.sum(y_true == y_pred))
    denom = np.sqrt((n * n - p @ p) * (n * n - t @ t))
    return float((c * n - t @ p) / denom) if denom else 0.0


def _pearson(target, prediction) -> float:
    if np.std(target) == 0 or np.std(prediction) == 0:
        return 0.0
    return float(np.corrcoef(target, prediction)[0, 1])


def _spearman(target, prediction) -> float:
    from scipy.stats import rankdata

    return _pearson(rankdata(target), rankdata(prediction))


def _pearson_loo(target, prediction) -> np.ndarray:
    """The n leave-one-out Pearson correlations, from running sums (O(n), not n correlations)."""
    x, y = np.asarray(target, float), np.asarray(prediction, float)
    m = len(x) - 1
    mx, my = (x.sum() - x) / m, (y.sum() - y) / m
    cxy = ((x * y).sum() - x * y) / m - mx * my
    cxx, cyy = ((x * x).sum() - x * x) / m - mx * mx, ((y * y).sum() - y * y) / m - my * my
    with np.errstate(divide="ignore", invalid="ignore"):
        return cxy / np.sqrt(cxx * cyy)


def _spearman_loo(target, prediction) -> np.ndarray:
    """Leave-one-out Spearman correlations on the full sample's ranks (dropping a row moves each other rank by at
    most one, which the jackknife's spread barely notices)."""
    from scipy.stats import rankdata

    return _pearson_loo(rankdata(target), rankdata(prediction))


def _mse(target, prediction) -> float:
    return float(np.mean((np.asarray(target, float) - np.asarray(prediction, float)) ** 2))


def _entity_f1(tp, fp, fn) -> float:
    denom = 2 * tp.sum() + fp.sum() + fn.sum()
    return float(2 * tp.sum() / denom) if denom else 0.0


def _entity_precision(tp, fp, fn) -> float:
    d = tp.sum() + fp.sum()
    return float(tp.sum() / d) if d else 0.0


def _entity_recall(tp, fp, fn) -> float:
    d = tp.sum() + fn.sum()
    return float(tp.sum() / d) if d else 0.0


def _perplexity(nll, tokens) -> float:
    return float(np.exp(nll.sum() / tokens.sum()))


@dataclass(frozen=True)
class Statistic:
    fn: Callable[..., float]
    keys: tuple[str, ...]  # which per-example arrays it reads, in order
    unit: str
    higher_is_better: bool = True
    # (successes, trials) of the proportion the metric is, or rests on, and the metric as a function of that
    # proportion; its exact interval replaces a zero-width bootstrap at 0% and 100%.
    proportion: Callable[..., tuple[int, int]] | None = None
    from_proportion: Callable[[float], float] = lambda p: p
    exact: bool = False  # the metric is the proportion itself: always the exact interval
    # a correlation: its leave-one-out values, for Fisher's z with a jackknife error instead of the bootstrap
    leave_one_out: Callable[..., np.ndarray] | None = None
    # a mean of per-row values (MSE: squared errors): those values, for the bootstrap-t instead of the percentile one
    per_row: Callable[..., np.ndarray] | None = None


STATISTICS: dict[str, Statistic] = {
    "accuracy": Statistic(_accuracy, ("y_true", "y_pred"), "%", proportion=_correct, exact=True),
    # Macro-F1 is 100% exactly when every example is right (0% when none is), so at the boundary its interval is
    # that of the proportion correct. With rare classes macro-F1 can fall below accuracy, so read that interval
    # as the least uncertainty there is, not as a bound.
    "macro_f1": Statistic(_macro_f1, ("y_true", "y_pred"), "%", proportion=_correct),
    # Entity F1 = 2p / (1 + p) with p = tp / (tp + fp + fn), the share of entity decisions that were right.
    "entity_f1": Statistic(_entity_f1, ("tp", "fp", "fn"), "%",
                           proportion=lambda tp, fp, fn: (int(tp.sum()), int(tp.sum() + fp.sum() + fn.sum())),
                           from_proportion=lambda p: 2 * p / (1 + p)),
    "entity_precision": Statistic(_entity_precision, ("tp", "fp", "fn"), "%",
                                  proportion=lambda tp, fp, fn: (int(tp.sum()), int(tp.sum() + fp.sum()))),
    "entity_recall": Statistic(_entity_recall, ("tp", "fp", "fn"), "%",
                               proportion=lambda tp, fp, fn: (int(tp.sum()), int(tp.sum() + fn.sum()))),
    "f1": Statistic(_binary_f1, ("y_true", "y_pred"), "%"),
    "mcc": Statistic(_mcc, ("y_true", "y_pred"), ""),
    "perplexity": Statistic(_perplexity, ("nll", "tokens"), "", higher_is_better=False),
    # Regression (STS-B): correlations of predicted with true scores, and the squared error the head is trained on.
    "pearson": Statistic(_pearson, ("target", "prediction"), "", leave_one_out=_pearson_loo),
    "spearman": Statistic(_spearman, ("target", "prediction"), "", leave_one_out=_spearman_loo),
    "mse": Statistic(_mse, ("target", "prediction"), "", higher_is_better=False,
                     per_row=lambda t, p: (np.asarray(t, float) - np.asarray(p, float)) ** 2),
}
METRICS_BY_TASK = {"classification": ("accuracy", "macro_f1", "mcc"),
                   "regression": ("pearson", "spearman", "mse"),
                   "ner": ("entity_f1", "entity_precision", "entity_recall"),
                   "perplexity": ("perplexity",)}
BINARY_ONLY = ("f1",)  # classification metrics that only mean something with two classes
PRIMARY = {"classification": "accuracy", "regression": "pearson", "ner": "entity_f1", "perplexity": "perplexity"}


def primary_of(details: dict) -> str:
    """The metric a record is judged on: the one its run chose (`--metric`), else its task's."""
    return details.get("primary_metric") or PRIMARY[details["task"]]


def _arrays(scores: dict, stat: Statistic) -> list[np.ndarray]:
    missing = [k for k in stat.keys if k not in scores]
    if missing:
        raise BadInput(f"these scores lack {missing}", "compare records of the same task")
    return [np.asarray(scores[k]) for k in stat.keys]


def compute(name: str, scores: dict, seed: int = 0, n_boot: int = 2000) -> Metric:
    """The metric with its 95% interval: exact for a proportion, else the percentile bootstrap over examples,
    widened to the exact interval of the underlying proportion where the bootstrap has zero width at 0 or 100%."""
    stat = STATISTICS[name]
    scale = 100.0 if stat.unit == "%" else 1.0
    arrays = _arrays(scores, stat)
    method = "clopper_pearson" if stat.exact else "bootstrap"
    found = fisher_z_interval(stat.fn(*arrays), stat.leave_one_out(*arrays)) if stat.leave_one_out else None
    if found is not None:
        point, (low, high), method = stat.fn(*arrays), found, "fisher_z_jackknife"
    elif stat.per_row is not None:
        (point, low, high), method = studentized_mean(stat.per_row(*arrays), n_boot=n_boot, seed=seed), "bootstrap_t"
    elif stat.exact:
        point = stat.fn(*arrays)
        low, high = exact_proportion(*stat.proportion(*arrays))
    else:
        point, low, high = bootstrap(stat.fn, *arrays, seed=seed, n_boot=n_boot)
        if stat.proportion is not None and low == high and point in (0.0, 1.0):
            low, high = map(stat.from_proportion, exact_proportion(*stat.proportion(*arrays)))
            method = "clopper_pearson"
    return Metric(value=point * scale, unit=stat.unit, low=low * scale, high=high * scale, method=method)


def metric_names(task: str, n_classes: int | None = None) -> tuple[str, ...]:
    """The metrics a task reports: GLUE's per-task ones among them (F1 for two classes, MCC, Pearson/Spearman)."""
    return METRICS_BY_TASK[task] + (BINARY_ONLY if task == "classification" and n_classes == 2 else ())


def task_metrics(task: str, scores: dict, seed: int = 0, n_classes: int | None = None) -> dict[str, Metric]:
    return {name: compute(name, scores, seed) for name in metric_names(task, n_classes)}


def _check_paired(a: dict, b: dict) -> None:
    for k in ("y_true", "target", "tokens"):
        if k in a and k in b and (len(a[k]) != len(b[k]) or list(a[k]) != list(b[k])):
            raise BadInput("the two results were not scored on the same examples",
                           "evaluate both models on the same data, limit and seed")
    lengths = {len(v) for v in (*a.values(), *b.values())}
    if len(lengths) != 1:
        raise BadInput("the two results were not scored on the same examples",
                       "evaluate both models on the same data, limit and seed")


# A ratio's interval means something only when its denominator is surely far from 0: the baseline's 95% interval
# must exclude 0 with its lower end (in size) above this share of its value. STS-B's Pearson near 0 gave a
# bootstrap "retained" of [-17.7, 89.2] %.
NEAR_ZERO = 0.5


def near_zero(point: float, low: float | None, high: float | None) -> bool:
    """Whether a baseline with this interval is too close to 0 for a ratio over it to have an interval."""
    if low is None or high is None or not point:
        return True
    return low <= 0 <= high or min(abs(low), abs(high)) < NEAR_ZERO * abs(point)


def _leave_one_out(stat: Statistic) -> Callable[..., np.ndarray] | None:
    """A statistic's leave-one-row-out values, for the jackknife of a paired difference or retained %: a
    correlation's own, or a mean of per-row values' (sum - x_i) / (n - 1). For two STS-B-like regressors on 100
    rows the paired percentile bootstrap of the MSE difference covered 93.7% (the bootstrap-t 92.6%), the
    jackknife 94.9% (`benchmarks/coverage.py`)."""
    if stat.leave_one_out is not None:
        return stat.leave_one_out
    if stat.per_row is None:
        return None

    def mean_without_each(*arrays) -> np.ndarray:
        x = stat.per_row(*arrays)
        return (x.sum() - x) / (len(x) - 1) if len(x) > 1 else np.full(len(x), np.nan)
    return mean_without_each


def retained(name: str, scores: dict, baseline: dict, seed: int = 0, n_boot: int = 2000) -> Metric:
    """Performance retained = metric / baseline metric (in %), with a paired interval: exact for accuracy, the
    jackknife on the log ratio for a correlation or MSE, else the paired bootstrap. When the baseline's own interval reaches 0 or near it (`near_zero`), the point alone with
    method NOT_MEANINGFUL: no ratio interval is bounded there.

    For lower-is-better metrics (perplexity) it is baseline / metric, so 100% always means "as good".
    """
    _check_paired(scores, baseline)
    stat = STATISTICS[name]
    base = compute(name, baseline, seed=seed, n_boot=n_boot)
    if near_zero(base.value, base.low, base.high):
        mine, theirs = stat.fn(*_arrays(scores, stat)), stat.fn(*_arrays(baseline, stat))
        num, den = (mine, theirs) if stat.higher_is_better else (theirs, mine)
        return Metric(value=num / den * 100 if den else float("nan"), unit="%", method=NOT_MEANINGFUL)
    exact = exact_paired(scores, baseline).retained() if stat.exact else None
    if exact is not None:
        point, low, high = exact
        return Metric(value=point * 100, unit="%", low=low * 100, high=high * 100, method="exact_paired_retained")
    loo = _leave_one_out(stat)
    if loo is not None:  # the jackknife on the log ratio (the bootstrap covered 90% for a correlation)
        mine, theirs = _arrays(scores, stat), _arrays(baseline, stat)
        num, den = (mine, theirs) if stat.higher_is_better else (theirs, mine)
        point = stat.fn(*num) / stat.fn(*den)
        found = jackknife_interval(point, loo(*num) / loo(*den), transform=np.log, inverse=np.exp)
        if found is not None:
            return Metric(value=point * 100, unit="%", low=found[0] * 100, high=found[1] * 100, method="jackknife")
    k = len(stat.keys)

    def ratio(*arrays):
        mine, base = stat.fn(*arrays[:k]), stat.fn(*arrays[k:])
        num, den = (mine, base) if stat.higher_is_better else (base, mine)
        return num / den if den else np.nan

    point, low, high = bootstrap(ratio, *_arrays(scores, stat), *_arrays(baseline, stat), seed=seed, n_boot=n_boot)
    return Metric(value=point * 100, unit="%", low=low * 100, high=high * 100, method="paired_bootstrap")


def paired_difference(name: str, scores: dict, baseline: dict, seed: int = 0, n_boot: int = 2000) -> Metric:
    """metric(scores) - metric(baseline) with a paired interval (excluding 0 = a real difference): exact for
    accuracy, the jackknife for a correlation or MSE, else the paired bootstrap."""
    _check_paired(scores, baseline)
    stat = STATISTICS[name]
    if stat.exact:
        point, low, high = exact_paired(scores, baseline).difference()
        return Metric(value=point * 100, unit="pp", low=low * 100, high=high * 100, method="exact_paired_difference")
    k = len(stat.keys)
    scale = 100.0 if stat.unit == "%" else 1.0
    loo = _leave_one_out(stat)
    if loo is not None:  # the jackknife, leaving the same row out of both
        mine, theirs = _arrays(scores, stat), _arrays(baseline, stat)
        point = stat.fn(*mine) - stat.fn(*theirs)
        found = jackknife_interval(point, loo(*mine) - loo(*theirs))
        if found is not None:
            return Metric(value=point * scale, unit=stat.unit, low=found[0] * scale, high=found[1] * scale, method="jackknife")
    point, low, high = bootstrap(lambda *arr: stat.fn(*arr[:k]) - stat.fn(*arr[k:]),
                                 *_arrays(scores, stat), *_arrays(baseline, stat), seed=seed, n_boot=n_boot)
    return Metric(value=point * scale, unit="pp" if stat.unit == "%" else stat.unit, low=low * scale, high=high * scale,
                  method="paired_bootstrap")


@dataclass(frozen=True)
class DiscordantSplit:
    """Two classifiers on the same n rows: `both` right on both, `only_this` / `only_baseline` right on one.

    The accuracy difference is q (2w - 1), with q the share of rows on which they disagree and w the share of
    those this model gets right. Its interval is that product over the exact (Clopper-Pearson) 95% intervals of
    q and w: w's is the interval McNemar's exact test inverts, so the difference's interval excludes 0 exactly
    when McNemar's p < 0.05; q's carries the chance that other rows disagree more often. (w's alone covered a
    true 8 pp difference 87% of the time; the product 96.5-99.7% over the simulated cases in the tests.)
    """

    n: int
    both: int
    only_this: int
    only_baseline: int

    @property
    def discordant(self) -> int:
        return self.only_this + self.only_baseline

    def difference(self) -> tuple[float, float, float]:
        """accuracy(this) - accuracy(baseline): point, low, high (fractions)."""
        wins, shares = exact_proportion(self.only_this, self.discordant), exact_proportion(self.discordant, self.n)
        ends = [q * (2 * w - 1) for q in shares for w in wins]
        return (self.only_this - self.only_baseline) / self.n, min(ends), max(ends)

    def retained(self) -> tuple[float, float, float] | None:
        """accuracy(this) / accuracy(baseline): point, low, high; None when the baseline got no row right.
        1 + difference / accuracy(baseline), each end taken at the baseline accuracy's end that widens it."""
        right = self.both + self.only_baseline
        if not right:
            return None
        d, low, high = self.difference()
        lo_acc, hi_acc = exact_proportion(right, self.n)
        end = lambda x, widen: 1 + x / (lo_acc if widen else hi_acc)  # noqa: E731
        return (self.both + self.only_this) / right, max(0.0, end(low, low < 0)), end(high, high > 0)


def exact_paired(scores: dict, baseline: dict) -> DiscordantSplit:
    """The split of two classifiers' scores already checked to be on the same rows (`_check_paired`)."""
    a = np.asarray(scores["y_pred"]) == np.asarray(scores["y_true"])
    b = np.asarray(baseline["y_pred"]) == np.asarray(baseline["y_true"])
    return DiscordantSplit(len(a), int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b)))


def mcnemar(scores: dict, baseline: dict) -> dict:
    """Exact McNemar test on the examples exactly one of the two classifiers got right."""
    from scipy.stats import binomtest

    _check_paired(scores, baseline)
    split = exact_paired(scores, baseline)
    only_a, only_b = split.only_this, split.only_baseline
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"only_this_right": only_a, "only_baseline_right": only_b, "p_value": float(p)}
