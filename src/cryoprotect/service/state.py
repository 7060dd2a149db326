"""What the service reads about its surroundings: database, disk, backups, health reports.

Each function is one reading, taken in the background by a :class:`~.probes.Probe`; a
failure raises, and the probe keeps the error as the reading.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text

from cryoprotect.backup.store import BackupStore

REPORTS_SEARCHED = 50
"""Newest health reports looked through for one about the service's database."""


def ping(engine: Engine) -> None:
    """Run ``SELECT 1`` on ``engine``'s database (raising whatever the driver raises)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


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


def backup_write_error(store: BackupStore) -> str | None:
    """Return why a file cannot be written to ``store``, or ``None`` if it can."""
    try:
        store.probe_write()
    except Exception as error:  # fsspec back ends raise their own types  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return None


def own_health_report(folder: Path, database: str) -> dict | None:
    """Return the newest health report in ``folder`` about ``database``, or ``None``.

    ``database`` is the URL as reports name it (password hidden). Reports of other
    databases written to the same folder are passed over.
    """
    latest = folder / "latest.json"
    candidates = [latest] if latest.is_file() else []
    candidates += sorted(folder.glob("health-*.json"), reverse=True)[:REPORTS_SEARCHED]
    for path in candidates:
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if report.get("summary", {}).get("database") == database:
            return report
    return None


def report_time(report: dict | None) -> float | None:
    """Return the unix time a health report was made, or ``None`` without a report."""
    if report is None:
        return None
    return datetime.fromisoformat(report["summary"]["created"]).timestamp()
