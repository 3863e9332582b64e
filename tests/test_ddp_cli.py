"""The same ``textbatch train`` command under torchrun (2 gloo processes) and alone: same result.

Dropout is off in both runs so that the only differences left are the order floating-point sums
are added in (with dropout on, each rank draws its own masks and the runs differ like two seeds).
The Done-when figure on the full IMDB set, with the default model, is in docs/SCALE.md.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SST2 = DATA / "sst2"
TIMEOUT_S = 180
FLAGS = ["--model", "mlp", "--epochs", "4", "--batch-size", "64", "--top-k", "2000",
         "--dropout-rate", "0", "--patience", "4", "--verbose", "2"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", TEXTBATCH_DIST_TIMEOUT="60")
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(command)} did not finish in {TIMEOUT_S} s")
    assert done.returncode == 0, done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, Path]:
    if not (SST2 / "stsa.binary.train").exists():
        pytest.skip(f"{SST2} is absent (clone the shared data beside the repo)")
    root = tmp_path_factory.mktemp("ddp-cli")
    for name, count in (("train", 1_500), ("test", 600)):
        lines = (SST2 / f"stsa.binary.{name}").read_text("utf-8").splitlines(keepends=True)
        (root / f"{name}.txt").write_text("".join(lines[:count]), "utf-8")
    return {"train": root / "train.txt", "test": root / "test.txt", "root": root}


def test_torchrun_two_processes_matches_single_process(sample) -> None:
    data = [str(sample["train"]), "--test", str(sample["test"])]
    alone = sample["root"] / "alone"
    ddp = sample["root"] / "ddp"
    run([sys.executable, "-m", "textbatch", "train", *data, "--out", str(alone), *FLAGS])
    launched = run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                    "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
                    "-m", "textbatch", "train", *data, "--out", str(ddp), *FLAGS])
    one = json.loads((alone / "metrics.json").read_text())
    two = json.loads((ddp / "metrics.json").read_text())
    assert abs(one["test_accuracy"] - two["test_accuracy"]) <= 0.01, (one, two)
    assert abs(one["val_accuracy"] - two["val_accuracy"]) <= 0.01, (one, two)
    assert launched.stdout.count('"test_accuracy"') == 1  # rank 0 alone prints the metrics
    rows = (ddp / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + two["epochs_run"]  # one writer: no duplicated epochs
    assert (ddp / "model" / "model.safetensors").is_file()
    vocabulary = "model/vectorizer/vocabulary.json"
    assert (alone / vocabulary).read_text() == (ddp / vocabulary).read_text()


def launch_ranks(command: list[str], port: int) -> list[subprocess.Popen]:
    """The ranks of a job as torchrun would start them, but without its agent (so one can be
    killed alone, as when a node dies)."""
    procs = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1",
                   TEXTBATCH_DIST_TIMEOUT="30")
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def wait_for(path: Path, procs: list[subprocess.Popen], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            for proc in procs:
                proc.kill()
            pytest.fail(f"{path} never appeared: " + procs[0].communicate()[1][-3000:])
        time.sleep(0.2)


def test_killed_rank_fails_the_job_clearly_and_the_rerun_resumes(sample) -> None:
    out = sample["root"] / "killed"
    command = ["-m", "textbatch", "train", str(sample["train"]), "--out", str(out), "--model",
               "mlp", "--patience", "200", "--batch-size", "32", "--top-k", "500",
               "--checkpoint-every", "10", "--verbose", "2"]
    procs = launch_ranks([sys.executable, *command, "--epochs", "200"], free_port())
    try:
        wait_for(out / "checkpoints" / "latest", procs, TIMEOUT_S)
        procs[1].send_signal(signal.SIGKILL)
        _, err = procs[0].communicate(timeout=90)  # the step timeout is 30 s: never a hang
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert procs[0].returncode == 1, err[-3000:]
    assert "lost contact with the other ranks" in err and "resume" in err, err[-3000:]
    latest = out / "checkpoints" / (out / "checkpoints" / "latest").read_text().strip()
    epoch = json.loads((latest / "state.json").read_text())["trainer"]["epoch"]
    resumed = run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                   "--master-addr", "127.0.0.1", "--master-port", str(free_port()), *command,
                   "--epochs", str(epoch + 1)])  # epochs may change on resume: finish this one
    assert f"Resuming from {latest}" in resumed.stderr, resumed.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == epoch + 1


def rank_pid(launcher: subprocess.Popen, rank: int, timeout_s: float) -> int:
    """The pid of the worker torchrun started as ``rank`` (a child whose environment says so)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and launcher.poll() is None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                env = (stat.parent / "environ").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue  # a process that just ended
            if ppid == launcher.pid and f"RANK={rank}".encode() in env:
                return int(stat.parent.name)
        time.sleep(0.1)
    pytest.fail(f"torchrun's rank {rank} never started")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")
def test_sigterm_to_one_rank_stops_all_ranks_after_the_same_step_and_the_rerun_resumes(
        sample) -> None:
    """A signal reaching one rank only: the ranks agree on it, so both stop after the same step
    (no rank waits alone in the next all-reduce), rank 0 writes that step's checkpoint, the job
    fails with the resume hint, and the same command then resumes and finishes."""
    out = sample["root"] / "sigterm"
    command = ["-m", "textbatch", "train", str(sample["train"]), "--out", str(out), "--model",
               "mlp", "--epochs", "12", "--patience", "100", "--batch-size", "32", "--top-k",
               "500", "--checkpoint-every", "2", "--verbose", "2"]

    def torchrun() -> list[str]:  # the same command; a fresh port, never one still closing
        return [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                "--monitor-interval", "2", "--master-addr", "127.0.0.1", "--master-port",
                str(free_port()), *command]

    env = dict(os.environ, OMP_NUM_THREADS="1", TEXTBATCH_DIST_TIMEOUT="30")
    launcher = subprocess.Popen(torchrun(), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    try:
        wait_for(out / "checkpoints" / "latest", [launcher], TIMEOUT_S)
        os.kill(rank_pid(launcher, 1, 10), signal.SIGTERM)  # the non-writing rank alone
        _, err = launcher.communicate(timeout=60)  # the step timeout is 30 s: never a hang
    finally:
        launcher.kill()
        launcher.wait()
    assert launcher.returncode != 0, err[-3000:]
    assert "lost contact" not in err, err[-3000:]
    assert not (out / "metrics.json").exists()  # stopped before the end
    latest = out / "checkpoints" / (out / "checkpoints" / "latest").read_text().strip()
    # Rank 1 (signalled) and rank 0 (told by rank 1) both name the checkpoint of the same step.
    stopped = f"Interrupted by SIGTERM: wrote checkpoint {latest}. Resume with: textbatch train"
    assert err.count(stopped) == 2, err[-3000:]
    trainer = json.loads((latest / "state.json").read_text())["trainer"]
    resumed = run(torchrun())
    assert f"Resuming from {latest}: epoch {trainer['epoch'] + 1}" in resumed.stderr, \
        resumed.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 12
