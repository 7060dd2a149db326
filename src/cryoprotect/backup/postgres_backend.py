"""PostgreSQL backups with ``pg_dump -Fc``, checked against the live database's row counts.

The dump runs on a snapshot exported from a repeatable-read transaction, so the row counts
recorded in the manifest are exactly what the dump holds. A role subject to Row Level
Security would dump only the rows it may see (a silently short backup), so such a role is
refused: back up as a superuser or a role with BYPASSRLS.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from sqlalchemy import Engine, text

from cryoprotect.backup.consistency import check_references, row_counts
from cryoprotect.db.schema import Base

FILE = "database.pgdump.zst"
COPY_HEADER = re.compile(r"^COPY (\S+) \((.*)\) FROM stdin;$")


class BackupToolError(RuntimeError):
    """``pg_dump`` or ``pg_restore`` failed; the message carries what it printed."""


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """Return a libpq URL without the password, and the environment that carries it."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupToolError(f"{command[0]} failed: {result.stderr.strip()}")
    return result


def rls_blind_spots(engine: Engine) -> list[str]:
    """Return the tables with Row Level Security the current role does not bypass."""
    with engine.connect() as connection:
        bypasses = connection.execute(
            text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).scalar_one()
        if bypasses:
            return []
        return list(
            connection.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relkind = 'r' AND relrowsecurity "
                    "AND relnamespace = 'public'::regnamespace ORDER BY relname"
                )
            ).scalars()
        )


def dump(engine: Engine, target: Path) -> tuple[dict[str, int], None]:
    """Dump the database to ``target`` (custom format, uncompressed); return its row counts.

    (The second value, bytes of a dump kept in memory, is always ``None`` here.)

    Raises
    ------
    PermissionError
        If Row Level Security would hide rows from the dumping role.
    BackupToolError
        If ``pg_dump`` fails.
    """
    hidden = rls_blind_spots(engine)
    if hidden:
        raise PermissionError(
            "the database role is bound by Row Level Security on "
            f"{', '.join(hidden)}: its dump would silently miss rows. Back up as a role with "
            "BYPASSRLS (the service role) or a superuser."
        )
    url, env = _libpq(engine)
    repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with repeatable as connection, connection.begin():
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = row_counts(connection)
        _run(
            ["pg_dump", "--format=custom", "--compress=0", f"--snapshot={snapshot}"]
            + ["--file", str(target), "--dbname", url],
            env,
        )
    return counts, None


def restore_all(engine: Engine, source: Path) -> None:
    """Replace the database's objects and rows with the dump, in one transaction."""
    engine.dispose()
    url, env = _libpq(engine)
    _run(
        ["pg_restore", "--single-transaction", "--clean", "--if-exists", "--exit-on-error"]
        + ["--dbname", url, str(source)],
        env,
    )


def _copy_blocks(script: str) -> list[tuple[str, str, str]]:
    """Split ``pg_restore --data-only`` output into (table, columns, data) COPY blocks."""
    blocks, lines, index = [], script.splitlines(keepends=True), 0
    while index < len(lines):
        header = COPY_HEADER.match(lines[index].rstrip("\n"))
        index += 1
        if not header:
            continue
        start = index
        while lines[index].rstrip("\n") != "\\.":
            index += 1
        blocks.append((header.group(1), header.group(2), "".join(lines[start:index])))
    return blocks


def restore_tables(engine: Engine, source: Path, tables: list[str]) -> None:
    """Replace the rows of ``tables`` with the dump's, leaving every other table alone.

    Foreign-key triggers are off for the transaction (``session_replication_role =
    replica``, which needs a superuser), so no cascade reaches another table; then every
    foreign key touching the tables must resolve, or the transaction is rolled back.

    Raises
    ------
    cryoprotect.backup.consistency.InconsistentRestoreError
        If the restored rows and the rest of the database do not fit together.
    """
    url, env = _libpq(engine)
    options = [f"--table={table}" for table in tables]
    script = _run(["pg_restore", "--data-only", *options, "--file=-", str(source)], env).stdout
    blocks = _copy_blocks(script)
    with engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in tables:
            connection.exec_driver_sql(f'DELETE FROM "{table}"')  # noqa: S608 (schema's names)
        raw = connection.connection.driver_connection
        for name, columns, data in blocks:
            with raw.cursor().copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                copy.write(data)
        for table in tables:
            if "id" in Base.metadata.tables[table].c:  # serial keys continue after the rows
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
                )
        check_references(connection, tables)
