"""Issue 13, cases 4-7 through the CLI: one writer per --out (train, vectorize, predict), a full
disk is one line and blocks no rerun, a stranger's folder is refused, leftovers are cleaned."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HOLD = """
import sys, time
from textbatch.io.run_folder import claim, lock_output
(lock_output if sys.argv[2] == "file" else claim)(*sys.argv[1:2], *(["test"] if sys.argv[2] != "file" else []))
print("held", flush=True)
time.sleep(300)
"""


def cli(*args, limit: int | None = None) -> subprocess.CompletedProcess:
    def restrict() -> None:  # a file size limit: a "full disk" that needs no root and no mount
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "textbatch", *map(str, args)],
                          capture_output=True, text=True, timeout=600,
                          preexec_fn=restrict if limit else None)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def sms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "sms.tsv"
    path.write_text("".join(f"{'spam' if i % 3 else 'ham'}\tmessage {i} says "
                            f"{'win cash' if i % 3 else 'hi mum'} {i % 17}\n" for i in range(600)))
    return path


def train(sms: Path, out: Path, *extra, limit: int | None = None) -> subprocess.CompletedProcess:
    return cli("train", sms, "--out", out, "--model", "mlp", "--epochs", "2", *extra, limit=limit)


def hold(target: Path, kind: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(target), kind],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


@pytest.fixture(scope="module")
def trained(sms: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "run"
    assert train(sms, out).returncode == 0
    return out


def test_a_second_writer_of_any_output_fails_at_once(sms: Path, trained: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = hold(out, "folder")
    try:
        assert f"(PID {first.pid}) is writing this folder" in one_line(train(sms, out))
        assert f"(PID {first.pid})" in one_line(cli("vectorize", sms, "--out", out))
        assert f"(PID {first.pid})" in one_line(cli("tune", sms, "--out", out))
    finally:
        first.kill()
        first.wait()
    assert train(sms, out).returncode == 0  # the dead holder's lock file blocks nothing
    predictions = tmp_path / "preds.jsonl"
    first = hold(predictions, "file")
    try:
        line = one_line(cli("predict", trained, sms, "--output", predictions))
        assert f"(PID {first.pid}) is writing this file" in line
    finally:
        first.kill()
        first.wait()


def test_a_killed_run_leaves_a_lock_that_never_blocks_the_resume(sms: Path, tmp_path: Path
                                                                 ) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "textbatch", "train", str(sms), "--out",
                                str(out), "--model", "mlp", "--epochs", "50",
                                "--checkpoint-every", "3"], stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):  # wait for the first checkpoint, then kill -9
            if list((out / "checkpoints").glob("ckpt-*")) or process.poll() is not None:
                break
            time.sleep(0.25)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    resumed = train(sms, out, "--epochs", "50")
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.parametrize("limit", [20_000, 40_000])  # the cache; the checkpoint tensors
def test_a_full_disk_is_one_line_and_the_rerun_succeeds(sms: Path, tmp_path: Path,
                                                        limit: int) -> None:
    out = tmp_path / "run"
    line = one_line(train(sms, out, limit=limit))
    assert line.startswith(f"error: Cannot write {out}/") and "bytes" in line, line
    rerun = train(sms, out)
    assert rerun.returncode == 0, rerun.stderr
    leftovers = [p for p in out.rglob("*") if p.name.startswith(("textbatch-spill-", "."))
                 and p.name not in (".textbatch.lock", ".textbatch-run.json")]
    assert leftovers == []


def test_a_folder_textbatch_did_not_make(sms: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    (out / "model").mkdir(parents=True)
    (out / "model" / "weights.bin").write_bytes(b"the user's own model")
    (out / "notes.txt").write_text("keep me")
    assert "did not write" in one_line(train(sms, out))
    assert "did not write" in one_line(train(sms, out, "--overwrite"))
    assert "did not write" in one_line(cli("vectorize", sms, "--out", out))
    assert (out / "model" / "weights.bin").read_bytes() == b"the user's own model"
    (out / "model" / "weights.bin").unlink()
    (out / "model").rmdir()
    assert train(sms, out, "--overwrite").returncode == 0  # beside the user's file, untouched
    assert (out / "notes.txt").read_text() == "keep me" and (out / "model").is_dir()


def test_leftovers_of_killed_runs_are_cleaned_at_start_up(sms: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert train(sms, out).returncode == 0
    leftovers = [out / "textbatch-spill-k3j2" / "rows" / "ids.bin",
                 out / ".cache.tmp-x81" / "train" / "ids.bin", out / ".metrics.json.ab12.tmp",
                 out / "model" / ".model.safetensors.9q.tmp"]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 1000)
    assert train(sms, out).returncode == 0
    assert [p for p in leftovers if p.exists()] == []
    assert not (out / "textbatch-spill-k3j2").exists()
