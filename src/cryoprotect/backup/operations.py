"""Create, verify, restore and prune backups of the database (SQLite or PostgreSQL).

A restore checks everything the manifest promises (kind, format, schema revision, tables,
then the stored files' digests and the row counts of what they unpack to) before it writes
anything, and holds the database for its whole duration: from the moment it starts no other
connection can write, so every write acknowledged before it is either replaced (and counted
in ``replaced``) or, after it, kept.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from types import ModuleType

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine

from cryoprotect.backup import pitr, postgres_backend, sqlite_backend
from cryoprotect.backup.archive import CorruptArchiveError, Unpacking, check_stored, unpack
from cryoprotect.backup.consistency import VOCABULARY, holds_data, row_counts, table_names
from cryoprotect.backup.manifest import Manifest
from cryoprotect.backup.processes import ToolError, run
from cryoprotect.backup.rotation import RotationPolicy, kept
from cryoprotect.backup.store import BackupNotFoundError, BackupStore
from cryoprotect.db.migrations import alembic_config, current_revision, head_revision, upgrade
from cryoprotect.db.repair import repair
from cryoprotect.progress import Progress, report

BACKENDS: dict[str, ModuleType] = {"sqlite": sqlite_backend, "postgresql": postgres_backend}
BUSY = (sqlite_backend.DatabaseBusyError, postgres_backend.DatabaseBusyError)
"""A restore refused because the database is in use (another restore, open transactions)."""


class RestoreRefusedError(RuntimeError):
    """A restore that would lose data or cannot fit the database was refused; nothing changed."""


@dataclass
class RestoreOutcome:
    """What a restore did: which backup, which tables, their rows, and the checks after it."""

    backup_id: str
    tables: list[str]
    rows: dict[str, int]
    """Rows of the restored tables after the restore."""
    replaced: dict[str, int] = field(default_factory=dict)
    """Rows those tables held when the restore took the database (every other writer out)."""
    at: str | None = None
    """The moment replayed to (point-in-time recovery), if one was asked."""
    upgraded_from: str | None = None
    health: dict | None = None
    problems: list[str] = field(default_factory=list)
    """Checks after the restore that failed (health): empty when all is well."""


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
        tools["pg_dump"] = run(["pg_dump", "--version"]).stdout.strip()
    return tools


def create_backup(
    engine: Engine,
    store: BackupStore,
    now: datetime | None = None,
    method: str | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Back up the database behind ``engine`` into ``store`` and return the manifest.

    ``method`` ``base`` makes a PostgreSQL base backup for point-in-time recovery; the
    default is a whole copy (SQLite) or a dump (PostgreSQL). The backup is listed only once
    every file and its manifest are stored: an interrupted backup never lists, and older
    backups are never touched. ``progress`` hears of the bytes copied or dumped (unit
    ``B``; a base backup reports nothing).
    """
    kind, backend = _backend(engine)
    created = now or datetime.now(UTC)
    backup_id = created.strftime("%Y%m%dT%H%M%S%fZ")
    if method == "base":
        if kind != "postgresql":
            raise ValueError("base backups (point-in-time recovery) are for PostgreSQL only")
        return pitr.create_base_backup(engine, store, backup_id, now)
    if method not in (None, backend.METHOD):
        raise ValueError(f"a {kind} backup is a {backend.METHOD}, not a {method}")
    revision = current_revision(engine)
    with store.new_backup(backup_id) as folder:
        counts, digests = backend.dump(engine, folder, progress)
        manifest = Manifest(
            id=backup_id,
            created=created.isoformat(),
            kind=kind,
            database=engine.url.render_as_string(hide_password=True),
            schema_revision=revision,
            tables=counts,
            files={backend.FILE: digests},
            tools=_tool_versions(kind),
            method=backend.METHOD,
        )
        store.commit(manifest, folder)
    return manifest


def _unpacked(store: BackupStore, manifest: Manifest, work: Path) -> Path:
    """Unpack a copy or dump into ``work``, checking its digests; return the file's path.

    Raises
    ------
    CorruptArchiveError
        If the stored file or its content does not match the manifest.
    """
    name, expected = next(iter(manifest.files.items()))
    raw = work / "database"
    try:
        unpack(store.fetch(work, manifest.id, name), raw, expected, name)
    except CorruptArchiveError as error:
        raise CorruptArchiveError(f"backup {manifest.id}: {error}") from None
    return raw


def _count_problems(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    return [
        f"{table}: {found.get(table)} rows in the backup, its manifest says {rows}"
        for table, rows in expected.items()
        if found.get(table) != rows
    ]


def _checked_source(store: BackupStore, manifest: Manifest, work: Path) -> Path:
    """Unpack a copy or dump and check its digests and row counts; return its path.

    Raises
    ------
    CorruptArchiveError
        If the stored file is damaged or holds other row counts than the manifest.
    """
    raw = _unpacked(store, manifest, work)
    problems = _count_problems(manifest.tables, BACKENDS[manifest.kind].counts_of(raw))
    if problems:
        raise CorruptArchiveError(
            f"backup {manifest.id} does not hold what its manifest says: {'; '.join(problems)}"
        )
    return raw


def _replace_with_copy(
    store: BackupStore,
    manifest: Manifest,
    work: Path,
    connection: Connection,
    progress: Progress | None = None,
) -> dict[str, int] | None:
    """Restore a whole SQLite copy: its digest first, then unpacking and copying side by side.

    The copy's last step, which commits, waits until the content is whole and its row counts
    match the manifest; a failure rolls the copy back and the database stays as it was. Into
    a database the hold created, the checked copy is renamed into place instead, when
    :func:`sqlite_backend.can_move_into_place` allows it: then its row counts are returned.
    """
    name, expected = next(iter(manifest.files.items()))
    label = f"backup {manifest.id}: {name}"
    stored = store.fetch(work, manifest.id, name)
    check_stored(stored, expected, label)
    source = work / "database"
    unpacking = Unpacking(stored, source, expected, label)
    checked = []

    def ready(size: int) -> None:
        unpacking.wait_for(size)
        if size >= expected.raw_bytes and not checked:
            unpacking.finish()
            problems = _count_problems(manifest.tables, sqlite_backend.counts_of(source))
            if problems:
                raise CorruptArchiveError(
                    f"backup {manifest.id} does not hold what its manifest says: "
                    f"{'; '.join(problems)}"
                )
            checked.append(True)

    try:
        if sqlite_backend.can_move_into_place(connection, work):
            ready(expected.raw_bytes)
            moved = sqlite_backend.move_into_place(connection, source)
            report(progress, expected.raw_bytes, expected.raw_bytes, "B")
            return moved
        sqlite_backend.replace_all(connection, source, ready, progress)
    finally:
        unpacking.cancel()
    return None


def verify_backup(store: BackupStore, backup_id: str) -> list[str]:
    """Check a stored backup end to end; return its problems (empty when it is sound).

    A copy or dump: the stored file's size and SHA-256, its unpacking, and every table's
    rows against the manifest (for SQLite also ``integrity_check``). A base backup: every
    file's digests, then ``pg_verifybackup`` on the unpacked cluster.

    Raises
    ------
    BackupNotFoundError
        If there is no such backup.
    cryoprotect.backup.store.BrokenBackupError
        If its manifest cannot be read.
    """
    manifest = store.manifest(backup_id)
    with store.scratch() as work:
        try:
            if manifest.method == "base":
                return pitr.verify_base(store, manifest, work)
            raw = _unpacked(store, manifest, work)
            counts = BACKENDS[manifest.kind].counts_of(raw)
        except (CorruptArchiveError, FileNotFoundError, ToolError) as error:
            return [str(error)]
        problems = sqlite_backend.integrity_problems(raw) if manifest.kind == "sqlite" else []
        return problems + _count_problems(manifest.tables, counts)


def find_backup(
    store: BackupStore, backup_id: str | None = None, at: datetime | None = None
) -> Manifest:
    """Return the backup ``backup_id``, else the newest at or before ``at``, else the newest.

    Broken backups are never chosen unless asked for by id.

    Raises
    ------
    BackupNotFoundError
        If no such backup exists.
    cryoprotect.backup.store.BrokenBackupError
        If the backup asked for by id is broken.
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


def _base_for(store: BackupStore, at: datetime) -> Manifest:
    bases = [m for m in store.manifests() if m.method == "base" and m.created_at <= at]
    if not bases:
        raise BackupNotFoundError(
            f"no base backup at or before {at.isoformat()} in {store.url}: point-in-time "
            "recovery replays archived WAL from a base backup ('backup create --method base'); "
            "'backup restore ID' restores a dump as it was taken"
        )
    return bases[-1]


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


def _choose(
    engine: Engine, store: BackupStore, backup_id: str | None, at: datetime | None
) -> Manifest:
    """Pick the backup to restore and check what needs no unpacking: kind, revision."""
    kind = engine.dialect.name
    if at is not None and at > datetime.now(UTC):
        raise RestoreRefusedError(f"--at {at.isoformat()} is in the future")
    if at is not None and kind == "postgresql" and not backup_id:
        manifest = _base_for(store, at)
    else:
        manifest = find_backup(store, backup_id, None if kind == "postgresql" else at)
    if manifest.kind != kind:
        raise RestoreRefusedError(
            f"backup {manifest.id} is of a {manifest.kind} database; this one is {kind}"
        )
    if at is not None and backup_id and manifest.method != "base":
        raise RestoreRefusedError(
            f"backup {manifest.id} is a {manifest.method}: only a base backup replays to --at"
        )
    _check_revision(engine, manifest)
    return manifest


def _replaced(connection: Connection, chosen: list[str], tables: list[str] | None, force: bool):
    """Return the rows the restore replaces; refuse to replace data without ``force``."""
    revision = MigrationContext.configure(connection).get_current_revision()
    live = row_counts(connection) if revision else {}
    scope = {name: rows for name, rows in live.items() if name in chosen}
    if holds_data(scope) and not force:
        filled = ", ".join(
            f"{name} ({rows})" for name, rows in scope.items() if rows and name not in VOCABULARY
        )
        raise RestoreRefusedError(
            f"the database holds data in {filled}: pass --force to replace it"
        )
    return scope, revision


def restore_backup(
    engine: Engine,
    store: BackupStore,
    backup_id: str | None = None,
    *,
    at: datetime | None = None,
    tables: list[str] | None = None,
    force: bool = False,
    check_health: bool = True,
    full_health: bool = False,
    server_user: str | None = "postgres",
    progress: Progress | None = None,
) -> RestoreOutcome:
    """Restore a backup (all tables, or ``tables`` only) into the database behind ``engine``.

    Picks ``backup_id``, else (``at``) on SQLite the newest whole backup at or before that
    time and on PostgreSQL the database as it was at that moment (replayed from a base
    backup and the archived WAL), else the newest backup. Checks, in this order and before
    anything is written: kind and schema revision, then (with the database held) what the
    restore replaces, then the stored files' digests and row counts. The restore itself is
    one step (SQLite) or one transaction (PostgreSQL, whose row counts are checked again
    before it commits). A full restore of an older schema revision is migrated to the newest
    afterwards; then, with ``check_health``, quick health checks run (schema and
    references), or every health check with ``full_health``. ``server_user`` runs the
    private replay server when this process is root. ``progress`` hears of the bytes copied
    (a whole SQLite copy, unit ``B``) or of each table loaded (unit ``table``).

    Raises
    ------
    BackupNotFoundError
        If the backup does not exist.
    CorruptArchiveError
        If the backup is truncated, altered or holds other rows than its manifest says.
    RestoreRefusedError
        If the database holds data and ``force`` is not given, the backup comes from another
        kind of database or a newer schema, or a table named is not in the schema.
    sqlite_backend.DatabaseBusyError, postgres_backend.DatabaseBusyError
        If another restore runs or other connections keep the database busy.
    pitr.RecoveryError
        If the moment ``at`` cannot be reached from the archived WAL.
    """
    kind, backend = _backend(engine)
    manifest = _choose(engine, store, backup_id, at)
    chosen = _chosen_tables(tables)
    if manifest.method == "base":
        pitr.archive_now(engine)
    held: AbstractContextManager[Connection] = backend.hold(engine, manifest.id)
    with store.scratch() as work, held as connection:
        replaced, revision = _replaced(connection, chosen, tables, force)
        if tables is not None and manifest.schema_revision != revision:
            raise RestoreRefusedError(
                f"backup {manifest.id} has schema revision {manifest.schema_revision} and the "
                f"database {revision}: a partial restore needs the same revision"
            )
        expected, moved = manifest.tables, None
        if manifest.method == "copy" and tables is None:
            moved = _replace_with_copy(store, manifest, work, connection, progress)
        else:
            if manifest.method == "base":
                source, expected = pitr.replay(store, manifest, engine, at, work, server_user)
            else:
                source = _checked_source(store, manifest, work)
            if tables is None:
                backend.replace_all(connection, source, progress=progress)
            else:
                backend.replace_tables(connection, source, chosen, progress)
        found = row_counts(connection) if moved is None else moved
        rows = {t: n for t, n in found.items() if t in chosen}
        wrong = _count_problems({t: n for t, n in expected.items() if t in chosen}, rows)
        if wrong:  # PostgreSQL rolls back; a SQLite copy is page for page what was checked
            raise CorruptArchiveError(f"the restored rows differ: {'; '.join(wrong)}")
    outcome = RestoreOutcome(
        backup_id=manifest.id,
        tables=chosen,
        rows=rows,
        replaced=replaced,
        at=at.isoformat() if at and manifest.method == "base" else None,
    )
    return _after(engine, outcome, check_health, full_health)


def quick_health(engine: Engine) -> dict:
    """Check what a restore can break: the schema against the models, and every reference."""
    from cryoprotect.health.schema import schema_results

    problems = [
        f"{r.status} [{r.severity}] {r.name}" for r in schema_results(engine) if r.status != "pass"
    ]
    with engine.connect() as connection:
        problems += [f"broken reference {action.text()}" for action in repair(connection, True)]
    return {"healthy": not problems, "problems": problems, "scope": "schema and references"}


def _after(engine: Engine, outcome: RestoreOutcome, health: bool, full: bool) -> RestoreOutcome:
    if current_revision(engine) != head_revision(engine):
        outcome.upgraded_from = current_revision(engine)
        upgrade(engine)
    if health and full:
        from cryoprotect.health.report import run_health

        outcome.health = {**run_health(engine).verdict(), "scope": "every health check"}
    elif health:
        outcome.health = quick_health(engine)
    if outcome.health and not outcome.health["healthy"]:
        outcome.problems += [f"health: {p}" for p in outcome.health["problems"]]
    return outcome


def _rotated(manifests: list[Manifest], policy: RotationPolicy) -> Iterator[tuple[Manifest, bool]]:
    """Yield each backup and whether ``policy`` keeps it; each method rotates on its own."""
    for method in sorted({m.method for m in manifests}):
        group = [m for m in manifests if m.method == method]
        keep = kept(group, policy)
        for manifest in group:
            yield manifest, manifest.id in keep


def prune(store: BackupStore, policy: RotationPolicy, dry_run: bool = False) -> dict:
    """Delete the backups ``policy`` does not keep, WAL no kept base backup needs, leftovers.

    Copies, dumps and base backups rotate separately. Broken backups are never deleted
    (someone should look at them) and never stop the others from rotating.

    Returns ``kept`` and ``removed`` backup ids, the ``broken`` ones with their reasons,
    the ``wal_removed`` segment names and the interrupted backups (``partials``) cleared.
    """
    manifests, broken = store.listing()
    decisions = list(_rotated(manifests, policy))
    removed = [m.id for m, keep in decisions if not keep]
    if not dry_run:
        for backup_id in removed:
            store.delete(backup_id)
    bases = [m for m, keep in decisions if keep and m.method == "base"]
    wal = pitr.prune_wal(store, bases, dry_run)
    partials = store.partials() if dry_run else store.remove_partials()
    return {
        "kept": [m.id for m in manifests if m.id not in removed],
        "removed": removed,
        "broken": broken,
        "wal_removed": wal,
        "partials": partials,
    }
