"""The guide's "explore your data" step as one streaming pass.

Counts samples and samples per class, and the exact median number of words per sample from a
histogram of word counts (memory grows with the longest text, not with the number of texts). From
those, the guide's rule picks a model: S/W = samples / median words per sample; S/W < 1500 means
an n-gram MLP, otherwise a sequence model (sepCNN).

Multi-label data (any record with several labels) also gets labels per record (mean and max),
label cardinality (the mean, Tsoumakas & Katakis' name for it) and density (cardinality / number
of labels); ``samples_per_class`` then counts a record under each of its labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from textbatch.config import ReadConfig
from textbatch.data.chunked import chunked
from textbatch.models.table import SW_THRESHOLD, model_for_sw  # noqa: F401 (SW_THRESHOLD: API)
from textbatch.readers.base import BadRecords, Record
from textbatch.text.analyzer import count_words



def recommend_model(num_samples: int, median_words_per_sample: float) -> str:
    """The guide's rule: S/W < 1500 -> an n-gram model, else a sequence model (the names come
    from the model table, ``textbatch.models.table.model_for_sw``)."""
    return model_for_sw(sw_ratio(num_samples, median_words_per_sample))


def sw_ratio(num_samples: int, median_words_per_sample: float) -> float:
    """Samples per median words per sample (0 when there are no words)."""
    return num_samples / median_words_per_sample if median_words_per_sample > 0 else 0.0


def median_from_histogram(histogram: Counter) -> float:
    """The median of the values a histogram counts, as ``np.median`` gives on the raw values."""
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    values = np.array(sorted(histogram), dtype=np.float64)
    cumulative = np.cumsum([histogram[v] for v in sorted(histogram)])
    lower = values[np.searchsorted(cumulative, (total - 1) // 2 + 1)]
    upper = values[np.searchsorted(cumulative, total // 2 + 1)]
    return float((lower + upper) / 2)


@dataclass
class TextStats:
    """Sufficient statistics of the explore pass; ``update`` one record at a time."""

    samples_per_class: Counter = field(default_factory=Counter)
    words_per_sample: Counter = field(default_factory=Counter)
    labels_per_sample: Counter = field(default_factory=Counter)  # number of labels -> records

    def update(self, record: Record) -> None:
        for name in record.labels or (record.label,):
            self.samples_per_class[name] += 1
        self.labels_per_sample[len(record.label_names)] += 1
        self.words_per_sample[count_words(record.text)] += 1

    def merge(self, other: "TextStats") -> None:
        self.samples_per_class.update(other.samples_per_class)
        self.words_per_sample.update(other.words_per_sample)
        self.labels_per_sample.update(other.labels_per_sample)

    @property
    def num_samples(self) -> int:
        return sum(self.words_per_sample.values())

    def multi_label(self, num_classes: int) -> dict | None:
        """Labels per labelled record (mean = label cardinality, max), label density and the
        records with several labels; None for single-label data."""
        labelled = {k: v for k, v in self.labels_per_sample.items() if k > 0}
        if max(labelled, default=0) < 2:
            return None
        records = sum(labelled.values())
        mean = sum(k * v for k, v in labelled.items()) / records
        return {"labels_per_sample_mean": round(mean, 4), "labels_per_sample_max": max(labelled),
                "label_cardinality": round(mean, 4),
                "label_density": round(mean / num_classes, 4) if num_classes else 0.0,
                "samples_with_several_labels": sum(v for k, v in labelled.items() if k > 1)}

    @property
    def median_words_per_sample(self) -> float:
        return median_from_histogram(self.words_per_sample)


@dataclass
class ExploreReport:
    """What ``textbatch explore`` prints; ``to_json`` has the documented keys."""

    stats: TextStats
    class_names: list[str]
    skipped_records: dict[str, int]
    top_ngrams: list[tuple[str, int]] = field(default_factory=list)
    top_ngrams_bound: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        median = self.stats.median_words_per_sample
        num_samples = self.stats.num_samples
        return {
            "num_samples": num_samples,
            "num_classes": len(self.class_names),
            "samples_per_class": {n: self.stats.samples_per_class[n] for n in self.class_names},
            "median_words_per_sample": median,
            "sw_ratio": round(sw_ratio(num_samples, median), 3),
            "recommended_model": recommend_model(num_samples, median),
            "skipped_records": dict(self.skipped_records),
            "top_ngrams": [[g, c] for g, c in self.top_ngrams],
            # counts are estimates: at most max_overcount too high, with that confidence
            "top_ngrams_bound": dict(self.top_ngrams_bound),
        } | ({"multi_label": multi} if (multi := self.stats.multi_label(len(self.class_names)))
             else {})


def class_names_for(shards: list[str], read_config: ReadConfig, seen: Iterable[str]) -> list[str]:
    """Class names in label-id order: declared by the format, else the natural order of labels."""
    from textbatch.data.labels import LabelSet
    from textbatch.readers import get_reader

    declared = get_reader(shards[0], read_config).classes(shards[0]) if shards else None
    return list(LabelSet.from_labels([s for s in seen if s is not None], declared).names)


def explore(
    inputs: list[str],
    read_config: ReadConfig | None = None,
    *,
    top_ngrams: int = 20,
    progress: bool = False,
) -> ExploreReport:
    """One streaming pass over ``inputs``: counts, median words per sample, top n-grams."""
    read_config = read_config or ReadConfig()
    bad = BadRecords(read_config.on_bad_records)
    from textbatch.io import expand_shards
    from textbatch.readers import read_records

    stats = TextStats()
    shards = expand_shards(list(inputs))  # once: a glob or bucket listing is not free
    records = read_records(shards, read_config, bad)
    if progress:
        from tqdm import tqdm

        records = tqdm(records, unit=" records", desc="explore", leave=False, disable=None)

    def chunks() -> Iterator[tuple[list[str], None]]:
        for chunk in chunked(records, 4096):
            for record in chunk:
                stats.update(record)
            yield [record.text for record in chunk], None

    top, bound = _top_ngrams(chunks(), top_ngrams) if top_ngrams else (
        [c for c in chunks() if False], {})
    names = class_names_for(shards, read_config, stats.samples_per_class)
    return ExploreReport(stats, names, dict(bad.counts), top, bound)


def _top_ngrams(chunks: Iterator[tuple[list[str], None]], n: int
                ) -> tuple[list[tuple[str, int]], dict[str, float]]:
    """The ``n`` n-grams in most documents (the vectorizer's default n-gram range), counted in
    constant memory (``textbatch.text.top_ngrams``), and the bound that memory buys."""
    from textbatch.config import VectorizeConfig
    from textbatch.text.top_ngrams import TopNgrams

    counter = TopNgrams(VectorizeConfig().ngram_range, capacity=max(4_096, 64 * n))
    for texts, _ in chunks:
        counter.update(texts)
    return counter.most_common(n), counter.bound()
