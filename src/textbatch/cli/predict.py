"""``textbatch predict MODEL_DIR DATA... --output FILE.csv|FILE.jsonl|-`` or ``--text "..."``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from textbatch.cli.app import app
from textbatch.errors import ConfigError


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="The --out directory of textbatch train."),
    data: Optional[list[str]] = typer.Argument(None, help="Files, globs, folders or URLs."),
    output: Optional[str] = typer.Option(None, "--output", "-o",
                                         help="Where the predictions of DATA go: FILE.csv, "
                                              "FILE.jsonl, or - for CSV on stdout (written "
                                              "atomically). Required with DATA; no default."),
    text: Optional[str] = typer.Option(None, "--text", help="Classify this one text and print "
                                       "its label and probabilities (instead of DATA). "
                                       "Default: none."),
    on_bad_records: Optional[str] = typer.Option(None, "--on-bad-records",
                                                 help="error | skip; default: as in training."),
    top_k: Optional[int] = typer.Option(None, "--top-k", help="Predict at most K labels per "
                                        "record, most probable first (as fastText's predict "
                                        "k). Default: every label passing the threshold for "
                                        "multi-label models, 1 for single-label ones."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Predict only labels "
                                              "with probability >= T, in [0, 1]. Default: the "
                                              "thresholds tuned at training "
                                              "(--tune-thresholds), else 0.5 for multi-label "
                                              "models; 0 (the top class) for single-label."),
) -> None:
    """Label and class probabilities for every record (streamed, constant memory); with a
    multi-label model or --top-k/--threshold also the predicted ``labels``."""
    from textbatch.pipeline import evaluate as pipeline

    if text is not None:
        if data:
            raise ConfigError("Pass either DATA files or --text, not both.")
        typer.echo(json.dumps(pipeline.predict_text(model_dir, text, top_k, threshold)))
        return
    if not data or output is None:
        raise ConfigError("Pass DATA files with --output FILE.csv|FILE.jsonl|-, or --text TEXT.")
    count, skipped = pipeline.predict(model_dir, list(data), output, on_bad_records, top_k,
                                      threshold)
    where = "stdout" if output == "-" else output
    skipped_text = ", ".join(f"{kind}: {n:,}" for kind, n in sorted(skipped.items())) or "0"
    typer.echo(f"Wrote {count:,} predictions to {where}; skipped records: {skipped_text}",
               err=True)
