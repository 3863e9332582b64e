"""``textbatch vectorize TRAIN... --out DIR``: fit a vectorizer and write the vectorized cache."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from textbatch.cli.app import app
from textbatch.cli.flag_help import FLAG_HELP
from textbatch.cli.options import parse_ngram_range, with_read_flags
from textbatch.config import ReadConfig, StreamConfig, VectorizeConfig

_DEFAULT = VectorizeConfig()  # flags default to the config's own defaults: one source of truth


def _help(name: str) -> str:
    return FLAG_HELP[("vectorize", name)]


@app.command()
@with_read_flags
def vectorize(
    data: list[str] = typer.Argument(..., help="Training files, globs, folders or URLs."),
    out: Path = typer.Option(..., "--out", help="Folder for vectorizer/ and cache/."),
    kind: str = typer.Option(_DEFAULT.kind, "--kind", show_default=False,
                             help="ngram (tf-idf n-grams, the MLP's) | sequence (token ids, "
                                  "sepCNN's) | hashed (ngram-bag's). Default: ngram."),
    ngram_range: str = typer.Option(",".join(map(str, _DEFAULT.ngram_range)), "--ngram-range",
                                    help=_help("ngram_range"), show_default=False),
    min_df: int = typer.Option(_DEFAULT.min_df, "--min-df", help=_help("min_df"),
                               show_default=False),
    top_k: int = typer.Option(_DEFAULT.top_k, "--top-k", show_default=False,
                              help="Features kept: the top K n-grams by f_classif, or the K "
                                   "most frequent tokens for sequences. Default: 50000 (the "
                                   "guide's sepCNN keeps 20000: pass --top-k 20000 with --kind "
                                   "sequence)."),
    sublinear_tf: bool = typer.Option(_DEFAULT.sublinear_tf, "--sublinear-tf/--no-sublinear-tf",
                                      help=_help("sublinear_tf"), show_default=False),
    nb_scale: bool = typer.Option(_DEFAULT.nb_scale, "--nb-scale/--no-nb-scale",
                                  help=_help("nb_scale"), show_default=False),
    max_counted_ngrams: int = typer.Option(_DEFAULT.max_counted_ngrams, "--max-counted-ngrams",
                                           help=_help("max_counted_ngrams"), show_default=False),
    max_sequence_length: int = typer.Option(_DEFAULT.max_sequence_length, "--max-sequence-length",
                                            help=_help("max_sequence_length"),
                                            show_default=False),
    padding: str = typer.Option(_DEFAULT.padding, "--padding", help=_help("padding"),
                                show_default=False),
    buckets: int = typer.Option(_DEFAULT.buckets, "--buckets", help=_help("buckets"),
                                show_default=False),
    block_size: int = typer.Option(StreamConfig().block_size, "--block-size", show_default=False,
                                   help=FLAG_HELP[("stream", "block_size")]),
    force: bool = typer.Option(False, "--force", help="Rebuild even if the cache is current "
                               "(same data and settings). Default: reuse it."),
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
