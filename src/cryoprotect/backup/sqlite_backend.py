"""SQLite backups: a consistent copy of the file, and restores that shut out every other writer.

A backup reads the database file while holding a read transaction: in SQLite's default
rollback-journal mode no writer can change the file until it ends, so the bytes and the row
counts taken in that transaction are one snapshot. The file is read by a child process
(``cat``): closing a descriptor of this process on the file would drop SQLite's own locks.
A database in WAL mode is first copied with SQLite's online backup API.

A restore holds the database with an exclusive lock for its whole duration (SQLite's
``EXCLUSIVE`` locking mode keeps it across transactions), so other connections can neither
write nor read: they wait for their busy timeout and fail, and no acknowledged write can be
overwritten. A lock file beside the database (``<file>-restore``) says who restores what,
for the service to read.

A restore over data copies the pages through a write-ahead log rather than the rollback
journal when the target holds at least half as many pages as the backup (and has its page
size): the journal would first read and write out every old page the copy overwrites, the
log writes each new page once more and nothing else. The database goes back to its own
journal mode when the copy ends, either way.

A restore into a database the hold itself created (the file did not exist) copies no pages:
the checked backup, unpacked in the staging area, is locked, flushed to disk and renamed into
place (when the staging area is on the database's file system). A crash before the rename
leaves the empty file the hold created, after it the whole backup.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import StaticPool

from cryoprotect.backup.archive import Digests, compress, compress_file, fsync_file, fsync_folder
from cryoprotect.backup.consistency import check_references, table_names
from cryoprotect.backup.processes import streamed
from cryoprotect.progress import Progress, report

FILE = "database.sqlite.zst"
STEP_PAGES = 2048
"""Pages a restore copies per step while the backup is still being unpacked."""
METHOD = "copy"
CREATED, MOVED = "cryoprotect.created", "cryoprotect.moved"
"""Keys of a held connection's ``info``: whether the hold created the (empty) file, and the
locked connections to files renamed into place (closed when the hold ends)."""
WAIT_SECONDS = 10.0
"""How long a restore waits for other connections' transactions to end before refusing."""


class DatabaseBusyError(RuntimeError):
    """Another connection kept the database busy; the restore refused and changed nothing."""


def database_path(engine: Engine) -> Path:
    """Return the file of a SQLite engine."""
    return Path(engine.url.database)


def _counts(connection: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    return {
        name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]  # noqa: S608
        for name in table_names()
        if name in present
    }


def dump(
    engine: Engine, folder: Path, progress: Progress | None = None
) -> tuple[dict[str, int], Digests]:
    """Store a consistent copy of the database as :data:`FILE` in ``folder``.

    Returns the copy's row counts and the stored file's digests. Writers are held off only
    while the file is read and compressed (as long as SQLite's own backup API would).
    ``progress`` hears of the bytes compressed (unit ``B``).
    """
    path = database_path(engine)
    with closing(sqlite3.connect(_uri(path, "mode=rw"), uri=True, isolation_level=None)) as db:
        db.execute("BEGIN")
        counts = _counts(db)  # takes the shared lock the copy relies on
        if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            db.execute("COMMIT")
            return _dump_through_backup_api(db, folder, progress)
        size = (
            db.execute("PRAGMA page_count").fetchone()[0]
            * db.execute("PRAGMA page_size").fetchone()[0]
        )
        with streamed(["cat", "--", str(path)], "reading the database file") as stream:
            digests = compress(stream, folder / FILE, size, progress)
        db.execute("COMMIT")
    return counts, digests


def _dump_through_backup_api(
    db: sqlite3.Connection, folder: Path, progress: Progress | None
) -> tuple[dict, Digests]:
    work = folder / ".work"
    work.mkdir()
    copy_path = work / "copy.db"
    with closing(sqlite3.connect(copy_path)) as copy:
        db.backup(copy)
        counts = _counts(copy)
    digests = compress_file(copy_path, folder / FILE, progress)
    copy_path.unlink()
    work.rmdir()
    return counts, digests


def _uri(path: Path, query: str) -> str:
    return f"{Path(path).resolve().as_uri()}?{query}"


def _read_only(path: Path) -> sqlite3.Connection:
    """Open an unpacked backup file that nothing else uses (no locking needed)."""
    return sqlite3.connect(_uri(path, "mode=ro&immutable=1"), uri=True)


def counts_of(path: Path) -> dict[str, int]:
    """Return the row counts of the schema's tables in the SQLite file at ``path``."""
    with closing(_read_only(path)) as connection:
        return _counts(connection)


def integrity_problems(path: Path) -> list[str]:
    """Return SQLite's ``integrity_check`` complaints about the file (empty when sound)."""
    with closing(_read_only(path)) as connection:
        rows = [r[0] for r in connection.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def _signal_path(engine: Engine) -> Path:
    path = database_path(engine)
    return path.with_name(f"{path.name}-restore")


def restore_in_progress(engine: Engine) -> str | None:
    """Return what restore holds the database (who, which backup, since when), or ``None``."""
    path = _signal_path(engine)
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(descriptor, 4096).decode(errors="replace")
            try:
                facts = json.loads(text)
                return (
                    f"restore of backup {facts['backup']} in progress since {facts['since']} "
                    f"(process {facts['pid']} on {facts['host']})"
                )
            except (ValueError, KeyError, TypeError):
                return "a restore is in progress"
        return None  # a lock file left by a killed restore: nothing holds the database
    finally:
        os.close(descriptor)


@contextmanager
def hold(engine: Engine, backup_id: str) -> Iterator[Connection]:
    """Hold the database for a restore: yield a connection no other connection can get past.

    Raises
    ------
    DatabaseBusyError
        If another restore runs, or other connections keep a transaction open for longer
        than :data:`WAIT_SECONDS`; nothing was changed.
    """
    signal = _signal_path(engine)
    descriptor = os.open(signal, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            reason = restore_in_progress(engine) or "a restore is in progress"
            raise DatabaseBusyError(reason) from None
        facts = {
            "backup": backup_id,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(facts).encode(), 0)
        engine.dispose()  # this process's own idle connections
        created = not database_path(engine).exists()
        raw = sqlite3.connect(
            _uri(database_path(engine), "mode=rwc"),
            uri=True,
            timeout=WAIT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )
        private = create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)
        moved: list[sqlite3.Connection] = []
        try:
            raw.execute("PRAGMA locking_mode = EXCLUSIVE")
            try:
                raw.execute("BEGIN EXCLUSIVE")
                raw.execute("COMMIT")  # the exclusive lock stays until the connection closes
            except sqlite3.OperationalError as error:
                raise DatabaseBusyError(
                    f"the database stayed in use by another connection for {WAIT_SECONDS:g} s "
                    f"({error}): stop its writers and retry"
                ) from None
            with private.connect() as connection:
                connection.info[CREATED] = created
                connection.info[MOVED] = moved
                yield connection
        finally:
            private.dispose()
            raw.close()
            for locked in moved:
                locked.close()
            signal.unlink(missing_ok=True)
    finally:
        os.close(descriptor)


def _held_path(connection: Connection) -> Path:
    raw = connection.connection.driver_connection
    return Path(raw.execute("PRAGMA database_list").fetchone()[2])


def can_move_into_place(connection: Connection, folder: Path) -> bool:
    """Return whether a file in ``folder`` can be renamed over the held database.

    Only a database the hold created (the file did not exist) is replaced that way, and only
    from the same file system.
    """
    held = _held_path(connection)
    return bool(connection.info.get(CREATED)) and folder.stat().st_dev == held.stat().st_dev


def move_into_place(connection: Connection, source: Path) -> dict[str, int]:
    """Rename the checked SQLite file ``source`` over the held database; return its counts.

    Call only when :func:`can_move_into_place` allows it. ``source`` is first locked exactly
    as the hold locks the database (the lock goes with the file, so other connections stay
    shut out until the hold ends) and flushed to disk; the folder is flushed after the
    rename. The row counts are those of the database now in place.
    """
    target = _held_path(connection)
    locked = sqlite3.connect(_uri(source, "mode=rw"), uri=True, isolation_level=None)
    connection.info[MOVED].append(locked)
    locked.execute("PRAGMA locking_mode = EXCLUSIVE")
    locked.execute("BEGIN EXCLUSIVE")
    locked.execute("COMMIT")
    fsync_file(source)
    os.rename(source, target)
    fsync_folder(target.parent)
    return _counts(locked)


def replace_all(
    connection: Connection,
    source: Path,
    ready: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> None:
    """Replace the held database with the SQLite file ``source``, in one transaction.

    ``ready(n)``, if given, must block until the first ``n`` bytes of ``source`` are written
    (the file being unpacked meanwhile, at its full size already) and raise if they cannot
    be; asked for the whole file, it also checks the content. The copy then follows the
    unpacking :data:`STEP_PAGES` pages at a time and asks for the whole file before its
    last step, which commits: a failed check rolls the copy back, so the database either
    becomes the checked backup or stays as it was. ``progress`` hears of the bytes copied
    (unit ``B``).
    """
    raw = connection.connection.driver_connection
    size = source.stat().st_size
    wait = ready or (lambda _size: None)
    wait(min(size, 100))
    with source.open("rb") as header:  # read-only and lock-free: the file is ours alone
        page = int.from_bytes(header.read(100)[16:18], "big")
    page = 65536 if page == 1 else page
    pages = size // page
    if pages <= 2 * STEP_PAGES:
        wait(size)
    else:
        wait(STEP_PAGES * page)

    def follow(_status: int, remaining: int, total: int) -> None:
        copied = total - remaining
        report(progress, copied * page, total * page, "B")
        wait(size if remaining <= STEP_PAGES else (copied + STEP_PAGES) * page)

    with closing(_read_only(source)) as copy, _journal_for_copy(raw, page, pages):
        copy.execute(f"PRAGMA mmap_size = {size}")  # pages are read in place, not copied
        copy.backup(raw, pages=STEP_PAGES if pages > 2 * STEP_PAGES else -1, progress=follow)
    report(progress, size, size, "B")


@contextmanager
def _journal_for_copy(raw: sqlite3.Connection, page: int, pages: int) -> Iterator[None]:
    """Copy ``pages`` pages of ``page`` bytes through a write-ahead log if it writes less.

    A rollback journal saves every old page the copy overwrites (read, written, synced in
    batches as the page cache spills); a write-ahead log writes every new page twice (log,
    then checkpoint). The log is used when the target is in a rollback mode, has the
    backup's page size (a log cannot change it) and holds at least half as many pages as
    the backup. Its own mode comes back afterwards, which checkpoints the log and removes
    it; a crash before that leaves a log SQLite replays (a committed copy) or ignores.
    """
    mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    switch = (
        mode in ("delete", "truncate", "persist")
        and raw.execute("PRAGMA page_size").fetchone()[0] == page
        and 2 * raw.execute("PRAGMA page_count").fetchone()[0] >= pages
        and raw.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    )
    try:
        yield
    finally:
        if switch:
            raw.execute(f"PRAGMA journal_mode = {mode}")


def replace_tables(
    connection: Connection, source: Path, tables: list[str], progress: Progress | None = None
) -> None:
    """Replace the rows of ``tables`` in the held database with those in ``source``.

    Foreign-key actions are off while rows are swapped (so no cascade reaches another
    table); afterwards every foreign key touching the tables must resolve, or the
    transaction is rolled back. ``progress`` hears of each table replaced (unit ``table``).

    Raises
    ------
    cryoprotect.backup.consistency.InconsistentRestoreError
        If the restored rows and the rest of the database do not fit together.
    """
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, or it is ignored
    raw.execute("ATTACH DATABASE ? AS backup", (_uri(source, "mode=ro&immutable=1"),))
    try:
        raw.execute("BEGIN")
        try:
            for done, table in enumerate(tables, 1):
                raw.execute(f'DELETE FROM main."{table}"')  # noqa: S608 (the schema's names)
                raw.execute(f'INSERT INTO main."{table}" SELECT * FROM backup."{table}"')  # noqa: S608
                report(progress, done, len(tables), "table")
            check_references(connection, tables)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")
    finally:
        raw.execute("DETACH DATABASE backup")
        raw.execute("PRAGMA foreign_keys = ON")
