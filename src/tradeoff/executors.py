"""Where study cells run: in this process, in one child process per cell (default), or on Ray.

Every executor yields (cell, Record) pairs as cells finish; the caller (the study) writes them,
so records are always written by the driver, whatever runs the cells. A cell that crashes, runs
out of memory or is killed becomes a Record with status "error"/"oom"; a cell whose input is bad
(BadInput) stops the study, since the grid was validated and the rest would likely fail alike.

- inline:  cheapest; a crash takes the whole study down (finished records are still kept).
- process: one forked child per cell (from a forkserver that imported torch once), so a segfault
           or OOM kill loses only that cell; the child ignores Ctrl-C and is killed by the driver.
- ray:     each cell a Ray task with its resources (CPUs, GPUs) on a local or remote cluster
           (`address`); tradeoff must be installed on every node. Ray reuses its worker processes,
           so a crash still loses only that cell, but cells share a warm process.
"""
from __future__ import annotations

import signal
import threading
from typing import Iterator

from tradeoff.errors import BadInput, failure, first_line
from tradeoff.record import Record
from tradeoff.cells import Cell, runner_module

EXECUTORS = ("inline", "process", "ray")
_PRELOAD = ["tradeoff.record", "tradeoff.env", "tradeoff.models.load", "torch", "transformers.modeling_utils"]


def run_one(cell: Cell) -> tuple:
    """Run one cell wherever we are; the outcome as plain data that crosses process boundaries:
    ("record", json) or ("bad-input", message, hint)."""
    try:
        run_cell = runner_module(cell).run_cell
        record = run_cell(cell.model, dict(cell.cell), weights=cell.weights)
    except BadInput as e:
        return ("bad-input", e.message, e.hint)
    except Exception as e:  # a crash in one cell must not take the study down
        record = failed(cell, *failure(e))
    return ("record", record.model_dump_json())


def failed(cell: Cell, status: str, message: str, here: bool = True) -> Record:
    """A record standing in for a cell that did not finish; `here`: it ran on this machine (so record its env)."""
    from tradeoff.env import environment

    return Record(kind=cell.kind, model=cell.model_name, weights=cell.weights, cell=cell.cell, status=status,
                  error=message, env=environment() if here else {})


def _outcome(cell: Cell, outcome: tuple) -> Record:
    if outcome[0] == "bad-input":
        raise BadInput(f"{cell.label()}: {outcome[1]}", outcome[2])
    return Record.model_validate_json(outcome[1])


class _Executor:
    """map(cells) yields (cell, record) as cells finish; used as a context manager."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class InlineExecutor(_Executor):
    def map(self, cells: list[Cell]) -> Iterator[tuple[Cell, Record]]:
        for cell in cells:
            yield cell, _outcome(cell, run_one(cell))


def _child(cell: Cell, conn) -> None:
    """Entry point of a per-cell child process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides; it kills us on Ctrl-C
    _die_with_parent()
    outcome = run_one(cell)
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

    def map(self, cells: list[Cell]) -> Iterator[tuple[Cell, Record]]:
        for cell in cells:
            yield cell, self._run(cell)

    def _run(self, cell: Cell) -> Record:
        receive, send = self._ctx.Pipe(duplex=False)
        child = self._ctx.Process(target=_child, args=(cell, send), name=f"tradeoff-cell-{cell.key}", daemon=True)
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
            return _outcome(cell, outcome)
        code = child.exitcode
        if code is not None and code < 0 and -code == signal.SIGKILL:
            return failed(cell, "error", "the cell's process was killed (SIGKILL; out of memory?)")
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return failed(cell, "error", f"the cell's process died ({how})")


class RayExecutor(_Executor):
    """Each cell is a Ray task sized by the cell's CPUs and GPUs; the driver writes the records."""

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

    def map(self, cells: list[Cell]) -> Iterator[tuple[Cell, Record]]:
        ray = self._ray
        # Workers are reused (imports stay warm); a cell that crashes its worker becomes an error record
        # and Ray starts a new worker for the next cell.
        task = ray.remote(max_retries=0)(run_one)
        pending = {task.options(num_cpus=c.cpus, num_gpus=c.gpus, name=f"tradeoff {c.label()}").remote(c): c
                   for c in cells}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                cell = pending.pop(done[0])
                try:
                    outcome = ray.get(done[0])
                except ray.exceptions.RayError as e:  # the worker or its node died, or the task was cancelled
                    yield cell, failed(cell, "error", f"Ray task failed: {first_line(e)}",
                                      here=False)
                    continue
                yield cell, _outcome(cell, outcome)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


def make_executor(name: str, address: str | None = None):
    if name not in EXECUTORS:
        raise BadInput(f"unknown executor {name!r}", f"use one of {', '.join(EXECUTORS)}")
    if address is not None and name != "ray":
        raise BadInput("--address only applies to --executor ray", "add --executor ray, or drop --address")
    if name == "inline":
        return InlineExecutor()
    if name == "process":
        return ProcessExecutor()
    return RayExecutor(address)
