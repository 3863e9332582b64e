"""Batch -> probabilities: the one path from a ``SparseBatch`` to class probabilities, shared by
training-time evaluation (``Trainer.predict_proba``) and the saved ``Classifier``."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from textbatch.features.batch import SparseBatch


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
    logits = model(**{k: v.to(device, non_blocking=True) for k, v in inputs.items()})
    return probabilities(logits, num_classes, multilabel).cpu()
