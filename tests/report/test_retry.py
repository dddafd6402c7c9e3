"""compare (and so the demo) plans with the same rule as `tradeoff run`: a stored `error` is retried, results are reused."""
from __future__ import annotations

import json

from tradeoff import compare as compare_mod
from tradeoff.record import Record
from tradeoff.store import Store


def test_a_stored_error_eval_is_retried_and_a_result_reused(tmp_path, monkeypatch):
    from tradeoff.evaluate import cell as cell_mod
    from tradeoff.evaluate.suite import plan

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"film {i}", "label": i % 2}) + "\n" for i in range(200)))
    monkeypatch.setattr(cell_mod, "check_weights", lambda ref, weights: None)  # planning only: no weights needed
    ran = []

    def fake_run_cell(model, c, weights="pretrained", **kw):
        ran.append(c["mode"])
        return Record(kind="eval", model="all-MiniLM-L6-v2", weights="pretrained", cell=c)

    monkeypatch.setattr(cell_mod, "run_cell", fake_run_cell)
    monkeypatch.setattr("tradeoff.evaluate.suite.check_weights", lambda ref, weights: None)
    cell = {"data": str(data), "mode": "probe"}
    (model, planned), = plan(["all-MiniLM-L6-v2"], cell, ["probe"])
    with Store.open(tmp_path / "s.db") as store:
        store.put(Record(kind="eval", model="all-MiniLM-L6-v2", weights="pretrained", cell=planned, status="error",
                         error="RuntimeError: a transient crash"))
        compare_mod._eval_missing("all-MiniLM-L6-v2", cell, store, lambda _: None)
        assert ran == ["probe"] and store.get(Record(kind="eval", model="all-MiniLM-L6-v2", weights="pretrained",
                                                     cell=planned).key).status == "ok"
        compare_mod._eval_missing("all-MiniLM-L6-v2", cell, store, lambda _: None)
        assert ran == ["probe"]  # the ok record is reused


def test_store_has_result_is_the_planners_rule(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        for status in ("ok", "oom", "skipped", "error"):
            store.put(Record(kind="bench", model=status, weights="random", cell={"x": 1}, status=status))
        held = {status: store.has_result(Record(kind="bench", model=status, weights="random", cell={"x": 1}).key)
                for status in ("ok", "oom", "skipped", "error")}
        assert held == {"ok": True, "oom": True, "skipped": True, "error": False} and not store.has_result("nope")
