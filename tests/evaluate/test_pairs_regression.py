"""Sentence pairs and regression (GLUE RTE / MRPC / STS-B shapes) on tiny models: pairs are tokenised as pairs, a
probe must use the second sentence, STS-B scores get a regression head and Pearson/Spearman, GLUE's per-task
metrics match scikit-learn and scipy, and bad pair or score data is one line."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tradeoff.cli import main
from tradeoff.errors import BadData, BadInput
from tradeoff.evaluate import data as D
from tradeoff.evaluate import run_cell
from tradeoff.evaluate.metrics import compute, retained

POS, NEG, FILLER = ["good", "great", "fine"], ["bad", "awful", "poor"], ["the", "movie", "film", "was", "very", "a"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))


def _pair_rows(n: int, seed: int, regression: bool = False) -> list[dict]:
    """The label lives only in the second sentence: the first is filler with a misleading sentiment word."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        strength = rng.randint(0, 5)
        label = int(strength >= 3)
        first = " ".join(rng.sample(FILLER, 3) + [rng.choice(POS + NEG)])
        second = " ".join(rng.sample(FILLER, 2) + [rng.choice(POS if label else NEG)] * (1 + int(abs(strength - 2.5))))
        rows.append({"text": first, "text_pair": second, "label": round(strength * 0.9 + rng.random() * 0.5, 2) if regression else label})
    return rows


@pytest.fixture
def pairs(tmp_path, write_jsonl):
    folder = tmp_path / "pairs"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", _pair_rows(240, 1))
    write_jsonl(folder / "validation.jsonl", _pair_rows(80, 2))
    return folder


@pytest.fixture
def scores(tmp_path, write_jsonl):
    folder = tmp_path / "stsb"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", _pair_rows(240, 1, regression=True))
    write_jsonl(folder / "validation.jsonl", _pair_rows(80, 2, regression=True))
    return folder


def test_pairs_are_read_and_tokenised_as_pairs(tiny_bert, pairs):
    from transformers import AutoTokenizer

    from tradeoff.evaluate.inference import encode

    data = D.load_classification(pairs, "eval")
    assert data.pairs is not None and data.inputs[0] == (data.texts[0], data.pairs[0])
    tok = AutoTokenizer.from_pretrained(str(tiny_bert))
    enc = encode(tok, data.inputs[:2])[0]
    sep = tok.sep_token_id
    ids = enc["input_ids"]
    assert ids.count(sep) == 2 and ids == tok(data.texts[0], data.pairs[0])["input_ids"]
    assert set(enc["token_type_ids"][ids.index(sep) + 1:]) == {1}  # the second sentence is segment B
    # the pair is part of each example's identity: the same first sentence with another second one is another row
    assert data.subset([0]).normalised() != [D._fold(data.texts[0])]


def test_a_probe_must_use_the_second_sentence(tiny_bert, pairs, tmp_path, write_jsonl):
    with_pair = run_cell(str(tiny_bert), {"data": str(pairs), "mode": "probe"})
    assert with_pair.details["pairs"] and with_pair.metrics["accuracy"].value > 80
    assert "f1" in with_pair.metrics and "mcc" in with_pair.metrics  # GLUE's MRPC and CoLA metrics, for two classes
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in ("train", "validation"):  # the same rows without their second sentence
        rows = [{"text": r["text"], "label": r["label"]} for r in _pair_rows(240 if name == "train" else 80, 1 if name == "train" else 2)]
        write_jsonl(alone / f"{name}.jsonl", rows)
    without = run_cell(str(tiny_bert), {"data": str(alone), "mode": "probe"})
    assert not without.details["pairs"] and without.metrics["accuracy"].high < with_pair.metrics["accuracy"].low


def test_regression_head_and_probe_on_sts_b_scores(tiny_bert, scores):
    assert D.detect_task(scores) == "regression"
    probe = run_cell(str(tiny_bert), {"data": str(scores), "mode": "probe", "label_range": "0,5"})
    assert probe.details["task"] == "regression" and probe.details["primary_metric"] == "pearson"
    assert set(probe.metrics) == {"pearson", "spearman", "mse"} and probe.metrics["pearson"].value > 0.5
    tuned = run_cell(str(tiny_bert), {"data": str(scores), "mode": "finetune", "epochs": 2, "lr": 3e-3, "batch_size": 16})
    from transformers import AutoConfig

    assert tuned.status == "ok" and "pearson" in tuned.metrics and len(tuned.details["scores"]["prediction"]) == 80
    folder = tuned.details.get("saved_to")
    assert folder is None  # not saved; the cached model is a one-output regression head
    cached = next(p for p in (scores.parent / "cache" / "finetuned").iterdir())
    assert AutoConfig.from_pretrained(cached).num_labels == 1


def test_glue_metrics_match_scikit_learn_and_scipy():
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import f1_score, matthews_corrcoef

    rng = np.random.default_rng(0)
    for _ in range(20):
        y_true, y_pred = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
        assert compute("mcc", {"y_true": y_true, "y_pred": y_pred}).value == pytest.approx(matthews_corrcoef(y_true, y_pred))
        b_true, b_pred = y_true % 2, y_pred % 2
        assert compute("f1", {"y_true": b_true, "y_pred": b_pred}).value == pytest.approx(100 * f1_score(b_true, b_pred))
        target, prediction = rng.random(40) * 5, rng.random(40) * 5
        s = {"target": target, "prediction": prediction}
        assert compute("pearson", s).value == pytest.approx(pearsonr(target, prediction)[0])
        assert compute("spearman", s).value == pytest.approx(spearmanr(target, prediction)[0])
    good = {"target": target, "prediction": target + rng.normal(0, 0.1, 40)}
    kept = retained("pearson", s, good)  # the paired retained % works for a correlation too
    assert kept.low <= kept.value <= kept.high and kept.value < 50


def test_decoders_read_pairs_through_a_pair_template(tiny_llama, pairs):
    r = run_cell(str(tiny_llama), {"data": str(pairs), "mode": "zero-shot", "label_names": ["negative", "positive"],
                                   "limit": 20})
    assert r.status == "ok" and "{text_pair}" in r.details["template"]
    with pytest.raises(BadInput, match="no {text_pair} slot"):
        run_cell(str(tiny_llama), {"data": str(pairs), "mode": "zero-shot", "label_names": ["negative", "positive"],
                                   "template": "Text: {text}\nSentiment:"})


def test_bad_pair_and_score_data_is_refused(tiny_bert, tmp_path, write_jsonl, scores, pairs):
    missing = write_jsonl(tmp_path / "missing.jsonl", [{"text": "a film", "label": 1}] * 30)
    with pytest.raises(BadData, match="no column 'second'"):
        D.load_classification(missing, text_column="text", pair_column="second")
    empty = write_jsonl(tmp_path / "empty.jsonl", [{"text": "a film", "text_pair": " ", "label": 1}] * 30)
    with pytest.raises(BadData, match="no text in 'text_pair'"):
        D.load_classification(empty)
    with pytest.raises(BadData, match="labels must be integers") as e:  # STS-B scores used as classes
        D.load_classification(scores, "eval")
    assert "--task regression" in e.value.hint
    out_of_range = tmp_path / "range"
    out_of_range.mkdir()
    write_jsonl(out_of_range / "train.jsonl", [{**r, "label": r["label"] + 0.5} for r in _pair_rows(240, 1, True)])
    write_jsonl(out_of_range / "validation.jsonl", _pair_rows(80, 2, regression=True))
    with pytest.raises(BadData, match="outside 0-5"):
        run_cell(str(tiny_bert), {"data": str(out_of_range), "mode": "probe", "label_range": "0,5"})


@pytest.mark.parametrize("args, message", [
    (["--data", "SCORES", "--task", "classification"], "--task regression"),
    (["--data", "SCORES", "--label-range", "0,4"], "outside 0-4"),
    (["--data", "PAIRS", "--text-pair-column", "nope"], "no column 'nope'"),
    (["--data", "PAIRS", "--metric", "pearson"], "metric 'pearson' is not reported for classification"),
])
def test_cli_bad_pair_input_is_one_line_exit_2(tiny_bert, scores, pairs, capsys, args, message):
    args = [str(scores) if a == "SCORES" else str(pairs) if a == "PAIRS" else a for a in args]
    code = main(["eval", str(tiny_bert), "--mode", "probe", "-q", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "Traceback" not in err and len(err.splitlines()) <= 2
