"""Entry point: ``textbatch ...`` and ``python -m textbatch ...``, and the error boundary.

Every failure ends here as one line on stderr and a known exit status: 1 for a user error
(``TextbatchError``), a storage error (an unreachable endpoint, a missing bucket, a server
without Range requests) or an OS error (a full disk, an unwritable folder); 2 for a usage error
(click's own); 130/143 for an interrupted run. Only a bug keeps its traceback (still exit 1).
Every message goes through ``scrub``, so no credential from a URL reaches the terminal.

Every exit of the real entry point skips the interpreter's teardown and the C++ static
destructors (``os._exit`` after Python's own exit handlers and a flush of stdout/stderr): after
a torch import that teardown alone took 0.4-0.8 s of a 4 s run, and at an error exit pyarrow's
reader threads could still be alive, whose destruction aborted the process with status 134
("terminate called without an active exception"). Under a profiler or tracer (``python -m
cProfile``, coverage) the exit stays a normal one, so they can write their output.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import os
import sys
import traceback
from types import TracebackType
from typing import NoReturn

from textbatch.cli.app import app
from textbatch.errors import TextbatchError
from textbatch.io import scrub

# One module per command; each registers itself on ``app`` when imported.
COMMAND_MODULES = ("explore", "vectorize", "train", "tune", "evaluate", "predict")
# Exceptions raised inside these packages are storage failures, not textbatch bugs.
STORAGE_PACKAGES = ("fsspec", "s3fs", "botocore", "aiobotocore", "boto3", "aiohttp", "gcsfs",
                    "adlfs", "azure", "urllib3", "requests", "pyarrow.fs")
STORAGE_HINT = "Check the URL, the endpoint, the bucket and the credentials."


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"textbatch.cli.{name}")
        except ModuleNotFoundError as exc:  # a command not written yet must not break the others
            if exc.name != f"textbatch.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; see the module docstring for what each failure prints and exits with.

    Called with ``argv`` (from Python, a test), every exit is a plain ``SystemExit``; only the
    real entry point (no ``argv``) skips the interpreter's teardown."""
    _register_commands()
    hard = argv is None and sys.getprofile() is None and sys.gettrace() is None
    try:
        app(args=argv)
    except SystemExit as exc:
        leave(_exit_code(exc.code), hard=hard)
    except TextbatchError as exc:
        leave(1, f"error: {exc}", hard=hard)
    except Exception as exc:  # noqa: BLE001 - the boundary: everything ends as one line
        leave(1, error_line(exc), hard=hard)
    leave(0, hard=hard)  # click's standalone mode always exits; this is its fallback


def _exit_code(code: object) -> int:
    """A SystemExit's code as a status: None is success, a message (not an int) is 1."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def error_line(exc: BaseException) -> str:
    """The one line for an exception that is not a TextbatchError (a traceback for a bug)."""
    first = " ".join(str(exc).split()) or type(exc).__name__
    if _from_storage(exc):
        return f"error: storage: {type(exc).__name__}: {first[:500]}. {STORAGE_HINT}"
    if isinstance(exc, OSError):
        return f"error: {first}"
    return "".join(traceback.format_exception(exc)).rstrip()


def _from_storage(exc: BaseException) -> bool:
    names = [type(exc).__module__]
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    return any(name == pkg or name.startswith(pkg + ".") for name in names
               for pkg in STORAGE_PACKAGES)


def leave(code: int, message: str | None = None, hard: bool = True) -> NoReturn:
    """Print ``message`` (scrubbed), run Python's exit handlers, and exit with ``code`` at once
    (``hard``), or raise SystemExit(code)."""
    if message:
        print(scrub(message), file=sys.stderr)
    if not hard:
        raise SystemExit(code)
    _flush()
    pools = sys.modules.get("textbatch.pipeline.fit_pool")
    if code and pools is not None:  # an error left a pool open: its idle workers would be
        pools.stop_pools()          # joined by multiprocessing's exit handler, for ever
    atexit._run_exitfuncs()
    _flush()  # what the exit handlers printed
    with contextlib.suppress(OSError, AttributeError):  # C/C++ stdio buffers (os._exit skips them)
        ctypes.CDLL(None).fflush(None)
    os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
