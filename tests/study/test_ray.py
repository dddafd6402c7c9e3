"""The same study on a local Ray cluster (a head and 2 worker nodes) yields the same record keys."""
import os
import sqlite3

import pytest
from conftest import HERE, cli, write

from tradeoff.executors import make_executor
from tradeoff.cells import Cell
from tradeoff.study import prepare

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tradeoff[ray]')")
pytestmark = pytest.mark.slow  # a Ray cluster takes tens of seconds to start and warm up

STUDY = ('name = "twelve"\nmodels = ["bert-base-uncased", "distilbert", "llama-2-7b"]\n'
         "[inspect]\nseq_len = [64, 128, 256, 512]\n")


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    # Worker processes inherit this environment: they can import the test-only runner.
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), old) if p)
    small = {"object_store_memory": 80 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False, **small})
    for _ in range(2):
        cluster.add_node(num_cpus=1, **small)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()
    if old is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = old


def test_ray_run_yields_the_same_record_keys(tmp_path, cluster):
    study = write(tmp_path / "study.toml", STUDY)
    store = tmp_path / "ray.db"
    result = cli("run", str(study), "--executor", "ray", "--address", cluster.address, store=store, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "12 ran (12 ok, 0 failed)" in result.stdout
    keys = {k for (k,) in sqlite3.connect(store).execute("SELECT key FROM records")}
    assert keys == {c.key for c in prepare(study).cells}


def test_a_crashing_ray_worker_loses_only_its_cell(cluster):
    cells = [Cell("inspect", "m", "m", "random", {"action": a, "i": i}, runner="crashy_runner")
             for i, a in enumerate(["segfault", "ok", "raise"])]
    ray.init(address=cluster.address)
    try:
        with make_executor("ray", address=cluster.address) as runner:
            records = {}
            runner.run(cells, lambda c, r: records.__setitem__(c.cell["action"], r))
    finally:
        ray.shutdown()
    assert records["ok"].status == "ok"
    assert records["segfault"].status == "error" and "Ray task failed" in records["segfault"].error
    assert records["raise"].status == "error" and "RuntimeError: boom" in records["raise"].error
    assert {r.key for r in records.values()} == {c.key for c in cells}
