"""What the service knows about its surroundings: database, disk, backups, health reports.

Read on demand by ``/health/ready`` and by Prometheus scrapes; each reading is cached for a
few seconds (the backup listing for a minute) so frequent probes cost little.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text

from cryoprotect.backup.store import BackupStore


class Cached:
    """A value recomputed by ``compute`` at most once every ``seconds``."""

    def __init__(self, compute: Callable[[], object], seconds: float) -> None:
        self.compute, self.seconds = compute, seconds
        self._value: object = None
        self._at = float("-inf")

    def get(self) -> object:
        """Return the cached value, recomputing it when older than ``seconds``."""
        now = time.monotonic()
        if now - self._at >= self.seconds:
            self._value, self._at = self.compute(), now
        return self._value


def database_error(engine: Engine) -> str | None:
    """Return why ``engine``'s database does not answer ``SELECT 1``, or ``None`` if it does."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any driver failure means unreachable  # noqa: BLE001
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


def disk_usage(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """Return ``{path: (free bytes, total bytes)}`` for each existing path's file system."""
    usage = {}
    for path in paths:
        existing = next((p for p in (path, *path.parents) if p.exists()), None)
        if existing is not None:
            found = shutil.disk_usage(existing)
            usage[str(path)] = (found.free, found.total)
    return usage


def last_backup_time(store: BackupStore) -> float | None:
    """Return the unix time of the newest whole backup in ``store``, or ``None``."""
    manifests = store.manifests()
    return manifests[-1].created_at.timestamp() if manifests else None


def health_report(folder: Path) -> dict | None:
    """Return the newest health report written to ``folder`` (``latest.json``), or ``None``."""
    latest = folder / "latest.json"
    return json.loads(latest.read_text()) if latest.is_file() else None


def report_time(report: dict | None) -> float | None:
    """Return the unix time a health report was made, or ``None`` without a report."""
    if report is None:
        return None
    return datetime.fromisoformat(report["summary"]["created"]).timestamp()


def backup_write_error(store: BackupStore) -> str | None:
    """Return why a file cannot be written to ``store``, or ``None`` if it can."""
    try:
        store.probe_write()
    except Exception as error:  # fsspec back ends raise their own types  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return None
