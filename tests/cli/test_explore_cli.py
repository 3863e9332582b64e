"""`textbatch explore` end to end, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "textbatch", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(not (DATA / "imdb" / "train.csv.gz").exists(), reason="../shared/data absent")
def test_explore_imdb_json():
    result = run_cli("explore", str(DATA / "imdb" / "train.csv.gz"), "--json", "--top-ngrams", "0")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["num_samples"] == 25_000
    assert report["num_classes"] == 2
    assert sorted(report["samples_per_class"].values()) == [12_500, 12_500]
    assert abs(report["median_words_per_sample"] - 174) <= 2
    assert report["recommended_model"] == "mlp"
    assert set(report) >= {"num_samples", "num_classes", "samples_per_class",
                           "median_words_per_sample", "sw_ratio", "recommended_model",
                           "skipped_records"}


def test_bad_row_is_one_line_error_and_skip_counts(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text('"1","t","one"\n"2","t","two"\n"1","three"\n')
    failed = run_cli("explore", str(data))
    assert failed.returncode == 1
    assert ":3:" in failed.stderr and "--on-bad-records skip" in failed.stderr
    assert "Traceback" not in failed.stderr
    skipped = run_cli("explore", str(data), "--on-bad-records", "skip", "--json")
    assert skipped.returncode == 0, skipped.stderr
    assert sum(json.loads(skipped.stdout)["skipped_records"].values()) == 1
