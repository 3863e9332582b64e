"""Issue 13, case 8: an untrusted model folder is checked fully before anything is built; each
way it can be wrong is a one-line CheckpointError naming the file."""

from __future__ import annotations

import json
import resource
import shutil
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from textbatch.artifacts import load_classifier
from textbatch.cli.app import app
from textbatch.cli.main import _register_commands
from textbatch.errors import CheckpointError


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("model")
    rows = "".join(f"{'spam' if i % 3 else 'ham'}\tmessage {i} says {'win' if i % 3 else 'hi'}\n"
                   for i in range(300))
    (root / "sms.tsv").write_text(rows)
    _register_commands()
    result = CliRunner().invoke(app, ["train", str(root / "sms.tsv"), "--out", str(root / "run"),
                                      "--model", "mlp", "--epochs", "1"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root / "run" / "model"


@pytest.fixture
def model(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(trained, copy)
    return copy


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def refused(model: Path, match: str) -> str:
    with pytest.raises(CheckpointError, match=match) as info:
        load_classifier(model)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_untouched_model_loads(model: Path) -> None:
    assert load_classifier(model).predict(["you win"]) in (["spam"], ["ham"])


@pytest.mark.parametrize("field, value", [("units", 3_000_000), ("layers", 100_000),
                                          ("embedding_dim", 10**9)])
def test_absurd_sizes_are_refused_without_allocating(model: Path, field: str, value: int) -> None:
    edit_json(model / "config.json", lambda d: d["run"]["model"].update({field: value}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused(model, rf"config.json asks for model.{field}=|do not match")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_a_plausible_size_that_disagrees_with_the_weights(model: Path) -> None:
    edit_json(model / "config.json", lambda d: d["run"]["model"].update({"units": 32}))
    refused(model, r"model.safetensors: the weights do not match the mlp model")


def test_a_wrong_type_in_config(model: Path) -> None:
    edit_json(model / "config.json", lambda d: d["run"]["model"].update({"units": "many"}))
    refused(model, r"config.json: invalid run settings")


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "a/b", 7])
def test_vectorizer_file_names_stay_inside_the_folder(model: Path, name: object) -> None:
    edit_json(model / "vectorizer" / "vectorizer.json", lambda d: d["arrays"].append(name))
    refused(model, r"vectorizer.json: file name .* is not a plain name inside the folder")


def test_labels_disagreeing_with_the_model(model: Path) -> None:
    (model / "labels.json").write_text(json.dumps({"classes": ["ham", "spam", "eggs"]}))
    refused(model, r"labels.json: .* disagrees with the 2 classes of config.json")


def test_classes_disagreeing_with_the_output_size(model: Path) -> None:
    edit_json(model / "config.json", lambda d: d.update(classes=["ham", "spam", "eggs"]))
    refused(model, r"num_classes=2 but 3 class names")


@pytest.mark.parametrize("damage", ["not json", "{}", '{"classes": 5}'])
def test_unreadable_labels(model: Path, damage: str) -> None:
    (model / "labels.json").write_text(damage)
    refused(model, r"labels.json: ")


@pytest.mark.parametrize("cut", [4, 100, -10])
def test_truncated_or_corrupt_weights(model: Path, cut: int) -> None:
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:cut] if cut > 0 else data[:cut])
    refused(model, r"model.safetensors: ")


def test_a_header_that_claims_a_huge_tensor(model: Path) -> None:
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [10**6, 10**6]
    raw = json.dumps(header).encode()
    weights.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + length:])
    refused(model, r"does not fit its byte range")


def test_a_vectorizer_with_another_feature_count(model: Path) -> None:
    edit_json(model / "config.json", lambda d: d["run"]["model"].update(
        num_features=d["run"]["model"]["num_features"] + 1))
    refused(model, r"model.safetensors: the weights do not match|features")
