"""Checkpoints on disk: atomic, complete, strict, and free of pickle.

Layout of ``OUT/checkpoints/``::

    ckpt-000007/state.json           counters, positions, callback state, RNG, fingerprint (JSON)
    ckpt-000007/tensors.safetensors  model, optimizer and callback tensors, torch RNG state
    latest                           "ckpt-000007": written last, atomically
    vectorizer/                      the fitted vectorizer of this run, stamped with the key of
                                     its train cache (written by textbatch.pipeline.vectorize)

A checkpoint directory is written under a temporary name, fsynced and renamed into place; only
then does ``latest`` point at it, so a kill at any instant leaves ``latest`` naming a complete
checkpoint (leftover temporary or unpointed directories are removed on the next start). Names
carry a serial that only grows, so a directory in use is never replaced. Nested state is split
into JSON and tensors (``split_tensors``); tensors are read with safetensors only, after the file's
sha256 has been checked against state.json, so loading never executes code and a tampered,
truncated or mismatched file is a ``CheckpointError`` naming what differs.

Owns the checkpoint format and the store. Leaves *what* a trainer holds to
``textbatch.train.backup``, the position of the data to ``textbatch.data``, and the run
fingerprint and the resume decision to ``textbatch.pipeline.resume``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textbatch.errors import CheckpointError

if TYPE_CHECKING:  # torch loads when a checkpoint is written or read, not on import (issue 12)
    import torch

FORMAT = "textbatch-checkpoint"
VERSION = 1
STATE, TENSORS, LATEST = "state.json", "tensors.safetensors", "latest"
NAME = re.compile(r"^ckpt-(\d{6,})$")
START_OVER = "Pass --overwrite to start the run over, or choose another --out."


# -- nested state <-> (JSON, tensors) ---------------------------------------------------------

def split_tensors(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-ready copy of ``value`` whose tensors are moved into ``tensors`` under ``prefix/...``.

    Tuples and dicts with non-string keys (optimizer state is keyed by int) are tagged so that
    ``join_tensors`` gives back exactly the same types.
    """
    import torch

    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: split_tensors(v, f"{prefix}/{k}", tensors) for k, v in value.items()}
        return {"__items__": [[k, split_tensors(v, f"{prefix}/{k}", tensors)]
                              for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        items = [split_tensors(v, f"{prefix}/{i}", tensors) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"Cannot checkpoint a {type(value).__name__} at {prefix!r}.")


def join_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of ``split_tensors``."""
    if isinstance(value, list):
        return [join_tensors(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        try:
            return tensors[value["__tensor__"]]
        except KeyError:
            raise CheckpointError(f"tensor {value['__tensor__']!r} is named in {STATE} but "
                                  f"missing from {TENSORS}.") from None
    if "__tuple__" in value:
        return tuple(join_tensors(v, tensors) for v in value["__tuple__"])
    if "__items__" in value:
        return {k: join_tensors(v, tensors) for k, v in value["__items__"]}
    return {k: join_tensors(v, tensors) for k, v in value.items()}


# -- the store ---------------------------------------------------------------------------------

class CheckpointStore:
    """The checkpoints of one run: save, find ``latest``, load strictly, keep the last ``keep``."""

    def __init__(self, directory: str | Path, keep: int = 2):
        self.directory, self.keep = Path(directory), max(1, int(keep))

    def latest(self) -> Path | None:
        """The checkpoint ``latest`` names, or None when there is none yet."""
        pointer = self.directory / LATEST
        if not pointer.is_file():
            return None
        name = pointer.read_text("utf-8").strip()
        if not NAME.match(name):
            raise CheckpointError(f"{pointer}: names {name!r}, not a checkpoint directory "
                                  f"(ckpt-NNNNNN). The file was edited or damaged. {START_OVER}")
        path = self.directory / name
        if not (path / STATE).is_file():
            raise CheckpointError(f"{pointer}: names {name}, which is missing or incomplete. "
                                  f"{START_OVER}")
        return path

    def save(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Path:
        """Write a new checkpoint (temp dir + fsync + rename), then point ``latest`` at it."""
        from textbatch.io import atomic_dir, atomic_write
        from textbatch.train.weights import save_tensors

        latest = self.latest()
        serial = _serial(latest) + 1 if latest is not None else 1
        name = f"ckpt-{serial:06d}"
        with atomic_dir(self.directory / name) as temp:
            save_tensors(tensors, Path(temp) / TENSORS, shown_as=self.directory / name)
            header = {"format": FORMAT, "version": VERSION, "serial": serial,
                      "tensors_sha256": _sha256(Path(temp) / TENSORS), **state}
            (Path(temp) / STATE).write_text(json.dumps(header, indent=1), "utf-8")
        with atomic_write(self.directory / LATEST, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
        self._prune(serial)
        return self.directory / name

    def read_state(self, path: Path) -> dict[str, Any]:
        """state.json of checkpoint ``path``, checked for format and version."""
        file = Path(path) / STATE
        try:
            state = json.loads(file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{file}: unreadable checkpoint state ({exc}). {START_OVER}") \
                from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise CheckpointError(f"{file}: not a textbatch checkpoint. {START_OVER}")
        if state.get("version") != VERSION:
            raise CheckpointError(f"{file}: checkpoint format version {state.get('version')!r}; "
                                  f"this textbatch reads {VERSION}. {START_OVER}")
        return state

    def load(self, path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """(state, tensors) of checkpoint ``path``; the tensors file must match its sha256."""
        from safetensors.torch import load_file

        state = self.read_state(path)
        file = Path(path) / TENSORS
        if not file.is_file() or _sha256(file) != state.get("tensors_sha256"):
            raise CheckpointError(f"{file}: missing, truncated or modified (its sha256 differs "
                                  f"from the one in {STATE}). {START_OVER}")
        try:
            tensors = load_file(str(file))
        except Exception as exc:  # safetensors has its own error types; none runs code
            raise CheckpointError(f"{file}: not a readable safetensors file ({exc}). "
                                  f"{START_OVER}") from None
        return state, tensors

    def remove(self) -> None:
        """Delete the whole store (``--overwrite``: the run starts over)."""
        _remove(self.directory)

    def clean(self) -> None:
        """Remove what a killed save left: temporary dirs and checkpoints newer than ``latest``."""
        if not self.directory.is_dir():
            return
        latest = self.latest()
        newest = _serial(latest) if latest is not None else 0
        for entry in self.directory.iterdir():
            temporary = entry.name.startswith(".") and entry.name.endswith((".tmp", ".old"))
            match = NAME.match(entry.name)
            if temporary or (match and int(match.group(1)) > newest):
                _remove(entry)

    def _prune(self, newest: int) -> None:
        serials = sorted(int(m.group(1)) for e in self.directory.iterdir()
                         if (m := NAME.match(e.name)) and int(m.group(1)) <= newest)
        for serial in serials[: -self.keep]:
            _remove(self.directory / f"ckpt-{serial:06d}")


def _serial(path: Path) -> int:
    return int(NAME.match(path.name).group(1))  # type: ignore[union-attr]


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
