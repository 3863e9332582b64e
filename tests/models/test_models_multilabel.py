"""The multi-label head of every model: C logits, a BCE per label, independent sigmoids, the
logits started at the labels' log-odds, and a short fit that learns a labelled pattern."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textbatch.config import ModelConfig
from textbatch.features.batch import SparseBatch
from textbatch.models import build_model
from textbatch.models.registry import set_output_bias
from textbatch.train import Trainer

NUM_FEATURES, NUM_LABELS = 50, 3


def labelled_batch(n: int = 64, seed: int = 0) -> SparseBatch:
    """Feature 2 + j present <=> label j (j < 3), plus noise features: learnable, tiny."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, NUM_LABELS)) < 0.4).astype(np.uint8)
    rows = [np.concatenate([2 + np.flatnonzero(y), rng.integers(10, NUM_FEATURES, 3)])
            for y in labels]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    ids = np.concatenate(rows)
    return SparseBatch(ids, np.ones(len(ids), np.float32), offsets, labels)


def config(name: str) -> ModelConfig:
    return ModelConfig(name=name, num_features=NUM_FEATURES, num_classes=NUM_LABELS,
                       embedding_dim=16, filters=8, units=8, task="multilabel")


@pytest.mark.parametrize("name", ["mlp", "sepcnn", "ngram-bag"])
def test_every_model_has_a_sigmoid_per_label(name: str) -> None:
    trainer = Trainer(build_model(config(name)), NUM_LABELS, device="cpu", multilabel=True,
                      sequence_length=20 if name == "sepcnn" else None)
    batch = labelled_batch(8)
    inputs, labels = trainer._tensors(batch)
    trainer.model.eval()  # no dropout: the same logits predict_proba sees
    logits = trainer.model(**inputs)
    assert logits.shape == (8, NUM_LABELS)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.float())
    torch.testing.assert_close(trainer.loss(logits, labels), expected)
    torch.testing.assert_close(trainer.predict_proba(batch), torch.sigmoid(logits.detach()))


@pytest.mark.parametrize("name", ["mlp", "ngram-bag"])
def test_output_bias_starts_at_the_log_odds(name: str) -> None:
    model = build_model(config(name))
    log_odds = np.log(np.array([0.1, 0.5, 0.02]) / (1 - np.array([0.1, 0.5, 0.02])))
    set_output_bias(model, log_odds)
    trainer = Trainer(model, NUM_LABELS, device="cpu", multilabel=True)
    model.eval()
    with torch.no_grad():
        empty = {"ids": torch.zeros(0, dtype=torch.int64), "offsets": torch.zeros(1, dtype=torch.int64),
                 "weights": torch.zeros(0)}
        probs = torch.sigmoid(trainer.model(**empty))
    np.testing.assert_allclose(probs[0].numpy(), [0.1, 0.5, 0.02], rtol=1e-5)


def test_a_short_fit_learns_the_labels_and_logs_multilabel_scores() -> None:
    torch.manual_seed(0)
    trainer = Trainer(build_model(config("mlp").replace(dropout_rate=0.0)), NUM_LABELS,
                      device="cpu", multilabel=True, learning_rate=0.05)
    train = [labelled_batch(64, seed) for seed in range(8)]
    val = [labelled_batch(64, 100)]
    history = trainer.fit(train, validation_data=val, epochs=8, verbose=0).history
    assert history["val_micro_f1"][-1] > 0.9 and history["val_macro_f1"][-1] > 0.9
    assert history["val_accuracy"][-1] > 0.7  # subset accuracy: every label right
    assert history["val_loss"][-1] < history["val_loss"][0]
