"""Issue 13, cases 3 and 9: no credential from a URL reaches a message or a stored file, storage
failures are one line, and every error path exits 1 (2 for usage) after its one line."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from textbatch.io import redact, scrub
from textbatch.io.redaction import MASK

SECRET = "SuperSecret0123"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "textbatch", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert SECRET not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize("url, expected", [
    (f"s3://AKIA:{SECRET}@bucket/x.csv", "s3://bucket/x.csv"),
    (f"https://user:{SECRET}@host/x.csv", "https://host/x.csv"),
    (f"https://h/x.csv?X-Amz-Signature={SECRET}&part=1",
     f"https://h/x.csv?X-Amz-Signature={MASK}&part=1"),
    (f"https://acct.blob.core.windows.net/c/x.csv?sv=2020&sig={SECRET}",
     f"https://acct.blob.core.windows.net/c/x.csv?sv=2020&sig={MASK}"),
    (f"https://h/x?token={SECRET}&X-Amz-Credential=AKIA%2F2026", f"https://h/x?token={MASK}"
     f"&X-Amz-Credential={MASK}"),
    ("https://h/x.csv?page=2", "https://h/x.csv?page=2"),
    ("data/a@b.csv", "data/a@b.csv"),
])
def test_redact(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_scrub_masks_urls_and_secrets_seen_in_another_shape() -> None:
    redact(f"s3://AKIAEXAMPLE:{SECRET}@bucket/x")
    text = scrub(f'Invalid bucket name "AKIAEXAMPLE:{SECRET}@bucket" at https://h/?sig=abcdef')
    assert SECRET not in text and "abcdef" not in text and "AKIAEXAMPLE" not in text


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """A plain file server: no Range support, like many simple servers."""

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "web"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_a_presigned_url_is_read_and_never_shown(web: tuple[str, Path]) -> None:
    base, root = web
    (root / "x.csv").write_text("label,text\nham,hello\nspam\n")
    line = one_error_line(cli("explore", f"{base}/x.csv?X-Amz-Signature={SECRET}"))
    assert line.startswith(f"error: {base}/x.csv?X-Amz-Signature={MASK}:3: expected 2 fields")


@pytest.mark.slow
def test_a_presigned_url_never_reaches_the_cache_or_the_checkpoints(
        web: tuple[str, Path], tmp_path: Path) -> None:
    base, root = web
    rows = "".join(f"{'spam' if i % 3 else 'ham'}\tmessage {i} words {i % 7}\n" for i in range(300))
    (root / "sms.tsv").write_text(rows)
    url = f"{base}/sms.tsv?sig={SECRET}&sv=1"
    vectorized = cli("vectorize", url, "--out", tmp_path / "vec")
    assert vectorized.returncode == 0, vectorized.stderr
    trained = cli("train", url, "--out", tmp_path / "run", "--model", "mlp", "--epochs", "1",
                  "--batch-size", "64")
    assert trained.returncode == 0, trained.stderr
    stored = [p for p in (tmp_path / "vec").rglob("*") if p.is_file()]
    stored += [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.name == "cache_key.json" for p in stored) and any("manifest" in p.name for p in stored)
    for path in stored:
        assert SECRET.encode() not in path.read_bytes(), path


def test_storage_failures_are_one_line(web: tuple[str, Path], s3_server: str) -> None:
    base, root = web
    (root / "big.tsv").write_text("ham\t" + "x" * 100 + "\n" * 1 + "spam\tyy\n" * 1_500_000)
    for url in (f"http://127.0.0.1:1/x.csv?sig={SECRET}",  # nothing listens there
                f"s3://AKIAEXAMPLE:{SECRET}@no-such-bucket/x.csv",
                f"s3://no-such-bucket-{SECRET.lower()}/x.csv",
                f"{base}/big.tsv?token={SECRET}"):  # a server without Range requests
        line = one_error_line(cli("explore", url))
        assert "Traceback" not in line


def test_usage_error_exits_2() -> None:
    result = cli("explore", "--no-such-flag")
    assert result.returncode == 2


@pytest.mark.slow
def test_a_record_error_in_parquet_always_exits_1(tmp_path: Path) -> None:
    """pyarrow's threads alive at exit aborted the process (134) in 1-6 of 10 runs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [f"some text {i}" for i in range(200_000)]
    texts[3_000] = ""
    pq.write_table(pa.table({"text": texts, "label": ["a", "b"] * 100_000}),
                   tmp_path / "bad.parquet", row_group_size=1_000)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cli("explore", tmp_path / "bad.parquet"), range(10)))
    for result in results:
        assert one_error_line(result).startswith(f"error: {tmp_path / 'bad.parquet'}:3001: ")


def test_a_success_exit_runs_the_exit_handlers_and_flushes_everything(run_python) -> None:
    """The real entry point ends with ``os._exit`` (no interpreter teardown) on success too:
    Python's exit handlers still run and everything printed, to a pipe, arrives whole."""
    result = run_python(
        "import atexit, sys\n"
        "atexit.register(lambda: print('exit handler ran'))\n"
        "sys.argv = ['textbatch', 'train', '--help']\n"
        "from textbatch.cli.main import main\n"
        "main()\n")
    assert result.returncode == 0, result.stderr
    assert "--max-sequence-length" in result.stdout  # the help, printed before the exit
    assert result.stdout.rstrip().endswith("exit handler ran")


def test_under_a_profiler_the_exit_is_a_normal_one(tmp_path: Path) -> None:
    """cProfile writes its output after the program returns, so no ``os._exit`` there."""
    profile = tmp_path / "help.prof"
    result = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile),
                             "-m", "textbatch", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert profile.stat().st_size > 0
