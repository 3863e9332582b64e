"""``torchrun ... textbatch train s3://bucket/prefix/*.csv.gz``: two ranks train from object storage
(moto's real S3 server on 127.0.0.1, the ``s3_server`` fixture); credentials come from the
environment and appear in no artifact."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import S3_TEST_ENV

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SST2 = DATA / "sst2" / "stsa.binary.train"


def zhang_shard(lines: list[str]) -> bytes:
    """SST-2 lines (``label text``) as a gzip Zhang CSV: class 1/2, empty title, text."""
    rows = [f'"{int(line[0]) + 1}","","{line[2:].replace(chr(34), chr(39))}"\n' for line in lines]
    return gzip.compress("".join(rows).encode())


def test_torchrun_trains_from_s3_without_leaking_credentials(s3_server, tmp_path) -> None:
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
    if not SST2.exists():
        pytest.skip(f"{SST2} is absent (clone the shared data beside the repo)")
    bucket = f"textbatch-ddp-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket=bucket)
    lines = SST2.read_text("utf-8").splitlines()[:600]
    for shard in range(3):
        client.put_object(Bucket=bucket, Key=f"prefix/part-{shard}.csv.gz",
                          Body=zhang_shard(lines[shard * 200: (shard + 1) * 200]))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", TEXTBATCH_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
         "127.0.0.1", "--master-port", str(port), "-m", "textbatch", "train",
         f"s3://{bucket}/prefix/*.csv.gz", "--out", str(out), "--model", "mlp", "--epochs", "1",
         "--batch-size", "64", "--top-k", "500"],
        env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 1
    secrets = [S3_TEST_ENV["AWS_SECRET_ACCESS_KEY"], S3_TEST_ENV["AWS_ACCESS_KEY_ID"]]
    for path in [p for p in out.rglob("*") if p.is_file()]:
        content = path.read_bytes()
        assert not any(s.encode() in content for s in secrets), path
    assert not any(s in done.stdout + done.stderr for s in secrets)
