"""How long training a model would take here, roughly: what ``--model auto`` says beside its pick.

The guide's S/W rule picks sepCNN for every large data set it names (Amazon, Yelp, DBPedia), but
it was written with a GPU in mind. On a CPU sepCNN costs ~25k multiply-adds per token position
and layer stack (forward) where the n-gram MLP costs a few per n-gram, so the same choice can
mean hours instead of minutes. The throughputs come from the project's 2-core CPU
(docs/BENCHMARKS.md); they only size the warning, never a decision.
"""

from __future__ import annotations

# sepCNN, guide's sizes, length-bucketed batches: token positions trained per second. Measured
# 24.7 records/s x 216 tokens = 5.3k/s at load average 20 (bench/sequence_speed.py), where the
# old code ran 8.4 records/s against the ~100 issue 11 saw on a quieter machine: x12 -> ~64k.
SEPCNN_CPU_TOKENS_PER_SECOND = 64_000.0
# The n-gram MLP from its cache (bench/scale.py, 1 process: 48.8k records/s).
MLP_CPU_RECORDS_PER_SECOND = 48_800.0
MAX_SEQUENCE_LENGTH = 500
# Above this a CPU run "takes hours": the announcement says so and names the alternative.
LONG_RUN_SECONDS = 2 * 3600.0


def projected_seconds(model: str, samples: int, median_words: float, epochs: int) -> float:
    """Seconds of training for ``epochs`` epochs over ``samples`` records on this kind of CPU
    (median length stands in for the mean; sepCNN's lengths are capped at 500)."""
    if model == "sepcnn":
        tokens = samples * min(max(median_words, 1.0), MAX_SEQUENCE_LENGTH)
        return epochs * tokens / SEPCNN_CPU_TOKENS_PER_SECOND
    return epochs * samples / MLP_CPU_RECORDS_PER_SECOND


def duration(seconds: float) -> str:
    """``3.2 h``, ``14 min`` or ``40 s``."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def auto_announcement(explored: dict, epochs: int, on_gpu: bool) -> str:
    """The line ``--model auto`` prints: its pick, why, and on a CPU a projected time that runs
    to hours with the alternative's."""
    name, sw = explored["recommended_model"], explored["sw_ratio"]
    line = (f"--model auto: S/W = {sw:,.0f} ({explored['num_samples']:,} samples / "
            f"{explored['median_words_per_sample']:g} median words) -> {name} (the guide's rule)")
    if name != "sepcnn" or on_gpu:
        return line
    samples, words = explored["num_samples"], explored["median_words_per_sample"]
    seconds = projected_seconds("sepcnn", samples, words, epochs)
    if seconds < LONG_RUN_SECONDS:
        return line
    other = projected_seconds("mlp", samples, words, epochs)
    return (f"{line}. No GPU: sepCNN is projected to take ~{duration(seconds)} for {epochs} "
            f"epochs on this kind of CPU (~{SEPCNN_CPU_TOKENS_PER_SECOND:,.0f} tokens/s); "
            f"--model mlp would take ~{duration(other)}.")
