"""Model shapes, losses, the EmbeddingBag == dense Linear identity, and the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textbatch.config import ModelConfig
from textbatch.errors import ConfigError
from textbatch.features.batch import SparseBatch
from textbatch.models import build_model
from textbatch.models.mlp import SparseLinear
from textbatch.train import Trainer

NUM_FEATURES = 50


def random_batch(n: int = 8, num_classes: int = 2, seed: int = 0) -> SparseBatch:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 12, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(2, NUM_FEATURES, offsets[-1])
    weights = rng.random(offsets[-1]).astype(np.float32)
    return SparseBatch(ids, weights, offsets, rng.integers(0, num_classes, n))


@pytest.mark.parametrize("name", ["mlp", "sepcnn", "ngram-bag"])
@pytest.mark.parametrize("num_classes,width", [(2, 1), (4, 4)])
def test_logit_shape_and_finite_loss(name: str, num_classes: int, width: int) -> None:
    config = ModelConfig(name=name, num_features=NUM_FEATURES, num_classes=num_classes,
                         embedding_dim=16, filters=8, units=8)
    trainer = Trainer(build_model(config), num_classes, device="cpu",
                      sequence_length=20 if name == "sepcnn" else None)
    batch = random_batch(num_classes=num_classes)
    inputs, labels = trainer._tensors(batch)
    logits = trainer.model(**inputs)
    assert logits.shape == (len(batch), width)
    loss = trainer.loss(logits, labels)
    assert torch.isfinite(loss) and loss.item() > 0
    probs = trainer.predict_proba(batch)
    assert probs.shape == (len(batch), num_classes)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(len(batch)))


def test_binary_loss_is_bce_and_multiclass_is_cross_entropy() -> None:
    logits = torch.tensor([[2.0], [-1.0]])
    labels = torch.tensor([1, 0])
    binary = Trainer(torch.nn.Linear(1, 1), 2, device="cpu")
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], labels.float())
    torch.testing.assert_close(binary.loss(logits, labels), expected)
    multi = Trainer(torch.nn.Linear(1, 3), 3, device="cpu")
    logits3 = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5]])
    torch.testing.assert_close(multi.loss(logits3, labels),
                               torch.nn.functional.cross_entropy(logits3, labels))


def test_sparse_linear_equals_dense_linear_on_densified_batch() -> None:
    torch.manual_seed(0)
    layer = SparseLinear(NUM_FEATURES, 7)
    torch.nn.init.uniform_(layer.bias)
    batch = random_batch(n=6)
    inputs, _ = batch.to_tensors()
    dense = np.zeros((len(batch), NUM_FEATURES), np.float32)
    for row in range(len(batch)):
        start, end = batch.offsets[row], batch.offsets[row + 1]
        np.add.at(dense[row], batch.ids[start:end], batch.weights[start:end])
    expected = torch.from_numpy(dense) @ layer.bag.weight + layer.bias
    torch.testing.assert_close(layer(**inputs), expected)


def test_mlp_first_layer_is_glorot_uniform_not_normal() -> None:
    model = build_model(ModelConfig(num_features=20_000, num_classes=2))
    weight = model.first.bag.weight
    limit = (6.0 / (20_000 + 64)) ** 0.5
    assert weight.abs().max().item() <= limit


def test_mlp_layers_count_dense_layers_like_the_guide() -> None:
    one = build_model(ModelConfig(layers=1, num_features=10, num_classes=2))
    three = build_model(ModelConfig(layers=3, num_features=10, num_classes=2))
    assert len(one.hidden) == 0 and one.first.bias.shape == (1,)
    assert len(three.hidden) == 2


def test_mlp_eval_is_deterministic_and_dropout_only_in_training() -> None:
    model = build_model(ModelConfig(num_features=NUM_FEATURES, num_classes=2, dropout_rate=0.5))
    inputs, _ = random_batch().to_tensors()
    model.eval()
    torch.testing.assert_close(model(**inputs), model(**inputs))


def test_registry_rejects_unknown_names_and_missing_sizes() -> None:
    config = ModelConfig(num_features=10, num_classes=2)
    object.__setattr__(config, "name", "transformer")
    with pytest.raises(ConfigError, match="Known: .*mlp"):
        build_model(config)
    with pytest.raises(ConfigError, match="num_features"):
        build_model(ModelConfig(num_classes=2))
    with pytest.raises(ConfigError, match="at least 2 classes"):
        build_model(ModelConfig(num_features=10, num_classes=1))


def test_ngram_bag_steps_touch_only_the_batch_rows() -> None:
    config = ModelConfig(name="ngram-bag", num_features=1_000, num_classes=3, embedding_dim=8)
    trainer = Trainer(build_model(config), 3, device="cpu")
    before = trainer.model.embedding.weight.detach().clone()
    batch = random_batch(num_classes=3)  # ids < NUM_FEATURES
    trainer.train_step(batch)  # the output layer starts at zero, so step twice
    trainer.train_step(batch)
    changed = (trainer.model.embedding.weight != before).any(dim=1).nonzero().flatten()
    assert set(changed.tolist()) <= set(batch.ids.tolist()) and len(changed) > 0
