"""Model weights on disk: safetensors only, so loading never executes code."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from textbatch.errors import CheckpointError
from textbatch.io.atomic import write_error


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """Write ``model.state_dict()`` to ``path`` atomically (temp file in the same dir + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        save_tensors(tensors, Path(temp), shown_as=path)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, shown_as: Path | None = None
                 ) -> None:
    """``safetensors.save_file`` with a full disk (or file size limit) as one WriteError line
    naming ``shown_as`` (default ``path``) and the bytes needed."""
    try:
        save_file(tensors, str(path))
    except Exception as exc:  # safetensors reports a full disk as its own error type
        raise write_error(_as_os_error(exc), shown_as or path, _nbytes(tensors)) from exc


def _as_os_error(exc: Exception) -> Exception:
    """safetensors' ``SafetensorError`` quoting an OS error code, as that OSError."""
    if isinstance(exc, OSError):
        return exc
    match = re.search(r"(?:code: |os error )(\d+)", str(exc))
    if match is None:
        return exc
    code = int(match.group(1))
    return OSError(code, os.strerror(code))


def _nbytes(tensors: dict[str, torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors.values())


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Load weights into ``model``; refuse any missing, extra or differently shaped tensor."""
    try:
        tensors = load_file(str(path))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: weights file not found. Train a model first "
                              "(textbatch train ... --out DIR).") from None
    except Exception as exc:  # safetensors raises its own error types on corrupt files
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc}).") from None
    load_matching(model, tensors, f"{path}: weights do not match the architecture in "
                  "config.json")


def load_matching(model: torch.nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    """``model.load_state_dict(tensors)`` after checking every name and shape, so a mismatch is
    a CheckpointError that lists the differing tensors (``what`` opens the message)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))[:6]
        raise CheckpointError(f"{what} (differing tensors, name and shape: {diff}).")
    model.load_state_dict(tensors)
