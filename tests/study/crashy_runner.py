"""A stand-in stage for executor tests: its cells succeed, raise, segfault, get killed or report bad input."""
import os
import signal

from tradeoff.errors import BadInput
from tradeoff.record import Metric, Record


def run_cell(model: str, cell: dict, weights: str = "random") -> Record:
    action = cell.get("action", "ok")
    if action == "raise":
        raise RuntimeError("boom")
    if action == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if action == "oom-kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "bad":
        raise BadInput("this cell is impossible", "fix it")
    return Record(kind="inspect", model=model, weights=weights, cell=cell, metrics={"pid": Metric(value=os.getpid())})
