"""Compressed backup files: round trip, and truncated or altered files refused."""

from __future__ import annotations

import hashlib
import os

import pytest

from cryoprotect.backup.archive import CorruptArchiveError, compress, decompress


@pytest.fixture
def packed(tmp_path):
    source = tmp_path / "raw"
    source.write_bytes(os.urandom(4096) * 500)  # made-up content, compressible
    target = tmp_path / "raw.zst"
    compress(source, target)
    return source, target


def test_round_trip_gives_the_same_bytes_and_digests(packed, tmp_path):
    source, target = packed
    written = compress(source, target)
    assert target.stat().st_size == written.bytes < source.stat().st_size / 10
    assert written.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert written.raw_sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert decompress(target, tmp_path / "back") == written
    assert (tmp_path / "back").read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[:-3], "truncated"),
        (lambda data: data + b"extra", "data after its zstd frame"),
        (lambda data: data[:100] + bytes([data[100] ^ 0xFF]) + data[101:], "not a valid zstd"),
    ],
)
def test_damaged_archives_are_refused(packed, tmp_path, damage, message):
    _, target = packed
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(CorruptArchiveError, match=message):
        decompress(target, tmp_path / "back")
