"""Writes that are all-or-nothing: a crash, a full disk or an exception leaves the previous
file or directory exactly as it was (a reader never sees half an artifact)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from textbatch.errors import TextbatchError

# A full disk or quota is the user's to fix, not a bug: it becomes a one-line WriteError.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


class WriteError(TextbatchError, OSError):
    """An output could not be written (disk full, quota, read-only); the previous file or
    directory at that path is untouched. Still an OSError for callers that catch those."""


def write_error(exc: BaseException, target: str | os.PathLike, needed: int | None = None
                ) -> BaseException:
    """``exc`` as a one-line WriteError when it is a full disk, a quota, a file size limit or a
    read-only file system (naming what, how much and where); any other exception unchanged."""
    if isinstance(exc, OSError) and not isinstance(exc, WriteError) and exc.errno in _NO_SPACE:
        target = Path(target)
        size = f"{needed:,} more bytes needed, " if needed else ""
        error = WriteError(f"Cannot write {target}: {exc.strerror or exc} ({size}"
                           f"{_free(target)}). The previous {target.name} (if any) is untouched; "
                           "free some space (or raise the limit) and run again.")
        error.errno = exc.errno
        return error
    return exc


def _free(target: Path) -> str:
    folder = target if target.is_dir() else target.parent
    try:
        return f"{shutil.disk_usage(folder).free:,} bytes free on the file system of {folder}"
    except OSError:
        return f"free space on {folder} unknown"


_no_space = write_error


def _fsync_dir(path: Path) -> None:
    """Persist a rename: on POSIX the directory entry itself must be flushed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it over ``path``.

    The temp file lives in the same directory so that ``os.replace`` is a rename on one file
    system (atomic), never a copy. On any exception the temp file is removed and ``path`` keeps
    its old content.
    """
    if not any(flag in mode for flag in "wx"):
        raise ValueError(f"atomic_write needs a write mode ('w', 'wb', ...). Got {mode!r}.")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with open(tmp, mode.replace("x", "w"), **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        error = _no_space(exc, target)
        if error is exc:
            raise
        raise error from exc
    _fsync_dir(target.parent)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(dirpath))


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``; on success move it into place.

    A previous directory at ``path`` is replaced: it is first renamed aside, the new one renamed
    in, then the old one deleted, so at every instant ``path`` is either the complete old tree or
    the complete new one (between the two renames it is briefly absent, never partial). On an
    exception the temporary directory is removed and the old tree is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        _fsync_tree(tmp)
        _swap_in(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        error = _no_space(exc, target)
        if error is exc:
            raise
        raise error from exc
    _fsync_dir(target.parent)


def _swap_in(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rmdir(old)  # only the unique name is wanted
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)  # put the previous tree back
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()
