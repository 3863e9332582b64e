"""Checks an untrusted model folder completely before anything is built from it.

A model folder may come from anywhere (a download, a shared drive), so ``load_classifier``
treats it as hostile input: every file is parsed and cross-checked, and each way it can be
wrong is a one-line ``CheckpointError`` naming the file, *before* a tensor is allocated.

* ``config.json``: a RunConfig of the right types, at least two unique string class names.
* ``labels.json``: the same class names, in the same order, as config.json, and as many as the
  model's ``num_classes``.
* ``model.safetensors``: its JSON header only (bounded size), every tensor's byte range inside
  the file; then the architecture config.json describes is built on PyTorch's ``meta`` device
  (no memory) and its tensor names and shapes must equal the header's. So a config asking for
  ``units=3,000,000`` is refused without allocating, and the real model that is built afterwards
  is never larger than the weights file on disk.
* ``vectorizer/vectorizer.json``: file names that stay inside the folder (``textbatch.features
  .persist``), and a feature count equal to the model's ``num_features``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from textbatch.config import RunConfig
from textbatch.errors import CheckpointError, ConfigError

MAX_HEADER_BYTES = 100 << 20  # safetensors' own limit on the JSON header
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}
Shapes = dict[str, tuple[int, ...]]


def run_config(header: dict[str, Any], path: Path) -> tuple[RunConfig, list[str]]:
    """The RunConfig and class names of config.json, with every type checked."""
    try:
        config = RunConfig.from_dict(header["run"])
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        raise CheckpointError(f"{path}: invalid run settings ({_one_line(exc)}).") from None
    classes = header.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise CheckpointError(f"{path}: 'classes' must be a list of class names (strings).")
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise CheckpointError(f"{path}: 'classes' must hold at least 2 unique names; it holds "
                              f"{len(classes)} ({len(set(classes))} unique).")
    if config.model.num_classes != len(classes):
        raise CheckpointError(f"{path}: the model has num_classes={config.model.num_classes} but "
                              f"{len(classes)} class names are listed.")
    return config, classes


def check_labels(path: Path, classes: list[str]) -> None:
    """labels.json must list exactly the classes of config.json."""
    try:
        labels = json.loads(path.read_text("utf-8"))["classes"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: missing or unreadable class list ({_one_line(exc)}).") \
            from None
    if labels != classes:
        raise CheckpointError(f"{path}: {_preview(labels)} disagrees with the {len(classes)} "
                              f"classes of config.json ({_preview(classes)}).")


def weight_shapes(path: Path) -> Shapes:
    """Tensor name -> shape from a safetensors header, checked against the file's size."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            length = int.from_bytes(handle.read(8), "little")
            if size < 8 or length > min(size - 8, MAX_HEADER_BYTES):
                raise CheckpointError(f"{path}: not a safetensors file (header of {length} "
                                      f"bytes in a file of {size}).")
            header = json.loads(handle.read(length))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: weights file not found.") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable safetensors header ({_one_line(exc)}).") \
            from None
    return _shapes(path, header, size - 8 - length)


def _shapes(path: Path, header: Any, data_bytes: int) -> Shapes:
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object.")
    shapes: Shapes = {}
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            shape = tuple(int(d) for d in entry["shape"])
            begin, stop = (int(o) for o in entry["data_offsets"])
            itemsize = DTYPE_BYTES[entry["dtype"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: tensor {name!r} has an invalid header entry "
                                  f"({_one_line(exc)}).") from None
        if min(shape, default=0) < 0 or stop - begin != math.prod(shape) * itemsize or begin < 0:
            raise CheckpointError(f"{path}: tensor {name!r} of shape {list(shape)} does not fit "
                                  f"its byte range {[begin, stop]}.")
        shapes[name], end = shape, max(end, stop)
    if end != data_bytes:
        raise CheckpointError(f"{path}: the header describes {end} bytes of tensors but the file "
                              f"holds {data_bytes}: truncated or padded.")
    return shapes


def check_architecture(config: RunConfig, shapes: Shapes, path: Path) -> None:
    """The model config.json describes must have exactly the tensors of the weights file."""
    from textbatch.models import build_model

    model = config.model
    numbers = sum(math.prod(s) for s in shapes.values())
    for name in ("layers", "blocks"):  # each layer or block holds at least one tensor
        if getattr(model, name) > max(len(shapes), 1):
            raise CheckpointError(f"{path}: config.json asks for model.{name}="
                                  f"{getattr(model, name):,} but the weights hold only "
                                  f"{len(shapes)} tensors.")
    for name in ("units", "filters", "embedding_dim", "num_features", "num_classes"):
        if getattr(model, name) > max(numbers, 1):
            raise CheckpointError(f"{path}: config.json asks for model.{name}="
                                  f"{getattr(model, name):,} but the weights hold only "
                                  f"{numbers:,} numbers.")
    import torch

    try:
        with torch.device("meta"):  # shapes only: nothing is allocated
            expected = {k: tuple(v.shape) for k, v in build_model(model).state_dict().items()}
    except (ConfigError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: config.json describes no buildable model "
                              f"({_one_line(exc)}).") from None
    if expected != shapes:
        diff = sorted(set(expected.items()) ^ set(shapes.items()))[:4]
        raise CheckpointError(f"{path}: the weights do not match the {model.name} model of "
                              f"config.json (differing tensors, name and shape: {diff}).")


def check_vectorizer(vectorizer: Any, config: RunConfig, folder: Path) -> None:
    """The fitted vectorizer must produce the inputs the model was built for."""
    if int(vectorizer.num_features) != config.model.num_features:
        raise CheckpointError(f"{folder}: the vectorizer gives {int(vectorizer.num_features):,} "
                              f"features, the model takes {config.model.num_features:,}.")


def _preview(values: Any) -> str:
    text = json.dumps(values)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
