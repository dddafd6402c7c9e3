"""Metrics, intervals, paired comparisons and retained %, checked against sklearn/seqeval and by hand."""
from __future__ import annotations

import numpy as np
import pytest

from tradeoff.errors import BadInput
from tradeoff.evaluate import metrics as M
from tradeoff.evaluate.ner import entity_counts


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


def test_retained_of_a_model_against_itself_is_exactly_100():
    s = _scores()
    r = M.retained("accuracy", s, s)
    assert (r.value, r.low, r.high) == (100.0, 100.0, 100.0)


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


def test_macro_f1_matches_sklearn_with_an_absent_class():
    from sklearn.metrics import f1_score

    y = np.array([0, 0, 1, 1, 2, 2, 0])
    p = np.array([0, 1, 1, 1, 0, 2, 3])
    expected = f1_score(y, p, labels=np.unique(y), average="macro", zero_division=0)
    assert M.STATISTICS["macro_f1"].fn(y, p) == pytest.approx(expected)
