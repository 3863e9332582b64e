"""``textbatch vectorize TRAIN... --out DIR``: fit a vectorizer and write the vectorized cache."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from textbatch.cli.app import app
from textbatch.cli.options import parse_ngram_range, with_read_flags
from textbatch.config import ReadConfig, StreamConfig, VectorizeConfig

_DEFAULT = VectorizeConfig()  # flags default to the config's own defaults: one source of truth


@app.command()
@with_read_flags
def vectorize(
    data: list[str] = typer.Argument(..., help="Training files, globs, folders or URLs."),
    out: Path = typer.Option(..., "--out", help="Folder for vectorizer/ and cache/."),
    kind: str = typer.Option(_DEFAULT.kind, "--kind", help="ngram | sequence | hashed."),
    ngram_range: str = typer.Option(",".join(map(str, _DEFAULT.ngram_range)), "--ngram-range",
                                    help="MIN,MAX (as for train)."),
    min_df: int = typer.Option(_DEFAULT.min_df, "--min-df"),
    top_k: int = typer.Option(_DEFAULT.top_k, "--top-k"),
    sublinear_tf: bool = typer.Option(_DEFAULT.sublinear_tf, "--sublinear-tf/--no-sublinear-tf"),
    nb_scale: bool = typer.Option(_DEFAULT.nb_scale, "--nb-scale/--no-nb-scale",
                                  help="Binary labels: scale features by the NB log-count ratio."),
    max_counted_ngrams: int = typer.Option(_DEFAULT.max_counted_ngrams, "--max-counted-ngrams",
                                           help="Memory budget of the counting passes."),
    max_sequence_length: int = typer.Option(_DEFAULT.max_sequence_length, "--max-sequence-length"),
    padding: str = typer.Option(_DEFAULT.padding, "--padding", help="pre | post (sequence)."),
    buckets: int = typer.Option(_DEFAULT.buckets, "--buckets", help="Hash buckets (hashed)."),
    block_size: int = typer.Option(StreamConfig().block_size, "--block-size"),
    force: bool = typer.Option(False, "--force", help="Rebuild even if the cache is current."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    read_config: ReadConfig = None,  # type: ignore[assignment]  # set by @with_read_flags
) -> None:
    """Fit the vectorizer in streaming passes and write the vectorized training set once."""
    from textbatch.pipeline import vectorize_files

    config = VectorizeConfig(
        kind=kind, ngram_range=tuple(parse_ngram_range(ngram_range)), min_df=min_df, top_k=top_k,  # type: ignore[arg-type]
        sublinear_tf=sublinear_tf, nb_scale=nb_scale, max_counted_ngrams=max_counted_ngrams,
        max_sequence_length=max_sequence_length, padding=padding, buckets=buckets,  # type: ignore[arg-type]
    )
    report = vectorize_files(data, out, read_config, config, block_size=block_size, force=force)
    if json_output:
        typer.echo(json.dumps(report.to_json()))
        return
    state = "reused (up to date)" if report.reused else f"written in {report.seconds:.1f}s"
    typer.echo(f"Cache {out}/cache: {report.num_records:,} records, {report.num_features:,} "
               f"features, {report.nnz:,} non-zeros - {state}")
    if report.skipped_records:
        typer.echo("Skipped records: " + ", ".join(
            f"{kind}: {n:,}" for kind, n in sorted(report.skipped_records.items())))
    if report.pruned_ngrams:
        typer.echo(f"Counting budget: {report.pruned_ngrams:,} rare n-grams were pruned "
                   f"(--max-counted-ngrams {max_counted_ngrams:,}).")
