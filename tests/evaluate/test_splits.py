"""No test row ever reaches training: held-out splits of one file, overlap removal, fixed test subsets, and a spy
on what each mode actually trains on (fine-tune, probe, k-shot, calibration, distillation)."""
from __future__ import annotations

import json

import pytest

from tradeoff.cli import main
from tradeoff.errors import BadData, BadInput
from tradeoff.evaluate import data as D
from tradeoff.evaluate import run_cell

LABELS = ["negative", "positive"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def one_file(tmp_path, write_jsonl, sentiment_rows):
    """One labelled file and nothing else: the case that used to train and score on the same rows."""
    return write_jsonl(tmp_path / "reviews.jsonl", sentiment_rows(200, seed=3))


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in open(path)]


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def _test_texts(record, path) -> set[str]:
    rows = _rows(path)
    return {_fold(rows[i]["text"]) for i in record.details["test_rows"]["rows"]}


def _load(src, split, names):
    return D.load_classification(src, split, label_names=names)


def _spy_fit(monkeypatch, tokenizer_dir) -> list[str]:
    """Every text the shared training loop is handed, decoded from its encodings."""
    from transformers import AutoTokenizer

    import tradeoff.train as train_mod

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    seen: list[str] = []
    real = train_mod.fit

    def fit(model, loader, *args, **kwargs):
        seen.extend(_fold(tok.decode(e["input_ids"], skip_special_tokens=True)) for e in loader.dataset)
        return real(model, loader, *args, **kwargs)

    monkeypatch.setattr(train_mod, "fit", fit)
    return seen


def test_one_file_gets_a_stratified_held_out_test_split(one_file):
    whole = _load(one_file, "eval", None)
    split = D.train_test_split(_load, one_file, None, needs_train=True)
    assert len(split.test) == 40 and "20% held out" in split.test.split
    assert set(split.test.rows).isdisjoint(split.train.rows)
    assert len(split.train) + split.overlap_removed + len(split.test) == len(whole)
    for label in (0, 1):  # stratified: each class keeps its share
        share = sum(whole.labels[i] == label for i in split.test.rows) / len(split.test)
        assert abs(share - whole.labels.count(label) / len(whole)) < 0.05
    # the same rows for every mode (a zero-shot decoder is scored on the rows a fine-tuned encoder is)
    assert D.train_test_split(_load, one_file, None, needs_train=False).test.rows == split.test.rows


def test_text_in_both_sets_is_removed_from_training_and_counted(tmp_path, write_jsonl):
    rows = [{"text": f"the film was {'good' if i % 2 else 'bad'} " + "very " * i, "label": i % 2} for i in range(100)]
    test = write_jsonl(tmp_path / "test.jsonl", rows[:30])
    train = write_jsonl(tmp_path / "train.jsonl", rows[20:] + [{"text": "  THE film was bad  ", "label": 0}])
    split = D.train_test_split(_load, test, train, needs_train=True)
    test_texts = set(split.test.normalised())
    assert split.overlap_removed == 11 and not test_texts & set(split.train.normalised())
    assert split.details()["overlap_removed_from_train"] == split.overlap_removed
    with pytest.raises(BadInput, match="every test row"):
        D.train_test_split(_load, write_jsonl(tmp_path / "inside.jsonl", rows[40:60]), train, needs_train=True)


def test_bad_splits_are_refused(tmp_path, write_jsonl, sentiment_rows, one_file):
    with pytest.raises(BadInput, match="same file"):
        D.train_test_split(_load, one_file, one_file, needs_train=True)
    small = write_jsonl(tmp_path / "small.jsonl", sentiment_rows(60))
    with pytest.raises(BadData, match="fewer than 20"):
        D.train_test_split(_load, small, None, needs_train=True)
    for bad in (0, 1, 1.5, -0.2):
        with pytest.raises(BadInput, match="between 0 and 1"):
            D.train_test_split(_load, one_file, None, needs_train=True, test_fraction=bad)


@pytest.mark.parametrize("args, message", [
    (["--test-fraction", "1.5"], "--test-fraction must be between 0 and 1"),
    (["--test-fraction", "0"], "--test-fraction must be between 0 and 1"),
    (["--train", "SAME"], "same file as the test data"),
])
def test_cli_bad_split_is_one_line_exit_2(tiny_bert, one_file, capsys, args, message):
    args = [str(one_file) if a == "SAME" else a for a in args]
    code = main(["eval", str(tiny_bert), "--data", str(one_file), "--mode", "probe", "-q", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "Traceback" not in err and len(err.splitlines()) <= 2


def test_limit_subset_does_not_depend_on_the_training_seed(tiny_bert, one_file):
    a = run_cell(str(tiny_bert), {"data": str(one_file), "mode": "probe", "label_names": LABELS, "limit": 25, "seed": 0})
    b = run_cell(str(tiny_bert), {"data": str(one_file), "mode": "probe", "label_names": LABELS, "limit": 25, "seed": 1})
    assert a.details["test_rows"]["rows"] == b.details["test_rows"]["rows"] and len(a.details["test_rows"]["rows"]) == 25
    assert a.details["scores"]["y_true"] == b.details["scores"]["y_true"]


def test_finetune_never_trains_or_early_stops_on_test_rows(tiny_bert, one_file, monkeypatch):
    trained = _spy_fit(monkeypatch, tiny_bert)
    r = run_cell(str(tiny_bert), {"data": str(one_file), "mode": "finetune", "label_names": LABELS, "epochs": 1,
                                  "batch_size": 16})
    assert r.status == "ok" and r.details["test_rows"]["n"] == 40 and trained
    assert not _test_texts(r, one_file) & set(trained)
    assert set(r.details["dev_rows"]["rows"]).isdisjoint(r.details["test_rows"]["rows"])  # early stopping's rows


def test_probe_fits_only_on_training_rows(tiny_bert, one_file, monkeypatch):
    from tradeoff.evaluate import inference

    calls: list[list[str]] = []
    real = inference.embeddings

    def embeddings(model, tokenizer, texts, *args, **kwargs):
        calls.append([_fold(t) for t in texts])
        return real(model, tokenizer, texts, *args, **kwargs)

    monkeypatch.setattr(inference, "embeddings", embeddings)
    r = run_cell(str(tiny_bert), {"data": str(one_file), "mode": "probe", "label_names": LABELS})
    test = _test_texts(r, one_file)
    fitted, scored = calls
    assert set(scored) == test and not test & set(fitted) and len(fitted) == r.details["train_rows"]["n"]


def test_k_shot_demonstrations_and_calibration_come_from_training_rows(tiny_llama, one_file, monkeypatch):
    from tradeoff.evaluate import decoder

    prompts: list[list[str]] = []
    real = decoder._encode

    def encode(tokenizer, batch, *args, **kwargs):  # every prompt a decoder reads is encoded here
        prompts.append(list(batch))
        return real(tokenizer, batch, *args, **kwargs)

    monkeypatch.setattr(decoder, "_encode", encode)
    r = run_cell(str(tiny_llama), {"data": str(one_file), "mode": "k-shot", "k": 3, "calibrate": True,
                                   "label_names": LABELS})
    rows = _rows(one_file)
    test = _test_texts(r, one_file)
    shots = r.details["demonstration_rows"]
    assert len(shots) == 3 and not set(shots) & set(r.details["test_rows"]["rows"])
    assert not {_fold(rows[i]["text"]) for i in shots} & test
    scored, calibration = prompts
    context = scored[0][: scored[0].index(rows[r.details["test_rows"]["rows"][0]]["text"].strip())]
    assert not any(t in _fold(context) for t in test)  # the demonstrations hold no test text
    assert len(calibration) == 1 and not any(t in _fold(calibration[0]) for t in test)


def test_distillation_without_test_holds_out_rows_teacher_and_students_never_see(one_file, tmp_path, monkeypatch):
    from transformers import BertConfig, BertForMaskedLM

    from tradeoff.api import distill
    from tests.evaluate.conftest import _bert_tokenizer

    teacher = tmp_path / "teacher"
    teacher.mkdir()
    tok = _bert_tokenizer(teacher)
    BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=128)).save_pretrained(teacher)
    trained = _spy_fit(monkeypatch, teacher)
    result = distill(str(teacher), data=str(one_file), out=tmp_path / "student", layer_map="first", layers=1, epochs=1,
                     batch_size=16, bench_budget_s=0.2, progress=False)
    record = result.records[0]
    assert record.status == "ok" and record.details["n_test"] == 40 and record.details["test_rows"]["n"] == 40
    assert len(trained) > 2 * record.details["n_train"] - 1  # teacher fine-tune + distilled + hard-label student
    assert not _test_texts(record, one_file) & set(trained)


def test_checkpoint_labels_are_mapped_by_name_and_mismatches_refused(tiny_bert, tmp_path, write_jsonl, sentiment_rows):
    rows = sentiment_rows(160, seed=1)
    folder = tmp_path / "sst"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", rows)
    valid = sentiment_rows(40, seed=2)
    write_jsonl(folder / "validation.jsonl", valid)
    saved = tmp_path / "saved"
    run_cell(str(tiny_bert), {"data": str(folder), "mode": "finetune", "label_names": ["other", "great"], "epochs": 1},
             save_dir=saved)
    by_int = run_cell(str(saved), {"data": str(folder), "mode": "checkpoint"})
    # the same rows with their labels written as names: sorted order would make "great" class 0
    named = tmp_path / "named.jsonl"
    write_jsonl(named, [{"text": r["text"], "label": ["other", "great"][r["label"]]} for r in valid])
    by_name = run_cell(str(saved), {"data": str(named), "train": str(folder / "train.jsonl"), "mode": "checkpoint"})
    assert by_name.metrics["accuracy"].value == by_int.metrics["accuracy"].value
    wrong = write_jsonl(tmp_path / "wrong.jsonl", [{"text": r["text"], "label": ["neg", "pos"][r["label"]]} for r in valid])
    with pytest.raises(BadInput, match="predicts classes"):
        run_cell(str(saved), {"data": str(wrong), "train": str(folder / "train.jsonl"), "mode": "checkpoint"})


def test_finetune_cache_key_follows_the_columns_and_content(tiny_bert, tmp_path, write_jsonl, sentiment_rows):
    rows = [{**r, "flipped": 1 - r["label"]} for r in sentiment_rows(160, seed=1)]
    folder = tmp_path / "sst"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", rows)
    write_jsonl(folder / "validation.jsonl", [{**r, "flipped": 1 - r["label"]} for r in sentiment_rows(40, seed=2)])
    cell = {"data": str(folder), "mode": "finetune", "label_names": LABELS, "epochs": 1}
    a = run_cell(str(tiny_bert), cell)
    b = run_cell(str(tiny_bert), {**cell, "label_column": "flipped"})
    assert not b.details["cached"] and a.details["cache_key"] != b.details["cache_key"]


def test_an_edited_file_is_a_new_cell_not_a_stale_hit(tmp_path, write_jsonl, sentiment_rows):
    from tradeoff.evaluate import identified
    from tradeoff.record import Record

    path = write_jsonl(tmp_path / "data.jsonl", sentiment_rows(200))
    before = Record(kind="eval", model="m", weights="pretrained", cell=identified({"data": str(path)})).key
    write_jsonl(path, sentiment_rows(200, seed=9))
    after = Record(kind="eval", model="m", weights="pretrained", cell=identified({"data": str(path)})).key
    assert before != after
    with pytest.raises(BadInput, match="changed since this cell was planned"):
        from tradeoff.evaluate.cell import settings

        settings({"data": str(path), "data_sha256": "0" * 16})


def test_paired_statistics_only_on_the_same_rows():
    from tradeoff.evaluate.suite import compare_all
    from tradeoff.record import Record

    def rec(model, rows):
        scores = {"tp": [1, 0, 2], "fp": [0, 1, 0], "fn": [1, 0, 0]}
        details = {"task": "ner", "mode": "finetune", "scores": scores, "n": 3,
                   "test_rows": {"n": 3, "rows": rows, "rows_sha256": str(rows), "split": "x", "sha256": "s", "source": "f"}}
        return Record(kind="eval", model=model, weights="pretrained", cell={}, details=details)

    base, same, other = rec("a", [0, 1, 2]), rec("b", [0, 1, 2]), rec("c", [3, 4, 5])
    out = compare_all([base, same, other], "a:finetune")
    assert "b:finetune" in out and "c:finetune" not in out  # same count, other sentences: no paired retained %
