"""One error tree, so the CLI can print a single line with a hint instead of a traceback.

`BadInput` (exit 2) means the user can fix the call; `Failure` (exit 1) means tradeoff or the
machine could not do what was asked.
"""
from __future__ import annotations


class TradeoffError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """Message and hint on one line, whatever a wrapped library put in them."""
        text = f"{self.message} (hint: {self.hint})" if self.hint else self.message
        return " ".join(text.split())


class BadInput(TradeoffError):
    """The user's input is wrong: a ref, a file, an option value."""

    exit_code = 2


class UnknownModel(BadInput):
    pass


class BadConfig(BadInput):
    """A model config is missing, malformed, or describes something impossible."""


class UnsupportedArchitecture(BadInput):
    pass


class BadData(BadInput):
    pass


class Failure(TradeoffError):
    """Something failed while running; the input may be fine."""

    exit_code = 1


class OutOfMemory(Failure):
    pass


def first_line(e: BaseException, limit: int = 300, typed: bool = True) -> str:
    """'Type: first line of the message' (or the line alone, where the type says nothing to a user): how an
    exception from a library is told in one line."""
    text = str(e).strip()
    if not text:
        return type(e).__name__
    line = text.splitlines()[0][:limit]
    return f"{type(e).__name__}: {line}" if typed else line


def out_of_memory(e: BaseException) -> bool:
    """Python's MemoryError, ours, or an allocator's message from torch, onnxruntime or the C++ runtime."""
    text = str(e).lower()
    return isinstance(e, (MemoryError, OutOfMemory)) or any(
        s in text for s in ("out of memory", "can't allocate memory", "cannot allocate memory", "failed to allocate", "bad_alloc"))


def failure(e: BaseException) -> tuple[str, str]:
    """(status, message) of the record standing in for a cell that an exception stopped: the one wrapper every stage
    and executor uses. Running out of memory (Python's, torch's or ours) is `oom`, a result; anything else is
    `error`, retried on the next run, with where an unexpected exception was raised."""
    if out_of_memory(e):
        return "oom", "out of memory" + (f": {first_line(e)}" if str(e).strip() else "")
    if isinstance(e, TradeoffError):
        return "error", e.one_line()
    import traceback

    last = traceback.extract_tb(e.__traceback__)[-1:]
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return "error", first_line(e) + where
