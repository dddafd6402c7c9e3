"""Data loading: the formats, column mapping, and one clear BadData line for every broken input."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from tradeoff import datasets
from tradeoff.errors import BadData, BadInput
from tradeoff.evaluate import data as D


@pytest.fixture
def rows():
    return [{"sentence": "good film", "y": "pos"}, {"sentence": "bad film", "y": "neg"}, {"sentence": "fine", "y": "pos"}]


def test_jsonl_csv_parquet_give_the_same_data(tmp_path, rows):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pd.DataFrame(rows).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "a.parquet")
    loaded = [D.load_classification(tmp_path / f"a.{ext}", text_column="sentence", label_column="y", label_names=["neg", "pos"])
              for ext in ("jsonl", "csv", "parquet")]
    for d in loaded:
        assert d.texts == ["good film", "bad film", "fine"] and d.labels == [1, 0, 1] and d.label_names == ["neg", "pos"]
    assert len({d.sha256 for d in loaded}) == 3  # each record names the exact file it read


def test_folder_of_splits_and_seeded_limit(tmp_path, write_jsonl, sentiment_rows):
    write_jsonl(tmp_path / "train.jsonl", sentiment_rows(50))
    write_jsonl(tmp_path / "validation.jsonl", sentiment_rows(30, seed=1))
    train = D.load_classification(tmp_path, "train")
    assert len(train) == 50 and train.source.endswith("train.jsonl")
    split = D.train_test_split(lambda src, sp, names: D.load_classification(src, sp, label_names=names), tmp_path, None,
                               needs_train=False, limit=10)
    assert len(split.test) == 10 and split.test.source.endswith("validation.jsonl") and split.train is None
    again = D.train_test_split(lambda src, sp, names: D.load_classification(src, sp, label_names=names), tmp_path, None,
                               needs_train=False, limit=10)
    assert split.test.rows == again.test.rows  # the same subset every time, whatever the training seed


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b'{"text": "a", "label": 0}\n{"text": "b"}\n', "no column 'label'"),
    (b'{"text": "a", "label": 0}\n{"text": "b", "label": 5}\n', "out of range"),
    (b'{"text": "a", "label": -1}\n{"text": "b", "label": 1}\n', "out of range"),
    (b'{"text": "caf\xe9", "label": 0}\n', "not valid UTF-8"),
    (b'{"text": "a", "label": 0}\nnot json\n', "line 2 is not valid JSON"),
    (b'{"text": "", "label": 0}\n{"text": "b", "label": 1}\n', "no text"),
    (b'{"text": "a", "label": 0.5}\n{"text": "b", "label": 1}\n', "integers or names"),
])
def test_bad_files_are_one_line_bad_data(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(BadData, match=message) as e:
        D.load_classification(path, label_names=["neg", "pos"] if b"5" in content or b"-1" in content else None)
    assert "\n" not in e.value.one_line() and e.value.hint


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(BadData, match="no such data"):
        D.load_classification(tmp_path / "nope.jsonl")
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(BadData, match="unsupported"):
        D.load_classification(tmp_path / "x.xml")
    with pytest.raises(BadData, match="no train"):
        D.load_classification(tmp_path, "train")


def test_tagging_validates_bio_and_lengths(tmp_path, write_jsonl):
    good = write_jsonl(tmp_path / "ner.jsonl", [{"tokens": ["John", "went"], "tags": ["B-person", "O"]}])
    d = D.load_tagging(good)
    assert d.tag_names == ["O", "B-person"] and d.tags == [[1, 0]]
    bad_len = write_jsonl(tmp_path / "len.jsonl", [{"tokens": ["John", "went"], "tags": ["B-person"]}])
    with pytest.raises(BadData, match="equal length"):
        D.load_tagging(bad_len)
    not_bio = write_jsonl(tmp_path / "bio.jsonl", [{"tokens": ["John"], "tags": ["PER"]}])
    with pytest.raises(BadData, match="not BIO"):
        D.load_tagging(not_bio)
    ints = write_jsonl(tmp_path / "ints.jsonl", [{"tokens": ["John"], "tags": [7]}])
    with pytest.raises(BadData, match="out of range"):
        D.load_tagging(ints, tag_names=["O", "B-person", "I-person"])


def test_task_detection(tmp_path, write_jsonl):
    (tmp_path / "t.txt").write_text("some text")
    assert D.detect_task(tmp_path / "t.txt") == "perplexity"
    assert D.detect_task(write_jsonl(tmp_path / "n.jsonl", [{"tokens": ["a"], "tags": ["O"]}])) == "ner"
    assert D.detect_task(write_jsonl(tmp_path / "c.jsonl", [{"text": "a", "label": 0}])) == "classification"


def test_corpus_errors(tmp_path):
    (tmp_path / "e.txt").write_text("  \n")
    with pytest.raises(BadData, match="empty"):
        D.load_corpus(tmp_path / "e.txt")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe bad")
    with pytest.raises(BadData, match="UTF-8"):
        D.load_corpus(tmp_path / "b.txt")


def test_fine_foods_without_the_debian_package_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TRADEOFF_MODELDATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(BadData, match="r-cran-modeldata") as e:
        D.load_classification("fine-foods")
    assert "apt-get install r-cran-modeldata" in e.value.hint
    with pytest.raises(BadInput, match="splits train and test"):
        D.load_classification("fine-foods:dev")


def test_fine_foods_from_the_r_package(tmp_path, monkeypatch):
    """Reads the R lazy-load database when the package is present (installed, or unpacked via TRADEOFF_MODELDATA_DIR)."""
    import os
    from pathlib import Path

    dirs = [os.environ.get("TRADEOFF_MODELDATA_DIR"), *datasets.MODELDATA_DIRS]
    found = next((d for d in dirs if d and (Path(d) / "data" / "Rdata.rdb").is_file()), None)
    if found is None:
        pytest.skip("r-cran-modeldata is not installed here")
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path))
    monkeypatch.setenv("TRADEOFF_MODELDATA_DIR", found)
    test = D.load_classification("fine-foods:test")
    assert len(test) == 1000 and sum(test.labels) == 658 and test.label_names == ["other", "great"]
    assert len(D.load_classification("fine-foods:train")) == 4000
