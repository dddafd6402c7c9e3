"""A folder model is named by its contents: two folders called `student` are two models, and a folder trained
again in place is a new one, with its own records and its own fine-tuned head."""
from __future__ import annotations

import json

import pytest
import torch

from tradeoff.cells import Cell
from tradeoff.evaluate.finetune import cache_key
from tradeoff.evaluate.settings import HyperParams
from tradeoff.models import parse_ref
from tradeoff.models.weights import require_weights

BERT = {"model_type": "bert", "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 100,
        "max_position_embeddings": 64}


def _config_folder(path, layers: int) -> str:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({**BERT, "num_hidden_layers": layers}))
    return str(path)


def _weights_folder(path, seed: int) -> str:
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    BertModel(BertConfig(**{k: v for k, v in BERT.items() if k != "model_type"}, num_hidden_layers=2)).save_pretrained(path)
    return str(path)


class _Rows:
    def content_sha256(self) -> str:
        return "the same training rows"


def test_two_folders_with_one_basename_are_two_models_with_their_own_keys(tmp_path):
    a = _config_folder(tmp_path / "run-a" / "student", 3)
    b = _config_folder(tmp_path / "run-b" / "student", 6)
    ra, rb = parse_ref(a), parse_ref(b)
    assert ra.name != rb.name and ra.name.startswith("student@") and rb.name.startswith("student@")
    assert ra.display == rb.display == "student"
    keys = {Cell(kind, m, parse_ref(m).name, "random", {"seq_len": 128}).key for m in (a, b) for kind in ("inspect", "eval")}
    assert len(keys) == 4
    assert parse_ref(a).name == ra.name  # the same contents, the same name
    copy = _config_folder(tmp_path / "copy" / "student", 3)
    assert parse_ref(copy).name == ra.name  # named by content, not by path


def test_tables_show_the_basename_and_a_hash_only_where_basenames_collide(tmp_path):
    from tradeoff import api
    from tradeoff.models.refs import display_names

    folders = _config_folder(tmp_path / "run-a" / "student", 3), _config_folder(tmp_path / "run-b" / "student", 6)
    a, b = (parse_ref(f).name for f in folders)
    assert display_names([a, "distilbert-base-uncased"]) == {a: "student", "distilbert-base-uncased": "distilbert-base-uncased"}
    assert display_names([a, b]) == {a: a, b: b}
    assert api.inspect([folders[0], "distilbert-base-uncased"]).table()[0] == ["", "student", "distilbert-base-uncased"]
    assert api.inspect(list(folders)).table()[0] == ["", a, b]


def test_a_folder_trained_again_in_place_gets_a_new_fine_tuned_head(tmp_path):
    folder = _weights_folder(tmp_path / "model", seed=0)
    before = parse_ref(folder)
    key = cache_key(before, require_weights(before), "sequence-classification", _Rows(), 0, HyperParams(max_length=64))
    _weights_folder(tmp_path / "model", seed=1)  # same path, same sizes, other weights
    after = parse_ref(folder)
    assert after.name != before.name
    assert cache_key(after, require_weights(after), "sequence-classification", _Rows(), 0, HyperParams(max_length=64)) != key


@pytest.mark.parametrize("text", ["a" * 5000, "org/" + "b" * 300, "/tmp/" + "c" * 4100, "bert\tbase"])
def test_an_impossible_reference_is_bad_input_before_the_file_system(text, monkeypatch):
    from pathlib import Path

    from tradeoff.errors import BadInput
    from tradeoff.models import refs

    class Untouched(type(Path())):
        def exists(self, *_, **__):
            raise AssertionError("the file system was asked")

    monkeypatch.setattr(refs, "Path", Untouched)
    with pytest.raises(BadInput, match="too long|control characters"):
        parse_ref(text)
