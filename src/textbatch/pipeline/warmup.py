"""Importing torch on a thread while the n-gram fit's worker processes run.

``import torch`` takes ~1.2-1.7 s, a tenth of a default IMDB run, and a run needs torch only
once it trains. During the fit the parent process mostly waits on its workers, so ``train``
asks for the import (``request``) and the fit pool starts it on a thread as soon as its workers
are forked (``start``); training then finds torch loaded. Nowhere else: beside work in the
parent itself the thread slows that work about as much as it saves, since torch's import runs
mostly Python and holds the GIL (measured: a manifest scan of IMDB 1.1 -> 2.3 s, a one-process
SMS spam fit 0.2 -> 0.5 s, no gain in wall time). Without a pool the first ``import torch``
loads it, as before.

Forking while another thread imports is unsafe: the child inherits the locks that thread holds,
and a child that takes one of them hangs. So every pool waits for the thread to finish before it
forks (``wait``, in ``fit_pool._start_pool``), and the pipeline waits (``finish``, which also
drops a request nothing started) before anything else that may fork or import torch.
"""

from __future__ import annotations

import importlib
import sys
import threading

_WANTED: set[str] = set()
_THREAD: threading.Thread | None = None


def request(*modules: str) -> None:
    """Ask for ``modules`` to be imported by the next ``start`` (the run will need them)."""
    _WANTED.update(modules)


def start() -> None:
    """Import the requested modules on a thread, unless they are loaded or one already runs.
    Call only when no fork may follow before ``wait``."""
    global _THREAD
    missing = sorted(m for m in _WANTED if m not in sys.modules)
    _WANTED.clear()
    if not missing or (_THREAD is not None and _THREAD.is_alive()):
        return
    _THREAD = threading.Thread(target=_import, args=(missing,), name="textbatch-warmup")
    _THREAD.start()


def wait() -> None:
    """Return once the warm-up thread, if any, has finished (before forking, for one)."""
    global _THREAD
    thread, _THREAD = _THREAD, None
    if thread is not None:
        thread.join()


def finish() -> None:
    """``wait``, and drop a request nothing started: the run that made it needs no more."""
    _WANTED.clear()
    wait()


def _import(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the run's own import raises it where it matters
            return
