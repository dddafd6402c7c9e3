"""The store commands end to end: export, import (merge) and results, as a user types them."""
import csv
import io

from conftest import cli, make_record

from tradeoff.store import Store


def test_export_import_results_commands(tmp_path):
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    with Store.open(source) as store:
        for i in range(3):
            store.put(make_record(i))
    out = tmp_path / "all.json"
    exported = cli("export", str(out), store=source)
    assert exported.returncode == 0 and "exported 3 records" in exported.stdout
    imported = cli("import", str(out), store=target)
    assert imported.returncode == 0 and "3 added" in imported.stdout
    with Store.open(source) as a, Store.open(target) as b:
        assert list(a.rows()) == list(b.rows())
    listed = cli("results", "--csv", "--kind", "bench", "--where", "batch=1", store=target)
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [(r["kind"], r["cell.batch"], r["latency_ms [ms]"]) for r in rows] == [("bench", "1", str(1 + 1 / 3))]
    assert "record" not in rows[0]
