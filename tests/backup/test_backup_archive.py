"""Compressed backup files: round trip, and truncated or altered files refused."""

from __future__ import annotations

import hashlib
import os

import pytest

from cryoprotect.backup.archive import CorruptArchiveError, Digests, compress_file, unpack


@pytest.fixture
def packed(tmp_path):
    source = tmp_path / "raw"
    source.write_bytes(os.urandom(4096) * 500)  # made-up content, compressible
    target = tmp_path / "raw.zst"
    return source, target, compress_file(source, target)


def test_round_trip_gives_the_same_bytes_and_digests(packed, tmp_path):
    source, target, written = packed
    assert target.stat().st_size == written.bytes < source.stat().st_size / 10
    assert written.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert written.raw_bytes == source.stat().st_size and written.raw_sha256 is None
    unpack(target, tmp_path / "back", written, "raw.zst")
    assert (tmp_path / "back").read_bytes() == source.read_bytes()


def test_a_format_1_content_digest_is_still_checked(packed, tmp_path):
    source, target, written = packed
    content = hashlib.sha256(source.read_bytes()).hexdigest()
    right = Digests(written.bytes, written.sha256, written.raw_bytes, content)
    unpack(target, tmp_path / "back", right, "f")
    wrong = Digests(written.bytes, written.sha256, written.raw_bytes, "0" * 64)
    with pytest.raises(CorruptArchiveError, match="unpacked content is altered"):
        unpack(target, tmp_path / "back", wrong, "f")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "frame does not end"),
        (lambda data: data[:-3], "frame does not end"),
        (lambda data: data + b"extra", "data after its zstd frame"),
        (lambda data: data[:100] + bytes([data[100] ^ 0xFF]) + data[101:], "not a valid zstd"),
    ],
)
def test_damaged_archives_are_refused(packed, tmp_path, damage, message):
    _, target, written = packed
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(CorruptArchiveError, match=f"raw.zst is truncated or altered .*{message}"):
        unpack(target, tmp_path / "back", written, "raw.zst")


def test_a_file_with_another_digest_is_refused(packed, tmp_path):
    _, target, written = packed
    other = Digests(written.bytes, "0" * 64, written.raw_bytes)
    with pytest.raises(CorruptArchiveError, match="does not match its manifest"):
        unpack(target, tmp_path / "back", other, "raw.zst")
