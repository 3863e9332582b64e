"""Per-model defaults (``MODEL_DEFAULTS``) apply where the user left the shared default."""

from __future__ import annotations

from textbatch.config import ModelConfig, RunConfig, TrainConfig, with_model_defaults


def test_sepcnn_and_ngram_bag_get_their_own_defaults_and_mlp_keeps_the_shared_ones() -> None:
    shared = RunConfig()
    sepcnn = with_model_defaults(shared, "sepcnn")
    assert (sepcnn.model.dropout_rate, sepcnn.train.learning_rate) == (0.2, 1e-3)
    bag = with_model_defaults(shared, "ngram-bag")
    assert (bag.model.embedding_dim, bag.train.learning_rate) == (32, 0.1)
    assert with_model_defaults(shared, "mlp") == shared


def test_values_the_user_set_win_over_the_model_defaults() -> None:
    asked = RunConfig(model=ModelConfig(dropout_rate=0.3, embedding_dim=32),
                      train=TrainConfig(learning_rate=5e-4))
    for name in ("sepcnn", "ngram-bag"):
        resolved = with_model_defaults(asked, name)
        assert resolved.model.dropout_rate == 0.3
        assert resolved.model.embedding_dim == 32
        assert resolved.train.learning_rate == 5e-4


def test_a_flag_equal_to_the_shared_default_still_wins_when_the_cli_says_it_was_given() -> None:
    from textbatch.cli.train import build_run_config

    config, model, _, given = build_run_config({"learning_rate": 3e-3, "model": "sepcnn"}, None)
    resolved = with_model_defaults(config, model, given)
    assert resolved.train.learning_rate == 3e-3  # asked for, though it equals the shared default
    assert resolved.model.dropout_rate == 0.2  # not asked for: the guide's sepCNN value
    assert resolved.vectorize.top_k == 20_000  # the guide's sequence vocabulary
