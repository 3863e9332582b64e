"""One writer per output folder, and only in folders textbatch made.

``claim(out, command)`` is what every command that writes a folder (``train --out``,
``vectorize --out``, ``tune --out``) does first (``predict --output FILE`` only locks its file,
``lock_output``):

1. **Refuse a stranger's folder.** A folder that exists, holds files and has no run marker
   (``.textbatch-run.json``) was not made by textbatch: it is refused unless the user passes
   ``--overwrite``, and even then textbatch never deletes a file it did not write (a folder
   whose ``model/`` or ``checkpoints/`` textbatch did not write is refused outright).
2. **Lock.** An exclusive ``fcntl.flock`` on ``.textbatch.lock`` is held for the life of the
   process; a second process fails at once with the first one's PID. The kernel drops the lock
   when its holder dies (even by SIGKILL), so a stale lock file never blocks a rerun.
3. **Mark** the folder as a textbatch run, then **clean the leftovers** of killed runs
   (``textbatch-spill-*`` and ``textbatch-tokens-*`` spill folders, ``.NAME.*.tmp`` files and
   ``.NAME.tmp-*`` folders of the atomic writers). Holding the lock makes that safe: no other
   live process writes here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

from textbatch.errors import ConfigError

LOCK_FILE = ".textbatch.lock"
MARKER = ".textbatch-run.json"
# What textbatch writes at the top of a run folder; with the marker absent these are not ours.
OWN_ENTRIES = ("model", "checkpoints", "cache", "vectorizer", "plots", "metrics.json",
               "report.json", "history.csv", "predictions.jsonl", "trials", "vectorized",
               "trials.csv", "trials.jsonl", "best.toml")
SPILL_PREFIXES = ("textbatch-spill-", "textbatch-tokens-")
_held: dict[str, int] = {}  # folder -> lock fd, for the life of the process


def claim(out: str | os.PathLike, command: str, *, overwrite: bool = False) -> Path:
    """Make ``out`` this process's run folder (see the module docstring) and return it.

    Raises:
        ConfigError: a folder textbatch did not make (without ``overwrite``), a folder another
            textbatch process holds (its PID named), or one that cannot be created.
    """
    folder = Path(out)
    key = str(folder.resolve())
    if key in _held:  # claimed already by this process (train's fit step, then its save)
        return folder
    _refuse_stranger(folder, overwrite)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create the output folder ({exc.strerror or exc})."
                          " Pick a writable --out.") from None
    _held[key] = _lock(folder)
    _mark(folder, command)
    clean_leftovers(folder)
    return folder


def release(out: str | os.PathLike) -> None:
    """Drop the lock on ``out`` (the OS does it anyway when the process ends)."""
    fd = _held.pop(str(Path(out).resolve()), None)
    if fd is not None:
        os.close(fd)


@contextlib.contextmanager
def claimed(out: str | os.PathLike, command: str, *, overwrite: bool = False) -> Iterator[Path]:
    """``claim`` for the duration of a block (library use, tests)."""
    folder = claim(out, command, overwrite=overwrite)
    try:
        yield folder
    finally:
        release(folder)


def _made_by_textbatch(folder: Path) -> bool:
    """The marker, or (runs from before it existed) a textbatch model, checkpoint or cache."""
    if (folder / MARKER).is_file():
        return True
    try:
        config = (folder / "model" / "config.json").read_text("utf-8")[:200]
    except (OSError, UnicodeDecodeError):
        config = ""
    return "textbatch-model" in config or (folder / "checkpoints" / "latest").is_file() or (
        folder / "vectorizer" / "vectorizer.json").is_file()


def _refuse_stranger(folder: Path, overwrite: bool) -> None:
    if not folder.is_dir() or _made_by_textbatch(folder):
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{folder}: exists and is not a folder. Pick another --out.")
        return
    entries = [e.name for e in folder.iterdir() if e.name != LOCK_FILE]
    if not entries:
        return
    ours = sorted(set(entries) & set(OWN_ENTRIES))
    if not overwrite:
        raise ConfigError(f"{folder}: the folder holds files textbatch did not write "
                          f"({_preview(entries)}) and no {MARKER}. Pick an empty or new "
                          "--out, or pass --overwrite to write beside them (nothing of theirs "
                          "is deleted).")
    if ours:
        raise ConfigError(f"{folder}: {', '.join(ours)} exist(s) but textbatch did not write "
                          f"them (no {MARKER}); they would be replaced. Move them away or "
                          "pick another --out.")


def lock_output(path: str | os.PathLike) -> None:
    """Hold, for the life of the process, the lock of one output file (``predict --output``):
    ``.NAME.textbatch.lock`` beside it. A second writer of the same file fails at once."""
    target = Path(path)
    key = str(target.resolve())
    if key not in _held:
        target.parent.mkdir(parents=True, exist_ok=True)
        _held[key] = _lock(target.parent, f".{target.name}.textbatch.lock", target)


def _lock(folder: Path, name: str = LOCK_FILE, what: Path | None = None) -> int:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; one writer by trust
        return -1
    fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").split()[:1] or ["unknown"]
        os.close(fd)
        raise ConfigError(f"{what or folder}: another textbatch process (PID {holder[0]}) is "
                          f"writing this {'file' if what else 'folder'}. Wait for it to finish "
                          "or pick another output.") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _mark(folder: Path, command: str) -> None:
    from textbatch.io.atomic import atomic_write
    from textbatch.version import __version__

    if (folder / MARKER).is_file():
        return
    with atomic_write(folder / MARKER, "w", encoding="utf-8") as handle:
        json.dump({"made_by": "textbatch", "command": command, "version": __version__}, handle)


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove what killed textbatch runs left in ``folder`` (see the module docstring); only
    call it while holding the folder's lock. Returns what was removed."""
    removed = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            if _leftover(name):
                path = here / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        dirnames[:] = [d for d in dirnames if not _leftover(d)]
    return removed


def _leftover(name: str) -> bool:
    if name.startswith(SPILL_PREFIXES):
        return True
    return name.startswith(".") and (name.endswith(".tmp") or ".tmp-" in name)


def _preview(names: list[str]) -> str:
    shown = sorted(names)[:4]
    return ", ".join(shown) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
