"""Giving freed memory back to the operating system.

CPython and the C libraries it calls (RDKit, NumPy) free memory into the C allocator, which on
glibc keeps much of it for reuse: a process that built and dropped large temporary objects
(loading a model, screening a chunk) stays that large. ``malloc_trim`` returns the free pages;
elsewhere (macOS, musl) there is nothing to call and memory is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    """Return glibc's ``malloc_trim``, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def trim_memory() -> bool:
    """Return the allocator's free pages to the operating system; whether it could."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
