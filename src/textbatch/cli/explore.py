"""``textbatch explore DATA...``: the guide's data exploration in one streaming pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from textbatch.cli.app import app
from textbatch.cli.options import with_read_flags
from textbatch.config import ReadConfig


@app.command()
@with_read_flags
def explore(
    data: list[str] = typer.Argument(..., help="Files, globs, folders or URLs (one data set)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of the "
                                     "table. Default: the table."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Write PNG plots (class balance, "
                                         "text lengths, top n-grams) into this folder. "
                                         "Default: none."),
    top_ngrams: int = typer.Option(20, "--top-ngrams", help="How many of the most frequent "
                                "n-grams to report. Default: 20.", show_default=False),
    read_config: ReadConfig = None,  # type: ignore[assignment]  # set by @with_read_flags
) -> None:
    """Samples, classes, samples per class, median words per sample, S/W and the model it implies."""
    from textbatch.pipeline import explore_files as run_explore

    report = run_explore(data, read_config, top_ngrams=top_ngrams, progress=True)
    summary = report.to_json()
    if plots is not None:
        from textbatch.pipeline import write_explore_plots

        summary["plots"] = [str(p) for p in write_explore_plots(report, plots)]
    if json_output:
        typer.echo(json.dumps(summary, indent=None))
        return
    typer.echo(_human_summary(summary))


def _human_summary(summary: dict) -> str:
    lines = [
        f"Samples:                   {summary['num_samples']:,}",
        f"Classes:                   {summary['num_classes']}",
        "Samples per class:         "
        + ", ".join(f"{name}: {count:,}" for name, count in summary["samples_per_class"].items()),
        f"Median words per sample:   {summary['median_words_per_sample']:g}",
        f"S/W ratio:                 {summary['sw_ratio']:,.1f}",
        f"Recommended model:         {summary['recommended_model']} "
        "(the guide's rule: S/W < 1500 -> n-gram MLP, else sepCNN)",
    ]
    multi = summary.get("multi_label")
    if multi:
        lines.append(f"Labels per sample:         mean {multi['labels_per_sample_mean']:g} "
                     f"(label cardinality), max {multi['labels_per_sample_max']}, density "
                     f"{multi['label_density']:g}; {multi['samples_with_several_labels']:,} "
                     "samples with several labels")
    skipped = summary["skipped_records"]
    lines.append(
        "Skipped records:           "
        + (", ".join(f"{k}: {v:,}" for k, v in skipped.items()) if skipped else "0")
    )
    if summary.get("top_ngrams"):
        top = ", ".join(f"{g!r} ({c:,})" for g, c in summary["top_ngrams"][:10])
        lines.append(f"Top n-grams (documents):   {top}")
    for path in summary.get("plots", []):
        lines.append(f"Plot:                      {path}")
    return "\n".join(lines)
