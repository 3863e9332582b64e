"""--pretrained-embeddings and --fine-tune-embeddings end to end on real SST-2 sentences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import textbatch
from textbatch.cli.app import app
from textbatch.cli.main import _register_commands
from textbatch.errors import ConfigError

SST2 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sst2" / "stsa.binary.train"
WORDS = ["the", "film", "a", "funny", "bad", "movie", "not-a-word-in-sst"]


@pytest.fixture()
def data(tmp_path: Path) -> tuple[Path, Path]:
    if not SST2.exists():
        pytest.skip(f"{SST2} is absent (clone the shared data beside the repo)")
    train = tmp_path / "train.txt"
    train.write_text("".join(SST2.read_text(encoding="utf-8").splitlines(True)[:300]), "utf-8")
    vectors = tmp_path / "vectors.vec"
    rng = np.random.default_rng(0)
    lines = [f"{len(WORDS)} 6"] + [w + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=6))
                                   for w in WORDS]
    vectors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return train, vectors


def run(*args: object) -> str:
    _register_commands()
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def file_vectors(path: Path) -> dict[str, np.ndarray]:
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return {r.split()[0]: np.array(r.split()[1:], dtype=np.float32) for r in rows}


def embedding_of(out: Path, word: str) -> np.ndarray:
    classifier = textbatch.load(str(out))
    row = classifier.vectorizer.vocabulary_[word]
    return classifier.model.embedding.weight[row].detach().numpy()


def test_frozen_pretrained_embedding_keeps_the_file_vectors_and_reports_coverage(data, tmp_path):
    train, vectors = data
    out = tmp_path / "frozen"
    output = run("train", train, "--out", out, "--model", "sepcnn", "--epochs", "1",
                 "--filters", "4", "--pretrained-embeddings", vectors)
    known = sum(w in textbatch.load(str(out)).vectorizer.vocabulary_ for w in WORDS)
    assert 3 <= known < len(WORDS)
    assert f"pretrained embeddings: {known} of" in output
    report = json.loads((out / "report.json").read_text())
    assert report["pretrained_embeddings"]["found"] == known
    assert report["pretrained_embeddings"]["dim"] == 6  # --embedding-dim followed the file
    expected = file_vectors(vectors)
    for word in ("film", "funny"):
        np.testing.assert_allclose(embedding_of(out, word), expected[word], rtol=1e-6)
    assert not embedding_of(out, "of").any()  # a vocabulary word the file lacks starts at zero


def test_fine_tuning_trains_the_embedding_in_a_second_stage(data, tmp_path):
    train, vectors = data
    out = tmp_path / "tuned"
    output = run("train", train, "--out", out, "--model", "sepcnn", "--epochs", "1",
                 "--filters", "4", "--pretrained-embeddings", vectors, "--fine-tune-embeddings")
    assert "fine-tuning" in output
    assert (out / "history.csv").is_file() and (out / "history_fine_tune.csv").is_file()
    assert (out / "fine_tune" / "checkpoints" / "frozen_stage.safetensors").is_file()
    assert not np.allclose(embedding_of(out, "film"), file_vectors(vectors)["film"])
    # run again: the finished frozen stage is not trained twice, the tuned one resumes
    again = run("train", train, "--out", out, "--model", "sepcnn", "--epochs", "1",
                "--filters", "4", "--pretrained-embeddings", vectors, "--fine-tune-embeddings")
    assert "fine-tuning" in again


def test_an_embedding_dim_that_contradicts_the_file_is_refused(data, tmp_path):
    train, vectors = data
    _register_commands()
    with pytest.raises(ConfigError, match="--embedding-dim 16 does not match .*6 dimensions"):
        CliRunner().invoke(app, ["train", str(train), "--out", str(tmp_path / "x"), "--model",
                                 "sepcnn", "--embedding-dim", "16", "--pretrained-embeddings",
                                 str(vectors)], catch_exceptions=False)
    with pytest.raises(ConfigError, match="needs --pretrained-embeddings"):
        CliRunner().invoke(app, ["train", str(train), "--out", str(tmp_path / "y"), "--model",
                                 "sepcnn", "--fine-tune-embeddings"], catch_exceptions=False)
