"""How long training a model would take here, roughly: what ``--model auto`` says beside its pick.

The guide's S/W rule picks sepCNN for every large data set it names (Amazon, Yelp, DBPedia), but
it was written with a GPU in mind. On a CPU sepCNN costs ~25k multiply-adds per token position
and layer stack (forward) where the n-gram MLP costs a few per n-gram, so the same choice means
an hour where the MLP takes minutes. ``auto_choice`` weighs that: no GPU, no sepCNN unless asked
for. The throughputs come from the project's 2-core CPU (docs/BENCHMARKS.md, issue 11); they
size the announced times, never the decision.
"""

from __future__ import annotations

# sepCNN, the guide's sizes, length-bucketed batches, float32: token positions per second of a
# whole epoch (validation included). Measured on a quiet 2-core machine (2026-12-06, bands 1.4):
# IMDB 1,138-1,303 records/s x ~230 tokens, the Amazon-Full-like 3M corpus 3,040 records/s x
# ~96 tokens (bench/sequence_scale.py's corpus).
SEPCNN_CPU_TOKENS_PER_SECOND = 280_000.0
# The n-gram MLP from its cache, a whole epoch (bench/sequence_scale.py, 300k rows: 53.5k/s).
MLP_CPU_RECORDS_PER_SECOND = 53_000.0
MAX_SEQUENCE_LENGTH = 500


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


def auto_choice(explored: dict, epochs: int, on_gpu: bool) -> tuple[str, str]:
    """(the model ``--model auto`` trains, the line that announces it): the guide's S/W rule,
    weighed by the hardware. Where the rule says sepCNN and there is no GPU, auto trains the
    n-gram MLP: on this project's CPU the MLP was both more accurate on real held-out reviews
    and ~15x cheaper than one sepCNN epoch on an Amazon-Full-sized corpus (issue 11,
    docs/BENCHMARKS.md). ``--model sepcnn`` still trains the guide's choice."""
    guide, sw = explored["recommended_model"], explored["sw_ratio"]
    line = (f"--model auto: S/W = {sw:,.0f} ({explored['num_samples']:,} samples / "
            f"{explored['median_words_per_sample']:g} median words) -> {guide} (the guide's rule)")
    if guide != "sepcnn" or on_gpu:
        return guide, line
    samples, words = explored["num_samples"], explored["median_words_per_sample"]
    sepcnn = projected_seconds("sepcnn", samples, words, epochs)
    mlp = projected_seconds("mlp", samples, words, epochs)
    return "mlp", (f"{line}; no GPU here, so mlp: on a CPU the n-gram MLP beat sepCNN on "
                   f"held-out accuracy at a fraction of its time (docs/BENCHMARKS.md), "
                   f"~{duration(mlp)} against ~{duration(sepcnn)} for {epochs} epochs "
                   f"(~{SEPCNN_CPU_TOKENS_PER_SECOND:,.0f} sepCNN tokens/s). "
                   f"--model sepcnn trains the guide's choice.")
