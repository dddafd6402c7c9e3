"""The results store: records in and out unchanged, provenance, schema guard, export/import round trips."""
import json
import sqlite3

import pytest
from conftest import make_record

from tradeoff.errors import BadInput
from tradeoff.store import APPLICATION_ID, SCHEMA_VERSION, Store, default_path


def test_put_get_has_query(tmp_path):
    with Store.open(tmp_path / "r.db") as store:
        records = [make_record(i) for i in range(4)] + [make_record(0, kind="inspect", model="other")]
        for r in records:
            store.put(r)
        assert store.count() == 5
        assert all(store.get(r.key) == r and store.has(r.key) for r in records)
        assert store.get("no-such-key") is None and not store.has("no-such-key")
        assert {r.key for r in store.query(kind="bench")} == {r.key for r in records[:4]}
        assert [r.key for r in store.query(model="other")] == [records[4].key]
        assert [r.key for r in store.query(kind="bench", batch=2)] == [records[2].key]
        assert [r.key for r in store.query(batch="2", backend="onnx")] == [records[2].key]  # CLI text matches
        assert store.query(kind="bench", batch=99) == []


def test_put_replaces_same_key_and_keeps_one_row(tmp_path):
    with Store.open(tmp_path / "r.db") as store:
        first, again = make_record(1), make_record(1, created="2099-01-01T00:00:00+00:00")
        store.put(first)
        store.put(again)
        assert store.count() == 1 and store.get(first.key).created == again.created


def test_provenance_and_wal(tmp_path):
    path = tmp_path / "r.db"
    with Store.open(path) as store:
        r = make_record()
        r.details["data_hash"] = "sha256:abc"
        store.put(r, model_revision="weights:123")
        prov = store.provenance(r.key)
    assert prov["tool_version"] == r.tool_version
    assert prov["model_revision"] == "weights:123" and prov["data_hash"] == "sha256:abc"
    assert len(prov["env_fingerprint"]) == 16
    assert prov["git_commit"] is None or len(prov["git_commit"].split("-")[0]) == 40
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_data_hash_comes_from_the_data_sets_a_measurement_read(tmp_path):
    with Store.open(tmp_path / "r.db") as store:
        one, two = make_record(1), make_record(2)
        one.details["sha256"] = "aaa"
        two.details.update({"train_sha256": "bbb", "test_sha256": "ccc"})
        store.put(one)
        store.put(two)
        assert store.provenance(one.key)["data_hash"] == "aaa"
        assert store.provenance(two.key)["data_hash"] == "test=ccc,train=bbb"


def test_default_path_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_STORE", str(tmp_path / "x" / "mine.db"))
    assert default_path() == tmp_path / "x" / "mine.db"
    with Store.open() as store:
        assert store.path == tmp_path / "x" / "mine.db"


def test_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with Store.open(path) as store:
        store.put(make_record())
        assert store.count() == 1


@pytest.mark.parametrize("content, words", [
    (b"model,latency\nbert,3.1\n", "not an SQLite database"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "not a readable SQLite database"),
])
def test_refuses_a_file_that_is_not_a_store_and_leaves_it_untouched(tmp_path, content, words):
    path = tmp_path / "results.db"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=words):
        Store.open(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.db"]


def test_refuses_another_programs_sqlite_database(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(BadInput, match="not a tradeoff results store"):
        Store.open(path)
    assert path.read_bytes() == before


def test_refuses_a_newer_schema_untouched(tmp_path):
    path = tmp_path / "future.db"
    with Store.open(path) as store:
        store.put(make_record())
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(BadInput, match="newer tradeoff"):
        Store.open(path)
    assert path.read_bytes() == before


def test_migrates_an_older_schema(tmp_path):
    """Schema 0 (a store created before any table) is brought to the current schema on open."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.close()
    with Store.open(path) as store:
        store.put(make_record())
        assert store.count() == 1
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_export_then_import_round_trips_exactly(tmp_path, fmt):
    source = Store.open(tmp_path / "a.db")
    for i in range(5):
        source.put(make_record(i, created=f"2026-01-0{i + 1}T00:00:00+00:00"), model_revision=f"rev{i}")
    source.put(make_record(9, kind="inspect", model="m,with \"quotes\"\nand a newline"))
    out = tmp_path / f"results.{fmt}"
    assert source.export(out) == 6
    target = Store.open(tmp_path / "b.db")
    assert target.import_from(out) == {"added": 6, "replaced": 0, "kept": 0}
    assert list(target.rows()) == list(source.rows())
    again = tmp_path / f"again.{fmt}"
    target.export(again)
    if fmt != "parquet":  # parquet embeds writer metadata; its rows are compared above
        assert again.read_bytes() == out.read_bytes()
    assert target.import_from(out) == {"added": 0, "replaced": 0, "kept": 6}  # idempotent


def test_merge_keeps_the_newer_record(tmp_path):
    ours, theirs = Store.open(tmp_path / "ours.db"), Store.open(tmp_path / "theirs.db")
    old, new = make_record(1, created="2026-01-01T00:00:00+00:00"), make_record(1, created="2026-02-01T00:00:00+00:00")
    ours.put(old)
    theirs.put(new)
    theirs.put(make_record(2))
    ours.put(make_record(3))
    theirs.close()
    assert ours.import_from(tmp_path / "theirs.db") == {"added": 1, "replaced": 1, "kept": 0}
    assert ours.get(old.key).created == new.created and ours.count() == 3


def test_export_and_import_bad_input(tmp_path):
    with Store.open(tmp_path / "r.db") as store:
        store.put(make_record())
        with pytest.raises(BadInput, match="unknown format"):
            store.export(tmp_path / "out.xlsx")
        with pytest.raises(BadInput, match="no such file"):
            store.import_from(tmp_path / "missing.db")
        with pytest.raises(BadInput, match="into itself"):
            store.import_from(tmp_path / "r.db")
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps([{"hello": 1}]))
        with pytest.raises(BadInput, match="not a tradeoff export"):
            store.import_from(bad)
        assert store.count() == 1
    assert not list(tmp_path.glob(".out*"))  # no temp file left behind
