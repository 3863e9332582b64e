"""The checkpoint format: exact round trips, atomic saves, strict and pickle-free loading."""

from __future__ import annotations

import errno
import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from textbatch.config import ModelConfig, RunConfig
from textbatch.errors import CheckpointError
from textbatch.io.atomic import WriteError
from textbatch.models import build_model
from textbatch.pipeline.resume import fingerprint_diff
from textbatch.train.checkpoint import CheckpointStore, join_tensors, split_tensors
from textbatch.train.optim import AdamPair


def _store(tmp_path: Path, keep: int = 2) -> CheckpointStore:
    return CheckpointStore(tmp_path / "checkpoints", keep)


def _save(store: CheckpointStore, value: float = 1.0) -> Path:
    return store.save({"note": value}, {"w": torch.full((3, 2), value)})


def test_optimizer_state_round_trips_exactly_through_json_and_tensors() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_features=50, num_classes=3, units=4))
    optimizer = AdamPair(model, 1e-2)
    inputs = {"ids": torch.tensor([2, 3, 9, 4]), "offsets": torch.tensor([0, 2]),
              "weights": torch.ones(4)}
    model(**inputs).sum().backward()
    optimizer.step()
    tensors: dict[str, torch.Tensor] = {}
    encoded = json.loads(json.dumps(split_tensors(optimizer.state_dict(), "opt", tensors)))
    decoded = join_tensors(encoded, tensors)
    original = optimizer.state_dict()
    for mine, theirs in zip(decoded["optimizers"], original["optimizers"]):
        assert mine["param_groups"] == theirs["param_groups"]  # tuples (betas) stay tuples
        assert mine["state"].keys() == theirs["state"].keys()  # int keys stay int
        for key, slots in theirs["state"].items():
            for name, value in slots.items():
                got = mine["state"][key][name]
                same = torch.equal(got, value) if torch.is_tensor(value) else got == value
                assert same and type(got) is type(value), name
    optimizer.load_state_dict(decoded)


def test_latest_points_to_the_newest_and_only_the_last_k_are_kept(tmp_path) -> None:
    store = _store(tmp_path, keep=2)
    paths = [_save(store, float(i)) for i in range(4)]
    assert store.latest() == paths[-1]
    assert sorted(p.name for p in store.directory.glob("ckpt-*")) == [p.name for p in paths[-2:]]
    state, tensors = store.load(store.latest())
    assert state["note"] == 3.0 and torch.equal(tensors["w"], torch.full((3, 2), 3.0))


def test_leftovers_of_a_killed_save_are_removed_and_latest_is_kept(tmp_path) -> None:
    store = _store(tmp_path)
    first = _save(store)
    (store.directory / ".ckpt-000002.abc.tmp").mkdir()  # killed mid-write
    (store.directory / "ckpt-000002").mkdir()  # killed after the rename, before `latest`
    (store.directory / ".latest.x.tmp").write_text("ckpt-000002")
    store.clean()
    assert sorted(p.name for p in store.directory.iterdir()) == [first.name, "latest"]
    assert _save(store).name == "ckpt-000002"  # serials go on from latest


@pytest.mark.parametrize("damage", ["flip", "truncate", "state", "pointer", "missing"])
def test_a_damaged_checkpoint_is_a_checkpoint_error_naming_the_file(tmp_path, damage) -> None:
    store = _store(tmp_path)
    path = _save(store)
    tensors = path / "tensors.safetensors"
    data = bytearray(tensors.read_bytes())
    if damage == "flip":
        data[-1] ^= 0xFF
        tensors.write_bytes(bytes(data))
    elif damage == "truncate":
        tensors.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "state":
        (path / "state.json").write_text('{"format": "textbatch-checkpoint", "vers')
    elif damage == "pointer":
        (store.directory / "latest").write_text("../../etc")
    else:
        (store.directory / "latest").write_text("ckpt-000009")
    with pytest.raises(CheckpointError, match="overwrite") as info:
        store.load(store.latest())
    assert str(store.directory) in str(info.value)


def test_a_planted_pickle_payload_is_refused_and_never_executed(tmp_path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    store = _store(tmp_path)
    path = _save(store)
    payload = pickle.dumps({"w": Payload()})
    for target in ("tensors.safetensors", "optimizer.pt", "model.pt"):
        (path / target).write_bytes(payload)
    # The attacker also fixes the sha256 in state.json, so only the format stands in the way.
    state = json.loads((path / "state.json").read_text())
    import hashlib

    state["tensors_sha256"] = hashlib.sha256(payload).hexdigest()
    (path / "state.json").write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        store.load(store.latest())
    assert not marker.exists()


def test_a_full_disk_during_a_save_leaves_the_previous_checkpoint_intact(tmp_path,
                                                                          monkeypatch) -> None:
    store = _store(tmp_path)
    first = _save(store, 1.0)

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("textbatch.io.atomic.os.fsync", no_space)
    with pytest.raises(WriteError, match="No space left on device.*untouched"):
        _save(store, 2.0)
    monkeypatch.undo()
    assert store.latest() == first
    assert store.load(first)[0]["note"] == 1.0
    assert not [p for p in store.directory.iterdir() if p.name.startswith(".")]


def test_fingerprint_diff_names_every_difference() -> None:
    config = RunConfig().to_dict()
    saved = {"config": config, "data": {"train": [["a.csv", "k1"], ["b.csv", "k2"]]},
             "world_size": 1}
    changed = json.loads(json.dumps(saved))
    changed["config"]["model"]["units"] = 32
    changed["data"]["train"] = [["a.csv", "k9"], ["c.csv", "k3"]]
    lines = fingerprint_diff(saved, changed)
    assert "config.model.units: 64 in the checkpoint, 32 now" in lines
    assert "train data: a.csv changed (size, modification time or content)" in lines
    assert "train data: c.csv is new" in lines and "train data: b.csv is no longer given" in lines
    assert fingerprint_diff(saved, saved) == []
