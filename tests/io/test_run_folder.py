"""Issue 13, cases 4, 6 and 7 at the library level: one writer per folder, never a stranger's
folder, leftovers of killed runs cleaned at start-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from textbatch.errors import ConfigError
from textbatch.io.run_folder import LOCK_FILE, MARKER, claim, claimed, release

HOLD = """
import sys, time
from textbatch.io.run_folder import claim
claim(sys.argv[1], "test")
print("held", flush=True)
time.sleep(120)
"""


def holder(folder: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    first = holder(tmp_path / "run")
    try:
        started = time.monotonic()
        with pytest.raises(ConfigError, match=rf"another textbatch process \(PID {first.pid}\) is writing this folder"):
            claim(tmp_path / "run", "train")
        assert time.monotonic() - started < 5  # at once, not after a wait
    finally:
        first.kill()
        first.wait()


def test_a_stale_lock_of_a_killed_process_never_blocks(tmp_path: Path) -> None:
    first = holder(tmp_path / "run")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert (tmp_path / "run" / LOCK_FILE).read_text().strip() == str(first.pid)
    with claimed(tmp_path / "run", "train") as folder:
        assert (folder / LOCK_FILE).read_text().strip() == str(os.getpid())


def test_a_folder_textbatch_did_not_make_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(ConfigError, match=r"holds files textbatch did not write \(thesis.tex\)"):
        claim(tmp_path / "mine", "train")
    with claimed(tmp_path / "mine", "train", overwrite=True) as folder:
        assert (folder / MARKER).is_file() and (folder / "thesis.tex").read_text()


def test_overwrite_never_replaces_a_strangers_model_folder(tmp_path: Path) -> None:
    (tmp_path / "mine" / "model").mkdir(parents=True)
    (tmp_path / "mine" / "model" / "weights.bin").write_bytes(b"not ours")
    with pytest.raises(ConfigError, match=r"model exist\(s\) but textbatch did not write"):
        claim(tmp_path / "mine", "train", overwrite=True)
    assert (tmp_path / "mine" / "model" / "weights.bin").read_bytes() == b"not ours"


def test_an_unwritable_out_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"cannot create the output folder") as info:
        claim(tmp_path / "file" / "run", "train")
    assert "\n" not in str(info.value)


def test_leftovers_of_a_killed_run_are_cleaned_and_nothing_else(tmp_path: Path) -> None:
    with claimed(tmp_path / "run", "train"):
        pass
    run = tmp_path / "run"
    leftovers = [run / "textbatch-spill-abc123" / "rows" / "ids.bin",
                 run / "textbatch-tokens-x" / "ids.bin", run / ".cache.tmp-k2j3" / "ids.bin",
                 run / ".metrics.json.a8f.tmp", run / "model" / ".model.safetensors.x1.tmp",
                 run / "vectorizer" / ".idf.npy.tmp"]
    kept = [run / "model" / "config.json", run / "notes.txt", run / "cache" / "ids.bin"]
    for path in leftovers + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    with claimed(run, "train"):
        pass
    assert [p for p in leftovers if p.exists()] == []
    assert not (run / "textbatch-spill-abc123").exists() and not (run / ".cache.tmp-k2j3").exists()
    assert all(p.exists() for p in kept)


def test_claiming_twice_in_one_process_is_one_claim(tmp_path: Path) -> None:
    claim(tmp_path / "run", "train")
    try:
        assert claim(tmp_path / "run", "train") == tmp_path / "run"
    finally:
        release(tmp_path / "run")
