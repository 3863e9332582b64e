"""Resume by fingerprint: what must not change between a run and its resume, and the decision.

``run_fingerprint`` is the run's identity (data + every setting that changes what is trained);
``RunCheckpoints.open`` compares it with the latest checkpoint's before any expensive pass and
resumes, refuses (naming every difference) or starts over. Lives next to ``fit_and_cache``
(``textbatch.pipeline.vectorize``), which reuses a resumed run's vectorizer and train cache by the
one reuse rule. The checkpoint files themselves are ``textbatch.train.checkpoint``'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textbatch.config import RunConfig
from textbatch.errors import CheckpointError
from textbatch.pipeline.vectorize import VECTORIZER_DIR
from textbatch.train.checkpoint import START_OVER, CheckpointStore

if TYPE_CHECKING:
    from textbatch.data.manifest import Manifest
    from textbatch.data.stream import BatchLoader
    from textbatch.train.backup import BackupAndRestore
    from textbatch.train.signals import GracefulInterrupt


def run_fingerprint(config: RunConfig, data: dict[str, Manifest], world_size: int = 1
                    ) -> dict[str, Any]:
    """Data identity + every setting that changes what is trained, as JSON.

    ``data`` maps a role ("train", "val") to a Manifest; each shard is identified by its
    manifest key (url, size, mtime, sha256 of its head, reader options). Settings that may change
    on resume are left out: ``epochs`` (train longer; kept when a learning-rate schedule spans
    them), ``num_workers`` (the batch order does not depend on it), ``device``,
    ``checkpoint_every``, ``checkpoint_seconds`` and ``keep_checkpoints``.
    """
    from textbatch.io.shards import redact

    settings = config.to_dict()
    settings["stream"].pop("num_workers", None)
    settings["model"].pop("num_features", None)
    settings["model"].pop("num_classes", None)
    train = settings["train"]
    settings["train"] = {k: train[k] for k in ("learning_rate", "patience")}
    if train.get("lr_schedule", "constant") != "constant" or train.get("warmup_epochs"):
        # the rate of every step depends on these (the schedule spans the epochs); left out of
        # a constant run's fingerprint, which thus matches checkpoints from before schedules
        settings["train"].update({k: train[k] for k in ("lr_schedule", "warmup_epochs",
                                                        "epochs")})
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


class RunCheckpoints:
    """``OUT/checkpoints`` of one run: whether it resumes, and its checkpointing callback.

    ``open`` is called before the vectorizer is fitted, so a mismatch is reported before any
    expensive pass; a resumed run then lets ``fit_and_cache`` reuse the fitted vectorizer
    (``vectorizer_dir``) and the train cache instead of fitting and vectorizing again.
    ``writer`` is False on DDP ranks other than 0 (they read only).
    """

    def __init__(self, store: CheckpointStore, fingerprint: dict[str, Any],
                 latest: Path | None, writer: bool = True):
        self.store, self.fingerprint, self.latest = store, fingerprint, latest
        self.writer = writer

    @property
    def resuming(self) -> bool:
        return self.latest is not None

    @property
    def vectorizer_dir(self) -> Path:
        """Where this run keeps its fitted vectorizer (stamped with its train cache's key)."""
        return self.store.directory / VECTORIZER_DIR

    @classmethod
    def open(cls, out: str | Path, fingerprint: dict[str, Any], *, resume: bool = False,
             overwrite: bool = False, keep: int = 2, writer: bool = True) -> "RunCheckpoints":
        """Check ``OUT/checkpoints`` against this run. ``overwrite`` deletes it; ``resume``
        demands a checkpoint; otherwise a run resumes when one exists."""
        directory = Path(out) / "checkpoints"
        store = CheckpointStore(directory, keep)
        if overwrite and writer:
            store.remove()
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

    def callback(self, loaders: dict[str, BatchLoader], save_freq: int,
                 interrupt: GracefulInterrupt | None = None,
                 verbose: bool = True, save_seconds: float = 0.0) -> BackupAndRestore:
        """The ``BackupAndRestore`` callback that checkpoints this run and resumes it."""
        from textbatch.train.backup import BackupAndRestore
        from textbatch.train.signals import resume_hint

        return BackupAndRestore(self.store, loaders, save_freq=save_freq,
                                fingerprint=self.fingerprint, interrupt=interrupt,
                                resume_hint=resume_hint(str(self.store.directory.parent)),
                                writer=self.writer, verbose=verbose, save_seconds=save_seconds)
