"""Passes over text spread over worker processes: the n-gram fit and vectorizing a split.

Reading, tokenizing and counting are CPU-bound Python/pyarrow work, so one process uses one
core. Here each worker process takes one contiguous run of the source's blocks (``RankBlocks``,
as a rank of a distributed fit does: a compressed shard is read forward, and only the start of a
run costs a seek) and the parent merges what they hand back:

- **n-gram fit** (``fit_ngram_to_cache``, ``fit_ngram_parallel``): pass 1 counts each part under
  its share of the ``max_counted_ngrams`` budget (so the parts together stay within it) and
  spills its token ids; the parent merges the counts in key form (``counting.merge_parts``) into
  the vocabulary and idf; pass 2 turns each part's spilled ids into tf-idf rows and per-class
  sums, which the parent adds like a distributed fit's (``reduce_class_stats``) before
  selecting. Vocabulary, idf and document frequencies are those of a one-process fit exactly
  (integer counts); class sums are added part by part, so scores may differ from it in the last
  bits, as a multi-rank fit's do. Pass 3 selects each part's columns in its worker; the parent
  joins the parts' cache files. For a stable-hash train split, pass 1 also keeps the validation
  records it reads anyway and pass 3 writes their cache (``rest_cache``), so that split is not
  read again.
- **vectorizing a split** (``transform_in_parts``, the test set in evaluate and the validation
  cache): each worker writes its part's rows to a spill in the cache format and the parent
  streams them back in source order, so consumers see the same rows as from one process.

Workers are forked (Linux; spawned elsewhere) and run only numpy, pyarrow and the readers:
torch, if the parent imported it, is inherited but never used in them. They ignore Ctrl-C (the
parent stops them), die with the parent (Linux: ``PR_SET_PDEATHSIG``), and an error in the
parent kills them at once (``stop_pools``, also called by the CLI before it exits), so no worker
outlives or holds up a failed run. Under torchrun (``WORLD_SIZE`` > 1) the ranks already share
the work: one process each.

Limit: when a part's counting table fills its share of the budget it prunes on its own, so on
data large enough to prune, the counts near the ``min_df`` edge (and what is selected from them)
depend on the number of workers, as they depend on the budget. Small inputs stay in one
process (``workers_for``): a pool costs more than it saves below ``MIN_RECORDS_PER_WORKER``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import numpy as np

from textbatch.data.chunked import chunked, record_chunks
from textbatch.data.views import RankBlocks
from textbatch.errors import ConfigError
from textbatch.pipeline import warmup

if TYPE_CHECKING:
    from textbatch.data.labels import LabelSet
    from textbatch.data.source import BlockSource
    from textbatch.features.batch import SparseBatch
    from textbatch.features.ngram import NgramVectorizer

WORKERS_ENV = "TEXTBATCH_FIT_WORKERS"  # processes of the fit and transform passes (1: no pool)
# Below this many records per process a pool's start-up (fork, pickling the source and the
# vectorizer, the parent's merge) is taken to cost more than the split saves. A first guess
# (~1.5 s of one-process fit work per worker on IMDB-length reviews): not yet measured on a quiet
# machine (issue 12).
MIN_RECORDS_PER_WORKER = 8_192
SPILL_PREFIX = "textbatch-spill-"  # cleaned up by io.run_folder if a run is killed
CHUNK = 4_096


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def workers_for(num_records: int, requested: int | None = None) -> int:
    """Processes for a pass over ``num_records``: ``requested``, else ``$TEXTBATCH_FIT_WORKERS``,
    else the available CPUs but one process per ``MIN_RECORDS_PER_WORKER`` records at most (an
    explicit number is taken as given, so tests and benchmarks can force a pool)."""
    if requested is None:
        requested = _requested_workers()
    if requested is not None:
        if requested < 1:
            raise ConfigError(f"fit workers must be >= 1. Got {requested}.")
        return requested
    if _under_torchrun():  # the ranks share the work
        return 1
    return max(1, min(available_cpus(), num_records // MIN_RECORDS_PER_WORKER))


def spare_workers(num_records: int, busy_cpus: int) -> int:
    """Worker processes for a pass over ``num_records`` that runs beside other work keeping
    ``busy_cpus`` CPUs busy (training): one per ``MIN_RECORDS_PER_WORKER`` records (or
    ``$TEXTBATCH_FIT_WORKERS``), but only on CPUs left idle; none when that variable is 1 or
    under torchrun. 0: do the pass later, in this process or a pool of its own."""
    if _under_torchrun():
        return 0
    requested = _requested_workers()
    if requested is not None:
        wanted = workers_for(num_records, requested)  # validated as there
        if wanted == 1:  # one process: no worker processes at all
            return 0
    else:
        wanted = num_records // MIN_RECORDS_PER_WORKER
    return max(0, min(wanted, available_cpus() - busy_cpus))


def _requested_workers() -> int | None:
    if not os.environ.get(WORKERS_ENV):
        return None
    try:
        return int(os.environ[WORKERS_ENV])
    except ValueError:
        raise ConfigError(f"{WORKERS_ENV}={os.environ[WORKERS_ENV]!r} is not a number of "
                          "processes. Set it to 1 (no worker processes) or more.") from None


def _under_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def records_read(source: BlockSource) -> int:
    """Records a pass over ``source`` reads: those of every split for a stable-hash split of a
    manifest (the validation tenth is found by reading all of its blocks), else its own."""
    manifest = getattr(source, "manifest", None)
    if manifest is not None and getattr(source, "split", "all") != "all":
        return manifest.num_records()
    return int(np.sum(source.block_sizes))


def parts_of(source: BlockSource, workers: int) -> int:
    """How many parts ``source`` is cut into for ``workers`` processes (never an empty part)."""
    return max(1, min(workers, len(source.block_sizes)))


_LIVE: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` (``_start_pool``). On success it is shut down cleanly; on any error
    its workers are killed at once instead of finishing their parts."""
    pool = _start_pool(workers)
    try:
        yield pool
    except BaseException:
        stop_pools([pool])
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        _LIVE.discard(pool)


def _start_pool(workers: int) -> ProcessPoolExecutor:
    """Forked workers on Linux (no re-import, start-up in milliseconds); spawned elsewhere,
    where fork is unsafe (macOS) or absent. Registered for ``stop_pools``. Never forks while the
    warm-up thread imports (``warmup.wait``)."""
    warmup.wait()
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                               initializer=_worker_start, initargs=(os.getpid(),))
    _LIVE.add(pool)
    return pool


def stop_pools(pools: list[ProcessPoolExecutor] | None = None) -> None:
    """Kill the workers of ``pools`` (default: every live pool), drop their queued work and
    wait until the killed workers are gone (so nothing writes to their spills any more). An
    error exit calls it: waiting on idle workers to finish would hang the exit."""
    killed = []
    for pool in list(_LIVE) if pools is None else pools:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, ValueError):
                process.kill()
                killed.append(process)
        pool.shutdown(wait=False, cancel_futures=True)
        _LIVE.discard(pool)
    for process in killed:  # the pool's own thread may reap one first: not an error
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=10)


def _worker_start(parent: int) -> None:
    """Worker set-up: Ctrl-C is the parent's to handle, and the worker dies with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


# -- the n-gram fit ------------------------------------------------------------------------------

def fit_ngram_to_cache(vectorizer: NgramVectorizer, source: BlockSource, labels: LabelSet,
                       workers: int, cache_dir: str | Path, key: dict[str, Any],
                       block_size: int, spill_dir: str | Path | None = None,
                       rest_cache: tuple[Path, dict[str, Any]] | None = None) -> Path:
    """Fit ``vectorizer`` on ``source`` in ``workers`` processes and write the vectorized
    ``source`` as the cache at ``cache_dir`` (what ``fit_transform`` + ``write_cache`` give):
    each worker also selects its part's rows (pass 3) and the parent joins the parts' files.
    Spills live under ``spill_dir`` and are removed at the end.

    ``rest_cache`` = (folder, key), for a ``TextSource`` of a stable-hash split of single-label
    data: pass 1 also keeps the records its blocks hold outside the split (a train split's
    validation records, read and hashed anyway) and pass 3 vectorizes them into the cache at
    that folder. The rows
    are those ``cache_split`` of the other split writes, without reading the file again (IMDB:
    the validation tenth cost 0.65 s, almost all of it reading every record)."""
    from textbatch.features.cache import join_caches

    with tempfile.TemporaryDirectory(prefix=SPILL_PREFIX, dir=spill_dir) as temp:
        parts = parts_of(source, workers)
        rests = [Path(temp) / f"rest-{p}.arrow" for p in range(parts)] if rest_cache else []
        with _pool(parts) as pool:
            rows_dirs = _fit_parts(pool, parts, vectorizer, source, labels, Path(temp), True,
                                   rests)
            slim = vectorizer.lookup_copy()
            selected = [Path(temp) / f"selected-{p}" for p in range(len(rows_dirs))]
            rest_rows = [Path(temp) / f"rest-rows-{p}" for p in range(len(rests))]
            futures = [pool.submit(_select_part, slim, rows_dirs[p], selected[p])
                       for p in range(len(rows_dirs))]
            futures += [pool.submit(_transform_rest, slim, rests[p], rest_rows[p])
                        for p in range(len(rests))]
            for future in futures:
                future.result()
        if rest_cache is not None:
            join_caches(rest_cache[0], rest_rows, rest_cache[1], block_size)
        return join_caches(cache_dir, selected, key, block_size)


def fit_ngram_parallel(vectorizer: NgramVectorizer, source: BlockSource, labels: LabelSet,
                       workers: int, spill_dir: str | Path | None = None) -> NgramVectorizer:
    """Fit ``vectorizer`` on ``source`` in ``workers`` processes, nothing written."""
    with tempfile.TemporaryDirectory(prefix=SPILL_PREFIX, dir=spill_dir) as temp:
        parts = parts_of(source, workers)
        with _pool(parts) as pool:
            _fit_parts(pool, parts, vectorizer, source, labels, Path(temp), keep_rows=False)
    return vectorizer


def _fit_parts(pool: ProcessPoolExecutor, parts: int, vectorizer: NgramVectorizer,
               source: BlockSource, labels: LabelSet, temp: Path, keep_rows: bool,
               rests: list[Path] | None = None) -> list[Path]:
    """Passes 1 and 2 over ``parts`` parts (a contiguous run of blocks each, one per worker of
    ``pool``); the merges in this process. With ``keep_rows``, the folders of each part's
    full-vocabulary rows, in source order. ``rests``: a file per part for the records outside
    the split (``fit_ngram_to_cache``'s ``rest_cache``)."""
    budget = max(vectorizer.config.max_counted_ngrams // parts, 1)  # the parts share the budget
    token_dirs = [temp / f"tokens-{p}" for p in range(parts)]
    rows_dirs = [temp / f"rows-{p}" for p in range(parts)]
    futures = [pool.submit(_count_part, vectorizer, source, labels, p, parts, budget,
                           token_dirs[p], rests[p] if rests else None) for p in range(parts)]
    warmup.start()  # every worker is forked now (one per part): the parent may import meanwhile
    counted = [f.result() for f in futures]
    vectorizer.set_vocabulary_from_parts(counted)
    remaps = [vectorizer.part_remap(part) for part in counted]
    del counted
    slim = vectorizer.lookup_copy()
    stats = [f.result() for f in [
        pool.submit(_stats_part, slim, source, labels, p, parts, token_dirs[p], remaps[p],
                    rows_dirs[p] if keep_rows else None)
        for p in range(parts)]]
    vectorizer.select_from_parts(stats)
    return rows_dirs if keep_rows else []


def _count_part(vectorizer: NgramVectorizer, source: BlockSource, labels: LabelSet, part: int,
                parts: int, budget: int, token_dir: Path, rest: Path | None = None) -> dict:
    """Worker: pass 1 over part ``part`` of ``parts`` (keeping the records outside the split in
    the file ``rest`` when given)."""
    if rest is None:
        return vectorizer.count_part(_part_chunks(source, labels, part, parts), budget, token_dir)
    with _KeepingRest(RankBlocks(source, part, parts), labels, rest) as blocks:
        return vectorizer.count_part(record_chunks(blocks, labels, CHUNK)(), budget, token_dir)


def _stats_part(vectorizer: NgramVectorizer, source: BlockSource, labels: LabelSet, part: int,
                parts: int, token_dir: Path, remap: np.ndarray | None,
                rows_dir: Path | None) -> dict:
    """Worker: pass 2 over part ``part`` (its text is read again only when ``remap`` is None)."""
    chunks = None if remap is not None else _part_chunks(source, labels, part, parts)
    return vectorizer.stats_part(token_dir, remap, chunks, rows_dir)


def _select_part(vectorizer: NgramVectorizer, rows_dir: Path, out_dir: Path) -> None:
    """Worker: pass 3, the selected features' rows of one part, written to ``out_dir``."""
    _spill(vectorizer.selected_rows(rows_dir, CHUNK), out_dir)


def _transform_rest(vectorizer: NgramVectorizer, rest: Path, out_dir: Path) -> None:
    """Worker: the rows of one part's records outside the split (``rest``), to ``out_dir``."""
    _spill(vectorizer.iter_transform(_rest_chunks(rest)), out_dir)


class _KeepingRest:
    """A part's ``RankBlocks`` view of a ``TextSource``, read once: ``read_block`` returns each
    block's records of the split and appends the block's other records to the file ``rest``
    (texts and label ids, Arrow IPC, a block at a time: memory stays one block; single-label).
    Closing finishes the file; none is written when no block held another record."""

    def __init__(self, view: RankBlocks, labels: LabelSet, rest: Path) -> None:
        self.view, self.labels, self.rest = view, labels, rest
        self._writer: Any = None

    @property
    def block_sizes(self) -> np.ndarray:
        return self.view.block_sizes

    def read_block(self, index: int) -> list:
        import pyarrow as pa

        mine, others = self.view.source.read_block_and_rest(self.view.first + index)
        if others:
            batch = pa.record_batch(
                [pa.array([r.text for r in others], pa.large_string()),
                 pa.array(self.labels.encode(others), pa.int64())], ["text", "label"])
            self._writer = self._writer or pa.ipc.new_stream(str(self.rest), batch.schema)
            self._writer.write_batch(batch)
        return mine

    def __enter__(self) -> _KeepingRest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._writer is not None:
            self._writer.close()


def _rest_chunks(rest: Path, chunk_size: int = CHUNK) -> Iterator[tuple[list[str], np.ndarray]]:
    """The (texts, label ids) chunks of a ``rest`` file, in order (none if it was not written:
    the part's blocks held no record outside the split)."""
    import pyarrow as pa

    if not rest.exists():
        return
    with pa.ipc.open_stream(str(rest)) as reader:
        rows = ((text, label) for batch in reader
                for text, label in zip(batch.column("text").to_pylist(),
                                       batch.column("label").to_pylist()))
        for chunk in chunked(rows, chunk_size):
            texts, labels = zip(*chunk)
            yield list(texts), np.array(labels, np.int64)


# -- vectorizing a split -------------------------------------------------------------------------

def transform_in_parts(vectorizer: Any, source: BlockSource, labels: LabelSet,
                       chunk_size: int = CHUNK, workers: int | None = None,
                       spill_dir: str | Path | None = None) -> Iterator[SparseBatch]:
    """Labelled rows of ``source`` in order, vectorized by the fitted ``vectorizer`` in worker
    processes (one when the source is small or ``workers`` is 1: then no pool, no spill)."""
    workers = workers_for(records_read(source), workers)
    if parts_of(source, workers) == 1:
        yield from vectorizer.iter_transform(record_chunks(source, labels, chunk_size)())
        return
    yield from PartsTransform(vectorizer, source, labels, workers, chunk_size,
                              spill_dir).batches()


class PartsTransform:
    """``source`` vectorized by worker processes, each writing its part's rows to a spill in the
    cache format, read back in source order.

    The workers start at construction, so the caller may do other work meanwhile (the pipeline
    trains while the test set is vectorized); ``batches`` waits for each part in turn. ``close``
    (or leaving a ``with`` block) kills the workers and removes the spills; ``batches`` closes
    when it ends or is abandoned.
    """

    def __init__(self, vectorizer: Any, source: BlockSource, labels: LabelSet, workers: int,
                 chunk_size: int = CHUNK, spill_dir: str | Path | None = None) -> None:
        parts = parts_of(source, workers)
        self.chunk_size = chunk_size
        self._pool: ProcessPoolExecutor | None = None
        # a worker killed mid-write may leave files behind for a moment: never an error
        self._temp = tempfile.TemporaryDirectory(prefix=SPILL_PREFIX, dir=spill_dir,
                                                 ignore_cleanup_errors=True)
        try:
            self._dirs = [Path(self._temp.name) / f"rows-{p}" for p in range(parts)]
            sent = vectorizer.lookup_copy() if hasattr(vectorizer, "lookup_copy") else vectorizer
            self._pool = _start_pool(parts)
            self._futures = [self._pool.submit(_transform_part, sent, source, labels, p, parts,
                                               chunk_size, self._dirs[p]) for p in range(parts)]
            _release_when_done(self._pool, self._futures)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> PartsTransform:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def batches(self) -> Iterator[SparseBatch]:
        from textbatch.features.cache import CacheSource

        try:
            for future, rows_dir in zip(self._futures, self._dirs):
                future.result()
                yield from CacheSource(rows_dir).iter_chunks(self.chunk_size)
        except BaseException:
            self.close()
            raise
        self.close(finished=True)

    def close(self, finished: bool = False) -> None:
        """Stop the workers (at once unless ``finished``: then they are idle) and remove the
        spills. Safe to call twice."""
        pool, self._pool = self._pool, None
        if pool is not None:
            if finished:
                pool.shutdown(wait=True)
                _LIVE.discard(pool)
            else:
                stop_pools([pool])  # the workers are dead before their spills are removed
        self._temp.cleanup()


def _release_when_done(pool: ProcessPoolExecutor, futures: list) -> None:
    """Let ``pool``'s workers exit as soon as every one of ``futures`` is done, so that workers
    that finished early (the test set, vectorized while a model trains for hours) do not hold
    their memory until their rows are read. Their spills stay until ``close``."""
    pending = set(range(len(futures)))
    lock = threading.Lock()

    def finished(index: int) -> None:
        with lock:
            pending.discard(index)
            last = not pending
        if last:  # in the pool's own thread (or this one): shutdown does not wait there
            pool.shutdown(wait=False)

    for index, future in enumerate(futures):
        future.add_done_callback(lambda _, index=index: finished(index))


def _transform_part(vectorizer: Any, source: BlockSource, labels: LabelSet, part: int,
                    parts: int, chunk_size: int, rows_dir: Path) -> None:
    """Worker: the rows of part ``part`` of ``parts``, written to ``rows_dir`` (cache format)."""
    _spill(vectorizer.iter_transform(_part_chunks(source, labels, part, parts, chunk_size)),
           rows_dir)


def _part_chunks(source: BlockSource, labels: LabelSet, part: int, parts: int,
                 chunk_size: int = CHUNK) -> Iterator[tuple[list[str], np.ndarray]]:
    """The (texts, labels) chunks of part ``part`` of ``parts``: its run of blocks."""
    return record_chunks(RankBlocks(source, part, parts), labels, chunk_size)()


def _spill(batches: Iterable[SparseBatch], out_dir: Path) -> None:
    """Write ``batches`` to ``out_dir`` in the cache format (a part's spill, read back in order)."""
    from textbatch.features.cache import CacheWriter

    with CacheWriter(out_dir, durable=False) as spill:
        for batch in batches:
            spill.append(batch)
        spill.finish({})
