"""retain_freed_memory: set once on glibc Linux, a no-op elsewhere, and large tensors still work."""

import platform
import sys

import torch

from textbatch.train.allocator import retain_freed_memory


def test_retain_freed_memory_is_idempotent_and_large_tensors_still_allocate():
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert retain_freed_memory() is glibc
    assert retain_freed_memory() is glibc
    for _ in range(3):  # 80 MB each: from the heap once set, and given back to it when freed
        big = torch.ones(20_000_000)
        assert float(big.sum()) == 20_000_000
        del big


def test_the_environment_can_opt_out(monkeypatch):
    from textbatch.train import allocator

    monkeypatch.setattr(allocator, "_done", False)
    monkeypatch.setenv(allocator.OPT_OUT, "0")
    assert allocator.retain_freed_memory() is False
