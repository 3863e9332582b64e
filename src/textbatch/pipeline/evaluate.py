"""``textbatch evaluate`` and ``textbatch predict``: a saved classifier over streamed records.

Both read records in file order through the readers, score them in fixed-size chunks and keep
nothing per record but (for evaluate) two label ids, so memory does not grow with the data.
"""

from __future__ import annotations

import csv
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from textbatch.config import ReadConfig
from textbatch.data.chunked import chunked
from textbatch.errors import ConfigError

CHUNK = 1_024


def evaluate(model_dir: str | Path, data: list[str], out: Path | None = None,
             on_bad_records: str | None = None, threshold: float | None = None
             ) -> dict[str, Any]:
    """Accuracy, loss, per-class precision/recall/F1 and the confusion matrix of ``data``;
    written as ``evaluation.json`` + ``confusion.png`` into ``out`` when given. A multi-label
    model gets per-label precision/recall/F1, micro/macro averages, precision@1 and subset
    accuracy at its saved thresholds (0.5 without; ``threshold`` replaces them)."""
    from textbatch.artifacts import load_classifier
    from textbatch.data.labels import LabelSet

    classifier = load_classifier(model_dir)
    labels = LabelSet(classifier.classes, classifier.multilabel)
    scores = _accumulator(classifier, threshold)
    read, bad = _read_config(classifier.config.read, on_bad_records)
    for records in chunked(_records(data, read, bad), CHUNK):
        scores.add(labels.encode(records), classifier.predict_proba([r.text for r in records]))
    result = scores.result(classifier.classes)
    result["skipped_records"] = dict(bad.counts)
    if out is not None:
        _write_evaluation(Path(out), result)
    return result


def _accumulator(classifier: Any, threshold: float | None) -> Any:
    from textbatch.multilabel import DEFAULT_THRESHOLD, MultiLabelAccumulator
    from textbatch.pipeline.metrics import Accumulator

    if not classifier.multilabel:
        return Accumulator(classifier.num_classes)
    saved = classifier.thresholds if classifier.thresholds is not None else DEFAULT_THRESHOLD
    return MultiLabelAccumulator(classifier.num_classes,
                                 saved if threshold is None else threshold)


def predict(model_dir: str | Path, data: list[str], output: str,
            on_bad_records: str | None = None, top_k: int | None = None,
            threshold: float | None = None) -> tuple[int, dict[str, int]]:
    """Label + probabilities of every record of ``data`` into ``output`` (.csv, .jsonl or ``-``
    for CSV on stdout), written atomically; returns the number of records written and the
    records skipped by reason (``--on-bad-records skip``).

    ``label`` is the most probable class. A multi-label model, or any model asked for
    ``top_k`` / ``threshold``, also writes ``labels``: the labels predicted (see
    ``Classifier.decide``), most probable first."""
    from textbatch.artifacts import load_classifier

    from textbatch.io.run_folder import lock_output

    kind = _output_kind(output)  # before the model loads: a typo should fail fast
    _check_decision(top_k, threshold)
    if output != "-":
        lock_output(output)  # one writer per output file
    classifier = load_classifier(model_dir)
    read, bad = _read_config(classifier.config.read, on_bad_records)
    records = _records(data, read, bad, labelled=False)
    with_labels = classifier.multilabel or top_k is not None or threshold is not None
    count = 0
    with _open_output(output) as handle:
        write = _writer(kind, handle, classifier.classes, with_labels)
        for chunk in chunked(records, CHUNK):
            probs = classifier.predict_proba([r.text for r in chunk])
            chosen = classifier.decide(probs, top_k, threshold)
            for record, row, picked in zip(chunk, probs, chosen):
                write(record.path, record.line, row, _ranked(row, picked, classifier.classes))
            count += len(chunk)
    return count, dict(bad.counts)


def predict_text(model_dir: str | Path, text: str, top_k: int | None = None,
                 threshold: float | None = None) -> dict[str, Any]:
    """One text: its label, the labels predicted (see ``predict``) and every probability."""
    from textbatch.artifacts import load_classifier

    _check_decision(top_k, threshold)
    classifier = load_classifier(model_dir)
    probs = classifier.predict_proba([text])
    picked = classifier.decide(probs, top_k, threshold)[0]
    out = {"label": classifier.classes[int(probs[0].argmax())]}
    if classifier.multilabel or top_k is not None or threshold is not None:
        out["labels"] = _ranked(probs[0], picked, classifier.classes)
    out["probabilities"] = {c: float(p) for c, p in zip(classifier.classes, probs[0])}
    return out


def _check_decision(top_k: int | None, threshold: float | None) -> None:
    if top_k is not None and top_k < 1:
        raise ConfigError(f"--top-k must be >= 1. Got {top_k}.")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"--threshold must be in [0, 1]. Got {threshold}.")


def _ranked(row: np.ndarray, picked: np.ndarray, classes: list[str]) -> list[str]:
    from textbatch.multilabel import ranked_labels

    return ranked_labels(row, picked, classes)


# -- pieces ------------------------------------------------------------------------------------

def _read_config(saved: ReadConfig, on_bad_records: str | None):
    from textbatch.readers.base import BadRecords

    read = saved.replace(on_bad_records=on_bad_records) if on_bad_records else saved
    return read, BadRecords(read.on_bad_records)


def _records(data: list[str], read: ReadConfig, bad: Any, labelled: bool = True
             ) -> Iterator[Any]:
    """Every record of every shard in order; ``labelled=False`` accepts records without label."""
    from textbatch.io import expand_shards
    from textbatch.readers import read_records

    if not data:
        raise ConfigError("No input files. Pass at least one file, glob, directory or URL.")
    yield from read_records(expand_shards(list(data)), read, bad, labelled=labelled)


def _output_kind(output: str) -> str:
    if output == "-" or output.endswith(".csv"):
        return "csv"
    if output.endswith(".jsonl"):
        return "jsonl"
    raise ConfigError(f"--output must end in .csv or .jsonl (or be '-' for stdout). "
                      f"Got {output!r}.")


@contextmanager
def _open_output(output: str) -> Iterator[IO[str]]:
    if output == "-":
        yield sys.stdout
        return
    from textbatch.io import atomic_write

    with atomic_write(output, "w", encoding="utf-8", newline="") as handle:
        yield handle


LABELS_JOIN = "|"  # the CSV ``labels`` cell: predicted labels joined, most probable first


def _writer(kind: str, handle: IO[str], classes: list[str], with_labels: bool):
    """A ``write(path, line, probabilities, labels)``; ``labels`` goes out when asked for."""
    if kind == "jsonl":
        def write_json(path: str, line: int, row: np.ndarray, labels: list[str]) -> None:
            probs = {c: round(float(p), 6) for c, p in zip(classes, row)}
            entry = {"path": path, "line": line, "label": classes[int(row.argmax())]}
            entry |= {"labels": labels} if with_labels else {}
            handle.write(json.dumps(entry | {"probabilities": probs}) + "\n")
        return write_json
    writer = csv.writer(handle)
    writer.writerow(["path", "line", "label", *(["labels"] if with_labels else []),
                     *(f"p_{c}" for c in classes)])

    def write_csv(path: str, line: int, row: np.ndarray, labels: list[str]) -> None:
        joined = [LABELS_JOIN.join(labels)] if with_labels else []
        writer.writerow([path, line, classes[int(row.argmax())], *joined,
                         *(f"{float(p):.6f}" for p in row)])
    return write_csv


def _write_evaluation(out: Path, result: dict[str, Any]) -> None:
    from textbatch import plots
    from textbatch.io import atomic_write

    with atomic_write(out / "evaluation.json", "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    if "confusion_matrix" in result:  # single-label
        plots.confusion_plot(result["confusion_matrix"], result["classes"], out / "confusion.png")
