"""A full disk mid-run: one clear Failure, and every record written before it is still there, intact."""
import pytest

from tradeoff.errors import Failure
from tradeoff.record import Metric, Record
from tradeoff.store import Store


def record(i: int) -> Record:
    return Record(kind="bench", model="m", weights="random", cell={"batch": i},
                  metrics={"latency_p50_ms": Metric(value=float(i), unit="ms")}, details={"pad": "x" * 3000})


def test_full_disk_keeps_earlier_records(tmp_path):
    path = tmp_path / "results.db"
    with Store.open(path) as store:
        store.put(record(0))
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 4}")  # SQLite's own 'database or disk is full'
        written = 1
        with pytest.raises(Failure, match="disk is full"):
            for i in range(1, 200):
                store.put(record(i))
                written += 1
    with Store.open(path) as store:
        assert store.integrity_check() == "ok"
        assert store.count() == written >= 2
        assert [store.get(record(i).key).metrics["latency_p50_ms"].value for i in range(written)] == list(map(float, range(written)))
