"""One path for running work: the planner keeps what the store holds, an executor runs the rest, the driver stores it.

Every command that measures (run, paper, bench, eval, compare, demo) turns its request into units of work
(`tradeoff.cells.Work`) and calls `run`. The rule is `Store.has_result`, the only one: an ok, oom or skipped
record is a result and is reused, an error is retried, `force` re-runs everything; a derived record (a paired
ratio) is wanted only when all its sources are ok. Each record is written here, by the driver, the moment it
arrives (one transaction each, with the same provenance whatever ran it), so a stopped run resumes where it
stopped and loses nothing finished.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from tradeoff.cells import Work
from tradeoff.record import Record


@dataclass
class RunSummary:
    """What a run did, counted in the records its work must leave (a study cell: one; a bench group: one per
    model and cell)."""

    title: str  # e.g. "study 'paper'"
    store: str
    executor: str
    total: int
    skipped: int = 0
    ran: int = 0
    ok: int = 0
    failed: int = 0
    keys: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)  # everything that arrived, extras and ratios included
    seconds: float = 0.0

    def line(self) -> str:
        return (f"{self.title}: {self.total} cells, {self.skipped} already in the store, {self.ran} ran "
                f"({self.ok} ok, {self.failed} failed) in {self.seconds:.1f} s; store {self.store}")


def outstanding(work: Work, store) -> bool:
    """Whether `work` must run: a record it must leave is not a result yet, or a derived one whose sources are
    all ok is missing."""
    if any(not store.has_result(k) for k in work.keys()):
        return True
    return any(not store.has_result(k) for k, sources in work.derived() if all(store.status(s) == "ok" for s in sources))


def plan(works: list[Work], store, force: bool = False,
         rerun: Callable[[Work], bool] | None = None) -> tuple[list[Work], list[Work]]:
    """(to run, reused). Without a store nothing can be reused; `rerun` names work whose stored results are stale
    (made from a model that has since been retrained)."""
    if force or store is None:
        return list(works), []
    runs = [(rerun is not None and rerun(w)) or outstanding(w, store) for w in works]
    return [w for w, r in zip(works, runs) if r], [w for w, r in zip(works, runs) if not r]


def run(works: list[Work], store=None, *, executor: str = "inline", force: bool = False,
        rerun: Callable[[Work], bool] | None = None, address: str | None = None,
        title: str = "run", on_record: Callable[[Record], None] | None = None,
        on_plan: Callable[[list[Work], list[Work]], None] | None = None, on_start: Callable[[Work], None] | None = None,
        progress: Callable[[int, int, Work, Record, float], None] | None = None) -> RunSummary:
    """Run the work the store lacks (all of it with `force` or without a store) and keep each record as it arrives.

    `on_plan(to run, reused)` sees the plan, `on_start` each unit as it starts, `on_record` every record that
    arrives, and `progress(i, n, work, record, seconds)` too, with i counting the records work must leave. Ctrl-C (KeyboardInterrupt) stops at once: finished records are already
    committed, the unit in flight is dropped and runs next time.
    """
    from tradeoff.executors import make_executor
    from tradeoff.store import model_revision

    todo, reused = plan(works, store, force, rerun)
    if on_plan:
        on_plan(todo, reused)
    summary = RunSummary(title, str(store.path) if store is not None else "-", executor,
                         total=sum(len(w.keys()) for w in works), skipped=sum(len(w.keys()) for w in reused),
                         keys=[k for w in works for k in w.keys()])
    wanted = {id(w): set(w.keys()) for w in todo}
    started = last = time.perf_counter()

    def arrived(work: Work, record: Record) -> None:
        nonlocal last
        if store is not None:
            ref = work.refs().get(record.model, record.model)
            store.put(record, model_revision=model_revision(ref, record.weights))
        summary.records.append(record)
        if record.key in wanted[id(work)]:
            wanted[id(work)].discard(record.key)
            summary.ran += 1
            if record.status == "ok":
                summary.ok += 1
            else:
                summary.failed += 1
                summary.failures.append(f"{work.label()}: {record.status}: {record.error or ''}".rstrip(": "))
        if on_record is not None:
            on_record(record)
        now = time.perf_counter()
        if progress:
            progress(summary.ran, summary.total - summary.skipped, work, record, now - last)
        last = now

    if todo:
        with make_executor(executor, address=address) as runner:
            runner.run(todo, arrived, on_start or (lambda _: None))
    for work in todo:
        if wanted[id(work)]:
            summary.failures.append(f"{work.label()}: the runner returned no record for key(s) "
                                    f"{', '.join(sorted(wanted[id(work)]))} (its model or cell differs; resume will re-run it)")
    summary.seconds = time.perf_counter() - started
    return summary
