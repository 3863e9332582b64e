"""sepCNN's masked padding: a record's logits do not depend on how far its batch is padded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textbatch.config import ModelConfig
from textbatch.features.batch import PAD_MULTIPLE, SparseBatch
from textbatch.models import build_model


def batch_of(rows: list[list[int]]) -> SparseBatch:
    offsets = np.cumsum([0] + [len(r) for r in rows])
    ids = np.array([t for r in rows for t in r], dtype=np.int64)
    return SparseBatch(ids, np.ones(len(ids), np.float32), offsets, np.zeros(len(rows), np.int64))


def test_sequences_pad_to_the_batch_longest_left_aligned_and_cut_on_the_padding_side():
    batch = batch_of([[5, 6, 7, 8], [9, 10]])
    assert batch.sequences(500).tolist() == [[5, 6, 7, 8, 0, 0, 0, 0], [9, 10, 0, 0, 0, 0, 0, 0]]
    assert batch.sequences(3, cut="pre").tolist() == [[6, 7, 8], [9, 10, 0]]
    assert batch.sequences(3, cut="post").tolist() == [[5, 6, 7], [9, 10, 0]]
    assert batch.padded(5, "pre").tolist() == [[0, 5, 6, 7, 8], [0, 0, 0, 9, 10]]
    assert batch.padded(3, "post").tolist() == [[5, 6, 7], [9, 10, 0]]
    assert batch.to_tensors(500)[0]["tokens"].shape == (2, 8)


@pytest.mark.parametrize("longest, max_length, width", [
    (1, 500, 8), (8, 500, 8), (9, 500, 16), (100, 500, 104), (497, 500, 500), (600, 500, 500),
    (9, 12, 12), (30, 7, 7)])
def test_batch_width_is_the_longest_rounded_up_to_a_multiple_of_8_and_capped(
        longest, max_length, width):
    batch = batch_of([[3] * longest, [4, 5]])
    assert PAD_MULTIPLE == 8
    assert batch.sequence_width(max_length) == width
    tokens = batch.sequences(max_length)
    assert tokens.shape == (2, width)
    assert (tokens[1, 2:] == 0).all() and (tokens[0] == 3).sum() == min(longest, max_length)


def test_an_empty_batch_is_one_padding_column_wide():
    assert batch_of([]).sequences(500).shape == (0, 1)


def test_a_batch_scores_the_same_whatever_its_padded_width():
    torch.manual_seed(0)
    config = ModelConfig(name="sepcnn", num_features=40, num_classes=3, embedding_dim=12,
                         filters=8, kernel_size=3, blocks=2)
    model = build_model(config).eval()
    rng = np.random.default_rng(3)
    rows = [rng.integers(2, 40, int(n)).tolist() for n in (13, 5, 1, 11)]
    exact = torch.from_numpy(batch_of(rows)._pad(13, cut="pre", align="left"))
    with torch.no_grad():
        reference = model(exact)
        for width in (16, 24, 61):
            padded = torch.nn.functional.pad(exact, (0, width - 13))
            torch.testing.assert_close(model(padded), reference, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(model(batch_of(rows).to_tensors(500)[0]["tokens"]), reference,
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel_size", [3, 4])
@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_a_record_scores_the_same_alone_and_beside_a_longer_one(kernel_size, blocks):
    torch.manual_seed(0)
    config = ModelConfig(name="sepcnn", num_features=50, num_classes=3, embedding_dim=12,
                         filters=8, kernel_size=kernel_size, blocks=blocks)
    model = build_model(config).eval()
    rng = np.random.default_rng(0)
    short = rng.integers(2, 50, 7).tolist()
    tiny = [4]  # shorter than one pooling window
    longer = rng.integers(2, 50, 40).tolist()
    with torch.no_grad():
        alone = model(torch.tensor([short]))
        alone_tiny = model(torch.tensor([tiny]))
        together = model(batch_of([short, longer, tiny]).to_tensors(500)[0]["tokens"])
    torch.testing.assert_close(together[0], alone[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(together[2], alone_tiny[0], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(together[1], alone[0])


def test_padding_embedding_row_stays_zero_under_training():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="sepcnn", num_features=30, num_classes=2,
                                    embedding_dim=8, filters=4))
    tokens = batch_of([[3, 4, 5, 6, 7, 8], [9]]).to_tensors(500)[0]["tokens"]
    model(tokens).sum().backward()
    assert model.embedding.weight[0].abs().sum() == 0
    assert model.embedding.weight.grad[0].abs().sum() == 0


def chunk_setup(seed: int, count: int, longest: int):
    """A small sepCNN in eval mode, ``count`` random records, and a forward that records the
    shapes it was called with."""
    torch.manual_seed(0)
    config = ModelConfig(name="sepcnn", num_features=60, num_classes=4, embedding_dim=10,
                         filters=6, kernel_size=3, blocks=2)
    model = build_model(config).eval()
    rng = np.random.default_rng(seed)
    rows = [rng.integers(2, 60, int(n)).tolist() for n in rng.integers(1, longest, count)]
    calls: list[torch.Size] = []

    def forward(tokens):
        calls.append(tokens.shape)
        return model(tokens=tokens)

    return model, batch_of(rows), forward, calls


def test_scoring_in_length_chunks_equals_one_forward_and_keeps_row_order():
    from textbatch.models.predict import chunked_logits

    model, batch, forward, calls = chunk_setup(1, 37, 90)
    tokens = batch.to_tensors(500)[0]["tokens"]
    with torch.no_grad():
        whole = model(tokens=tokens)
        chunked = chunked_logits(forward, {"tokens": tokens}, positions=300)
    assert len(calls) > 5 and all(n * length <= 300 or n == 1 for n, length in calls)
    assert all(length % PAD_MULTIPLE == 0 or length == tokens.shape[1] for _, length in calls)
    assert torch.allclose(chunked, whole, atol=1e-5)


def test_chunks_of_one_width_share_one_shape_so_few_primitives_are_built():
    """A short last chunk repeats a row rather than making a new (rows, width) shape; rows per
    chunk never pass EVAL_ROWS, and the scores are still each row's own."""
    from textbatch.models.predict import EVAL_ROWS, chunked_logits

    model, batch, forward, calls = chunk_setup(3, 300, 40)
    tokens = batch.to_tensors(500)[0]["tokens"]
    with torch.no_grad():
        whole = model(tokens=tokens)
        chunked = chunked_logits(forward, {"tokens": tokens}, positions=4_000)
    rows_of_width: dict[int, set[int]] = {}
    for rows, width in calls:
        rows_of_width.setdefault(width, set()).add(rows)
    assert all(len(sizes) == 1 for sizes in rows_of_width.values()), rows_of_width
    assert max(rows for rows, _ in calls) <= EVAL_ROWS
    assert sum(rows for rows, _ in calls) > len(tokens)  # some chunk was filled up
    assert torch.allclose(chunked, whole, atol=1e-5)


def test_front_padded_tokens_are_scored_in_one_pass_not_cut():
    from textbatch.models.predict import chunked_logits

    model, batch, forward, calls = chunk_setup(2, 40, 50)
    tokens = torch.from_numpy(batch.padded(50, "pre"))  # Keras layout: padding first
    with torch.no_grad():
        chunked = chunked_logits(forward, {"tokens": tokens}, positions=300)
        assert calls == [tokens.shape]
        assert torch.equal(chunked, model(tokens=tokens))
