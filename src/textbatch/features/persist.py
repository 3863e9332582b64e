"""Saving and loading fitted vectorizers without pickle: one JSON file plus ``.npy`` arrays.

``vectorizer.json`` holds the format version, the kind, the VectorizeConfig and scalars; arrays
are ``.npy`` loaded with ``allow_pickle=False``; string lists (vocabularies) are JSON. It is
written last, so a directory without it was never completely saved. Loading checks the kind, the
version and (when given) the settings, and names the file at fault.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from textbatch.config import VectorizeConfig
from textbatch.errors import CheckpointError, ConfigError
from textbatch.io.atomic import write_error

FORMAT_VERSION = 1
STATE_FILE = "vectorizer.json"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_\-]{1,100}")


def _replace_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def save_state(directory: str | Path, kind: str, config: VectorizeConfig, meta: dict[str, Any],
               arrays: dict[str, np.ndarray], lists: dict[str, list]) -> None:
    """Write arrays and lists first and ``vectorizer.json`` last (each file atomically)."""
    try:
        _save_state(Path(directory), kind, config, meta, arrays, lists)
    except OSError as exc:
        raise write_error(exc, directory) from exc


def _save_state(directory: Path, kind: str, config: VectorizeConfig, meta: dict[str, Any],
                arrays: dict[str, np.ndarray], lists: dict[str, list]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        temp = directory / f".{name}.npy.tmp"
        with open(temp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(temp, directory / f"{name}.npy")
    for name, values in lists.items():
        _replace_atomically(directory / f"{name}.json", json.dumps(values).encode("utf-8"))
    state = {"format_version": FORMAT_VERSION, "kind": kind, "config": config.to_dict(),
             "arrays": sorted(arrays), "lists": sorted(lists), **meta}
    _replace_atomically(directory / STATE_FILE, json.dumps(state, indent=1).encode("utf-8"))


def read_state(directory: str | Path) -> dict[str, Any]:
    """The parsed ``vectorizer.json`` of a saved vectorizer, checked for version."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: no saved vectorizer here (file missing). Fit one first, "
                              "e.g. with `textbatch vectorize`.")
    try:
        state = json.loads(path.read_text("utf-8"))
        version, kind = state["format_version"], state["kind"]
        config = VectorizeConfig.from_dict(state["config"])
    except (ValueError, KeyError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"{path}: corrupt vectorizer state ({exc}). Re-fit the vectorizer."
                              ) from exc
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format version {version}, this textbatch reads "
                              f"{FORMAT_VERSION}. Re-fit the vectorizer.")
    state["config"] = config
    state["kind"] = kind
    return state


def load_state(directory: str | Path, kind: str, expected: VectorizeConfig | None) -> tuple[
        dict[str, Any], dict[str, np.ndarray], dict[str, list]]:
    """State, arrays and lists of a saved vectorizer of ``kind``; a different kind or (when
    ``expected`` is given) different settings is a ConfigError."""
    directory = Path(directory)
    state = read_state(directory)
    path = directory / STATE_FILE
    if state["kind"] != kind:
        raise ConfigError(f"{path}: holds a {state['kind']!r} vectorizer, expected {kind!r}.")
    if expected is not None and expected != state["config"]:
        diff = {k: (v, expected.to_dict()[k]) for k, v in state["config"].to_dict().items()
                if expected.to_dict()[k] != v}
        raise ConfigError(f"{path}: fitted with other settings (saved, requested): {diff}. "
                          "Re-fit the vectorizer or use the saved settings.")
    arrays = {name: _load_array(_inside(directory, name, ".npy")) for name in state["arrays"]}
    lists = {name: _load_list(_inside(directory, name, ".json")) for name in state["lists"]}
    return state, arrays, lists


def _inside(directory: Path, name: Any, suffix: str) -> Path:
    """``directory/name+suffix`` for a plain file name; a name that could leave the folder
    (``../``, an absolute path, a separator) is a damaged or tampered state file."""
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        raise CheckpointError(f"{directory / STATE_FILE}: file name {name!r} is not a plain name "
                              "inside the folder (letters, digits, '_' and '-'). The saved "
                              "vectorizer is damaged or was tampered with.")
    return directory / f"{name}{suffix}"


def _load_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f"{path}: missing or corrupt array ({exc}). Re-fit the vectorizer."
                              ) from exc


def _load_list(path: Path) -> list:
    try:
        values = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: missing or corrupt list ({exc}). Re-fit the vectorizer."
                              ) from exc
    if not isinstance(values, list):
        raise CheckpointError(f"{path}: expected a JSON list, got {type(values).__name__}.")
    return values


def check_length(path: Path, name: str, array: np.ndarray | list, expected: int) -> None:
    """Arrays that must align (vocabulary and idf) but do not mean a damaged save."""
    if len(array) != expected:
        raise CheckpointError(f"{path / name}: {len(array)} entries, expected {expected}. "
                              "The saved vectorizer is damaged; re-fit it.")
