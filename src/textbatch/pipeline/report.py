"""What a run measures about itself: seconds per phase and peak resident memory."""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from typing import Iterator


class PhaseTimer:
    """``with timer.phase("vectorize"): ...`` adds the wall seconds to ``seconds["vectorize"]``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        # CPU time of this process and the children it reaped meanwhile (the fit's and
        # evaluate's worker processes): robust to a busy box
        self.cpu_seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), cpu_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            used = cpu_time() - cpu
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + used

    def total(self) -> float:
        return time.perf_counter() - self._start


def cpu_time() -> float:
    """User + system seconds of this process and of its reaped children (worker pools)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def peak_rss_bytes() -> int:
    """Peak resident set size of this process and its finished children (ru_maxrss; KiB on
    Linux, bytes on macOS)."""
    scale = 1 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return int(max(own, children) * scale)
