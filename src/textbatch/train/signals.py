"""Ctrl-C and SIGTERM during training: finish the current step, checkpoint, exit with a hint.

The first SIGINT/SIGTERM only raises a flag (``GracefulInterrupt.requested``); the checkpoint
callback (``textbatch.train.checkpoint.BackupAndRestore``) checks it after every step and at every
epoch end, writes a checkpoint and raises ``TrainingInterrupted``. A second signal is not
deferred: SIGINT raises ``KeyboardInterrupt`` at once and SIGTERM gets its default action, so an
impatient user (or a supervisor's second signal) always wins.

Owns signal handlers while training runs; leaves what a checkpoint holds to ``checkpoint``.
"""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from types import FrameType
from typing import Any, Sequence

from textbatch.errors import TextbatchError

HANDLED = (signal.SIGINT, signal.SIGTERM)
# Flags that must not be repeated when resuming: they would start the run over.
START_OVER_FLAGS = ("--overwrite",)


class TrainingInterrupted(TextbatchError):
    """Training stopped on a signal after writing a checkpoint.

    ``exit_code`` is the shell's convention, 128 + signal number: 130 for SIGINT, 143 for SIGTERM.
    """

    def __init__(self, signum: int, checkpoint: str, resume_hint: str):
        self.signum, self.checkpoint = signum, checkpoint
        self.exit_code = 128 + int(signum)
        name = signal.Signals(signum).name
        super().__init__(f"Interrupted by {name}: wrote checkpoint {checkpoint}. {resume_hint}")


class GracefulInterrupt:
    """Context manager: while active, SIGINT/SIGTERM set ``requested`` instead of killing.

    Handlers can only be installed from the main thread; elsewhere (a thread running the
    pipeline) this is inert and signals keep their usual behaviour.
    """

    def __init__(self, signals: Sequence[int] = HANDLED):
        self.signals = tuple(signals)
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "GracefulInterrupt":
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is None:
            self.requested = signum
            print(f"\n{signal.Signals(signum).name} received: finishing the current step and "
                  "writing a checkpoint (send it again to stop at once).", file=sys.stderr,
                  flush=True)
            return
        signal.signal(signum, signal.SIG_DFL)  # the second one is not deferred
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        signal.raise_signal(signum)


def resume_hint(out: str, argv: Sequence[str] | None = None) -> str:
    """The exact command that resumes this run: the same ``textbatch train`` command line
    (without ``--overwrite``), or a generic sentence when not started from that CLI."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["train"]:
        kept = [a for a in args if a not in START_OVER_FLAGS]
        return f"Resume with: textbatch {shlex.join(kept)}"
    return f"Resume by running the same textbatch train command with --out {shlex.quote(out)}."
