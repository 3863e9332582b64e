"""BatchSequence under Keras's own ``fit``: length, exactly-once per epoch with worker processes,
a new order every epoch, and the convenience builders (text and cache paths)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

keras = pytest.importorskip(
    "keras", reason="keras is not installed (pip install 'textbatch[keras]')")

from textbatch.config import StreamConfig, VectorizeConfig  # noqa: E402
from textbatch.keras import (  # noqa: E402
    BatchSequence, cache_sequences, mlp_model, sepcnn_model, text_sequences)

WORDS = ("apple banana cherry delta echo foxtrot golf hotel india juliet kilo lima mango "
         "nectar olive pepper quince radish salmon tomato").split()
NUM_RECORDS = 61  # not a multiple of the batch size: the last batch is short

# One record per class leaves f_classif no within-class variance (0/0); selection still works.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in divide")


def write_zhang(path, num_records: int) -> None:
    """Zhang CSV whose class *is* the record number (1..n): a label id names its record."""
    rows = []
    for i in range(num_records):
        text = " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(6))
        rows.append(f'"{i + 1}","","{text}"\n')
    path.write_text("".join(rows), "utf-8")


@pytest.fixture
def numbered(tmp_path, monkeypatch):
    """A train file of NUM_RECORDS uniquely-labelled records and a validation file of 30."""
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "manifests"))
    train, val = tmp_path / "train.csv", tmp_path / "val.csv"
    write_zhang(train, NUM_RECORDS)
    write_zhang(val, 30)
    return train, val


class Recorder(keras.Model):
    """The guide's MLP, remembering the label ids of every batch ``fit`` trains on."""

    def __init__(self, num_features: int, num_classes: int):
        inputs = keras.Input((num_features,))
        outputs = mlp_model(2, 4, 0.0, (num_features,), num_classes, compile=False)(inputs)
        super().__init__(inputs, outputs)
        self.seen: list[np.ndarray] = []

    def train_step(self, data):
        self.seen.append(keras.ops.convert_to_numpy(data[1]).copy())
        return super().train_step(data)


def make_data(numbered, batch_size=8, vectorize=None, **kwargs):
    train, val = numbered
    vectorize = vectorize or VectorizeConfig(min_df=1, top_k=50, max_counted_ngrams=1000)
    return text_sequences(str(train), str(val), vectorize=vectorize,
                          stream=StreamConfig(batch_size=batch_size, seed=3, block_size=16,
                                              shuffle_buffer=24), **kwargs)


def test_len_is_ceil_records_over_batch_size(numbered):
    data = make_data(numbered, batch_size=8)
    assert len(data.train) == math.ceil(NUM_RECORDS / 8) == 8
    assert len(data.val) == math.ceil(30 / 8)
    assert data.num_classes == NUM_RECORDS
    with pytest.raises(IndexError):
        data.train[len(data.train)]
    sizes = [len(data.train[i][1]) for i in range(len(data.train))]
    assert sizes == [8] * 7 + [NUM_RECORDS - 56]


@pytest.mark.parametrize("use_multiprocessing", [True, False], ids=["processes", "threads"])
def test_fit_with_workers_sees_every_record_once_per_epoch(numbered, use_multiprocessing):
    data = make_data(numbered, workers=2, use_multiprocessing=use_multiprocessing)
    model = Recorder(data.num_features, data.num_classes)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    epochs = 2
    model.fit(data.train, steps_per_epoch=len(data.train), validation_data=data.val,
              validation_steps=len(data.val), epochs=epochs, verbose=0)
    steps = len(data.train)
    assert len(model.seen) == epochs * steps
    orders = [np.concatenate(model.seen[e * steps:(e + 1) * steps]) for e in range(epochs)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(NUM_RECORDS))  # exactly once
    assert len({tuple(order) for order in orders}) == epochs  # a new order every epoch


def test_each_epoch_reads_its_own_permutation(numbered):
    seq = make_data(numbered).train
    first = [tuple(seq[i][1]) for i in range(len(seq))]
    assert [tuple(seq[i][1]) for i in reversed(range(len(seq)))] == first[::-1]  # random access
    seq.on_epoch_end()
    second = [tuple(seq[i][1]) for i in range(len(seq))]
    assert second != first
    assert sorted(np.concatenate(second).tolist()) == list(range(NUM_RECORDS))


def test_cache_path_gives_the_same_batches_as_the_text_path(numbered, tmp_path):
    text = make_data(numbered)
    cached = make_data(numbered, cache_dir=str(tmp_path / "cache"))
    for index in range(len(text.train)):
        x_text, y_text = text.train[index]
        x_cache, y_cache = cached.train[index]
        np.testing.assert_array_equal(y_text, y_cache)
        np.testing.assert_allclose(x_text, x_cache, rtol=1e-6)


def test_output_layouts_agree(numbered):
    dense = make_data(numbered).train
    bags = make_data(numbered, output="ids_weights").train
    (x, y), (bag, y_bag) = dense[2], bags[2]
    np.testing.assert_array_equal(y, y_bag)
    rebuilt = np.zeros_like(x)
    for row in range(len(y)):
        np.add.at(rebuilt[row], bag["ids"][row], bag["weights"][row])
    np.testing.assert_allclose(rebuilt, x, rtol=1e-6)


def test_dense_output_needs_num_features(numbered):
    data = make_data(numbered)
    with pytest.raises(ValueError, match="num_features"):
        BatchSequence(data.train.stream, "dense")


def test_a_pickled_sequence_gives_the_same_batches(numbered):
    """Under the spawn/forkserver start methods Keras's workers receive the sequence pickled."""
    seq = make_data(numbered).train
    seq.on_epoch_end()
    clone = pickle.loads(pickle.dumps(seq))
    assert clone.epoch == seq.epoch
    for index in (0, len(seq) - 1):
        np.testing.assert_array_equal(clone[index][0], seq[index][0])
        np.testing.assert_array_equal(clone[index][1], seq[index][1])


def test_sequence_vectorizer_feeds_the_sepcnn(numbered):
    vectorize = VectorizeConfig(kind="sequence", max_sequence_length=12, top_k=50,
                                max_counted_ngrams=1000)
    data = make_data(numbered, vectorize=vectorize)
    assert data.train.output == "tokens"  # the sequence vectorizer's default layout
    tokens, labels = data.train[0]
    assert tokens.shape == (8, 12) and tokens.dtype == np.int32
    assert (tokens[:, -6:] >= 2).all()  # six known words per record, padded in front
    model = sepcnn_model(2, 4, 3, 8, 0.2, 3, (12,), data.num_classes, data.num_features)
    assert np.isfinite(model.train_on_batch(tokens, labels)).all()


def test_cache_sequences_reopen_a_written_cache(numbered, tmp_path):
    written = make_data(numbered, cache_dir=str(tmp_path / "cache"))
    train, val = cache_sequences(str(tmp_path / "cache" / "train"), str(tmp_path / "cache" / "val"),
                                 num_features=written.num_features,
                                 stream=StreamConfig(batch_size=8, seed=3, block_size=16,
                                                     shuffle_buffer=24))
    assert (len(train), len(val)) == (len(written.train), len(written.val))
    for ours, theirs in ((train, written.train), (val, written.val)):
        np.testing.assert_array_equal(ours[1][0], theirs[1][0])
        np.testing.assert_array_equal(ours[1][1], theirs[1][1])
