"""Compressed files of a backup: zstd streams, SHA-256 digests, durable writes.

A stored file is one zstd frame carrying its content's checksum (XXH64), and the manifest
holds the SHA-256 of the stored bytes: a file whose SHA-256 matches decompresses to exactly
what was backed up, and the frame checksum guards the unpacking itself. Manifests of format 1
also hold the SHA-256 of the unpacked content, which is then checked as well.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

CHUNK = 1 << 20
LEVEL = 1
"""zstd level 1: compresses as fast as a disk writes on two cores, at a ratio close to level 3."""


class CorruptArchiveError(ValueError):
    """A backup file is truncated, altered or otherwise unreadable."""


def fsync_file(path: Path) -> None:
    """Flush ``path``'s data to disk (so a crash cannot leave it half-written)."""
    with Path(path).open("rb+") as handle:
        os.fsync(handle.fileno())


def fsync_folder(path: Path) -> None:
    """Flush a folder's entries (renames into it) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class Digests:
    """Size and SHA-256 of a stored (compressed) file, and the size of its content.

    ``raw_sha256``, the digest of the content, is only in backups of manifest format 1.
    """

    bytes: int
    sha256: str
    raw_bytes: int
    raw_sha256: str | None = None


class _HashingWriter:
    """A binary file wrapper that hashes and counts what is written through it."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def compress(source: BinaryIO, target: Path, size: int | None = None) -> Digests:
    """Write the stream ``source`` zstd-compressed to ``target``; return the digests.

    Compression runs on every core while this thread reads, hashes and writes; ``target``
    is flushed to disk before this returns. ``size``, when known, is recorded in the frame.
    """
    compressor = zstandard.ZstdCompressor(level=LEVEL, threads=-1, write_checksum=True)
    raw_size = 0
    with Path(target).open("wb") as packed:
        sink = _HashingWriter(packed)
        with compressor.stream_writer(sink, size=size or -1, closefd=False) as writer:
            while block := source.read(CHUNK):
                raw_size += len(block)
                writer.write(block)
        packed.flush()
        os.fsync(packed.fileno())
    return Digests(sink.size, sink.digest.hexdigest(), raw_size)


def compress_file(source: Path, target: Path) -> Digests:
    """Write the file ``source`` zstd-compressed to ``target``; return the digests."""
    with Path(source).open("rb") as raw:
        return compress(raw, target, Path(source).stat().st_size)


def _sha256_of(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def unpack(source: Path, target: Path, expected: Digests, name: str) -> None:
    """Decompress the stored file ``source`` to ``target``, checking it against ``expected``.

    The stored file's SHA-256 is computed on a second thread while the first unpacks it.

    Raises
    ------
    CorruptArchiveError
        If the stored file is not one complete zstd frame, its SHA-256 or size differs from
        ``expected``, or (format 1) its content's SHA-256 does.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        stored = pool.submit(_sha256_of, source)
        try:
            raw_size, raw_sha256 = _decompress(source, target, expected.raw_sha256 is not None)
        except CorruptArchiveError as error:
            stored.cancel()
            raise CorruptArchiveError(f"{name} is truncated or altered ({error})") from None
        size, sha256 = stored.result()
    if (size, sha256) != (expected.bytes, expected.sha256):
        raise CorruptArchiveError(
            f"{name} does not match its manifest ({size} bytes, {expected.bytes} expected): "
            "truncated or altered"
        )
    if raw_size != expected.raw_bytes or raw_sha256 != expected.raw_sha256:
        raise CorruptArchiveError(f"{name}: the unpacked content is altered")


def _decompress(source: Path, target: Path, hash_content: bool) -> tuple[int, str | None]:
    stream = zstandard.ZstdDecompressor().decompressobj()
    digest = hashlib.sha256() if hash_content else None
    size = 0
    try:
        with Path(source).open("rb") as packed, Path(target).open("wb") as raw:
            while block := packed.read(CHUNK):
                if stream.eof:
                    raise CorruptArchiveError("data after its zstd frame")
                content = stream.decompress(block)
                if digest:
                    digest.update(content)
                size += len(content)
                raw.write(content)
    except zstandard.ZstdError as error:
        raise CorruptArchiveError(f"not a valid zstd archive: {error}") from None
    if not stream.eof:
        raise CorruptArchiveError("its zstd frame does not end")
    if stream.unused_data:
        raise CorruptArchiveError("data after its zstd frame")
    return size, digest.hexdigest() if digest else None
