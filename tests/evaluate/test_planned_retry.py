"""compare and the demo run their work through the one planner, with `tradeoff run`'s rule: a stored `error` is
retried, `ok` results are reused, and nothing else is re-measured (issue 14)."""
from __future__ import annotations

import json

from tradeoff.record import Metric, Record
from tradeoff.store import Store


def _written(store) -> list[str]:
    """Keys of the records `store.put` receives from now on (timestamps have whole seconds: too coarse to tell)."""
    keys: list[str] = []
    put = store.put

    def spy(record, **provenance):
        keys.append(record.key)
        return put(record, **provenance)

    store.put = spy
    return keys


def test_compare_retries_a_stored_error_in_bench_and_eval_and_reuses_the_rest(tiny_bert, write_jsonl, sentiment_rows, tmp_path):
    from tradeoff.bench.spec import Settings
    from tradeoff.compare_plan import measured_comparison

    folder = tmp_path / "sst"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", sentiment_rows(120, seed=1))
    write_jsonl(folder / "validation.jsonl", sentiment_rows(40, seed=2))
    ref = str(tiny_bert)
    kw = dict(backends=("eager",), shapes=("1x32",), eval_cell={"data": str(folder), "mode": "probe", "label_names": ["negative", "positive"]},
              eval_refs=[ref], settings=Settings(budget_s=0.3, warmup_s=0.05))
    with Store.open(tmp_path / "s.db") as store:
        measured_comparison([ref], store=store, **kw)
        kinds = {r.kind: r for r in store.query() if r.status == "ok"}
        assert set(kinds) == {"inspect", "bench", "eval"}
        broken = [kinds["bench"], kinds["eval"]]
        for r in broken:  # a transient crash stored in place of each result
            store.put(r.model_copy(update={"status": "error", "error": "RuntimeError: a transient crash"}))

        written = _written(store)
        measured_comparison([ref], store=store, **kw)
        assert set(written) == {r.key for r in broken}  # the bench group leaves only its one record here
        assert all(store.get(r.key).status == "ok" for r in broken)

        written.clear()
        measured_comparison([ref], store=store, **kw)
        assert written == []  # all results now: nothing runs

        measured_comparison([ref], store=store, retrained=(ref,), **kw)  # a folder trained again: its scores are stale
        assert written == [kinds["eval"].key]


def test_the_demo_retries_a_stored_error_distillation_and_reuses_an_ok_one(tmp_path, monkeypatch):
    import tradeoff.distill
    from tradeoff import demo

    student = tmp_path / "students" / f"{demo.SMALL}-3L"
    student.mkdir(parents=True)
    (student / "distill.json").write_text(json.dumps({"teacher": str(tmp_path / "teacher")}))
    ran = []
    metrics = {name: Metric(value=90.0, unit="%") for name in ("teacher_quality", "quality", "retained")}

    def fake_distill(model, cell, weights="pretrained", progress=False):
        ran.append(cell["out"])
        return [Record(kind="distill", model=model, weights=weights, cell=cell, details={"settings": {"layers": [0, 2, 4]}},
                       metrics={**metrics, "speedup": Metric(value=2.0, unit="x")})]

    monkeypatch.setattr(tradeoff.distill, "run_cell", fake_distill)
    with Store.open(tmp_path / "s.db") as store:
        plan = demo.FULL
        demo._student(tmp_path, plan, store, lambda _: None)
        (key,) = [r.key for r in store.query(kind="distill")]
        store.put(store.get(key).model_copy(update={"status": "error", "error": "RuntimeError: a transient crash"}))
        teacher, folder, line, trained = demo._student(tmp_path, plan, store, lambda _: None)
        assert len(ran) == 2 and trained and store.get(key).status == "ok" and line.startswith("Distillation:")
        assert not demo._student(tmp_path, plan, store, lambda _: None)[3]
        assert len(ran) == 2  # the ok record is reused
    assert teacher == str(tmp_path / "teacher") and folder == str(student)
