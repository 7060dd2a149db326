"""The manifest of a backup: what was backed up, from where, when, and how to check it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from cryoprotect.backup.archive import Digests

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    """Everything known about one backup; written last, so its presence marks a whole backup."""

    id: str
    created: str
    """ISO 8601 time in UTC."""
    kind: str
    """``sqlite`` or ``postgresql``."""
    database: str
    """The database's URL, password hidden."""
    schema_revision: str | None
    tables: dict[str, int]
    """Rows per table at the time of the backup."""
    files: dict[str, Digests]
    """Per stored file, its size and SHA-256, and those of its content unpacked."""
    tools: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def created_at(self) -> datetime:
        """The creation time as an aware datetime."""
        return datetime.fromisoformat(self.created)

    def to_json(self) -> str:
        """Return the manifest as indented JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Read a manifest written by :meth:`to_json`.

        Raises
        ------
        ValueError
            If ``text`` is not a manifest of a known format version.
        """
        data = json.loads(text)
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unknown backup manifest format {data.get('format_version')!r}")
        data["files"] = {name: Digests(**entry) for name, entry in data["files"].items()}
        return cls(**data)

    def summary(self) -> dict:
        """Return the facts ``backup list`` shows: id, time, kind, revision, rows, size."""
        return {
            "id": self.id,
            "created": self.created,
            "kind": self.kind,
            "schema_revision": self.schema_revision,
            "rows": sum(self.tables.values()),
            "bytes": sum(entry.bytes for entry in self.files.values()),
        }
