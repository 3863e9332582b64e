"""The guide's Keras builders, the SparseBatch -> Keras input layouts, and the lazy import."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip(
    "keras", reason="keras is not installed (pip install 'textbatch[keras]')")

from textbatch.features.batch import SparseBatch  # noqa: E402
from textbatch.keras import mlp_model, sepcnn_model, to_keras_inputs  # noqa: E402

# Three records: [0:2.0, 3:1.0], [], [4:0.5, 1:0.25, 2:1.5]
BATCH = SparseBatch(ids=np.array([0, 3, 4, 1, 2]), weights=np.array([2.0, 1.0, 0.5, 0.25, 1.5],
                    np.float32), offsets=np.array([0, 2, 2, 5]), labels=np.array([1, 0, 1]))


def test_dense_rows_put_each_weight_at_its_feature():
    dense = to_keras_inputs(BATCH, "dense", num_features=6)
    expected = np.zeros((3, 6), np.float32)
    expected[0, [0, 3]] = [2.0, 1.0]
    expected[2, [4, 1, 2]] = [0.5, 0.25, 1.5]
    assert dense.dtype == np.float32
    np.testing.assert_array_equal(dense, expected)


def test_ids_weights_rebuild_the_dense_rows():
    out = to_keras_inputs(BATCH, "ids_weights")
    assert out["ids"].shape == out["weights"].shape == (3, 3)
    rebuilt = np.zeros((3, 6), np.float32)
    for row in range(3):
        np.add.at(rebuilt[row], out["ids"][row], out["weights"][row])
    np.testing.assert_array_equal(rebuilt, to_keras_inputs(BATCH, "dense", num_features=6))


def test_tokens_are_padded_like_pad_sequences():
    tokens = to_keras_inputs(BATCH, "tokens", sequence_length=2, padding="pre")
    np.testing.assert_array_equal(tokens, [[0, 3], [0, 0], [1, 2]])
    assert tokens.dtype == np.int32


@pytest.mark.parametrize("num_classes, units, loss", [
    (2, 1, "binary_crossentropy"), (4, 4, "sparse_categorical_crossentropy")])
def test_mlp_model_is_the_guides(num_classes, units, loss):
    model = mlp_model(layers=2, units=8, dropout_rate=0.2, input_shape=(6,),
                      num_classes=num_classes)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dropout", "Dense", "Dropout", "Dense"]
    assert model.layers[-1].units == units
    assert model.loss == loss
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    dense = to_keras_inputs(BATCH, "dense", num_features=6)
    assert model.predict(dense, verbose=0).shape == (3, units)


def test_sepcnn_model_is_the_guides():
    model = sepcnn_model(blocks=2, filters=4, kernel_size=3, embedding_dim=5, dropout_rate=0.2,
                         pool_size=3, input_shape=(9,), num_classes=3, num_features=7)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Embedding", "Dropout", "SeparableConv1D", "SeparableConv1D", "MaxPooling1D",
                     "SeparableConv1D", "SeparableConv1D", "GlobalAveragePooling1D", "Dropout",
                     "Dense"]
    assert [layer.filters for layer in model.layers if hasattr(layer, "filters")] == [4, 4, 8, 8]
    tokens = to_keras_inputs(BATCH, "tokens", sequence_length=9)
    probabilities = model.predict(tokens, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_a_binary_model_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        mlp_model(2, 8, 0.2, (6,), num_classes=1)


def test_missing_keras_raises_the_install_hint():
    code = ("import sys; sys.modules['keras'] = None\n"
            "import textbatch.keras as tk\n"
            "try:\n    tk.mlp_model\nexcept ImportError as e:\n    print('HINT', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ}, timeout=60)
    assert "HINT" in out.stdout and "pip install 'textbatch[keras]'" in out.stdout, out.stderr
