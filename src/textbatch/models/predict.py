"""Batch -> probabilities: the one path from a ``SparseBatch`` to class probabilities, shared by
training-time evaluation (``Trainer.predict_proba``) and the saved ``Classifier``."""

from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import nn

from textbatch.features.batch import SparseBatch, padded_width

# Token positions one no-grad sequence forward takes at once: a [positions, 200] float tensor
# is ~51 MB. Scoring 2,048 IMDB reviews padded to 500 in one go peaked at 3-4 GB RSS.
EVAL_POSITIONS = 128 * 500
# Rows of one such forward, whatever its width: every chunk of a width has the same shape (a
# short last chunk repeats rows), so oneDNN builds primitives for a few dozen shapes, not one per
# (rows, width) pair. With chunks of positions // width rows, validating 300k reviews made ~80
# shapes, and each new primitive, kept for the run, split a freed 51 MB block: the heap grew by
# 0.8-1 GB during one validation pass (issue 11); with fixed rows it did not grow, 18% faster.
EVAL_ROWS = 128


def probabilities(logits: torch.Tensor, num_classes: int, multilabel: bool = False
                  ) -> torch.Tensor:
    """[n, num_classes] probabilities: a sigmoid per label for multi-label models (rows need
    not sum to 1); (1 - p, p) from the single binary logit; else softmax."""
    if multilabel:
        return torch.sigmoid(logits)
    if num_classes == 2:
        positive = torch.sigmoid(logits[:, 0])
        return torch.stack([1.0 - positive, positive], dim=1)
    return torch.softmax(logits, dim=1)


@torch.no_grad()
def batch_probabilities(model: nn.Module, batch: SparseBatch | Mapping[str, torch.Tensor],
                        num_classes: int,
                        sequence_length: int | None = None, padding: str = "pre",
                        multilabel: bool = False) -> torch.Tensor:
    """Class probabilities [n, num_classes] on CPU of one batch (labels not needed), with the
    model in eval mode on whatever device its weights are. ``sequence_length`` pads token ids
    for sequence models; bag models leave it None. ``batch`` may also be ready input tensors."""
    model.eval()
    inputs = batch.to_tensors(sequence_length, padding)[0] if isinstance(batch, SparseBatch) \
        else batch
    device = next(model.parameters()).device
    logits = chunked_logits(model, {k: v.to(device, non_blocking=True) for k, v in inputs.items()})
    return probabilities(logits, num_classes, multilabel).cpu()


def chunked_logits(forward: Callable[..., torch.Tensor], inputs: Mapping[str, torch.Tensor],
                   positions: int = EVAL_POSITIONS) -> torch.Tensor:
    """``forward(**inputs)`` without gradients; a ``tokens`` batch (left-aligned, 0 = padding)
    is scored in chunks of records of similar length, each cut to its own longest record
    (rounded up as ``padded_width`` does) with ``EVAL_ROWS`` rows (fewer where that would pass
    ``positions`` token positions), so memory stays bounded, short records skip the batch's
    padding and the chunks take few distinct shapes. Exact for models whose logits ignore
    padding (the masked sepCNN); rows come back in input order. Rows padded at the front
    (``SparseBatch.padded(..., "pre")``) are scored in one pass."""
    tokens = inputs.get("tokens")
    if tokens is None or tokens.numel() <= positions or len(inputs) > 1:
        return forward(**inputs)
    if bool(((tokens[:, :-1] == 0) & (tokens[:, 1:] != 0)).any()):
        return forward(**inputs)  # padding before a token (e.g. Keras "pre"): not cuttable
    lengths = (tokens != 0).sum(dim=1)
    order = torch.argsort(lengths, descending=True, stable=True)
    parts, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        width = padded_width(longest, tokens.shape[1])
        size = max(1, min(EVAL_ROWS, positions // width))  # a function of the width alone
        rows = order[start:start + size]
        scored = len(rows)
        if scored < size:  # the last chunk: repeat its longest row to the chunk's shape
            rows = torch.cat([rows, rows[:1].expand(size - scored)])
        parts.append(forward(tokens=tokens[rows, :width])[:scored])
        start += scored
    logits = torch.cat(parts)
    return torch.empty_like(logits).index_copy_(0, order, logits)
