"""Checkpoints on disk: atomic, complete, strict, and free of pickle.

Layout of ``OUT/checkpoints/``::

    ckpt-000007/state.json           counters, positions, callback state, RNG, fingerprint (JSON)
    ckpt-000007/tensors.safetensors  model, optimizer and callback tensors, torch RNG state
    latest                           "ckpt-000007": written last, atomically
    run.json + vectorizer/           the fitted vectorizer of this run and its fingerprint

A checkpoint directory is written under a temporary name, fsynced and renamed into place; only
then does ``latest`` point at it, so a kill at any instant leaves ``latest`` naming a complete
checkpoint (leftover temporary or unpointed directories are removed on the next start). Names
carry a serial that only grows, so a directory in use is never replaced. Nested state is split
into JSON and tensors (``split_tensors``); tensors are read with safetensors only, after the file's
sha256 has been checked against state.json, so loading never executes code and a tampered,
truncated or mismatched file is a ``CheckpointError`` naming what differs.

Owns the checkpoint format, the run fingerprint and the resume decision. Leaves *what* a trainer
holds to ``textbatch.train.backup`` and the position of the data to ``textbatch.data``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from textbatch.errors import CheckpointError

FORMAT = "textbatch-checkpoint"
VERSION = 1
STATE, TENSORS, LATEST, RUN, VECTORIZER = (
    "state.json", "tensors.safetensors", "latest", "run.json", "vectorizer")
NAME = re.compile(r"^ckpt-(\d{6,})$")
START_OVER = "Pass --overwrite to start the run over, or choose another --out."


# -- nested state <-> (JSON, tensors) ---------------------------------------------------------

def split_tensors(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-ready copy of ``value`` whose tensors are moved into ``tensors`` under ``prefix/...``.

    Tuples and dicts with non-string keys (optimizer state is keyed by int) are tagged so that
    ``join_tensors`` gives back exactly the same types.
    """
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
        from safetensors.torch import save_file

        from textbatch.io import atomic_dir, atomic_write

        latest = self.latest()
        serial = _serial(latest) + 1 if latest is not None else 1
        name = f"ckpt-{serial:06d}"
        with atomic_dir(self.directory / name) as temp:
            save_file(tensors, str(Path(temp) / TENSORS))
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


# -- what must not change between a run and its resume ------------------------------------------

def run_fingerprint(config: Any, data: dict[str, Any], world_size: int = 1) -> dict[str, Any]:
    """Data identity + every setting that changes what is trained, as JSON.

    ``data`` maps a role ("train", "val") to a Manifest; each shard is identified by its
    manifest key (url, size, mtime, sha256 of its head, reader options). Settings that may change
    on resume are left out: ``epochs`` (train longer), ``num_workers`` (the batch order does not
    depend on it), ``device``, ``checkpoint_every`` and ``keep_checkpoints``.
    """
    from textbatch.io.shards import redact

    settings = config.to_dict()
    settings["stream"].pop("num_workers", None)
    settings["model"].pop("num_features", None)
    settings["model"].pop("num_classes", None)
    train = settings["train"]
    settings["train"] = {k: train[k] for k in ("learning_rate", "patience")}
    shards = {role: [[redact(s.url), s.key] for s in manifest.shards]
              for role, manifest in data.items()}
    return json.loads(json.dumps({"config": settings, "data": shards,
                                  "world_size": int(world_size)}))


def fingerprint_diff(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human lines naming every difference: ``config.model.units: 64 -> 32``, changed files."""
    lines = []
    for role in sorted(set(saved.get("data", {})) | set(current.get("data", {}))):
        before = dict(map(tuple, saved.get("data", {}).get(role, [])))
        after = dict(map(tuple, current.get("data", {}).get(role, [])))
        lines += [f"{role} data: {url} is new" for url in after if url not in before]
        lines += [f"{role} data: {url} is no longer given" for url in before if url not in after]
        lines += [f"{role} data: {url} changed (size, modification time or content)"
                  for url in after if url in before and before[url] != after[url]]
    flat_saved = _flatten({k: v for k, v in saved.items() if k != "data"})
    flat_now = _flatten({k: v for k, v in current.items() if k != "data"})
    for key in sorted(set(flat_saved) | set(flat_now)):
        if flat_saved.get(key, "<unset>") != flat_now.get(key, "<unset>"):
            lines.append(f"{key}: {flat_saved.get(key, '<unset>')!r} in the checkpoint, "
                         f"{flat_now.get(key, '<unset>')!r} now")
    return lines


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flatten(item, f"{prefix}.{key}" if prefix else key))
    return out


# -- the resume decision of one run -----------------------------------------------------------

class RunCheckpoints:
    """``OUT/checkpoints`` of one run: whether it resumes, its saved vectorizer, its callback.

    ``open`` is called before the vectorizer is fitted, so a mismatch is reported before any
    expensive pass, and a resumed run reuses the fitted vectorizer and the train cache instead of
    fitting and vectorizing again. ``writer`` is False on DDP ranks other than 0 (they read only).
    """

    def __init__(self, store: CheckpointStore, fingerprint: dict[str, Any],
                 latest: Path | None, writer: bool = True):
        self.store, self.fingerprint, self.latest = store, fingerprint, latest
        self.writer = writer

    @property
    def resuming(self) -> bool:
        return self.latest is not None

    @classmethod
    def open(cls, out: str | Path, fingerprint: dict[str, Any], *, resume: bool = False,
             overwrite: bool = False, keep: int = 2, writer: bool = True) -> "RunCheckpoints":
        """Check ``OUT/checkpoints`` against this run. ``overwrite`` deletes it; ``resume``
        demands a checkpoint; otherwise a run resumes when one exists."""
        directory = Path(out) / "checkpoints"
        if overwrite and writer:
            _remove(directory)
        store = CheckpointStore(directory, keep)
        if writer:
            store.clean()
        latest = store.latest()
        if latest is None and resume:
            raise CheckpointError(f"{directory}: no checkpoint to resume from. Run without "
                                  "--resume to start training.")
        if latest is not None:
            diff = fingerprint_diff(store.read_state(latest).get("fingerprint", {}), fingerprint)
            if diff:
                raise CheckpointError(
                    f"Cannot resume from {latest}: this run differs from the one that wrote it "
                    f"({'; '.join(diff)}). {START_OVER}")
        return cls(store, fingerprint, latest, writer)

    def reuse_vectorizer(self, config: Any, cache_dir: Path) -> Any | None:
        """On resume, the vectorizer this run fitted and whose train cache is still intact."""
        from textbatch.features import load_vectorizer
        from textbatch.features.cache import open_cache

        folder = self.store.directory / VECTORIZER
        try:
            saved = json.loads((self.store.directory / RUN).read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if not self.resuming or saved.get("fingerprint") != self.fingerprint:
            return None
        if not folder.is_dir() or open_cache(cache_dir, saved.get("cache_key")) is None:
            return None
        return load_vectorizer(folder, config)

    def save_vectorizer(self, vectorizer: Any, cache_dir: Path) -> None:
        """Keep the fitted vectorizer beside the checkpoints (run.json, written last, names the
        fingerprint it was fitted for and the train cache it made)."""
        from textbatch.features.cache import read_manifest
        from textbatch.io import atomic_dir, atomic_write

        if not self.writer:
            return
        with atomic_dir(self.store.directory / VECTORIZER) as temp:
            vectorizer.save(temp)
        run = {"fingerprint": self.fingerprint, "cache_key": read_manifest(cache_dir)["key"]}
        with atomic_write(self.store.directory / RUN, "w", encoding="utf-8") as handle:
            json.dump(run, handle, indent=1)

    def callback(self, loaders: dict[str, Any], save_freq: int, interrupt: Any = None,
                 verbose: bool = True) -> Any:
        """The ``BackupAndRestore`` callback that checkpoints this run and resumes it."""
        from textbatch.train.backup import BackupAndRestore
        from textbatch.train.signals import resume_hint

        return BackupAndRestore(self.store, loaders, save_freq=save_freq,
                                fingerprint=self.fingerprint, interrupt=interrupt,
                                resume_hint=resume_hint(str(self.store.directory.parent)),
                                writer=self.writer, verbose=verbose)
