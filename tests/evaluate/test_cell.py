"""run_cell and the eval command on tiny local models: every mode, seeded, honest, and saved checkpoints reload."""
from __future__ import annotations

import json

import pytest

from tradeoff.cli import main
from tradeoff.errors import BadInput
from tradeoff.evaluate import run_cell

LABELS = ["negative", "positive"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def sst(tmp_path, write_jsonl, sentiment_rows):
    folder = tmp_path / "sst"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", sentiment_rows(160, seed=1))
    write_jsonl(folder / "validation.jsonl", sentiment_rows(40, seed=2))
    return folder


def _cell(sst, **kw):
    return {"data": str(sst), "label_names": LABELS, "epochs": 4, "lr": 3e-3, "batch_size": 16, **kw}


def test_finetune_record_is_complete_seeded_and_cached(tiny_bert, sst):
    cell = _cell(sst, mode="finetune")
    first = run_cell(str(tiny_bert), cell)
    assert first.status == "ok" and first.kind == "eval" and first.weights == "pretrained" and first.cell == cell
    acc = first.metrics["accuracy"]
    assert acc.low <= acc.value <= acc.high and acc.unit == "%"
    d = first.details
    assert d["n"] == 40 and d["train_n"] + d["overlap_removed_from_train"] == 160 and len(d["sha256"]) == 64
    assert d["n_dev"] == d["train_n"] // 10 and d["test_rows"]["n"] == 40 and d["dev_rows"]["n"] == d["n_dev"]
    assert d["mode"] == "finetune" and d["hyper_parameters"]["lr"] == 3e-3 and not d["cached"]
    again = run_cell(str(tiny_bert), cell)
    assert again.details["cached"] and again.metrics == first.metrics and again.key == first.key


def test_finetune_is_reproducible_without_the_cache(tiny_bert, sst, tmp_path, monkeypatch):
    cell = _cell(sst, mode="finetune", seed=5)
    a = run_cell(str(tiny_bert), cell)
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "other-cache"))
    b = run_cell(str(tiny_bert), cell)
    assert not b.details["cached"] and b.details["scores"] == a.details["scores"] and b.metrics == a.metrics


def test_saved_model_loads_and_scores_the_same_as_a_checkpoint(tiny_bert, sst, tmp_path):
    from transformers import AutoModelForSequenceClassification

    saved = tmp_path / "saved"
    tuned = run_cell(str(tiny_bert), _cell(sst, mode="finetune"), save_dir=saved)
    model = AutoModelForSequenceClassification.from_pretrained(saved)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    scored = run_cell(str(saved), _cell(sst, mode="checkpoint"))
    assert scored.details["scores"] == tuned.details["scores"]


def test_probe_and_decoder_modes(tiny_bert, tiny_llama, sst):
    probe = run_cell(str(tiny_bert), _cell(sst, mode="probe"))
    assert probe.status == "ok" and probe.details["mode"] == "probe"
    zero = run_cell(str(tiny_llama), _cell(sst, mode="zero-shot", calibrate=True))
    assert zero.status == "ok" and len(zero.details["content_free_prior"]) == 2
    few = run_cell(str(tiny_llama), _cell(sst, mode="k-shot", k=2))
    assert few.details["k"] == 2 and len(few.details["demonstrations"]) == 2
    assert few.metrics == run_cell(str(tiny_llama), _cell(sst, mode="k-shot", k=2)).metrics


def test_ner_finetune_scores_entity_f1(tiny_bert, tmp_path, write_jsonl):
    folder = tmp_path / "ner"
    folder.mkdir()
    rows = [{"tokens": ["john", "went", "to", "paris"], "tags": ["B-person", "O", "O", "B-location"]},
            {"tokens": ["acme", "corp", "plays"], "tags": ["B-corporation", "I-corporation", "O"]}] * 20
    write_jsonl(folder / "train.jsonl", rows)
    unseen = [{"tokens": ["john", "went", "to", "london"], "tags": ["B-person", "O", "O", "B-location"]},
              {"tokens": ["acme", "corp", "play"], "tags": ["B-corporation", "I-corporation", "O"]}] * 3
    write_jsonl(folder / "validation.jsonl", unseen)  # sentences the model never trains on
    (folder / "tags.json").write_text(json.dumps(["O", "B-person", "I-person", "B-location", "I-location",
                                                  "B-corporation", "I-corporation"]))
    r = run_cell(str(tiny_bert), {"data": str(folder), "epochs": 10, "lr": 5e-3, "batch_size": 8, "patience": 10})
    assert r.status == "ok" and r.details["task"] == "ner" and r.details["truncated_words"] == 0
    assert set(r.metrics) == {"entity_f1", "entity_precision", "entity_recall"}
    assert len(r.details["scores"]["tp"]) == 6
    assert r.metrics["entity_f1"].value > 50  # a memorisable task: the loop and the alignment work


def test_perplexity_cell(tiny_llama, tmp_path):
    (tmp_path / "t.txt").write_text("the movie was good . " * 30)
    r = run_cell(str(tiny_llama), {"data": str(tmp_path / "t.txt"), "window": 32, "stride": 16, "max_tokens": 100})
    assert r.status == "ok" and r.details["n_tokens"] == 100 and r.metrics["perplexity"].value > 1


def test_honest_labels_and_bad_input_fail_before_work(tiny_bert, tiny_llama, sst):
    with pytest.raises(BadInput, match="random weights|meaningless"):
        run_cell(str(tiny_bert), _cell(sst), weights="random")
    with pytest.raises(BadInput, match="no pretrained weights for bert-base-uncased"):
        run_cell("bert-base-uncased", _cell(sst))
    with pytest.raises(BadInput, match="does not apply to a decoder"):
        run_cell(str(tiny_llama), _cell(sst, mode="probe"))
    with pytest.raises(BadInput, match="no trained classification head"):
        run_cell(str(tiny_bert), _cell(sst, mode="checkpoint"))
    with pytest.raises(BadInput, match="numbers"):
        run_cell(str(tiny_llama), {"data": str(sst), "mode": "zero-shot"})
    with pytest.raises(BadInput, match="unknown eval setting"):
        run_cell(str(tiny_bert), {**_cell(sst), "epoch": 3})


def test_cli_table_json_store_and_retained(tiny_bert, tiny_llama, sst, tmp_path, capsys):
    from tradeoff.store import Store

    store = tmp_path / "results.db"
    args = ["eval", str(tiny_bert), str(tiny_llama), "--data", str(sst), "--mode", "probe,zero-shot",
            "--label-names", ",".join(LABELS), "--store", str(store), "--quiet", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    modes = [r["details"]["mode"] for r in out["results"]]
    assert modes == ["probe", "zero-shot"] and out["baseline"].endswith(":probe")
    assert out["results"][0]["retained"] is None and out["results"][1]["retained"]["low"] is not None
    assert "scores" not in out["results"][0]["details"]
    with Store.open(store) as s:
        assert len(s.query(kind="eval")) == 2
    assert main(args[:-1] + ["--baseline", f"{tiny_llama}:zero-shot"]) == 0
    table = capsys.readouterr().out
    assert "retained vs" in table and "baseline" in table


def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tiny_bert, sst, tmp_path, capsys):
    (tmp_path / "empty.jsonl").write_text("")
    save = tmp_path / "never"
    assert main(["eval", str(tiny_bert), "--data", str(tmp_path / "empty.jsonl"), "--save", str(save), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "empty" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not save.exists()
    assert main(["eval", "bert-base-uncased", "--data", str(sst), "--quiet"]) == 2
    assert "no pretrained weights" in capsys.readouterr().err


def test_backends_score_the_same_model_and_report_agreement_with_eager(tiny_bert, sst, tmp_path):
    from tradeoff import api

    saved = tmp_path / "saved"
    run_cell(str(tiny_bert), _cell(sst, mode="finetune"), save_dir=saved)
    cell = _cell(sst, mode="checkpoint", backend=["eager", "onnx", "onnx-int8"])
    result = api.evaluate([str(saved)], cell.pop("data"), progress=False, **cell)
    eager, onnx, int8 = result.records
    assert "backend" not in eager.details and eager.cell["backend"] == "eager"
    assert onnx.details["backend"] == "onnx" and onnx.details["agreement_with_eager"] == 100.0
    assert onnx.details["scores"] == eager.details["scores"]  # fp32 ONNX is the same function
    assert int8.details["agreement_n"] == 40 and 0 <= int8.details["agreement_with_eager"] <= 100
    assert result.baseline == f"{eager.model}:checkpoint" and f"{eager.model}:checkpoint@onnx" in result.retained
    columns, rows = result.table()
    assert "agrees with eager" in columns and rows[1]["agrees with eager"] == "100.0%"


def test_backend_applies_to_encoder_classification_only(tiny_bert, tiny_llama, sst):
    with pytest.raises(BadInput, match="unknown eval backend"):
        run_cell(str(tiny_bert), _cell(sst, mode="probe", backend="tensorrt"))
    with pytest.raises(BadInput, match="encoder classification only"):
        run_cell(str(tiny_llama), _cell(sst, mode="zero-shot", backend="onnx"))
