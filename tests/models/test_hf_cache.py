"""Catalog models without packaged weights resolve through their hub id in the user's Hugging Face cache.

The cache is built in a temp HF_HOME exactly as huggingface_hub lays it out, holding tiny random models
under the real ids of bert-base-uncased, distilbert-base-uncased and Llama-2-7b. Nothing reaches the network.
"""
from __future__ import annotations

import json
import socket
import time

import pytest

from tradeoff import cli
from tradeoff.errors import BadInput
from tradeoff.evaluate.cell import check_weights
from tradeoff.models import refs
from tradeoff.models.load import load_pretrained, load_tokenizer
from tradeoff.models.refs import parse_ref
from tradeoff.models.weights import (HF_CACHE, LOCAL, MISSING, ON_HUB, availability, find_weights, local_weights,
                                     locate, require_weights, weights_revision)

BERT, DISTILBERT, LLAMA = "google-bert/bert-base-uncased", "distilbert/distilbert-base-uncased", "meta-llama/Llama-2-7b-hf"
CATALOG = {"bert-base-uncased": BERT, "distilbert-base-uncased": DISTILBERT, "llama-2-7b": LLAMA}


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every attempt to open a connection or resolve a name."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:1])
        raise OSError("network refused by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def online(monkeypatch):
    """HF_HUB_OFFLINE unset and no proxy: whether the hub is reachable is then decided by one connect."""
    for var in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    answers = refs._hub_answers  # the cached function itself, even if a test replaces it
    answers.cache_clear()
    yield
    answers.cache_clear()


def _sentiment(path, n: int, seed: int):
    import random

    rng = random.Random(seed)
    pos, neg, filler = ["good", "great", "wonderful"], ["bad", "awful", "terrible"], ["the", "movie", "film", "was", "very", "a"]
    rows = []
    for i in range(n):
        label = i % 2
        words = rng.sample(filler, 3) + [rng.choice(pos if label else neg)]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def sentiment_files(tmp_path):
    return _sentiment(tmp_path / "test.jsonl", 40, seed=1), _sentiment(tmp_path / "train.jsonl", 80, seed=2)


def _json_out(capsys, argv: list[str]):
    code = cli.main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_cache_layout_is_what_huggingface_hub_reads(hub_cache):
    from huggingface_hub import scan_cache_dir, snapshot_download

    for hub_id, snapshot in hub_cache.snapshots.items():
        assert snapshot_download(hub_id, cache_dir=str(hub_cache.cache), local_files_only=True) == str(snapshot)
    info = scan_cache_dir(hub_cache.cache)
    assert not info.warnings
    assert {r.repo_id: {rev.commit_hash for rev in r.revisions} for r in info.repos} == \
        {hub_id: {hub_cache.revision(hub_id)} for hub_id in hub_cache.snapshots}
    assert all(set(r.refs) == {"main"} for r in info.repos)


def test_models_lists_the_hf_cache_with_path_and_revision(hub_cache, capsys, no_network):
    rows = {r["model"]: r for r in _json_out(capsys, ["models", "--json"])}
    for name, hub_id in CATALOG.items():
        row = rows[name]
        assert row["weights here"] == HF_CACHE and row["how to get them"] == ""
        assert row["where"] == str(hub_cache.snapshots[hub_id])
        assert row["revision"] == f"hf:{hub_id}@{hub_cache.revision(hub_id)}"
    assert rows["llama-2-13b"]["weights here"] == MISSING
    assert "`hf download meta-llama/Llama-2-13b-hf`" in rows["llama-2-13b"]["how to get them"]
    assert rows["all-MiniLM-L6-v2"]["weights here"] == "installed"  # packaged weights still come first
    assert no_network == []


def test_every_weights_question_gets_the_same_answer(hub_cache):
    """availability (listings), check_weights (before a run), local_weights / require_weights (loading)
    and weights_revision (provenance) agree, for a model in the cache and one that is not."""
    for name, hub_id in CATALOG.items():
        ref, snapshot = parse_ref(name), hub_cache.snapshots[hub_id]
        assert availability(ref) == (HF_CACHE, "")
        check_weights(ref, "pretrained")
        assert local_weights(ref, assemble=False) == local_weights(ref) == require_weights(ref) == snapshot
        assert weights_revision(ref) == find_weights(ref).revision == f"hf:{hub_id}@{snapshot.name}"
    absent = parse_ref("bert-large-uncased")
    assert availability(absent)[0] == MISSING and local_weights(absent) is None and weights_revision(absent) is None
    with pytest.raises(BadInput, match="no pretrained weights"):
        check_weights(absent, "pretrained")
    with pytest.raises(BadInput, match="no pretrained weights"):
        require_weights(absent)


def test_weights_load_from_the_snapshot_with_their_tokenizer(hub_cache):
    import torch

    bert = load_pretrained("bert-base-uncased", task="sequence-classification", num_labels=2)
    assert bert.config.hidden_size == 32 and bert.config.num_labels == 2
    tok = load_tokenizer("distilbert-base-uncased")
    assert tok.convert_ids_to_tokens(tok("a great film")["input_ids"]) == ["[CLS]", "a", "great", "film", "[SEP]"]
    llama, llama_tok = load_pretrained("llama-2-7b", task="causal-lm"), load_tokenizer("llama-2-7b")
    assert llama.config.num_key_value_heads == 2 and llama_tok.pad_token == llama_tok.eos_token
    with torch.no_grad():
        logits = llama(**llama_tok(["the film was great"], return_tensors="pt")).logits
    assert logits.shape == (1, 4, len(llama_tok))


def test_hf_hub_cache_and_hf_home_are_read_when_asked(tmp_path, monkeypatch, tiny_checkpoints, snapshot_writer):
    """huggingface_hub reads HF_HOME / HF_HUB_CACHE once, at import; tradeoff reads them at each call."""
    elsewhere = tmp_path / "elsewhere"
    snapshot = snapshot_writer(elsewhere, DISTILBERT, tiny_checkpoints["distilbert"])
    ref = parse_ref("distilbert")
    assert locate(ref).state == MISSING
    monkeypatch.setenv("HF_HUB_CACHE", str(elsewhere))
    assert locate(ref).folder == snapshot
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home2"))
    snapshot_writer(tmp_path / "home2" / "hub", DISTILBERT, tiny_checkpoints["distilbert"], revision="b" * 40)
    assert weights_revision(ref) == f"hf:{DISTILBERT}@{'b' * 40}"


def test_snapshot_pinned_to_a_commit_without_refs_main_is_found(tmp_path, tiny_checkpoints, snapshot_writer):
    snapshot = snapshot_writer(tmp_path / "hf-home" / "hub", BERT, tiny_checkpoints["bert"], revision="c" * 40, main=False)
    found = locate(parse_ref("bert-base-uncased"))
    assert (found.state, found.folder, found.revision) == (HF_CACHE, snapshot, f"hf:{BERT}@{'c' * 40}")


def test_a_download_under_the_legacy_hub_id_is_found(tmp_path, tiny_checkpoints, snapshot_writer):
    """Older transformers cached `distilbert-base-uncased` before the hub moved it under `distilbert/`."""
    snapshot = snapshot_writer(tmp_path / "hf-home" / "hub", "distilbert-base-uncased", tiny_checkpoints["distilbert"])
    assert locate(parse_ref("distilbert-base-uncased")).revision == f"hf:distilbert-base-uncased@{snapshot.name}"


def test_a_hub_id_outside_the_catalog_reads_config_and_weights_from_the_cache(tmp_path, tiny_checkpoints, snapshot_writer):
    snapshot = snapshot_writer(tmp_path / "hf-home" / "hub", "someone/tiny-bert", tiny_checkpoints["bert"])
    ref = parse_ref("someone/tiny-bert")
    assert ref.kind == "hub" and ref.config().hidden_size == 32
    assert (locate(ref).state, require_weights(ref)) == (HF_CACHE, snapshot)


def test_a_snapshot_folder_given_as_a_path_keeps_its_revision(hub_cache):
    snapshot = hub_cache.snapshots[LLAMA]
    found = locate(parse_ref(str(snapshot)))
    assert (found.state, found.revision) == (LOCAL, f"hf:{LLAMA}@{snapshot.name}")


def test_missing_snapshot_is_one_line_naming_hf_download_and_offline_tries_no_network(
        no_network, sentiment_files, capsys):
    ref = parse_ref("distilbert-base-uncased")
    state, hint = availability(ref)
    assert state == MISSING and f"`hf download {DISTILBERT}`" in hint
    with pytest.raises(BadInput, match="no pretrained weights for distilbert-base-uncased") as e:
        require_weights(ref)
    assert f"hf download {DISTILBERT}" in e.value.hint
    test, train = sentiment_files
    code = cli.main(["eval", "distilbert-base-uncased", "--data", test, "--train", train, "--mode", "probe"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and f"hf download {DISTILBERT}" in err, err
    assert "Traceback" not in err
    assert no_network == []  # HF_HUB_OFFLINE=1 (set by the fixture): not even a name lookup


def test_unreachable_hub_is_missing_after_one_quick_connect(online, no_network):
    started = time.perf_counter()
    assert availability(parse_ref("bert-base-uncased"))[0] == MISSING
    assert availability(parse_ref("llama-2-7b"))[0] == MISSING
    assert time.perf_counter() - started < 5
    assert len(no_network) == 1  # one connect, remembered for the process


def test_reachable_hub_downloads_into_the_cache_and_a_failed_download_is_one_line(
        online, monkeypatch, tmp_path, tiny_checkpoints, snapshot_writer):
    import huggingface_hub

    real = huggingface_hub.snapshot_download
    downloads = []

    def fake_hub(repo_id, *, cache_dir=None, local_files_only=False, allow_patterns=None, **kwargs):
        if local_files_only:
            return real(repo_id, cache_dir=cache_dir, local_files_only=True, **kwargs)
        downloads.append((repo_id, cache_dir, allow_patterns))
        if repo_id == LLAMA:
            raise RuntimeError("401 Client Error: access to model meta-llama/Llama-2-7b-hf is restricted\nmore")
        return str(snapshot_writer(tmp_path / "hf-home" / "hub", repo_id, tiny_checkpoints["bert"]))

    monkeypatch.setattr(refs, "_hub_answers", lambda endpoint: True)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_hub)
    ref = parse_ref("bert-base-uncased")
    assert availability(ref)[0] == ON_HUB and local_weights(ref, assemble=False) is None
    check_weights(ref, "pretrained")  # a run may start: the weights arrive on first use
    folder = require_weights(ref)
    assert downloads == [(BERT, str(tmp_path / "hf-home" / "hub"), ["*.json", "*.safetensors", "*.txt", "*.model"])]
    assert locate(ref).state == HF_CACHE and weights_revision(ref) == f"hf:{BERT}@{folder.name}"
    with pytest.raises(BadInput) as e:
        require_weights(parse_ref("llama-2-7b"))
    line = e.value.one_line()
    assert "downloading meta-llama/Llama-2-7b-hf failed: 401 Client Error" in line and "more" not in line
    assert "hf download meta-llama/Llama-2-7b-hf" in line


def test_eval_scores_bert_and_distilbert_from_the_cache(hub_cache, sentiment_files, capsys, no_network):
    test, train = sentiment_files
    out = _json_out(capsys, ["eval", "bert-base-uncased", "distilbert-base-uncased", "--data", test, "--train", train,
                             "--mode", "probe", "--json"])
    results = {r["model"]: r for r in out["results"]}
    assert set(results) == {"bert-base-uncased", "distilbert-base-uncased"}
    assert all(r["status"] == "ok" and r["weights"] == "pretrained" for r in results.values())
    assert all("accuracy" in r["metrics"] for r in results.values())
    assert no_network == []


def test_eval_record_names_the_snapshot_revision(hub_cache, sentiment_files, capsys):
    test, train = sentiment_files
    out = _json_out(capsys, ["eval", "distilbert-base-uncased", "--data", test, "--train", train, "--mode", "probe", "--json"])
    record = out["results"][0]
    assert record["details"].get("model_revision") == f"hf:{DISTILBERT}@{hub_cache.revision(DISTILBERT)}"


@pytest.mark.slow
def test_compare_bert_and_distilbert_gives_claim_c7_a_measured_verdict(hub_cache, sentiment_files, capsys, no_network):
    test, train = sentiment_files
    out = _json_out(capsys, ["compare", "bert-base-uncased", "distilbert-base-uncased", "--data", test, "--train", train,
                             "--mode", "probe", "--shape", "1x16", "--budget", "1", "--json"])
    c7 = next(c for c in out["claims"] if c["claim"].startswith("C7:"))
    assert c7["verdict"] in ("held", "not held", "inconclusive"), c7
    assert c7["measured here"] != "-" and "hf download" not in c7["why / where"]
