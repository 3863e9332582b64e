"""Search spaces: flags, TOML and per-model defaults become dimensions; the grid is their full
product; durations parse; a bad name or value is a one-line ConfigError."""

from __future__ import annotations

import itertools

import pytest

from textbatch.config import RunConfig, config_toml
from textbatch.errors import ConfigError
from textbatch.tune.space import parse_duration, parse_space


def test_guide_grid_is_the_mlp_default_and_expands_to_15_points() -> None:
    space = parse_space(model="mlp")
    grid = space.grid()
    assert space.names == ["layers", "units"]
    assert grid == [{"layers": l, "units": u}
                    for l, u in itertools.product([1, 2, 3], [8, 16, 32, 64, 128])]


@pytest.mark.parametrize("model", ["sepcnn", "ngram-bag"])
def test_other_models_have_a_default_grid(model) -> None:
    grid = parse_space(model=model).grid()
    assert len(grid) == 9 and len({tuple(sorted(p.items())) for p in grid}) == 9


def test_flags_give_typed_values_with_vectorizer_settings_first() -> None:
    space = parse_space(["units=8,16", "model.dropout_rate=0.1,0.5", "ngram_range=1-1,1-2",
                         "sublinear_tf=true,false", "top_k=1e3,2000"])
    assert space.names == ["ngram_range", "sublinear_tf", "top_k", "units", "dropout_rate"]
    grid = space.grid()
    assert len(grid) == 2 ** 5
    assert grid[0] == {"ngram_range": "1-1", "sublinear_tf": True, "top_k": 1000, "units": 8,
                       "dropout_rate": 0.1}
    config = space.apply(RunConfig(), grid[-1])
    assert config.vectorize.ngram_range == (1, 2) and config.vectorize.top_k == 2000
    assert config.model.units == 16 and config.model.dropout_rate == 0.5
    assert space.vectorizer_params(grid[-1]) == {"ngram_range": "1-2", "sublinear_tf": False,
                                                 "top_k": 2000}


def test_toml_table_and_ranges() -> None:
    space = parse_space(table={"layers": [1, 2], "ngram_range": [[1, 1], [1, 3]]})
    assert space.grid()[-1] == {"ngram_range": "1-3", "layers": 2}
    ranged = parse_space(["learning_rate=1e-4..1e-2:log", "units=8,16"])
    lr = ranged.dimensions[0]
    assert (lr.low, lr.high, lr.log) == (1e-4, 1e-2, True)
    with pytest.raises(ConfigError, match="--search random\\|tpe"):
        ranged.grid()


@pytest.mark.parametrize("flag, message", [
    ("colour=1,2", "Cannot search 'colour'"),
    ("model.name=mlp", "Cannot search 'model.name'"),
    ("train.units=8", "Cannot search 'train.units'"),
    ("units=8.5", "units takes int values"),
    ("units", "NAME=VALUES"),
    ("ngram_range=1,2", "MIN-MAX"),
    ("learning_rate=1e-2..1e-4", "LOW < HIGH"),
    ("padding=pre..post", "range needs a numeric setting"),
])
def test_bad_dimensions_are_config_errors(flag, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_space([flag])


def test_a_value_the_config_refuses_names_the_trial() -> None:
    space = parse_space(["dropout_rate=0.2,1.5"])
    with pytest.raises(ConfigError, match="Trial dropout_rate=1.5: dropout_rate must be"):
        space.apply(RunConfig(), space.grid()[1])


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1h30m", 5400),
                                           ("45", 45), ("2.5m", 150), (None, None)])
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "10 minutes", "0s", ""])
def test_bad_durations(text) -> None:
    if text == "":
        assert parse_duration(text) is None
        return
    with pytest.raises(ConfigError, match="--time-budget"):
        parse_duration(text)


def test_config_toml_round_trips_through_train_config(tmp_path) -> None:
    from textbatch.cli.train import build_run_config

    config = RunConfig().replace(model=RunConfig().model.replace(name="ngram-bag", units=16))
    path = tmp_path / "best.toml"
    path.write_text(config_toml(config))
    loaded, model, kind, _ = build_run_config({}, path)
    assert model == "ngram-bag" and kind == "ngram"
    assert loaded == config.replace(model=config.model.replace(name="mlp"),
                                    vectorize=config.vectorize.replace(kind="ngram"))
