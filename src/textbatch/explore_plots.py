"""The three plots of ``textbatch explore --plots DIR``."""

from __future__ import annotations

from pathlib import Path

from textbatch.explore import ExploreReport
from textbatch.plots import bar_chart, histogram


def write_explore_plots(report: ExploreReport, directory: Path) -> list[Path]:
    """Class distribution, words-per-sample histogram and top n-grams, as PNGs in ``directory``."""
    directory = Path(directory)
    counts = [report.stats.samples_per_class[name] for name in report.class_names]
    paths = [
        bar_chart(report.class_names, counts, "Class distribution", "Class",
                  "Number of samples", directory / "class_distribution.png"),
        histogram(dict(report.stats.words_per_sample), "Sample length distribution",
                  "Words per sample", directory / "words_per_sample.png"),
    ]
    if report.top_ngrams:
        grams, freqs = zip(*report.top_ngrams)
        paths.append(bar_chart(list(grams), list(freqs), "Top n-grams", "Documents", "n-gram",
                               directory / "top_ngrams.png", horizontal=True))
    return paths
