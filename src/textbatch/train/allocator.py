"""Keep freed tensor memory in the process instead of handing it back to the kernel (glibc).

glibc serves every allocation above 32 MiB (its largest mmap threshold) with a fresh ``mmap``
and unmaps it on free, so each training step that makes such a tensor pays a page fault and a
kernel zero-fill for every 4 KiB of it. sepCNN's ``[128, length, 200]`` embeddings pass 32 MiB
from length ~330: on IMDB (2-core CPU) those faults were a third of a step, and with large
allocations taken from the heap and kept there, training ran at 1,490 records/s instead of 956
(bench/sequence_speed.py). The heap keeps at most ``KEEP_BYTES`` of freed memory at its top;
peak RSS is the working set's peak either way. The setting is process-wide and lasts for the
process's life (the Trainer makes it on a CPU); ``TEXTBATCH_KEEP_FREED_MEMORY=0`` opts out.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3  # not set here; bench/sequence_memory.py's mmap variants set it
M_MMAP_MAX = -4
KEEP_BYTES = 512 << 20
OPT_OUT = "TEXTBATCH_KEEP_FREED_MEMORY"  # "0": leave the C library's settings alone

_done = False


def retain_freed_memory() -> bool:
    """Make this process's large allocations come from glibc's heap and stay there once freed
    (``mallopt``); once per process, a no-op where the C library is not glibc. True if set."""
    global _done
    if _done:
        return True
    if os.environ.get(OPT_OUT) == "0":
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    _done = bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
    return _done
