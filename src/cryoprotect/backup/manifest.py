"""The manifest of a backup: what was backed up, from where, when, and how to check it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from cryoprotect.backup.archive import Digests

MANIFEST = "manifest.json"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
"""Format 1 had no ``method`` and held the content's SHA-256 of each file; both still read."""


class ManifestError(ValueError):
    """A ``manifest.json`` that is not valid JSON, lacks a field, or is of an unknown format."""


@dataclass
class BaseBackupInfo:
    """Where a PostgreSQL base backup starts and ends in the write-ahead log."""

    timeline: int
    start_lsn: str
    end_lsn: str
    start_segment: str
    """Name of the first WAL segment replay needs, e.g. ``000000010000000000000003``."""
    system_identifier: str
    """The cluster's identifier: WAL from another cluster cannot be replayed onto it."""
    server_version: int


@dataclass
class Manifest:
    """Everything known about one backup; written last, so its presence marks a whole backup."""

    id: str
    created: str
    """ISO 8601 time in UTC; for a base backup, the moment it became consistent (its end)."""
    kind: Literal["sqlite", "postgresql"]
    database: str
    """The database's URL, password hidden."""
    schema_revision: str | None
    tables: dict[str, int]
    """Rows per table at the time of the backup (empty for a base backup)."""
    files: dict[str, Digests]
    """Per stored file, its size and SHA-256, and the size of its content."""
    tools: dict[str, str] = field(default_factory=dict)
    method: Literal["copy", "dump", "base"] = "copy"
    """``copy`` (SQLite file), ``dump`` (``pg_dump``) or ``base`` (``pg_basebackup``)."""
    base: BaseBackupInfo | None = None
    format_version: int = FORMAT_VERSION

    @property
    def created_at(self) -> datetime:
        """The creation time as an aware datetime."""
        return datetime.fromisoformat(self.created)

    def to_json(self) -> str:
        """Return the manifest as indented JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Read and check a manifest written by :meth:`to_json` (this format or format 1).

        Raises
        ------
        ManifestError
            Naming the problem: not JSON, an unknown format version, a missing or mistyped
            field.
        """
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise ManifestError(f"not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise ManifestError("not a JSON object")
        version = data.get("format_version")
        if version not in READABLE_FORMATS:
            raise ManifestError(
                f"unknown manifest format {version!r} (this version reads "
                f"{', '.join(map(str, READABLE_FORMATS))}): written by a newer CryoProtect?"
            )
        if version == 1:
            data.setdefault("method", "copy" if data.get("kind") == "sqlite" else "dump")
        try:
            return _ADAPTER.validate_json(json.dumps(data), strict=True)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in error.errors()
            )
            raise ManifestError(problems) from None

    def summary(self) -> dict:
        """Return the facts ``backup list`` shows: id, time, kind, method, revision, rows, size."""
        return {
            "id": self.id,
            "created": self.created,
            "kind": self.kind,
            "method": self.method,
            "schema_revision": self.schema_revision,
            "rows": sum(self.tables.values()) if self.method != "base" else None,
            "bytes": sum(entry.bytes for entry in self.files.values()),
        }


_ADAPTER = TypeAdapter(Manifest)
