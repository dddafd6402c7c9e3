"""Weights that could run code are refused, damaged ones are named, and nothing runs or half-loads."""
import json
import pathlib

import pytest
import torch

from tradeoff.cli import main
from tradeoff.errors import BadInput
from tradeoff.models.load import load_pretrained

CONFIG = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 32, "num_hidden_layers": 2,
          "num_attention_heads": 4, "intermediate_size": 64, "vocab_size": 100}


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def model_folder(tmp_path, name="model"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(CONFIG))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[f"w{i}" for i in range(95)]]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return folder


@pytest.fixture
def pickled(tmp_path):
    folder = model_folder(tmp_path, "pickled")
    marker = tmp_path / "PWNED"
    torch.save({"embeddings.word_embeddings.weight": Payload(str(marker))}, folder / "pytorch_model.bin")
    return folder, marker


@pytest.fixture
def truncated(tmp_path):
    from transformers import BertConfig, BertModel

    folder = model_folder(tmp_path, "truncated")
    BertModel(BertConfig(**{k: v for k, v in CONFIG.items() if k not in ("model_type", "architectures")})).save_pretrained(folder)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    return folder


def test_pickle_payload_is_refused_and_never_runs(pickled):
    folder, marker = pickled
    with pytest.raises(BadInput, match="refusing to load pickled weights"):
        load_pretrained(str(folder))
    assert not marker.exists()


def test_truncated_safetensors_is_named(truncated):
    with pytest.raises(BadInput, match="truncated or corrupt"):
        load_pretrained(str(truncated))


def test_cli_eval_on_unsafe_weights_is_one_line(pickled, tmp_path, capsys):
    folder, marker = pickled
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"text": f"w{i} w{i + 1}", "label": i % 2}) + "\n" for i in range(20)))
    code = main(["eval", str(folder), "--data", str(data), "--mode", "checkpoint", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not marker.exists()
