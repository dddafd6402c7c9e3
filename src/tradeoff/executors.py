"""Where work runs: in this process, in one child process per unit (default), or on Ray.

Every executor hands each (work, Record) to `on_record` as records exist; the caller (the planner) writes
them, so records are always written by the driver, whatever runs the work. Work that crashes, runs out of
memory or is killed becomes records with status "error"/"oom"; bad input (BadInput) stops the run, since the
work was validated and the rest would likely fail alike. Work that isolates itself (a bench group starts a
clean child of its own, so its memory figures start from nothing) runs from the driver under every executor
but Ray.

- inline:  cheapest; a crash takes the whole run down (finished records are still kept).
- process: one forked child per unit (from a forkserver that imported torch once), so a segfault
           or OOM kill loses only that unit; the child ignores Ctrl-C and is killed by the driver.
- ray:     each unit a Ray task with its resources (CPUs, GPUs) on a local or remote cluster
           (`address`); tradeoff must be installed on every node. Ray reuses its worker processes,
           so a crash still loses only that unit, but units share a warm process.
"""
from __future__ import annotations

import signal
import threading
from typing import Callable

from typing import TYPE_CHECKING

from tradeoff.errors import BadInput, failure, first_line

if TYPE_CHECKING:  # pydantic loads on first use: the CLI reads EXECUTORS at start-up cheaply
    from tradeoff.cells import Work
    from tradeoff.record import Record

OnRecord = Callable[["Work", "Record"], None]
OnStart = Callable[["Work"], None]
_PRELOAD = ["tradeoff.record", "tradeoff.env", "tradeoff.models.load", "torch", "transformers.modeling_utils"]


def run_here(work: Work, emit: Callable[[Record], None]) -> None:
    """Run one unit in this process, each record to `emit` as it exists; a crash becomes stand-in records."""
    try:
        work.run(emit)
    except BadInput:
        raise
    except Exception as e:  # a crash in one unit must not take the run down
        for record in failed(work, *failure(e)):
            emit(record)


def run_one(work: Work) -> tuple:
    """Run one unit wherever we are; the outcome as plain data that crosses process boundaries:
    ("records", [json, ...]) or ("bad-input", message, hint)."""
    records: list[Record] = []
    try:
        run_here(work, records.append)
    except BadInput as e:
        return ("bad-input", e.message, e.hint)
    return ("records", [r.model_dump_json() for r in records])


def failed(work: Work, status: str, message: str, here: bool = True) -> list[Record]:
    """Records standing in for a unit that did not finish; `here`: it ran on this machine (so record its env)."""
    from tradeoff.env import environment

    return work.stand_ins(status, message, environment() if here else {})


def _outcome(work: Work, outcome: tuple) -> list[Record]:
    from tradeoff.record import Record

    if outcome[0] == "bad-input":
        raise BadInput(f"{work.label()}: {outcome[1]}", outcome[2])
    return [Record.model_validate_json(r) for r in outcome[1]]


def _hand_on(work: Work, records: list[Record], on_record: OnRecord) -> None:
    for record in records:
        on_record(work, record)


class _Executor:
    """run(works, on_record, on_start) hands each record over as it exists (on_start: as each unit is started or
    submitted); used as a context manager."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class InlineExecutor(_Executor):
    """in this process (cheapest; a crash ends the run)"""

    def run(self, works: list[Work], on_record: OnRecord, on_start: OnStart = lambda _: None) -> None:
        for work in works:
            on_start(work)
            run_here(work, lambda record, work=work: on_record(work, record))


def _child(work: Work, conn) -> None:
    """Entry point of a per-unit child process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides; it kills us on Ctrl-C
    _die_with_parent()
    outcome = run_one(work)
    try:
        conn.send(outcome)
    except OSError:  # the driver is gone (killed or interrupted): nobody is left to tell
        pass
    conn.close()


def _die_with_parent() -> None:
    """Linux: if the driver is SIGKILLed, its forkserver exits and this child gets SIGKILL too."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ProcessExecutor(_Executor):
    """one child process per unit (a crash or OOM kill loses only that unit)"""

    def __init__(self):
        import multiprocessing

        if "forkserver" in multiprocessing.get_all_start_methods():
            self._ctx = multiprocessing.get_context("forkserver")
            self._ctx.set_forkserver_preload(_PRELOAD)
        else:  # Windows: each cell pays the imports, isolation is the same
            self._ctx = multiprocessing.get_context("spawn")

    def __enter__(self):
        if self._ctx.get_start_method() == "forkserver" and threading.current_thread() is threading.main_thread():
            # Started with Ctrl-C ignored, the forkserver hands that on to every child from its first
            # instruction, so a Ctrl-C never interrupts a child half-way through its start.
            from multiprocessing import forkserver

            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                forkserver.ensure_running()
            finally:
                signal.signal(signal.SIGINT, previous)
        return self

    def run(self, works: list[Work], on_record: OnRecord, on_start: OnStart = lambda _: None) -> None:
        for work in works:
            on_start(work)
            if work.isolated:
                run_here(work, lambda record, work=work: on_record(work, record))
            else:
                _hand_on(work, self._run(work), on_record)

    def _run(self, work: Work) -> list[Record]:
        receive, send = self._ctx.Pipe(duplex=False)
        child = self._ctx.Process(target=_child, args=(work, send), name=f"tradeoff-cell-{work.keys()[0]}", daemon=True)
        try:
            child.start()
            send.close()
            try:
                outcome = receive.recv()  # returns when the child sends, or raises EOFError when it dies
            except EOFError:
                outcome = None
            child.join()
        except BaseException:  # Ctrl-C or anything else in the driver: the cell in flight is dropped
            if child.pid is not None:
                child.kill()
                child.join()
            raise
        finally:
            receive.close()
            send.close()
        if outcome is not None:
            return _outcome(work, outcome)
        code = child.exitcode
        if code is not None and code < 0 and -code == signal.SIGKILL:
            return failed(work, "error", "the cell's process was killed (SIGKILL; out of memory?)")
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return failed(work, "error", f"the cell's process died ({how})")


class RayExecutor(_Executor):
    """each unit a Ray task sized by its CPUs and GPUs, on a local or remote cluster"""

    def __init__(self, address: str | None = None):
        try:
            import ray
        except ImportError:
            raise BadInput("the ray executor needs Ray, which is not installed", "pip install 'tradeoff[ray]'") from None
        self._ray = ray
        self._address = address
        self._started = False

    def __enter__(self):
        ray = self._ray
        if not ray.is_initialized():
            try:
                ray.init(address=self._address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as e:
                raise BadInput(f"cannot connect to a Ray cluster at {self._address or 'auto'}: {first_line(e)}",
                               "start one with `ray start --head`, or pass --address host:port") from None
            self._started = True
        return self

    def __exit__(self, *exc):
        if self._started:
            self._ray.shutdown()

    def run(self, works: list[Work], on_record: OnRecord, on_start: OnStart = lambda _: None) -> None:
        ray = self._ray
        for work in works:
            on_start(work)
        # Workers are reused (imports stay warm); a unit that crashes its worker becomes error records
        # and Ray starts a new worker for the next one.
        task = ray.remote(max_retries=0)(run_one)
        pending = {task.options(num_cpus=w.cpus, num_gpus=w.gpus, name=f"tradeoff {w.label()}").remote(w): w
                   for w in works}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                work = pending.pop(done[0])
                try:
                    outcome = ray.get(done[0])
                except ray.exceptions.RayError as e:  # the worker or its node died, or the task was cancelled
                    _hand_on(work, failed(work, "error", f"Ray task failed: {first_line(e)}", here=False), on_record)
                    continue
                _hand_on(work, _outcome(work, outcome), on_record)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


# The registry: name -> class (Ray's takes the cluster address); the CLI's choices and help come from it.
EXECUTORS: dict[str, type[_Executor]] = {"inline": InlineExecutor, "process": ProcessExecutor, "ray": RayExecutor}
DEFAULT = "process"
HELP = "; ".join(f"{name}: {cls.__doc__}" for name, cls in EXECUTORS.items()) + "."


def make_executor(name: str, address: str | None = None) -> _Executor:
    if name not in EXECUTORS:
        raise BadInput(f"unknown executor {name!r}", f"use one of {', '.join(EXECUTORS)}")
    if address is not None and name != "ray":
        raise BadInput("--address only applies to --executor ray", "add --executor ray, or drop --address")
    return RayExecutor(address) if name == "ray" else EXECUTORS[name]()
