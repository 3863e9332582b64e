"""A trained classifier on disk, and back: ``DIR/model/`` holds everything prediction needs.

Layout (nothing here is pickled, so loading never executes code)::

    model/config.json        {"format", "version", "run": RunConfig, "classes", "textbatch"}
    model/labels.json        LabelSet (class names in id order)
    model/vectorizer/        the fitted vectorizer's own files (``save(dir)`` / ``load(dir)``)
    model/model.safetensors  the weights
    model/thresholds.json    multi-label models trained with --tune-thresholds: one per label

Loading treats the folder as untrusted: ``textbatch.model_folder`` checks every file and the
weight shapes against config.json before anything is built; each problem is one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np
import torch

from textbatch.config import RunConfig
from textbatch.errors import CheckpointError

if TYPE_CHECKING:
    from textbatch.features import Vectorizer

FORMAT = "textbatch-model"
VERSION = 1
THRESHOLDS = "thresholds.json"
PREDICT_BATCH = 1_024  # texts vectorized and scored together: memory stays constant


class Classifier:
    """A fitted vectorizer + model + class names: ``predict(texts)`` returns class names."""

    def __init__(self, config: RunConfig, classes: Sequence[str], vectorizer: Vectorizer,
                 model: torch.nn.Module, thresholds: np.ndarray | None = None):
        self.config, self.classes = config, list(classes)
        self.vectorizer, self.model = vectorizer, model.eval()
        self.thresholds = thresholds  # per label, tuned on validation (multi-label), or None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def multilabel(self) -> bool:
        return self.config.model.multilabel

    def decide(self, probs: np.ndarray, top_k: int | None = None,
               threshold: float | None = None) -> np.ndarray:
        """Boolean [n, C] of the labels to predict (``textbatch.multilabel.decide``).

        Defaults: a multi-label model takes every label at or above its tuned threshold (else
        0.5); a single-label model its most probable class (top 1, threshold 0). ``threshold``
        replaces the tuned ones; ``top_k`` keeps at most that many, most probable first.
        """
        from textbatch.multilabel import DEFAULT_THRESHOLD, decide

        if threshold is None:
            if not self.multilabel:
                threshold, top_k = 0.0, 1 if top_k is None else top_k
            else:
                threshold = self.thresholds if self.thresholds is not None else DEFAULT_THRESHOLD
        return decide(probs, threshold, top_k)

    def predict_labels(self, texts: Sequence[str], top_k: int | None = None,
                       threshold: float | None = None) -> list[list[str]]:
        """The predicted label names of every text, most probable first (see ``decide``)."""
        from textbatch.multilabel import ranked_labels

        probs = self.predict_proba(texts)
        chosen = self.decide(probs, top_k, threshold)
        return [ranked_labels(p, c, self.classes) for p, c in zip(probs, chosen)]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities ``[len(texts), num_classes]`` (columns in ``classes`` order)."""
        from textbatch.models.predict import batch_probabilities
        from textbatch.models.table import input_kind

        if isinstance(texts, str):
            raise TypeError("predict_proba takes a list of texts, not one string. "
                            "Wrap it: predict_proba([text]).")
        parts = []
        sequence = input_kind(self.config.model.name) == "sequence"
        length = self.config.vectorize.max_sequence_length if sequence else None
        for start in range(0, len(texts), PREDICT_BATCH):
            batch = self.vectorizer.transform(list(texts[start : start + PREDICT_BATCH]))
            parts.append(batch_probabilities(self.model, batch, self.num_classes, length,
                                             self.config.vectorize.padding,
                                             self.multilabel).numpy())
        if not parts:
            return np.zeros((0, self.num_classes), np.float32)
        return np.concatenate(parts)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable class name of every text."""
        probs = self.predict_proba(texts)
        return [self.classes[i] for i in probs.argmax(axis=1)]

    def predict_stream(self, texts: Iterable[str], batch_size: int = PREDICT_BATCH
                       ) -> Iterator[tuple[str, np.ndarray]]:
        """(label, probabilities) per text, consuming ``texts`` lazily in batches."""
        from textbatch.data.chunked import chunked

        for chunk in chunked(texts, batch_size):
            yield from self._pairs(chunk)

    def _pairs(self, chunk: list[str]) -> Iterator[tuple[str, np.ndarray]]:
        probs = self.predict_proba(chunk)
        for row in probs:
            yield self.classes[int(row.argmax())], row


def save_classifier(directory: str | Path, config: RunConfig, classes: Sequence[str],
                    vectorizer: Vectorizer, model: torch.nn.Module,
                    thresholds: np.ndarray | None = None) -> Path:
    """Write ``directory`` (the ``model/`` folder) atomically: all files appear at once."""
    from textbatch.io import atomic_dir
    from textbatch.train.weights import save_weights

    target = Path(directory)
    with atomic_dir(target) as temp:
        temp = Path(temp)
        header = {"format": FORMAT, "version": VERSION, "run": config.to_dict(),
                  "classes": list(classes), "textbatch": _version()}
        (temp / "config.json").write_text(json.dumps(header, indent=2))
        (temp / "labels.json").write_text(json.dumps({"classes": list(classes)}))
        (temp / "vectorizer").mkdir()
        vectorizer.save(temp / "vectorizer")
        save_weights(model, temp / "model.safetensors")
        if thresholds is not None:
            values = {c: float(t) for c, t in zip(classes, thresholds)}
            (temp / THRESHOLDS).write_text(json.dumps({"thresholds": values}, indent=1))
    return target


def load_classifier(directory: str | Path, device: str = "cpu") -> Classifier:
    """Load ``DIR/model`` (or ``DIR`` itself when it holds config.json) without running code."""
    from textbatch import model_folder as check
    from textbatch.models import build_model
    from textbatch.train.weights import load_weights

    folder = _model_folder(Path(directory))
    config, classes = check.run_config(_read_header(folder / "config.json"), folder / "config.json")
    check.check_labels(folder / "labels.json", classes)
    weights = folder / "model.safetensors"
    check.check_architecture(config, check.weight_shapes(weights), weights)
    vectorizer = _load_vectorizer(folder / "vectorizer", config)
    check.check_vectorizer(vectorizer, config, folder / "vectorizer")
    model = build_model(config.model)
    load_weights(model, weights)
    thresholds = _read_thresholds(folder / THRESHOLDS, classes)
    return Classifier(config, classes, vectorizer, model.to(device), thresholds)


def _read_thresholds(path: Path, classes: list[str]) -> np.ndarray | None:
    """Per-label thresholds in ``classes`` order, or None when the model has none."""
    if not path.is_file():
        return None
    try:
        values = json.loads(path.read_text())["thresholds"]
        out = np.array([float(values[c]) for c in classes])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: unreadable or incomplete thresholds ({exc!r}). Train "
                              "again with --tune-thresholds, or delete the file.") from None
    if not np.all((out >= 0) & (out <= 1)):
        raise CheckpointError(f"{path}: thresholds must be in [0, 1].")
    return out


def _load_vectorizer(folder: Path, config: RunConfig) -> Vectorizer:
    """The fitted vectorizer saved in ``folder`` (its class comes from ``config.vectorize``)."""
    from textbatch.features import load_vectorizer as load_saved

    if not folder.is_dir():
        raise CheckpointError(f"{folder}: vectorizer folder is missing; the model directory is "
                              "incomplete. Train again with textbatch train.")
    try:
        vectorizer = load_saved(folder)  # its own saved settings are authoritative
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise CheckpointError(f"{folder}: damaged vectorizer files ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:200]}).") from None
    if vectorizer.config.kind != config.vectorize.kind:
        raise CheckpointError(f"{folder}: a {vectorizer.config.kind!r} vectorizer, but "
                              f"config.json says {config.vectorize.kind!r}.")
    return vectorizer


def _model_folder(path: Path) -> Path:
    if (path / "config.json").is_file() and (path / "model.safetensors").exists():
        return path
    if (path / "model" / "config.json").is_file():
        return path / "model"
    raise CheckpointError(f"{path}: no trained model here (expected {path}/model/config.json). "
                          "Pass the --out directory of textbatch train.")


def _read_header(path: Path) -> dict[str, Any]:
    try:
        header = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable model config ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a textbatch model config (format "
                              f"{header.get('format') if isinstance(header, dict) else None!r}).")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{path}: model format version {header.get('version')!r}; this "
                              f"textbatch reads version {VERSION}. Retrain or upgrade textbatch.")
    return header


def _version() -> str:
    from textbatch.version import __version__

    return __version__
