"""Pretrained weights: local folders, split zips joined once into the cache, and clear errors when absent."""
from __future__ import annotations

import shutil
import sys
import zipfile

import pytest

from tradeoff.errors import BadInput, Failure
from tradeoff.models import catalog
from tradeoff.models.load import load_pretrained, load_tokenizer
from tradeoff.models.refs import ModelRef, parse_ref
from tradeoff.models.weights import availability, has_weights, local_weights


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """A fresh tradeoff cache and an empty Hugging Face cache, whatever the machine has."""
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)


def _split_zip_ref(tiny_bert, site, parts=3, damage=False) -> ModelRef:
    """A catalog-like entry whose weights ship as a zip split across `parts` 'packages' under `site`."""
    site.mkdir(parents=True, exist_ok=True)
    archive = site / "whole.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in tiny_bert.iterdir():
            z.write(f, f"tiny-model/{f.name}")
    blob = archive.read_bytes()
    if damage:
        blob = blob[: len(blob) // 2]
    size = -(-len(blob) // parts)
    for i in range(1, parts + 1):
        (site / f"pkg_00{i}").mkdir(parents=True)
        (site / f"pkg_00{i}" / f"m.zip.00{i}").write_bytes(blob[(i - 1) * size: i * size])
    archive.unlink()
    base = catalog.lookup("all-MiniLM-L6-v2")
    entry = base.model_copy(update={"name": "tiny-split", "weights": catalog.WeightsSource(
        packages=[f"pkg-00{i}==0" for i in range(1, parts + 1)], kind="split-zip", path="pkg_00{i}/m.zip.00{i}")})
    return ModelRef("tiny-split", "catalog", "tiny-split", "x/tiny-split", entry)


def test_split_zip_is_joined_once_into_the_cache(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site"), *sys.path])
    ref = _split_zip_ref(tiny_bert, tmp_path / "site")
    assert availability(ref) == ("installed (assembled on first use)", "")
    assert local_weights(ref, assemble=False) is None
    folder = local_weights(ref)
    assert has_weights(folder) and folder.parent.parent == tmp_path / "cache"
    assert availability(ref) == ("cached", "")
    shutil.rmtree(tmp_path / "site")  # the packages are no longer needed once assembled
    assert local_weights(ref) == folder
    model, tok = load_pretrained(ref), load_tokenizer(ref)
    assert model.config.hidden_size == 32 and tok("good film")["input_ids"][0] == tok.cls_token_id


def test_damaged_split_zip_fails_cleanly_and_leaves_nothing(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site"), *sys.path])
    ref = _split_zip_ref(tiny_bert, tmp_path / "site", damage=True)
    with pytest.raises(Failure, match="damaged"):
        local_weights(ref)
    assert not any((tmp_path / "cache" / "weights").iterdir())


def test_missing_weights_say_how_to_get_them(tmp_path):
    ref = parse_ref("bert-base-uncased")
    state, hint = availability(ref)
    assert state == "missing" and "`hf download google-bert/bert-base-uncased` while online" in hint
    with pytest.raises(BadInput, match="no pretrained weights") as e:
        load_pretrained(ref)
    assert e.value.hint == hint
    (tmp_path / "cfg").mkdir()
    shutil.copy(catalog.CATALOG_DIR / "bert-base-uncased.json", tmp_path / "cfg" / "x.json")
    (tmp_path / "cfg" / "config.json").write_text('{"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1, '
                                                  '"num_attention_heads": 2, "vocab_size": 40}')
    assert local_weights(parse_ref(str(tmp_path / "cfg"))) is None
    with pytest.raises(BadInput):
        load_tokenizer(str(tmp_path / "cfg"))


def test_local_folder_loads_with_a_task_head(tiny_bert):
    model = load_pretrained(str(tiny_bert), task="token-classification", num_labels=5)
    assert model.config.num_labels == 5 and not model.training
    with pytest.raises(BadInput, match="unknown task"):
        load_pretrained(str(tiny_bert), task="translation")
