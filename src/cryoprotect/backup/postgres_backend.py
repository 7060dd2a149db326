"""PostgreSQL backups with ``pg_dump -Fc``, and restores that keep every writer out.

The dump runs on a snapshot exported from a repeatable-read transaction, so the row counts
recorded in the manifest are exactly what the dump holds; its output is compressed as it
streams, with no temporary copy. A role subject to Row Level Security would dump only the
rows it may see (a silently short backup), so such a role is refused: back up as a
superuser or a role with BYPASSRLS.

A restore runs in one transaction of its own session, which first takes an advisory lock
(one restore at a time, visible to the service in ``pg_locks``) and an ``ACCESS EXCLUSIVE``
lock on every table: writers wait until the restore has committed or rolled back, so a
write is either replaced before anyone is told it succeeded or lands after the restore.
The dump's SQL is run in that same session, statement blocks and ``COPY`` data as
``pg_restore`` writes them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from cryoprotect.backup.archive import Digests, compress
from cryoprotect.backup.consistency import check_references, row_counts, table_names
from cryoprotect.backup.processes import ToolError, streamed
from cryoprotect.db.schema import Base
from cryoprotect.progress import Progress, report

FILE = "database.pgdump.zst"
METHOD = "dump"
COPY_HEADER = re.compile(rb"^COPY (\S+) \((.*)\) FROM stdin;\n$")
META_COMMAND = re.compile(rb"^\\(restrict|unrestrict) \S+\n$")
"""psql meta-commands ``pg_restore`` writes around a script; not SQL, so skipped."""
RESTORE_LOCK = (0x43525950, 0x52455354)
"""The advisory lock (two int4 keys) a restore holds; the service looks for it."""
APPLICATION = "cryoprotect restore "
WAIT_SECONDS = 10
"""How long a restore waits for other sessions' locks on the tables before refusing."""
COPY_BATCH = 1 << 20


class BackupToolError(ToolError):
    """``pg_dump`` or ``pg_restore`` failed; the message carries what it printed."""


class DatabaseBusyError(RuntimeError):
    """Another restore runs, or sessions kept the tables locked; nothing was changed."""


def libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """Return a libpq URL without the password, and the environment that carries it."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


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


def dump(
    engine: Engine, folder: Path, progress: Progress | None = None
) -> tuple[dict[str, int], Digests]:
    """Store a custom-format dump of the database as :data:`FILE` in ``folder``.

    Returns the row counts of the dumped snapshot and the stored file's digests.
    ``progress`` hears of the bytes of dump compressed (unit ``B``, total unknown).

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
    with dumped(engine) as (counts, stream):
        return counts, compress(stream, folder / FILE, progress=progress)


@contextmanager
def dumped(engine: Engine) -> Iterator[tuple[dict[str, int], BinaryIO]]:
    """Yield the row counts of a snapshot of the database and ``pg_dump -Fc``'s stream of it.

    Raises
    ------
    BackupToolError
        If ``pg_dump`` fails.
    """
    url, env = libpq(engine)
    repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with repeatable as connection, connection.begin():
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = row_counts(connection)
        command = ["pg_dump", "--format=custom", "--compress=0", f"--snapshot={snapshot}"]
        with _tool([*command, "--dbname", url], env=env) as stream:
            yield counts, stream


@contextmanager
def _tool(command: list[str], **options) -> Iterator[BinaryIO]:
    """Yield the output of the PostgreSQL program ``command`` (see :func:`streamed`)."""
    try:
        with streamed(command, command[0], **options) as stream:
            yield stream
    except ToolError as error:
        raise BackupToolError(str(error)) from None


def _script(source: Path, *options: str) -> AbstractContextManager[BinaryIO]:
    """Return the SQL script ``pg_restore`` makes of the dump ``source``, as a stream of lines."""
    return _tool(["pg_restore", *options, "--file=-", str(source)])


def counts_of(source: Path) -> dict[str, int]:
    """Return the rows the dump ``source`` holds per table of the schema (its ``COPY`` lines).

    Raises
    ------
    BackupToolError
        If ``pg_restore`` cannot read the dump.
    """
    counts: dict[str, int] = {}
    with _script(source, "--data-only") as lines:
        for line in lines:
            header = COPY_HEADER.match(line)
            if not header:
                continue
            name = header.group(1).decode().removeprefix("public.").strip('"')
            rows = 0
            for row in lines:
                if row == b"\\.\n":
                    break
                rows += 1
            counts[name] = rows
    known = set(table_names())
    return {name: rows for name, rows in counts.items() if name in known}


def _execute_script(
    connection: Connection,
    script: AbstractContextManager[BinaryIO],
    progress: Progress | None = None,
    tables: int | None = None,
) -> None:
    """Run a ``pg_restore`` script on ``connection``: its statements and its ``COPY`` data.

    ``progress`` hears of each of the ``tables`` loaded (unit ``table``).
    """
    with script as lines:
        _execute_lines(connection, lines, progress, tables)
    connection.exec_driver_sql("RESET ALL")  # the script's search_path and other settings


def _execute_lines(
    connection: Connection, lines: BinaryIO, progress: Progress | None, tables: int | None
) -> None:
    cursor = connection.connection.driver_connection.cursor()
    statements: list[bytes] = []
    known, loaded = set(table_names()), 0
    for line in lines:
        header = COPY_HEADER.match(line)
        if header is None:
            if not META_COMMAND.match(line):
                statements.append(line)
            continue
        if statements:
            cursor.execute(b"".join(statements))
            statements = []
        sql = b"COPY %s (%s) FROM STDIN" % (header.group(1), header.group(2))
        with cursor.copy(sql) as copy:
            batch, size = [], 0
            for row in lines:
                if row == b"\\.\n":
                    break
                batch.append(row)
                size += len(row)
                if size >= COPY_BATCH:
                    copy.write(b"".join(batch))
                    batch, size = [], 0
            copy.write(b"".join(batch))
        if header.group(1).decode().removeprefix("public.").strip('"') in known:
            loaded += 1
            report(progress, loaded, tables, "table")
    if statements:
        cursor.execute(b"".join(statements))


def restore_in_progress(engine: Engine) -> str | None:
    """Return what restore holds the database (which backup, which session), or ``None``.

    Reads ``pg_locks``, which any role may; a database that does not answer gives ``None``
    (the readiness check of the database reports that).
    """
    query = text(
        "SELECT l.pid, a.application_name FROM pg_locks l "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :high "
        "AND l.objid = :low AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    try:
        with engine.connect() as connection:
            found = connection.execute(
                query, {"high": RESTORE_LOCK[0], "low": RESTORE_LOCK[1]}
            ).first()
    except DBAPIError:
        return None
    if found is None:
        return None
    pid, application = found
    backup = (application or "").removeprefix(APPLICATION) if application else "?"
    return f"restore of backup {backup} in progress (database session {pid})"


def _blockers(engine: Engine) -> str:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT pid, usename, application_name, state FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' AND application_name NOT LIKE :ours"
            ),
            {"ours": f"{APPLICATION}%"},
        ).all()
    return "; ".join(f"pid {p} ({u}, {a or 'no application name'}, {s})" for p, u, a, s in rows)


@contextmanager
def hold(engine: Engine, backup_id: str) -> Iterator[Connection]:
    """Hold the database for a restore: yield a connection in a transaction that has it all.

    The transaction commits when the block ends without an error and rolls back otherwise.

    Raises
    ------
    DatabaseBusyError
        If another restore holds the database, or other sessions keep a table locked for
        longer than :data:`WAIT_SECONDS` (they are named); nothing was changed.
    """
    private = create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={"application_name": f"{APPLICATION}{backup_id}"[:63]},
    )
    try:
        with private.connect() as connection:
            connection.exec_driver_sql(f"SET lock_timeout = '{WAIT_SECONDS}s'")
            taken = connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:high, :low)"),
                {"high": RESTORE_LOCK[0], "low": RESTORE_LOCK[1]},
            ).scalar_one()
            if not taken:
                raise DatabaseBusyError(restore_in_progress(engine) or "a restore is in progress")
            tables = connection.execute(
                text(
                    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                )
            ).scalars()
            names = ", ".join(tables)
            if names:
                try:
                    connection.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
                except DBAPIError as error:
                    if "lock timeout" not in str(error):
                        raise
                    raise DatabaseBusyError(
                        f"other sessions kept the tables locked for {WAIT_SECONDS} s: "
                        f"{_blockers(engine) or 'they have ended'}; retry when they are idle"
                    ) from None
            connection.exec_driver_sql("SET lock_timeout = 0")
            yield connection
            connection.commit()
    finally:
        private.dispose()


def replace_all(connection: Connection, source: Path, progress: Progress | None = None) -> None:
    """Replace the held database's objects and rows with those of the dump ``source``.

    ``progress`` hears of each table loaded (unit ``table``).
    """
    script = _script(source, "--clean", "--if-exists")
    _execute_script(connection, script, progress, len(table_names()))


def replace_tables(
    connection: Connection, source: Path, tables: list[str], progress: Progress | None = None
) -> None:
    """Replace the rows of ``tables`` with the dump's, leaving every other table alone.

    Foreign-key triggers are off while rows are loaded (``session_replication_role =
    replica``, which needs a superuser), so no cascade reaches another table; then every
    foreign key touching the tables must resolve, or the caller's transaction rolls back.
    ``progress`` hears of each table loaded (unit ``table``).

    Raises
    ------
    cryoprotect.backup.consistency.InconsistentRestoreError
        If the restored rows and the rest of the database do not fit together.
    """
    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    for table in tables:
        connection.exec_driver_sql(f'DELETE FROM "{table}"')  # noqa: S608 (schema's names)
    options = [f"--table={table}" for table in tables]
    _execute_script(connection, _script(source, "--data-only", *options), progress, len(tables))
    for table in tables:
        if "id" in Base.metadata.tables[table].c:  # serial keys continue after the rows
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
            )
    check_references(connection, tables)
