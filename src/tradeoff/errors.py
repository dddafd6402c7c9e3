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
