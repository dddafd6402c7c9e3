"""End-to-end on the real offline weights and data sets, on small subsets (slow: run in CI, -m 'not slow' skips)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tradeoff.cli import main
from tradeoff.paths import shared_data

DATA = shared_data() or Path("shared/data")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DATA / "sst2").is_dir(), reason="the shared data sets are not here")]


def test_probe_and_zero_shot_in_one_table_with_retained(capsys):
    args = ["eval", "all-MiniLM-L6-v2", "SmolLM2-135M", "--data", str(DATA / "sst2"), "--mode", "probe,zero-shot",
            "--limit", "64", "--train-limit", "200", "--label-names", "negative,positive", "--quiet", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    probe, zero = out["results"]
    assert (probe["model"], probe["details"]["mode"]) == ("all-MiniLM-L6-v2", "probe")
    assert (zero["model"], zero["details"]["mode"]) == ("SmolLM2-135M", "zero-shot")
    acc = probe["metrics"]["accuracy"]
    assert acc["value"] > 60 and acc["low"] < acc["value"] < acc["high"]  # real sentence features, not chance
    assert zero["retained"]["low"] <= zero["retained"]["value"] <= zero["retained"]["high"]
    assert probe["details"]["sha256"] == zero["details"]["sha256"] and probe["details"]["n"] == 64


def test_finetuned_minilm_saves_a_checkpoint_that_rescores_identically(tmp_path, monkeypatch):
    from tradeoff.evaluate import run_cell

    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))
    cell = {"data": str(DATA / "sst2"), "mode": "finetune", "limit": 48, "train_limit": 160, "epochs": 1,
            "lr": 1e-4, "label_names": ["negative", "positive"]}
    tuned = run_cell("all-MiniLM-L6-v2", cell, save_dir=tmp_path / "teacher")
    assert tuned.status == "ok" and tuned.details["steps"] >= 1
    again = run_cell(str(tmp_path / "teacher"), {**cell, "mode": "checkpoint"})
    assert again.details["scores"] == tuned.details["scores"]


def test_smollm2_perplexity_on_austen():
    from tradeoff.evaluate import run_cell

    r = run_cell("SmolLM2-135M", {"data": str(DATA / "austen" / "validation.txt"), "max_tokens": 600,
                                  "window": 256, "stride": 128})
    ppl = r.metrics["perplexity"]
    assert r.status == "ok" and 3 < ppl.low < ppl.value < ppl.high < 200  # English prose, not random weights
    assert r.details["n_tokens"] == 600 and r.details["windows"] == 4


def test_mpnet_parts_assemble_into_a_working_encoder():
    from tradeoff.evaluate.inference import embeddings
    from tradeoff.models.load import load_pretrained, load_tokenizer

    model, tok = load_pretrained("all-mpnet-base-v2"), load_tokenizer("all-mpnet-base-v2")
    e = embeddings(model, tok, ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell today."])
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
