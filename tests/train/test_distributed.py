"""Two real gloo processes on this machine: data sharding, the DDP step and the merged vectorizer
fit (a killed rank and resuming are tested through the CLI in tests/test_ddp_cli.py).

Each job launches this file twice as a script (``python test_distributed.py SCENARIO DIR``) with
the environment torchrun would give (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); the
ranks write JSON results into DIR and the tests assert on them. Every wait has a timeout, so a
hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SST2 = DATA / "sst2" / "stsa.binary.train"
WORLD_SIZE = 2
JOB_TIMEOUT_S = 90
# 13 records in uneven blocks (one empty); global batch 6 = 3 per rank: 3 steps per epoch, and
# the last step holds 1 record, so rank 1's last slice is empty.
BLOCK_SIZES = [5, 0, 4, 3, 1]
LOCAL_BATCH = 3
EPOCHS = 2
FIT_RECORDS, FIT_BLOCK = 1_500, 128


# -- launching ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(scenario: str, out: Path, timeout_s: float = JOB_TIMEOUT_S) -> list[tuple[int, str]]:
    """Run both ranks to completion; returns (exit code, stderr) per rank."""
    port = free_port()
    procs = []
    for rank in range(WORLD_SIZE):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD_SIZE),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1",
                   TEXTBATCH_DIST_TIMEOUT="20")
        procs.append(subprocess.Popen([sys.executable, __file__, scenario, str(out)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True))
    deadline = time.monotonic() + timeout_s
    results = []
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
            results.append((proc.returncode, err))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the {scenario!r} job hung for more than {timeout_s} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def run_job(scenario: str, out: Path, timeout_s: float = JOB_TIMEOUT_S) -> list[dict]:
    for rank, (code, err) in enumerate(launch(scenario, out, timeout_s)):
        assert code == 0, f"rank {rank} failed:\n{err[-3000:]}"
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(WORLD_SIZE)]


# -- the tests -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def core_job(tmp_path_factory) -> list[dict]:
    if not SST2.exists():
        pytest.skip(f"{SST2} is absent (clone the shared data beside the repo)")
    out = tmp_path_factory.mktemp("ddp-core")
    results = run_job("core", out)
    results[0]["out"] = str(out)
    return results


def test_every_record_seen_exactly_once_per_epoch_across_ranks(core_job) -> None:
    num_records = sum(BLOCK_SIZES)
    for epoch in range(EPOCHS):
        seen = [row for rank in core_job for batch in rank["seen"][epoch] for row in batch]
        assert sorted(seen) == list(range(num_records))


def test_every_rank_takes_the_same_number_of_steps_with_uneven_shards(core_job) -> None:
    sizes = [[len(batch) for batch in rank["seen"][0]] for rank in core_job]
    assert len(sizes[0]) == len(sizes[1]) == 3
    assert sizes[1][-1] == 0  # the empty last slice took part in the step (no hang)
    assert [rank["global_step"] for rank in core_job] == [3 * EPOCHS] * WORLD_SIZE


def test_ranks_end_with_identical_weights_and_logs(core_job) -> None:
    assert core_job[0]["weights_sha256"] == core_job[1]["weights_sha256"]
    metrics = ("loss", "accuracy", "val_loss", "val_accuracy")  # timings are each rank's own
    histories = [{k: rank["history"][k] for k in metrics} for rank in core_job]
    assert histories[0] == histories[1]


def test_distributed_vectorizer_fit_equals_single_process(core_job) -> None:
    from textbatch.features.ngram import NgramVectorizer

    merged = NgramVectorizer.load(Path(core_job[0]["out"]) / "fit")
    alone = NgramVectorizer(fit_config()).fit(chunks_of(sst2_source()))
    assert merged.feature_names_all_ == alone.feature_names_all_
    np.testing.assert_array_equal(merged.document_frequency_, alone.document_frequency_)
    np.testing.assert_array_equal(merged.selected_, alone.selected_)
    np.testing.assert_allclose(merged.idf_, alone.idf_, rtol=0, atol=0)
    np.testing.assert_allclose(merged.scores_, alone.scores_, rtol=1e-9)


def test_multilabel_validation_sums_across_ranks_like_one_process(tmp_path) -> None:
    """Multi-label DDP: identical logs on both ranks, and the last epoch's summed validation
    scores (loss, subset accuracy, micro/macro F1, precision@1) equal one process scoring all
    validation records with the final weights."""
    ranks = run_job("multilabel", tmp_path, 2 * JOB_TIMEOUT_S)  # two fits' worth of start-up
    keys = ("loss", "accuracy", "val_loss", "val_accuracy", "val_micro_f1", "val_macro_f1",
            "val_precision_at_1")
    histories = [{k: rank["history"][k] for k in keys} for rank in ranks]
    assert histories[0] == histories[1]
    for key in keys[2:]:
        assert ranks[0]["history"][key][-1] == pytest.approx(ranks[0]["alone"][key], abs=1e-6)
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]


# -- what each rank runs -------------------------------------------------------------------------

class ArraySource:
    """A BlockSource of row ids 0..n-1 in blocks of the given sizes."""

    def __init__(self, sizes: list[int]) -> None:
        self._sizes = np.asarray(sizes, dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(self._sizes)])

    @property
    def block_sizes(self) -> np.ndarray:
        return self._sizes

    def read_block(self, index: int) -> np.ndarray:
        return np.arange(self._starts[index], self._starts[index + 1], dtype=np.int64)


class TextBlocks:
    """A BlockSource of (text, label) pairs, ``size`` per block (the last one shorter)."""

    def __init__(self, pairs: list[tuple[str, int]], size: int) -> None:
        self.pairs, self.size = pairs, size
        self._sizes = np.array([len(pairs[i: i + size]) for i in range(0, len(pairs), size)])

    @property
    def block_sizes(self) -> np.ndarray:
        return self._sizes

    def read_block(self, index: int) -> list[tuple[str, int]]:
        return self.pairs[index * self.size: (index + 1) * self.size]


def sst2_source() -> TextBlocks:
    lines = SST2.read_text("utf-8").splitlines()[:FIT_RECORDS]
    return TextBlocks([(line[2:], int(line[0])) for line in lines], FIT_BLOCK)


def chunks_of(source):
    def open_chunks():
        for index in range(len(source.block_sizes)):
            pairs = source.read_block(index)
            yield [t for t, _ in pairs], np.array([y for _, y in pairs], dtype=np.int64)
    return open_chunks


def fit_config():
    from textbatch.config import VectorizeConfig

    return VectorizeConfig(kind="ngram", top_k=400)


def row_batch(rows: np.ndarray):
    """Record ``r`` has features {r % 4 + 2, label} and label r % 2: learnable, tiny."""
    from textbatch.features.batch import SparseBatch

    rows = np.asarray(rows, dtype=np.int64)
    labels = rows % 2
    ids = np.stack([rows % 4 + 2, labels], axis=1).reshape(-1)
    return SparseBatch(ids, np.ones(len(ids), np.float32), np.arange(len(rows) + 1) * 2, labels)


def _trainer_and_loaders(ctx, seen: list):
    import torch

    from textbatch.config import ModelConfig
    from textbatch.data.stream import BatchLoader, BatchStream
    from textbatch.models import build_model
    from textbatch.train.distributed import DistributedTrainer

    def recording(rows):
        seen.append(np.asarray(rows).tolist())
        return row_batch(rows)

    torch.manual_seed(0)
    model = build_model(ModelConfig(name="mlp", num_features=8, num_classes=2, units=8))
    trainer = DistributedTrainer(model, 2, device="cpu", context=ctx)
    source = ArraySource(BLOCK_SIZES)
    make = lambda transform, shuffle: BatchLoader(BatchStream(  # noqa: E731
        source, LOCAL_BATCH, shuffle=shuffle, seed=3, shuffle_buffer=4, rank=ctx.rank,
        world_size=ctx.world_size, transform=transform))
    return trainer, make(recording, True), make(row_batch, False)


def scenario_core(ctx, out: Path) -> None:
    import torch

    from textbatch.features.ngram import NgramVectorizer

    vectorizer = NgramVectorizer(fit_config())
    vectorizer.fit(chunks_of(ctx.blocks_of(sst2_source())), merge=ctx.merge)
    if ctx.is_rank_zero:
        vectorizer.save(out / "fit")
    seen: list = []
    trainer, train, val = _trainer_and_loaders(ctx, seen)
    trainer.fit(train, train.steps_per_epoch, validation_data=val,
                validation_steps=val.steps_per_epoch, epochs=EPOCHS, verbose=0)
    steps = train.steps_per_epoch
    digest = hashlib.sha256(b"".join(v.detach().numpy().tobytes()
                                     for v in trainer.model.state_dict().values())).hexdigest()
    result = {"seen": [seen[e * steps: (e + 1) * steps] for e in range(EPOCHS)],
              "global_step": trainer.global_step, "weights_sha256": digest,
              "history": trainer.history.history, "threads": torch.get_num_threads()}
    (out / f"rank{ctx.rank}.json").write_text(json.dumps(result, default=float))


def multilabel_batch(rows: np.ndarray):
    """Record ``r`` has features {r % 4 + 2, r % 3 + 6} and labels (r % 2, r % 3 == 0, 1)."""
    from textbatch.features.batch import SparseBatch

    rows = np.asarray(rows, dtype=np.int64)
    labels = np.stack([rows % 2, rows % 3 == 0, np.ones_like(rows)], axis=1).astype(np.uint8)
    ids = np.stack([rows % 4 + 2, rows % 3 + 6], axis=1).reshape(-1)
    return SparseBatch(ids, np.ones(len(ids), np.float32), np.arange(len(rows) + 1) * 2, labels)


def scenario_multilabel(ctx, out: Path) -> None:
    import torch

    from textbatch.config import ModelConfig
    from textbatch.data.stream import BatchLoader, BatchStream
    from textbatch.models import build_model
    from textbatch.train import Trainer
    from textbatch.train.distributed import DistributedTrainer

    torch.manual_seed(0)
    config = ModelConfig(name="mlp", num_features=10, num_classes=3, units=8, task="multilabel")
    trainer = DistributedTrainer(build_model(config), 3, device="cpu", context=ctx,
                                 multilabel=True, learning_rate=0.05)
    source = ArraySource(BLOCK_SIZES)
    make = lambda shuffle, rank, world: BatchLoader(BatchStream(  # noqa: E731
        source, LOCAL_BATCH, shuffle=shuffle, seed=3, shuffle_buffer=4, rank=rank,
        world_size=world, transform=multilabel_batch))
    train, val = make(True, ctx.rank, ctx.world_size), make(False, ctx.rank, ctx.world_size)
    trainer.fit(train, train.steps_per_epoch, validation_data=val,
                validation_steps=val.steps_per_epoch, epochs=EPOCHS, verbose=0)
    alone = Trainer(trainer.model, 3, device="cpu", multilabel=True)
    everything = make(False, 0, 1)
    logs = alone.evaluate(everything, everything.steps_per_epoch, prefix="val_")
    digest = hashlib.sha256(b"".join(v.detach().numpy().tobytes()
                                     for v in trainer.model.state_dict().values())).hexdigest()
    result = {"history": trainer.history.history, "alone": logs, "weights_sha256": digest}
    (out / f"rank{ctx.rank}.json").write_text(json.dumps(result, default=float))


if __name__ == "__main__":
    from textbatch.train.distributed import setup

    scenario, folder = sys.argv[1], Path(sys.argv[2])
    context = setup(device="cpu")
    {"core": scenario_core, "multilabel": scenario_multilabel}[scenario](context, folder)
