"""The guide's two Keras models, rebuilt on Keras 3 with the guide's signatures.

``mlp_model`` eats dense tf-idf rows (``BatchSequence(output="dense")``); ``sepcnn_model`` eats
padded token ids (``output="tokens"``). Both end the way the guide's
``_get_last_layer_units_and_activation`` does: one sigmoid unit for two classes, else a softmax
over the classes. ``compile_model`` adds the guide's loss and Adam(1e-3) (the builders call it
unless ``compile=False``). Keras 3 dropped ``input_shape=`` on layers and ``input_length=`` on
``Embedding``, so the shape goes into a ``keras.Input`` instead.
"""

from __future__ import annotations

from typing import Any, Sequence

from textbatch.keras import require_keras
from textbatch.models.table import class_head

keras = require_keras()


def last_layer(num_classes: int) -> tuple[int, str]:
    """(units, activation) of the output layer: (1, sigmoid) for 2 classes, else softmax."""
    if num_classes < 2:  # Keras's error style (ValueError, "Received: ..."), before the table's
        raise ValueError(f"A classifier needs at least 2 classes. Received: "
                         f"num_classes={num_classes}.")
    head = class_head(num_classes)  # the torch models' head: textbatch.models.table
    return head.units, head.activation


def compile_model(model: Any, num_classes: int, learning_rate: float = 1e-3) -> Any:
    """Compile with the guide's loss for ``num_classes`` and Adam; metric ``accuracy``."""
    loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss,
                  metrics=["accuracy"])
    return model


def mlp_model(
    layers: int,
    units: int,
    dropout_rate: float,
    input_shape: Sequence[int],
    num_classes: int,
    *,
    compile: bool = True,
    learning_rate: float = 1e-3,
) -> Any:
    """The guide's n-gram MLP: Dropout -> [Dense(units, relu) -> Dropout] x (layers - 1) ->
    Dense(output). ``layers`` counts the dense layers including the output one."""
    op_units, op_activation = last_layer(num_classes)
    model = keras.Sequential([keras.Input(shape=tuple(input_shape)),
                              keras.layers.Dropout(rate=dropout_rate)])
    for _ in range(layers - 1):
        model.add(keras.layers.Dense(units=units, activation="relu"))
        model.add(keras.layers.Dropout(rate=dropout_rate))
    model.add(keras.layers.Dense(units=op_units, activation=op_activation))
    return compile_model(model, num_classes, learning_rate) if compile else model


def _separable(filters: int, kernel_size: int) -> Any:
    # The guide's initializers: random_uniform bias and depthwise kernel, "same" padding.
    return keras.layers.SeparableConv1D(
        filters=filters, kernel_size=kernel_size, activation="relu",
        bias_initializer="random_uniform", depthwise_initializer="random_uniform",
        padding="same")


def sepcnn_model(
    blocks: int,
    filters: int,
    kernel_size: int,
    embedding_dim: int,
    dropout_rate: float,
    pool_size: int,
    input_shape: Sequence[int],
    num_classes: int,
    num_features: int,
    *,
    compile: bool = True,
    learning_rate: float = 1e-3,
) -> Any:
    """The guide's sepCNN: Embedding -> (blocks - 1) x [Dropout, 2 x SeparableConv1D,
    MaxPooling1D] -> 2 x SeparableConv1D(2 x filters) -> GlobalAveragePooling1D -> Dropout ->
    Dense(output). ``num_features`` is the vocabulary size including the padding and
    out-of-vocabulary ids (``SequenceVectorizer.num_features``)."""
    op_units, op_activation = last_layer(num_classes)
    model = keras.Sequential([
        keras.Input(shape=tuple(input_shape), dtype="int32"),
        keras.layers.Embedding(input_dim=num_features, output_dim=embedding_dim),
    ])
    for _ in range(blocks - 1):
        model.add(keras.layers.Dropout(rate=dropout_rate))
        model.add(_separable(filters, kernel_size))
        model.add(_separable(filters, kernel_size))
        model.add(keras.layers.MaxPooling1D(pool_size=pool_size))
    model.add(_separable(filters * 2, kernel_size))
    model.add(_separable(filters * 2, kernel_size))
    model.add(keras.layers.GlobalAveragePooling1D())
    model.add(keras.layers.Dropout(rate=dropout_rate))
    model.add(keras.layers.Dense(op_units, activation=op_activation))
    return compile_model(model, num_classes, learning_rate) if compile else model
