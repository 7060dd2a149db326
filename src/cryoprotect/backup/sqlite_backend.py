"""SQLite backups with the online backup API: consistent while writers are active.

A backup is the database file as SQLite's backup API copies it (one consistent snapshot,
taken under a read lock, so concurrent writers are never seen half-way). A full restore
copies the verified backup into the live database with the same API in one step; a partial
restore replaces chosen tables inside one transaction and checks every foreign key touching
them before it commits.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine

from cryoprotect.backup.consistency import check_references, table_names
from cryoprotect.db.engine import make_engine

FILE = "database.sqlite.zst"
IN_MEMORY_LIMIT = 256 * 2**20
"""Databases up to this size (bytes) are copied through memory rather than a temporary file."""


def database_path(engine: Engine) -> Path:
    """Return the file of a SQLite engine."""
    return Path(engine.url.database)


def dump(engine: Engine, target: Path) -> tuple[dict[str, int], bytes | None]:
    """Copy the database with the backup API; return the copy's row counts, and its bytes.

    A database up to :data:`IN_MEMORY_LIMIT` is copied into memory and returned as bytes
    (no temporary file to write and flush); a larger one is copied to ``target`` and
    ``None`` is returned in place of the bytes.
    """
    path = database_path(engine)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    small = path.stat().st_size <= IN_MEMORY_LIMIT
    copy = sqlite3.connect(":memory:" if small else target)
    try:
        source.backup(copy)
        counts = _counts(copy)
        return counts, copy.serialize() if small else None
    finally:
        copy.close()
        source.close()


def _counts(connection: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    return {
        name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]  # noqa: S608
        for name in table_names()
        if name in present
    }


def counts_of(path: Path) -> dict[str, int]:
    """Return the row counts of the schema's tables in the SQLite file at ``path``."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return _counts(connection)


def integrity_problems(path: Path) -> list[str]:
    """Return SQLite's ``integrity_check`` complaints about the file (empty when sound)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = [r[0] for r in connection.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def restore_all(engine: Engine, source: Path | bytes) -> None:
    """Replace the whole database with ``source`` (a SQLite file, or its bytes) in one step."""
    engine.dispose()
    if isinstance(source, bytes):
        copy = sqlite3.connect(":memory:")
        copy.deserialize(source)
    else:
        copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    live = sqlite3.connect(database_path(engine))
    try:
        copy.backup(live)
    finally:
        live.close()
        copy.close()


def restore_tables(engine: Engine, source: Path, tables: list[str]) -> None:
    """Replace the rows of ``tables`` with those in ``source``, leaving other tables alone.

    Foreign-key actions are off while rows are swapped (so no cascade reaches another
    table); afterwards every foreign key touching the tables must resolve, or the
    transaction is rolled back.

    Raises
    ------
    cryoprotect.backup.consistency.InconsistentRestoreError
        If the restored rows and the rest of the database do not fit together.
    """
    engine.dispose()
    own = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with own.connect() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # outside a transaction
            connection.exec_driver_sql("ATTACH DATABASE ? AS backup", (str(source),))
            connection.commit()
            with connection.begin():
                for table in tables:
                    connection.exec_driver_sql(f'DELETE FROM main."{table}"')  # noqa: S608
                    connection.exec_driver_sql(
                        f'INSERT INTO main."{table}" SELECT * FROM backup."{table}"'  # noqa: S608
                    )
                check_references(connection, tables)
            connection.exec_driver_sql("DETACH DATABASE backup")
            connection.commit()
    finally:
        own.dispose()  # its connections had foreign keys off
