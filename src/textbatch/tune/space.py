"""Search spaces: which settings a tune varies and over which values.

A dimension names one config field (``layers`` or ``model.layers``; any model, train, stream or
vectorize setting but the few that do not change what is learned) and either a list of values
(``--grid units=8,16,32``; every strategy) or a range (``--grid learning_rate=1e-4..1e-2:log``;
random and TPE only). Values are kept as JSON scalars so trials round-trip through trials.jsonl
and Optuna unchanged; an n-gram range is the string ``"1-2"`` until it is applied to a config.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import typing
from dataclasses import dataclass
from typing import Any, Iterable

from textbatch.config import ModelConfig, RunConfig, StreamConfig, TrainConfig, VectorizeConfig
from textbatch.errors import ConfigError
from textbatch.models.table import DEFAULT_MODEL, spec

Scalar = int | float | bool | str
SECTIONS = {"stream": StreamConfig, "vectorize": VectorizeConfig, "model": ModelConfig,
            "train": TrainConfig}
# Fields that identify the job rather than tune it, or are filled in from the data.
NOT_SEARCHABLE = {"model.name", "model.num_features", "model.num_classes", "vectorize.kind",
                  "stream.num_workers", "train.device", "train.checkpoint_every",
                  "train.checkpoint_seconds", "train.keep_checkpoints"}
_RANGE = re.compile(r"^\s*([^.][^ ]*?)\.\.([^: ]+)(:log)?\s*$")


def _fields() -> dict[str, tuple[str, type]]:
    """{field name: (section, type)} of every searchable field."""
    found: dict[str, tuple[str, type]] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f"{section}.{f.name}" not in NOT_SEARCHABLE:
                found[f.name] = (section, hints[f.name])
    return found


FIELDS = _fields()


@dataclass(frozen=True)
class Dimension:
    """One searched setting: a list of ``values``, or a ``low..high`` range (``log`` scale)."""

    name: str  # the config field, e.g. "units"
    section: str  # its config section, e.g. "model"
    values: tuple[Scalar, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False

    @property
    def is_range(self) -> bool:
        return self.low is not None

    @property
    def is_integer(self) -> bool:
        return FIELDS[self.name][1] is int

    @property
    def affects_vectorizer(self) -> bool:
        """Trials that differ in this setting need their own vectorizer fit and cache."""
        return self.section == "vectorize" or self.name == "block_size"

    def to_config(self, value: Scalar) -> Any:
        """The value as the config field holds it (an n-gram range becomes a tuple)."""
        if self.name == "ngram_range":
            return tuple(int(v) for v in str(value).split("-"))
        return value


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of dimensions; vectorizer settings first, so a grid visits the trials that
    share one fitted vectorizer one after the other."""

    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def grid(self) -> list[dict[str, Scalar]]:
        """Every combination, in order (the first dimension varies slowest)."""
        ranged = [d.name for d in self.dimensions if d.is_range]
        if ranged:
            raise ConfigError(f"--search grid needs a list of values for every dimension; "
                              f"{ranged} are ranges. Give values (units=8,16,32) or use "
                              "--search random|tpe.")
        return [dict(zip(self.names, combo))
                for combo in itertools.product(*(d.values for d in self.dimensions))]

    def apply(self, config: RunConfig, params: dict[str, Scalar]) -> RunConfig:
        """``config`` with a trial's settings; a value the config refuses names the trial."""
        changes: dict[str, dict[str, Any]] = {}
        for dim in self.dimensions:
            changes.setdefault(dim.section, {})[dim.name] = dim.to_config(params[dim.name])
        try:
            return config.replace(**{section: getattr(config, section).replace(**values)
                                     for section, values in changes.items()})
        except ConfigError as exc:
            raise ConfigError(f"Trial {describe(params)}: {exc}") from None

    def vectorizer_params(self, params: dict[str, Scalar]) -> dict[str, Scalar]:
        """The part of a trial's settings that decides its vectorizer (its group key)."""
        return {d.name: params[d.name] for d in self.dimensions if d.affects_vectorizer}


def parse_space(flags: Iterable[str] = (), table: dict[str, Any] | None = None,
                model: str = DEFAULT_MODEL) -> SearchSpace:
    """The space from ``--grid NAME=VALUES`` flags, else the TOML ``[tune.grid]`` table, else the
    model's default (``ModelSpec.search_space``: the guide's layers x units grid for the MLP)."""
    raw: dict[str, Any] = {}
    for flag in flags:
        name, sep, values = flag.partition("=")
        if not sep or not values.strip():
            raise ConfigError(f"--grid takes NAME=VALUES (e.g. units=8,16,32). Got {flag!r}.")
        raw[name.strip()] = values
    if not raw:
        raw = dict(table or {}) or dict(spec(model).search_space)
    if not raw:
        raise ConfigError(f"No search space: pass --grid NAME=VALUES (model {model!r}).")
    dims = [_dimension(name, value) for name, value in raw.items()]
    dims.sort(key=lambda d: not d.affects_vectorizer)  # stable: user order otherwise
    return SearchSpace(tuple(dims))


def _dimension(name: str, value: Any) -> Dimension:
    """One dimension from a flag's text (``1,2,3`` or ``1e-4..1e-2:log``) or a TOML list."""
    field_name = name.split(".")[-1]
    if field_name not in FIELDS or ("." in name and name.split(".")[0] !=
                                    FIELDS[field_name][0]):
        raise ConfigError(f"Cannot search {name!r}. Searchable settings: {sorted(FIELDS)}.")
    section, kind = FIELDS[field_name]
    if isinstance(value, str) and (match := _RANGE.match(value)):
        if kind not in (int, float):
            raise ConfigError(f"{name}: a range needs a numeric setting. Got {value!r}.")
        low, high = float(match.group(1)), float(match.group(2))
        if not low < high or (match.group(3) and low <= 0):
            raise ConfigError(f"{name}: range must be LOW..HIGH with LOW < HIGH (and LOW > 0 "
                              f"for :log). Got {value!r}.")
        return Dimension(field_name, section, low=low, high=high, log=bool(match.group(3)))
    items = value if isinstance(value, list) else str(value).split(",")
    values = tuple(dict.fromkeys(_scalar(field_name, kind, item) for item in items))
    return Dimension(field_name, section, values=values)


def _scalar(name: str, kind: type, item: Any) -> Scalar:
    """One value of ``name`` from text or TOML, checked against the field's type."""
    if name == "ngram_range":
        parts = item if isinstance(item, list) else str(item).strip().split("-")
        try:
            low, high = (int(p) for p in parts)
        except ValueError:
            raise ConfigError(f"ngram_range values are MIN-MAX (e.g. 1-1,1-2). Got {item!r}.")
        return f"{low}-{high}"
    text = str(item).strip()
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"{name} takes {kind.__name__} values. Got {item!r}.") from None
    return text


def parse_duration(text: str | float | int | None) -> float | None:
    """``10m``, ``90s``, ``1h30m`` or plain seconds as seconds (None: no budget)."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text)
    parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*"
                         r"(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not parts or not any(parts.groups()):
        raise ConfigError(f"--time-budget takes a duration such as 90s, 10m or 1h30m. "
                          f"Got {text!r}.")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in parts.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not math.isfinite(total) or total <= 0:
        raise ConfigError(f"--time-budget must be positive. Got {text!r}.")
    return total


def describe(params: dict[str, Scalar]) -> str:
    """``layers=1 units=32``: a trial's settings for progress lines and errors."""
    return " ".join(f"{k}={v}" for k, v in params.items())
