"""Fixtures shared by every test package. Keep this file small."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

# Test-only credentials for the local S3 server; never real ones.
S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "textbatch-test-key",
    "AWS_SECRET_ACCESS_KEY": "textbatch-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,  # ignore any ~/.aws of the machine running the tests
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture
def shared_file() -> Callable[[str], Path]:
    """``shared_file("imdb/train.csv.gz")``: a real data file, or a skip saying it is absent."""

    def find(relative: str) -> Path:
        path = SHARED / relative
        if not path.exists():
            pytest.skip(f"{path} is absent (../shared/data beside the repo holds the real data)")
        return path

    return find


@pytest.fixture
def run_python(tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess]:
    """Runs Python source in a fresh interpreter (for what only a whole process shows: its exit,
    its imports), output captured as text."""
    def run(source: str) -> subprocess.CompletedProcess:
        script = tmp_path / "script.py"
        script.write_text(source)
        return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=120)
    return run


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible server (moto's standalone server) on 127.0.0.1, free port.

    Sets the usual AWS environment variables and ``AWS_ENDPOINT_URL`` (honoured by botocore,
    hence by boto3 and by s3fs/aiobotocore), so ``s3://`` URLs work through fsspec with no code
    change. Yields the endpoint URL; everything is restored at the end of the session.
    """
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**S3_TEST_ENV, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(name, value)
        s3fs.S3FileSystem.clear_instance_cache()
        try:
            yield endpoint
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            server.stop()
