"""``textbatch evaluate MODEL_DIR DATA... [--json]``: accuracy, loss, per-class precision/
recall/F1 and the confusion matrix (evaluation.json + confusion.png)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from textbatch.cli.app import app


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="The --out directory of textbatch train."),
    data: list[str] = typer.Argument(..., help="Labelled files, globs, folders or URLs."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where evaluation.json and "
                                       "confusion.png go; default: MODEL_DIR/evaluation."),
    on_bad_records: Optional[str] = typer.Option(None, "--on-bad-records",
                                                 help="error | skip; default: as in training."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Multi-label models: "
                                              "score the labels with probability >= T. "
                                              "Default: the thresholds saved at training "
                                              "(--tune-thresholds), else 0.5."),
) -> None:
    """Score a trained classifier on labelled data, streaming it."""
    from textbatch.pipeline.evaluate import evaluate as run_evaluate

    folder = out or _run_dir(model_dir) / "evaluation"
    result = run_evaluate(model_dir, data, folder, on_bad_records, threshold)
    if json_output:
        typer.echo(json.dumps(result))
        return
    typer.echo(_human(result, folder))


def _run_dir(model_dir: Path) -> Path:
    return model_dir.parent if model_dir.name == "model" else model_dir


def _human(result: dict, folder: Path) -> str:
    if "per_label" in result:
        return _human_multilabel(result, folder)
    lines = [f"Records:  {result['num_records']:,}", f"Accuracy: {result['accuracy']:.4f}",
             f"Loss:     {result['loss']:.4f}", f"Macro F1: {result['macro_f1']:.4f}",
             f"{'class':<20} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    for name, row in result["per_class"].items():
        lines.append(f"{name[:20]:<20} {row['precision']:>9.4f} {row['recall']:>9.4f} "
                     f"{row['f1']:>9.4f} {row['support']:>9,}")
    lines.append(f"Confusion matrix (rows true, columns predicted): {result['confusion_matrix']}")
    lines.append(f"Written: {folder / 'evaluation.json'}, {folder / 'confusion.png'}")
    return "\n".join(lines)


def _human_multilabel(result: dict, folder: Path) -> str:
    """Per-label precision/recall/F1 and the micro/macro averages of a multi-label model."""
    lines = [f"Records:          {result['num_records']:,}",
             f"Loss (BCE):       {result['loss']:.4f}",
             f"Micro P/R/F1:     {result['micro_precision']:.4f} {result['micro_recall']:.4f} "
             f"{result['micro_f1']:.4f}",
             f"Macro P/R/F1:     {result['macro_precision']:.4f} {result['macro_recall']:.4f} "
             f"{result['macro_f1']:.4f}",
             f"Precision@1:      {result['precision_at_1']:.4f}",
             f"Subset accuracy:  {result['subset_accuracy']:.4f}",
             f"{'label':<20} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9} "
             f"{'threshold':>9}"]
    for name, row in result["per_label"].items():
        lines.append(f"{name[:20]:<20} {row['precision']:>9.4f} {row['recall']:>9.4f} "
                     f"{row['f1']:>9.4f} {row['support']:>9,} {row['threshold']:>9.3f}")
    lines.append(f"Written: {folder / 'evaluation.json'}")
    return "\n".join(lines)
