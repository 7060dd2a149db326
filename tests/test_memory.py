"""Giving freed memory back to the operating system (glibc's ``malloc_trim``)."""

from __future__ import annotations

import platform

import psutil
import pytest

from cryoprotect.memory import trim_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_memory_freed_between_live_objects_goes_back_to_the_system():
    process = psutil.Process()
    blocks = [bytes(1024) for _ in range(200_000)]  # 200 MB from malloc (above pymalloc's sizes)
    pinned = blocks[::64]  # one live block in every 64 kB: the heap cannot simply shrink
    del blocks
    held = process.memory_info().rss
    assert trim_memory() is True
    assert held - process.memory_info().rss > 100 * 2**20
    del pinned  # alive until here, so the freed blocks lay between live ones
