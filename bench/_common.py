"""Small helpers shared by the benchmarks: data paths, peak memory, child runs, a plain-text table."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"


def peak_rss_mib(include_children: bool = True) -> float:
    """Peak resident memory of this process (MiB), and of its largest child when asked.

    ``ru_maxrss`` is the high-water mark, so measure each configuration in a fresh process.
    Children are the DataLoader workers; RUSAGE_CHILDREN reports the largest *waited-for* child.
    """
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # Linux: KiB, macOS: bytes
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    if not include_children:
        return own
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale
    return max(own, child)


def child_peak_rss_mib() -> float:
    """Peak resident memory of the largest waited-for child process (MiB)."""
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale


def run_child(args: Sequence[str], env: dict[str, str] | None = None
              ) -> tuple[str, int, "resource.struct_rusage", float]:
    """Run ``python ARGS`` as a child (in ``env``, default this process's): (its stdout, exit
    status, its own rusage — peak RSS and CPU of it and its reaped children — and wall seconds).
    Each contender of a side-by-side bench runs so, so its wall time and memory are its own."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True,
                             env=env)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    return output, status, usage, time.perf_counter() - start


def child_json(args: Sequence[str], env: dict[str, str] | None = None) -> dict:
    """``run_child``, for a child that prints its result as one JSON line last."""
    output, status, _, _ = run_child(args, env)
    if status:
        raise SystemExit(f"python {' '.join(args)} failed (wait status {status})")
    return json.loads(output.strip().splitlines()[-1])


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table (numbers formatted with thousands separators), aligned for terminals."""
    def fmt(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.1f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.rjust(w) for v, w in zip(values, widths)) + " |"
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print(line(row))
