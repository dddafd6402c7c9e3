"""Metrics, intervals, paired comparisons and retained %, checked against sklearn/seqeval and by hand."""
from __future__ import annotations

import numpy as np
import pytest

from tradeoff.errors import BadInput
from tradeoff.evaluate import metrics as M
from tradeoff.evaluate.ner import entity_counts
from tradeoff.record import bounded


def _scores(n=200, acc=0.8, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < acc, y, 1 - y)
    return {"y_true": y.tolist(), "y_pred": pred.tolist()}


def test_accuracy_and_macro_f1_match_sklearn_with_an_interval_around_them():
    from sklearn.metrics import accuracy_score, f1_score

    s = _scores()
    m = M.task_metrics("classification", s)
    assert m["accuracy"].value == pytest.approx(100 * accuracy_score(s["y_true"], s["y_pred"]))
    assert m["macro_f1"].value == pytest.approx(100 * f1_score(s["y_true"], s["y_pred"], average="macro"))
    for metric in m.values():
        assert metric.low < metric.value < metric.high
    assert m == M.task_metrics("classification", s)  # seeded: same numbers every time


def test_interval_narrows_with_more_examples():
    small = M.compute("accuracy", _scores(100))
    large = M.compute("accuracy", _scores(2000))
    assert (large.high - large.low) < (small.high - small.low)


def test_retained_of_a_model_against_itself_is_100_and_a_tie():
    """Identical on these rows; on other rows a model this alike could still differ a little."""
    s = _scores()
    r, d = M.retained("accuracy", s, s), M.paired_difference("accuracy", s, s)
    assert r.value == 100.0 and r.low < 100 < r.high and r.high - r.low < 6  # 200 rows
    assert d.value == 0.0 and d.low == -d.high and 0 < d.high < 2
    b = M.retained("mcc", s, s)
    assert (b.value, b.low, b.high) == (100.0, 100.0, 100.0)  # other metrics: the paired bootstrap


def test_retained_is_the_ratio_with_a_paired_interval():
    base = _scores(500, acc=0.9, seed=1)
    y = np.asarray(base["y_true"])
    worse_pred = np.asarray(base["y_pred"]).copy()
    worse_pred[:50] = 1 - y[:50]  # 50 more mistakes on the same examples
    worse = {"y_true": base["y_true"], "y_pred": worse_pred.tolist()}
    r = M.retained("accuracy", worse, base)
    expected = np.mean(worse_pred == y) / np.mean(np.asarray(base["y_pred"]) == y)
    assert r.value == pytest.approx(100 * expected)
    assert r.low < r.value < r.high < 100  # paired: clearly below 100
    diff = M.paired_difference("accuracy", worse, base)
    assert diff.high < 0 and diff.unit == "pp"
    test = M.mcnemar(worse, base)
    assert test["p_value"] < 0.01 and test["only_baseline_right"] > test["only_this_right"]


def test_perplexity_retained_means_baseline_over_model():
    a = {"nll": [20.0, 20.0], "tokens": [10, 10]}
    b = {"nll": [10.0, 10.0], "tokens": [10, 10]}
    assert M.retained("perplexity", a, b).value == pytest.approx(100 * np.exp(1) / np.exp(2))


def test_comparing_different_examples_is_refused():
    with pytest.raises(BadInput, match="same examples"):
        M.retained("accuracy", _scores(100), _scores(120))


def test_entity_f1_matches_seqeval():
    from seqeval.metrics import f1_score

    true = [["B-person", "I-person", "O", "B-location"], ["O", "B-group"], ["B-product", "O"]]
    pred = [["B-person", "I-person", "O", "O"], ["O", "B-location"], ["B-product", "O"]]
    counts = entity_counts(true, pred)
    assert counts == {"tp": [1, 0, 1], "fp": [0, 1, 0], "fn": [1, 1, 0]}
    m = M.compute("entity_f1", counts)
    assert m.value == pytest.approx(100 * f1_score(true, pred))


def test_macro_f1_averages_over_true_and_predicted_classes_as_sklearn_does():
    from sklearn.metrics import f1_score

    y = np.array([0, 0, 1, 1, 2, 2, 0])
    p = np.array([0, 1, 1, 1, 0, 2, 3])  # class 3 is predicted but never true: its F1 of 0 counts
    assert M.STATISTICS["macro_f1"].fn(y, p) == pytest.approx(f1_score(y, p, average="macro"))
    y, p = np.array([0, 0, 0, 0, 1]), np.array([0, 0, 0, 0, 2])
    assert M.STATISTICS["macro_f1"].fn(y, p) == pytest.approx(f1_score(y, p, average="macro"))  # 1/3, not 1/2


def test_macro_f1_equals_sklearn_on_random_labels():
    import warnings

    from hypothesis import given, settings, strategies as st
    from sklearn.metrics import f1_score

    pairs = st.integers(1, 60).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 5), min_size=n, max_size=n),
                                                          st.lists(st.integers(0, 5), min_size=n, max_size=n)))

    @settings(max_examples=300, deadline=None)
    @given(pairs)
    def check(pair):
        y, p = map(np.asarray, pair)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = f1_score(y, p, average="macro")
        assert M.STATISTICS["macro_f1"].fn(y, p) == pytest.approx(expected, abs=1e-12)

    check()


def _all_right(n=30):
    y = np.arange(n) % 2
    return {"y_true": y.tolist(), "y_pred": y.tolist()}


def test_accuracy_gets_the_exact_binomial_interval_that_stays_honest_at_100_and_0_percent():
    from scipy.stats import binomtest

    perfect = M.compute("accuracy", _all_right(30))
    assert (perfect.value, perfect.high) == (100.0, 100.0)
    assert perfect.low == pytest.approx(88.43, abs=0.01)  # 30 of 30: [88.4, 100], not [100, 100]
    wrong = _all_right(30)
    wrong["y_pred"] = [1 - v for v in wrong["y_pred"]]
    none = M.compute("accuracy", wrong)
    assert (none.value, none.low) == (0.0, 0.0) and none.high == pytest.approx(11.57, abs=0.01)
    s = _scores(200)
    k = int(np.sum(np.asarray(s["y_true"]) == np.asarray(s["y_pred"])))
    ci = binomtest(k, 200).proportion_ci(method="exact")
    m = M.compute("accuracy", s)
    assert (m.low, m.high) == pytest.approx((100 * ci.low, 100 * ci.high))


def test_f1_scores_at_a_boundary_do_not_claim_certainty():
    perfect = M.task_metrics("classification", _all_right(30))["macro_f1"]
    assert perfect.value == 100.0 and perfect.low == pytest.approx(88.43, abs=0.01) and perfect.high == 100.0
    counts = {"tp": [2, 1, 3] * 10, "fp": [0] * 30, "fn": [0] * 30}  # 60 entities, every one found
    for name in ("entity_f1", "entity_precision", "entity_recall"):
        m = M.compute(name, counts)
        assert m.value == 100.0 and m.high == 100.0 and 90.0 < m.low < 100.0, (name, m)
    found_none = M.compute("entity_f1", {"tp": [0] * 30, "fp": [1] * 30, "fn": [2] * 30})
    assert found_none.value == 0.0 and found_none.low == 0.0 and found_none.high > 0.0
    inside = M.compute("macro_f1", _scores(200))  # away from the boundary: the bootstrap, as before
    assert inside.low < inside.value < inside.high < 100.0


def test_the_accuracy_interval_covers_the_truth_near_100_percent():
    """A 98%-accurate model on 30 examples is perfect more than half the time; a [100, 100] interval then misses
    the truth. The exact interval holds it at least 95% of the time."""
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(400):
        y = rng.integers(0, 2, 30)
        pred = np.where(rng.random(30) < 0.98, y, 1 - y)
        m = M.compute("accuracy", {"y_true": y.tolist(), "y_pred": pred.tolist()})
        hits += m.low <= 98.0 <= m.high
    assert hits / 400 >= 0.95


def _pair(only_this, only_baseline, both=100, neither=20):
    """Two classifiers' scores on the same rows with the given agreement counts."""
    y = [1] * (both + neither + only_this + only_baseline)
    this = [1] * both + [0] * neither + [1] * only_this + [0] * only_baseline
    base = [1] * both + [0] * neither + [0] * only_this + [1] * only_baseline
    return {"y_true": y, "y_pred": this}, {"y_true": y, "y_pred": base}


def test_an_accuracy_difference_is_significant_exactly_when_mcnemar_says_so():
    """The interval and the test answer one question: never "interval excludes 0" beside "p = 0.053"."""
    for only_this in range(0, 40, 3):
        for only_baseline in [*range(0, 40, 4), 7, 8]:
            this, base = _pair(only_this, only_baseline)
            diff = M.paired_difference("accuracy", this, base)
            kept = M.retained("accuracy", this, base)
            p = M.mcnemar(this, base)["p_value"]
            assert (diff.low > 0 or diff.high < 0) == (p < 0.05), (only_this, only_baseline)
            assert (kept.low > 100 or kept.high < 100) == (p < 0.05), (only_this, only_baseline)
            n = len(this["y_true"])
            assert diff.value == pytest.approx(100 * (only_this - only_baseline) / n)
            assert kept.value == pytest.approx(100 * (100 + only_this) / (100 + only_baseline))
            assert diff.low < diff.value < diff.high and kept.low < kept.value < kept.high


def test_the_demos_disagreement_is_a_tie():
    """The demo's "+3.2 pp [+0.2, +6.2], McNemar p = 0.053" (a percentile bootstrap beside the exact test): 17 vs 7
    discordant rows of 400 is such a case; the exact interval includes 0, as the test says."""
    this, base = _pair(17, 7, both=300, neither=76)
    assert M.mcnemar(this, base)["p_value"] > 0.05
    diff = M.paired_difference("accuracy", this, base)
    assert diff.low < 0 < diff.high and diff.value == pytest.approx(2.5)


@pytest.mark.parametrize("n,p10,p01", [(400, .05, .08), (400, .03, .03), (400, .02, .10), (200, .0, .08), (100, .05, .15)])
def test_paired_accuracy_intervals_cover_the_true_difference_and_ratio(n, p10, p01):
    """Rows drawn afresh each time (so the number of disagreements varies too), 95% nominal."""
    rng = np.random.default_rng(3)
    p11 = 0.7
    hits_d = hits_r = 0
    trials = 300
    for _ in range(trials):
        b, c, both, neither = rng.multinomial(n, [p10, p01, p11, 1 - p10 - p01 - p11])
        this, base = _pair(b, c, both=both, neither=neither)
        d, r = M.paired_difference("accuracy", this, base), M.retained("accuracy", this, base)
        hits_d += d.low <= 100 * (p10 - p01) <= d.high
        hits_r += r.low <= 100 * (p11 + p10) / (p11 + p01) <= r.high
    assert hits_d / trials >= 0.94 and hits_r / trials >= 0.94


def _regression(n, noise, seed=0):
    rng = np.random.default_rng(seed)
    t = 5 * rng.beta(0.7, 0.7, n)
    return {"target": t, "prediction": t + noise * (0.5 + t / 5) * rng.standard_normal(n)}


def test_retained_over_a_baseline_near_zero_is_not_meaningful():
    """A Pearson of ~0.1 on 100 rows: its interval reaches 0, so a ratio over it has no bounded interval (the
    bootstrap printed [-17.7, 89.2] % for one such STS-B baseline)."""
    base = _regression(100, 12.0, seed=3)
    assert M.compute("pearson", base).low < 0
    r = M.retained("pearson", _regression(100, 1.0, seed=3) | {"target": base["target"]}, base)
    assert r.method == M.NOT_MEANINGFUL and r.low is None and r.high is None
    assert M.near_zero(0.5, 0.3, 0.7) is False and M.near_zero(0.5, 0.2, 0.7) and M.near_zero(0.5, -0.1, 0.9)


def test_correlations_get_fisher_z_with_a_jackknife_error():
    """The percentile bootstrap of Pearson on 100 skewed, heteroscedastic rows covered 88% of the time."""
    s = _regression(100, 1.0)
    m = M.compute("pearson", s)
    assert m.method == "fisher_z_jackknife" and m.low < m.value < m.high < 1
    loo = M._pearson_loo(s["target"], s["prediction"])
    assert loo[7] == pytest.approx(np.corrcoef(np.delete(s["target"], 7), np.delete(s["prediction"], 7))[0, 1])
    other = {"target": s["target"], "prediction": s["target"] + 0.5 * np.random.default_rng(1).standard_normal(100)}
    d, r = M.paired_difference("pearson", other, s), M.retained("pearson", other, s)
    assert d.method == r.method == "jackknife" and d.low < d.value < d.high and r.low < r.value < r.high
    assert M.compute("pearson", {"target": s["target"], "prediction": s["target"]}).method == "bootstrap"  # r = 1


def test_mse_interval_is_a_bootstrap_t_that_follows_the_skew_of_squared_errors():
    """The percentile bootstrap of an STS-B-like MSE covered 92.6% at 400 rows; the bootstrap-t widens the side
    the squared errors stretch (their long right tail), so the upper side is the wider one."""
    rng = np.random.default_rng(3)
    target = 5 * rng.beta(0.7, 0.7, 400)
    prediction = target + (0.5 + target / 5) * rng.standard_normal(400)
    m = M.compute("mse", {"target": target, "prediction": prediction})
    assert m.method == "bootstrap_t"
    assert m.low < m.value < m.high
    assert m.high - m.value > m.value - m.low


@pytest.mark.parametrize("target, prediction", [([1.0, 2.0, 3.0], [1.5, 2.5, 3.5]), ([2.0], [3.0])])
def test_mse_of_equal_squared_errors_or_one_row_has_open_ends_not_a_zero_width_interval(target, prediction):
    """Equal squared errors (se 0) or a single row give the bootstrap-t no spread: a [1, 1] interval would claim
    certainty, so both ends are open ('?' each) and the MSE prints as a point."""
    m = M.compute("mse", {"target": np.array(target), "prediction": np.array(prediction)})
    assert m.method == "bootstrap_t" and m.value == pytest.approx(0.25 if len(target) > 1 else 1.0)
    assert not bounded(m.low) and not bounded(m.high)
    assert "[" not in m.fmt()


def test_mse_paired_difference_and_retained_are_the_jackknife_over_shared_rows():
    """The paired percentile bootstrap of an MSE difference covered 93.7% on 100 STS-B-like rows; the jackknife
    (for a mean, Student's t on the per-row differences of squared errors) 94.9%, and on the log ratio for
    retained %, which is baseline over model since a lower MSE is better."""
    from scipy.stats import t

    rng = np.random.default_rng(4)
    target = 5 * rng.beta(0.7, 0.7, 100)
    base = {"target": target, "prediction": target + 1.2 * rng.standard_normal(100)}
    other = {"target": target, "prediction": target + rng.standard_normal(100)}
    d = (other["prediction"] - target) ** 2 - (base["prediction"] - target) ** 2
    diff, kept = M.paired_difference("mse", other, base), M.retained("mse", other, base)
    assert diff.method == kept.method == "jackknife"
    half = t.ppf(0.975, 99) * d.std(ddof=1) / np.sqrt(100)
    assert (diff.low, diff.value, diff.high) == pytest.approx((d.mean() - half, d.mean(), d.mean() + half))
    ratio = np.mean((base["prediction"] - target) ** 2) / np.mean((other["prediction"] - target) ** 2)
    assert kept.value == pytest.approx(100 * ratio) and kept.value > 100
    assert kept.low < kept.value < kept.high and kept.value ** 2 == pytest.approx(kept.low * kept.high)  # log scale
