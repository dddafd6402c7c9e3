"""An absurd batch really runs out of memory (under an address-space limit, so the machine is safe):
that cell is recorded as `oom`, the other cell still runs, and the store keeps both."""
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tradeoff.store import Store

TINY = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 64, "vocab_size": 100, "max_position_embeddings": 512}


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


@pytest.mark.slow
def test_absurd_batch_is_recorded_as_oom_and_the_run_goes_on(tmp_path):
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(TINY))
    store = tmp_path / "results.db"
    tradeoff = Path(sys.executable).with_name("tradeoff")
    proc = subprocess.run([str(tradeoff), "bench", str(model), "--backend", "eager", "--shape", "200000x512,1x32",
                           "--budget", "1", "--json", "--store", str(store)],
                          preexec_fn=_limit_memory, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    status = {r["cell"]["batch"]: r["status"] for r in json.loads(proc.stdout)["records"]}
    assert status == {200000: "oom", 1: "ok"}
    with Store.open(store) as s:
        assert sorted(r.status for r in s.query(kind="bench")) == ["ok", "oom"]
        assert s.integrity_check() == "ok"
