"""Shards on object storage: a real S3 API (moto's server on 127.0.0.1) through fsspec/s3fs."""

from __future__ import annotations

import gzip
import uuid

import pytest

from textbatch.config import ReadConfig
from textbatch.errors import ConfigError, DataError
from textbatch.io import expand_shards
from textbatch.readers import BadRecords, get_reader

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")


def zhang_rows(start: int, count: int) -> bytes:
    lines = [f'"{i % 2 + 1}","title {i}","text of record {i}\\nsecond line"\n'
             for i in range(start, start + count)]
    return gzip.compress("".join(lines).encode())


@pytest.fixture
def bucket(s3_server: str) -> str:
    name = f"textbatch-{uuid.uuid4().hex[:12]}"  # fresh per test: s3fs caches listings
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket=name)
    for shard in range(3):
        client.put_object(Bucket=name, Key=f"prefix/part-{shard}.csv.gz",
                          Body=zhang_rows(shard * 40, 40))
    client.put_object(Bucket=name, Key="prefix/classes.txt", Body=b"neg\npos\n")
    client.put_object(Bucket=name, Key="prefix/notes.md", Body=b"not data")
    for label in ("neg", "pos"):
        for index in range(3):
            client.put_object(Bucket=name, Key=f"tree/{label}/{index}.txt",
                              Body=f"{label} review {index}".encode())
    return name


def test_glob_read_and_seek_over_s3(bucket: str) -> None:
    shards = expand_shards([f"s3://{bucket}/prefix/*.csv.gz"])
    assert shards == [f"s3://{bucket}/prefix/part-{i}.csv.gz" for i in range(3)]
    texts, labels = [], []
    for shard in shards:
        reader = get_reader(shard, ReadConfig())
        assert reader.name == "zhang" and reader.classes(shard) == ["neg", "pos"]
        full = list(reader.read(shard, BadRecords()))
        texts += [r.text for _, r in full]
        labels += [r.label for _, r in full]
        position = full[25][0]
        assert [r for _, r in reader.read(shard, BadRecords(), start=position)] == \
            [r for _, r in full[25:]]
        assert all(r.path == shard for _, r in full)
    assert texts == [f"title {i} text of record {i}\nsecond line" for i in range(120)]
    assert labels == ["neg", "pos"] * 60


def test_folder_tree_on_s3(bucket: str) -> None:
    shard = expand_shards([f"s3://{bucket}/tree"])[0]
    reader = get_reader(shard, ReadConfig())
    assert reader.name == "folders" and reader.classes(shard) == ["neg", "pos"]
    records = [r for _, r in reader.read(shard, BadRecords())]
    assert [(r.text, r.label) for r in records] == [
        (f"{label} review {i}", label) for label in ("neg", "pos") for i in range(3)]


def test_errors_name_the_object_and_never_the_credentials(bucket: str, s3_server: str) -> None:
    with pytest.raises(ConfigError, match=rf"s3://{bucket}/prefix/\*.zst: the pattern") as info:
        expand_shards([f"s3://{bucket}/prefix/*.zst"])
    messages = [str(info.value)]
    client = boto3.client("s3", endpoint_url=s3_server)
    client.put_object(Bucket=bucket, Key="bad/x.csv", Body=b'"1","a","b"\n"1","only two"\n')
    with pytest.raises(DataError, match=rf"s3://{bucket}/bad/x.csv:2: expected 3 fields") as info:
        shard = f"s3://{bucket}/bad/x.csv"
        list(get_reader(shard).read(shard, BadRecords()))
    messages.append(str(info.value))
    for message in messages:
        assert "textbatch-test-secret" not in message and "textbatch-test-key" not in message
