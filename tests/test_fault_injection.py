"""Kill a real training run at random moments, resume it each time, and get the same model.

``textbatch train`` runs in a subprocess on 2,000 IMDB rows (many small steps, a checkpoint every
few). It is interrupted at steps drawn from a seeded RNG: first with SIGTERM (graceful: a
checkpoint, exit 143 and the exact resume command), then with SIGKILL wherever it happens to be
(mid-step, mid-validation, mid-checkpoint-write), and re-run with the same command each time. The
final ``model.safetensors`` must be bit-identical to an uninterrupted run's, and so must the
metrics. Progress is detected by polling ``checkpoints/latest``, never by sleeping blindly.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
IMDB = DATA / "imdb" / "train.csv.gz"
ROWS = 2_000
FLAGS = ["--model", "mlp", "--epochs", "2", "--batch-size", "16", "--top-k", "2000",
         "--seed", "3", "--checkpoint-every", "4", "--verbose", "0"]
TIMEOUT_S = 120

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    if not IMDB.exists():
        pytest.skip(f"{IMDB} is absent (clone the shared data beside the repo)")
    root = tmp_path_factory.mktemp("fault")
    with gzip.open(IMDB, "rt", newline="") as handle:
        rows = [row for _, row in zip(range(ROWS), csv.reader(handle))]
    path = root / "train.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _env(root: Path) -> dict[str, str]:
    # One thread: the same kernels in every run (and no oversubscription on a busy machine).
    return {**os.environ, "OMP_NUM_THREADS": "1", "TEXTBATCH_CACHE_DIR": str(root / "cache")}


def _command(data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "textbatch", "train", str(data), *FLAGS, "--out", str(out)]


def _serial(out: Path) -> int:
    try:
        return int((out / "checkpoints" / "latest").read_text().strip().split("-")[1])
    except (OSError, IndexError, ValueError):
        return 0


def _run_until(command: list[str], env: dict, out: Path, serial: int, signum: int,
               delay_s: float = 0.0) -> subprocess.CompletedProcess:
    """Start ``command``; ``delay_s`` after checkpoint ``serial`` exists send ``signum`` (so the
    signal lands mid-step, mid-validation or mid-checkpoint-write); wait for the end."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + TIMEOUT_S
    while proc.poll() is None and _serial(out) < serial and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay_s)
    if proc.poll() is None:
        proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _digest(out: Path) -> tuple[str, dict]:
    weights = hashlib.sha256((out / "model" / "model.safetensors").read_bytes()).hexdigest()
    return weights, json.loads((out / "metrics.json").read_text())


def test_killed_and_resumed_run_matches_an_uninterrupted_one(sample, tmp_path) -> None:
    env = _env(tmp_path)
    reference = tmp_path / "reference"
    done = subprocess.run(_command(sample, reference), env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    final_serial = _serial(reference)  # ~113 steps per epoch / 4 + epoch ends

    out = tmp_path / "interrupted"
    rng = random.Random(20240605)
    kill_points = sorted(rng.sample(range(3, final_serial - 6), 3))
    # 1) SIGTERM: a checkpoint after the current step, exit 143, the exact resume command.
    first = _run_until(_command(sample, out), env, out, kill_points[0], signal.SIGTERM)
    assert first.returncode == 143, first.stderr
    hint = re.search(r"Resume with: (textbatch train .*)", first.stderr)
    assert hint and f"--out {out}" in hint.group(1), first.stderr
    assert "wrote checkpoint" in first.stderr and _serial(out) >= kill_points[0]
    # 2) SIGKILL wherever the run happens to be, twice; each re-run resumes from `latest`.
    killed = 0
    for point in kill_points[1:]:
        result = _run_until(_command(sample, out), env, out, point, signal.SIGKILL,
                            delay_s=rng.uniform(0.0, 0.2))
        killed += result.returncode == -signal.SIGKILL
        assert result.returncode in (0, -signal.SIGKILL), result.stderr
    assert killed >= 1, "no run was killed mid-training"
    last = subprocess.run(_command(sample, out), env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert last.returncode == 0, last.stderr
    assert _digest(out) == _digest(reference)
    assert (out / "history.csv").read_text().count("\n") == 3  # header + 2 epochs, no duplicates
