"""Create, verify, restore and prune backups of the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from types import ModuleType

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from cryoprotect.backup import postgres_backend, sqlite_backend
from cryoprotect.backup.archive import (
    CorruptArchiveError,
    compress,
    decompress,
    decompress_bytes,
)
from cryoprotect.backup.consistency import VOCABULARY, holds_data, row_counts, table_names
from cryoprotect.backup.manifest import Manifest
from cryoprotect.backup.rotation import RotationPolicy, kept
from cryoprotect.backup.store import BackupNotFoundError, BackupStore
from cryoprotect.db.migrations import alembic_config, current_revision, head_revision, upgrade

BACKENDS: dict[str, ModuleType] = {"sqlite": sqlite_backend, "postgresql": postgres_backend}


class RestoreRefusedError(RuntimeError):
    """A restore that would lose data or cannot fit the database was refused; nothing changed."""


@dataclass
class RestoreOutcome:
    """What a restore did: which backup, which tables, their rows, and the checks after it."""

    backup_id: str
    tables: list[str]
    rows: dict[str, int]
    upgraded_from: str | None = None
    health: dict | None = None
    problems: list[str] = field(default_factory=list)
    """Checks after the restore that failed (row counts, health): empty when all is well."""


def _backend(engine: Engine) -> tuple[str, ModuleType]:
    kind = engine.dialect.name
    if kind not in BACKENDS:
        raise ValueError(f"backups support SQLite and PostgreSQL, not {kind}")
    return kind, BACKENDS[kind]


def _tool_versions(kind: str) -> dict[str, str]:
    tools = {
        "python": sys.version.split()[0],
        "cryoprotect": package_version("cryoprotect"),
        "zstandard": package_version("zstandard"),
    }
    if kind == "sqlite":
        tools["sqlite"] = sqlite3.sqlite_version
    else:
        result = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True)  # noqa: S607
        tools["pg_dump"] = result.stdout.strip()
    return tools


def create_backup(engine: Engine, store: BackupStore, now: datetime | None = None) -> Manifest:
    """Back up the database behind ``engine`` into ``store`` and return the manifest.

    The backup is listed only once every file and its manifest are stored: an interrupted
    backup never lists, and older backups are never touched.
    """
    kind, backend = _backend(engine)
    created = now or datetime.now(UTC)
    backup_id = created.strftime("%Y%m%dT%H%M%S%fZ")
    with (
        tempfile.TemporaryDirectory(prefix="cryoprotect-backup-") as work,
        store.new_backup(backup_id) as folder,
    ):
        raw = Path(work) / "database"
        counts, content = backend.dump(engine, raw)
        digests = compress(raw if content is None else content, folder / backend.FILE)
        manifest = Manifest(
            id=backup_id,
            created=created.isoformat(),
            kind=kind,
            database=engine.url.render_as_string(hide_password=True),
            schema_revision=current_revision(engine),
            tables=counts,
            files={backend.FILE: digests},
            tools=_tool_versions(kind),
        )
        store.commit(manifest, folder)
    return manifest


def _unpacked(
    store: BackupStore, manifest: Manifest, work: Path, in_memory: bool = False
) -> Path | bytes:
    """Unpack the backup's database file, checking both SHA-256 digests.

    Returns the content as bytes with ``in_memory``, else the path of a file in ``work``.

    Raises
    ------
    CorruptArchiveError
        If the stored file or its content does not match the manifest.
    """
    name, expected = next(iter(manifest.files.items()))
    raw = work / "database"
    try:
        packed = store.fetch(manifest.id, name, work)
        if in_memory:
            found, content = decompress_bytes(packed)
        else:
            found, content = decompress(packed, raw), raw
    except CorruptArchiveError as error:
        raise CorruptArchiveError(
            f"backup {manifest.id}: {name} is truncated or altered ({error})"
        ) from None
    if (found.bytes, found.sha256) != (expected.bytes, expected.sha256):
        raise CorruptArchiveError(
            f"backup {manifest.id}: {name} does not match its manifest ({found.bytes} bytes, "
            f"{expected.bytes} expected): truncated or altered"
        )
    if found != expected:
        raise CorruptArchiveError(f"backup {manifest.id}: the unpacked database is altered")
    return content


def verify_backup(store: BackupStore, backup_id: str) -> list[str]:
    """Check a stored backup end to end; return its problems (empty when it is sound).

    Checks the file's size and SHA-256, unpacks it, checks the content's SHA-256 and, for
    SQLite, runs ``integrity_check`` and compares every table's rows with the manifest.
    """
    manifest = store.manifest(backup_id)
    with tempfile.TemporaryDirectory(prefix="cryoprotect-verify-") as work:
        try:
            raw = _unpacked(store, manifest, Path(work))
        except (CorruptArchiveError, FileNotFoundError) as error:
            return [str(error)]
        if manifest.kind != "sqlite":
            return []
        problems = sqlite_backend.integrity_problems(raw)
        counts = sqlite_backend.counts_of(raw)
        problems += [
            f"{table}: {counts.get(table)} rows, manifest says {rows}"
            for table, rows in manifest.tables.items()
            if counts.get(table) != rows
        ]
        return problems


def find_backup(
    store: BackupStore, backup_id: str | None = None, at: datetime | None = None
) -> Manifest:
    """Return the backup ``backup_id``, else the newest at or before ``at``, else the newest.

    Raises
    ------
    BackupNotFoundError
        If no such backup exists.
    """
    if backup_id:
        return store.manifest(backup_id)
    manifests = store.manifests()
    if at is not None:
        manifests = [m for m in manifests if m.created_at <= at]
    if not manifests:
        when = f" at or before {at.isoformat()}" if at else ""
        raise BackupNotFoundError(f"no backup{when} in {store.url}")
    return manifests[-1]


def _check_revision(engine: Engine, manifest: Manifest) -> None:
    """Refuse a backup whose schema revision this code does not know (a newer one)."""
    try:
        scripts = ScriptDirectory.from_config(alembic_config(engine))
        known = scripts.get_revision(manifest.schema_revision)
    except CommandError:
        known = None
    if manifest.schema_revision and known is None:
        raise RestoreRefusedError(
            f"backup {manifest.id} has schema revision {manifest.schema_revision}, newer than "
            f"this code knows (head {head_revision(engine)}): upgrade CryoProtect first"
        )


def restore_backup(
    engine: Engine,
    store: BackupStore,
    backup_id: str | None = None,
    *,
    at: datetime | None = None,
    tables: list[str] | None = None,
    force: bool = False,
    check_health: bool = True,
) -> RestoreOutcome:
    """Restore a backup (all tables, or ``tables`` only) into the database behind ``engine``.

    The backup is checked (digests, and for a full SQLite restore its row counts) before
    anything is written; the restore itself is one transaction. A full restore of an older
    schema revision is migrated to the newest afterwards. Then the restored tables' row
    counts are compared with the manifest and, with ``check_health``, the health checks run.

    Raises
    ------
    BackupNotFoundError
        If the backup does not exist.
    CorruptArchiveError
        If the backup is truncated or altered.
    RestoreRefusedError
        If the database holds data and ``force`` is not given, the backup comes from another
        kind of database or a newer schema, or a table named is not in the schema.
    """
    kind, backend = _backend(engine)
    manifest = find_backup(store, backup_id, at)
    if manifest.kind != kind:
        raise RestoreRefusedError(
            f"backup {manifest.id} is of a {manifest.kind} database; this one is {kind}"
        )
    _check_revision(engine, manifest)
    chosen = _chosen_tables(tables)
    with engine.connect() as connection:
        live = row_counts(connection) if current_revision(engine) else {}
    scope = {name: rows for name, rows in live.items() if tables is None or name in chosen}
    if holds_data(scope) and not force:
        filled = ", ".join(
            f"{name} ({rows})" for name, rows in scope.items() if rows and name not in VOCABULARY
        )
        raise RestoreRefusedError(
            f"the database holds data in {filled}: pass --force to replace it"
        )
    if tables is not None and manifest.schema_revision != current_revision(engine):
        raise RestoreRefusedError(
            f"backup {manifest.id} has schema revision {manifest.schema_revision} and the "
            f"database {current_revision(engine)}: a partial restore needs the same revision"
        )
    with tempfile.TemporaryDirectory(prefix="cryoprotect-restore-") as work:
        in_memory = (
            kind == "sqlite"
            and tables is None
            and manifest.files[backend.FILE].raw_bytes <= sqlite_backend.IN_MEMORY_LIMIT
        )
        raw = _unpacked(store, manifest, Path(work), in_memory)  # what was backed up, exactly
        if tables is None:
            backend.restore_all(engine, raw)
        else:
            backend.restore_tables(engine, raw, chosen)
    return _checked(engine, manifest, chosen, check_health)


def _chosen_tables(tables: list[str] | None) -> list[str]:
    known = table_names()
    if tables is None:
        return known
    unknown = sorted(set(tables) - set(known))
    if unknown:
        raise RestoreRefusedError(
            f"unknown table(s) {', '.join(unknown)}; the tables are {', '.join(known)}"
        )
    return [name for name in known if name in tables]


def _checked(engine: Engine, manifest: Manifest, tables: list[str], health: bool):
    with engine.connect() as connection:
        counts = row_counts(connection)
    problems = [
        f"{table}: {counts[table]} rows after the restore, the backup holds "
        f"{manifest.tables[table]}"
        for table in tables
        if table in manifest.tables and counts[table] != manifest.tables[table]
    ]
    outcome = RestoreOutcome(
        backup_id=manifest.id, tables=tables, rows={t: counts[t] for t in tables}
    )
    if current_revision(engine) != head_revision(engine):
        outcome.upgraded_from = current_revision(engine)
        upgrade(engine)
    if health:
        from cryoprotect.health.report import run_health

        outcome.health = run_health(engine).verdict()
        if not outcome.health["healthy"]:
            problems += [f"health: {p}" for p in outcome.health["problems"]]
    outcome.problems = problems
    return outcome


def prune(store: BackupStore, policy: RotationPolicy, dry_run: bool = False) -> dict:
    """Delete the backups ``policy`` does not keep, and interrupted ones.

    Returns ``kept`` and ``removed`` backup ids and the ``partials`` cleared.
    """
    manifests = store.manifests()
    keep = kept(manifests, policy)
    removed = [m.id for m in manifests if m.id not in keep]
    if not dry_run:
        for backup_id in removed:
            store.delete(backup_id)
    partials = store.partials() if dry_run else store.remove_partials()
    return {
        "kept": [m.id for m in manifests if m.id in keep],
        "removed": removed,
        "partials": partials,
    }
