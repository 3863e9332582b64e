"""`textbatch vectorize` end to end: cache written, reused when current, rebuilt when stale."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from textbatch.cli.main import _register_commands
from textbatch.cli.app import app
from textbatch.features import load_vectorizer
from textbatch.features.cache import CacheSource

ROWS = [("1", "awful boring plot and awful acting"), ("2", "great fun and great acting"),
        ("1", "boring awful film"), ("2", "great great film, fun"), ("1", "awful, boring"),
        ("2", "fun and great")]


def _write(path, rows):
    path.write_text("".join(f'"{label}","","{text}"\n' for label, text in rows))


def _vectorize(*args):
    _register_commands()
    return CliRunner().invoke(app, ["vectorize", *args, "--json"])


def test_vectorize_writes_reuses_and_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "manifests"))
    data, out = tmp_path / "train.csv", tmp_path / "out"
    _write(data, ROWS)
    first = _vectorize(str(data), "--out", str(out), "--top-k", "3")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["num_records"] == 6 and report["num_features"] == 3 and not report["reused"]
    cache = CacheSource(out / "cache")
    assert cache.labels.tolist() == [0, 1, 0, 1, 0, 1]
    vectorizer = load_vectorizer(out / "vectorizer")
    direct = vectorizer.transform([text for _, text in ROWS])
    assert np.array_equal(cache.gather(np.arange(6)).ids, direct.ids)

    assert json.loads(_vectorize(str(data), "--out", str(out), "--top-k", "3").output)["reused"]
    other = json.loads(_vectorize(str(data), "--out", str(out), "--top-k", "2").output)
    assert not other["reused"] and other["num_features"] == 2
    _write(data, ROWS + [("2", "great fun")])  # the data changed: its cache is stale
    changed = json.loads(_vectorize(str(data), "--out", str(out), "--top-k", "2").output)
    assert not changed["reused"] and changed["num_records"] == 7


def test_user_error_is_one_line_on_stderr(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "TEXTBATCH_CACHE_DIR": str(tmp_path / "manifests")}
    result = subprocess.run([sys.executable, "-m", "textbatch", "vectorize",
                             str(tmp_path / "train.csv"), "--out", str(tmp_path / "out"),
                             "--kind", "words"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: Unknown vectorizer 'words'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_vectorizer_not_stamped_with_the_cache_key_is_never_reused(tmp_path, monkeypatch):
    """A run killed between writing the cache and the vectorizer leaves an old stamp: rebuild."""
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "manifests"))
    data, out = tmp_path / "train.csv", tmp_path / "out"
    _write(data, ROWS)
    assert _vectorize(str(data), "--out", str(out), "--top-k", "3").exit_code == 0
    (out / "vectorizer" / "cache_key.json").write_text('{"stale": true}')
    again = json.loads(_vectorize(str(data), "--out", str(out), "--top-k", "3").output)
    assert not again["reused"]
    assert json.loads(_vectorize(str(data), "--out", str(out), "--top-k", "3").output)["reused"]


def test_a_cache_of_single_label_rows_is_never_reused_for_a_multilabel_task(tmp_path, monkeypatch):
    """Same text, same settings, other task (``--task multilabel``): labels are stored as
    indicator rows instead of ids, so the pair on disk must be rebuilt, not reused."""
    from textbatch.config import ReadConfig, VectorizeConfig
    from textbatch.data import Manifest, TextSource
    from textbatch.pipeline.vectorize import cache_key, fit_and_cache

    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "manifests"))
    data = tmp_path / "train.csv"
    _write(data, ROWS)
    manifest = Manifest.build([str(data)], ReadConfig(), 4)
    config = VectorizeConfig(top_k=3)
    key = cache_key(manifest, "all", 0.0, config)

    def fit(labels):
        return fit_and_cache(TextSource(manifest, "all", 0.0), labels, config, tmp_path / "cache",
                             tmp_path / "vectorizer", key, block_size=4)

    assert not fit(manifest.classes).reused
    assert fit(manifest.classes).reused
    multi = fit(manifest.classes.as_multilabel())
    assert not multi.reused
    assert CacheSource(multi.cache).labels.shape == (6, 2)  # indicator rows, not ids
