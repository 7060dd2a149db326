"""Compressed files of a backup: zstd streams, SHA-256 digests, durable writes.

A stored file is one zstd frame carrying its content's checksum (XXH64), and the manifest
holds the SHA-256 of the stored bytes: a file whose SHA-256 matches decompresses to exactly
what was backed up, and the frame checksum guards the unpacking itself. Manifests of format 1
also hold the SHA-256 of the unpacked content, which is then checked as well.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

from cryoprotect.progress import Progress, report

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


def compress(
    source: BinaryIO, target: Path, size: int | None = None, progress: Progress | None = None
) -> Digests:
    """Write the stream ``source`` zstd-compressed to ``target``; return the digests.

    Compression runs on every core while this thread reads, hashes and writes; ``target``
    is flushed to disk before this returns. ``size``, when known, is recorded in the frame.
    ``progress`` hears of the bytes read (unit ``B``).
    """
    compressor = zstandard.ZstdCompressor(level=LEVEL, threads=-1, write_checksum=True)
    raw_size = 0
    with Path(target).open("wb") as packed:
        sink = _HashingWriter(packed)
        with compressor.stream_writer(sink, size=size or -1, closefd=False) as writer:
            while block := source.read(CHUNK):
                raw_size += len(block)
                writer.write(block)
                report(progress, raw_size, size, "B")
        packed.flush()
        os.fsync(packed.fileno())
    return Digests(sink.size, sink.digest.hexdigest(), raw_size)


def compress_file(source: Path, target: Path, progress: Progress | None = None) -> Digests:
    """Write the file ``source`` zstd-compressed to ``target``; return the digests."""
    with Path(source).open("rb") as raw:
        return compress(raw, target, Path(source).stat().st_size, progress)


def _sha256_of(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _stored_problem(found: tuple[int, str], expected: Digests, name: str) -> None:
    if found != (expected.bytes, expected.sha256):
        raise CorruptArchiveError(
            f"{name} does not match its manifest ({found[0]} bytes, {expected.bytes} expected): "
            "truncated or altered"
        )


def check_stored(source: Path, expected: Digests, name: str) -> None:
    """Raise unless the stored file ``source`` has the size and SHA-256 of ``expected``.

    Raises
    ------
    CorruptArchiveError
        If it differs (truncated or altered).
    """
    _stored_problem(_sha256_of(source), expected, name)


def _content_problem(found: tuple[int, str | None], expected: Digests, name: str) -> None:
    if found != (expected.raw_bytes, expected.raw_sha256):
        raise CorruptArchiveError(f"{name}: the unpacked content is altered")


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
            with Path(target).open("wb") as raw:
                content = _decompress(source, raw, expected.raw_sha256 is not None)
        except CorruptArchiveError as error:
            stored.cancel()
            raise CorruptArchiveError(f"{name} is truncated or altered ({error})") from None
        _stored_problem(stored.result(), expected, name)
    _content_problem(content, expected, name)


def _decompress(source: Path, raw, hash_content: bool, progress=None) -> tuple[int, str | None]:
    """Write the zstd file ``source`` decompressed to ``raw``; return its size (and SHA-256).

    ``progress``, if given, is called with the bytes written so far after each block.
    """
    stream = zstandard.ZstdDecompressor().decompressobj()
    digest = hashlib.sha256() if hash_content else None
    size = 0
    try:
        with Path(source).open("rb") as packed:
            while block := packed.read(CHUNK):
                if stream.eof:
                    raise CorruptArchiveError("data after its zstd frame")
                content = stream.decompress(block)
                if digest:
                    digest.update(content)
                raw.write(content)
                size += len(content)
                if progress:
                    raw.flush()
                    progress(size)
    except zstandard.ZstdError as error:
        raise CorruptArchiveError(f"not a valid zstd archive: {error}") from None
    if not stream.eof:
        raise CorruptArchiveError("its zstd frame does not end")
    if stream.unused_data:
        raise CorruptArchiveError("data after its zstd frame")
    return size, digest.hexdigest() if digest else None


class Unpacking:
    """A stored file being unpacked on a second thread, usable as its content arrives.

    The target is first given its full size (unwritten parts read as zeros), then written
    from the start; :meth:`wait_for` blocks until a prefix is written, :meth:`finish` until
    all of it is and its checks pass. Check the stored file first (:func:`check_stored`).
    """

    def __init__(self, source: Path, target: Path, expected: Digests, name: str) -> None:
        self.expected, self.name = expected, name
        with Path(target).open("wb") as raw:
            raw.truncate(expected.raw_bytes)
        self._written, self._ended, self._cancelled = 0, False, False
        self._error: BaseException | None = None
        self._content: tuple[int, str | None] | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(source, target), daemon=True)
        self._thread.start()

    def _progress(self, size: int) -> None:
        if self._cancelled:
            raise InterruptedError("unpacking cancelled")
        with self._changed:
            self._written = size
            self._changed.notify_all()

    def _run(self, source: Path, target: Path) -> None:
        try:
            with Path(target).open("r+b") as raw:
                hashing = self.expected.raw_sha256 is not None
                self._content = _decompress(source, raw, hashing, self._progress)
        except BaseException as error:  # noqa: BLE001 (handed to the waiting thread)
            self._error = error
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def _raise(self) -> None:
        if isinstance(self._error, CorruptArchiveError):
            raise CorruptArchiveError(f"{self.name} is truncated or altered ({self._error})")
        if self._error is not None:
            raise self._error

    def wait_for(self, size: int) -> None:
        """Block until the first ``size`` bytes are written.

        Raises
        ------
        CorruptArchiveError
            If unpacking failed, or ended short of ``size``.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._ended or self._written >= size)
        if self._written < size:
            self._raise()
            raise CorruptArchiveError(f"{self.name}: the unpacked content is altered")

    def cancel(self) -> None:
        """Stop unpacking (the caller gave up) and wait for the thread to end."""
        self._cancelled = True
        self._thread.join()

    def finish(self) -> None:
        """Block until everything is written, and check the content against the manifest.

        Raises
        ------
        CorruptArchiveError
            If the stored file is not one complete zstd frame or its content differs.
        """
        self._thread.join()
        self._raise()
        _content_problem(self._content, self.expected, self.name)
