"""The errors textbatch raises on purpose.

A ``TextbatchError`` is a user-facing problem: the CLI prints its message on one line and exits
non-zero. Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

SKIP_HINT = (
    "Pass --on-bad-records skip to skip such records; they are counted in the report."
)


class TextbatchError(Exception):
    """Base class of every error textbatch raises for the user to act on."""


class DataError(TextbatchError):
    """A record (or a whole file) that cannot be read.

    The message names the file, the 1-based line, the reason and what to do next:
    ``data/train.csv:1043: expected 3 fields, got 2. Pass --on-bad-records skip ...``.
    """

    def __init__(self, path: str, line: int | None, reason: str, hint: str | None = SKIP_HINT):
        self.path = str(path)
        self.line = line
        self.reason = reason
        self.hint = hint
        where = f"{self.path}:{line}" if line is not None else self.path
        message = f"{where}: {reason}"
        if hint:
            message = f"{message}. {hint}"
        super().__init__(message)

    def __reduce__(self):  # survives DataLoader workers, which pickle exceptions
        return (type(self), (self.path, self.line, self.reason, self.hint))


class ConfigError(TextbatchError):
    """An invalid setting, flag or combination of them."""


class CheckpointError(TextbatchError):
    """A checkpoint or saved model that is missing, corrupt, or does not match this run."""
