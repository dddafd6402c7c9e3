"""Bench cells run through a study like any other kind: same keys on resume, bad backends caught up front."""
import json

import pytest
from conftest import write

from tradeoff import api
from tradeoff.errors import BadInput
from tradeoff.models import parse_ref

TINY = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 64, "vocab_size": 128, "max_position_embeddings": 64}


@pytest.fixture
def tiny_model(tmp_path):
    folder = tmp_path / "tiny-bert"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(TINY))
    return folder


def test_bench_study_runs_and_resumes(tmp_path, tiny_model):
    study = write(tmp_path / "s.toml", f'models = ["{tiny_model}"]\n[bench]\nbackend = "eager"\n'
                                       "batch = [1, 2]\nseq_len = 8\nbudget_s = 0.3\n")
    store = tmp_path / "r.db"
    first = api.run_study(str(study), store=str(store), executor="inline")
    assert (first.ran, first.ok, first.failures) == (2, 2, [])
    [(record, prov)] = api.results(store=str(store), kind="bench", batch=2)
    assert record.model == parse_ref(str(tiny_model)).name and record.model.startswith("tiny-bert@")
    assert record.cell["batch"] == 2 and record.metrics
    assert prov["model_revision"].startswith("config:")
    again = api.run_study(str(study), store=str(store), executor="inline")
    assert (again.ran, again.skipped) == (0, 2)


def test_unknown_backend_stops_before_the_store_is_touched(tmp_path, tiny_model):
    study = write(tmp_path / "s.toml", f'models = ["{tiny_model}"]\n[inspect]\n\n[bench]\nbackend = ["eager", "tensorrt"]\nseq_len = 8\n')
    store = tmp_path / "r.db"
    with pytest.raises(BadInput, match=r"s\.toml:4: bench cell .*unknown backend 'tensorrt'"):
        api.run_study(str(study), store=str(store))
    assert not store.exists()
