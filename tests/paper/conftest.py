"""A tiny GLUE folder (RTE-like pairs, SST-2-like single texts, STS-B-like scores), a 12-layer hidden-32 BERT
teacher (so the paper's layer map 0,2,4,7,9,11 applies) and a tiny decoder, and a study file naming them."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.evaluate.conftest import WORDS, save_tiny_bert, save_tiny_llama

GOOD, BAD = ["good", "great", "fine"], ["bad", "awful", "poor", "terrible"]


def _rows(n: int, seed: int, kind: str) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = i % 2
        words = [rng.choice(GOOD if label else BAD), "movie", rng.choice(["was", "is"]), rng.choice(WORDS[:12])]
        row = {"text": " ".join(words)}
        if kind == "pair":
            row["text_pair"] = " ".join([rng.choice(BAD if label else GOOD), "film"])
        if kind == "score":
            row["text_pair"] = " ".join([rng.choice(WORDS[:8]), "film"])
            row["label"] = round(rng.uniform(0, 5), 2)
        else:
            row["label"] = label
        out.append(row)
    return out


def _write(folder: Path, kind: str, labels) -> None:
    folder.mkdir(parents=True)
    for split, n, seed in (("train", 48, 1), ("validation", 30, 2)):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(n, seed, kind)))
    (folder / "labels.json").write_text(json.dumps(labels))


@pytest.fixture
def glue_data(tmp_path, monkeypatch) -> Path:
    base = tmp_path / "data"
    _write(base / "glue" / "rte", "pair", ["entailment", "not_entailment"])
    _write(base / "glue" / "stsb", "score", None)
    _write(base / "sst2", "single", ["negative", "positive"])
    monkeypatch.setenv("TRADEOFF_DATA", str(base))
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))
    return base


@pytest.fixture(scope="session")
def teacher12(tmp_path_factory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("teacher12"), layers=12)


@pytest.fixture(scope="session")
def decoder(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("decoder"))


STUDY = """name = "paper-tiny"

[[distill]]
models = ["{teacher}"]
mode = "task"
data = ["@rte", "@stsb"]
layer_map = "0,2,4,7,9,11"
epochs = 1
batch_size = 8
max_length = 32
bench_budget_s = 0.2

[[eval]]
models = ["{decoder}"]
data = ["@rte", "@sst2", "@stsb"]  # STS-B gets no decoder cell; --tasks leaves SST-2 out
mode = ["zero-shot", "k-shot"]
k = 2
batch_size = 8
"""


@pytest.fixture
def tiny_plan(tmp_path, teacher12, decoder, glue_data) -> Path:
    path = tmp_path / "paper-tiny.toml"
    path.write_text(STUDY.format(teacher=teacher12, decoder=decoder))
    return path
