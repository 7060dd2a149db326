"""Whether a restore holds the database: the one question the service asks before serving.

While a restore runs it keeps every other writer out (see the backends' ``hold``), and it
says so where others can see it without waiting on its locks: a locked file beside a
SQLite database, an advisory lock in ``pg_locks`` on PostgreSQL. Both vanish with the
restoring process, even when it is killed.
"""

from __future__ import annotations

from sqlalchemy import Engine

from cryoprotect.backup import postgres_backend, sqlite_backend


def restore_in_progress(engine: Engine) -> str | None:
    """Return why the database behind ``engine`` is unavailable because of a restore, or ``None``.

    The text names the backup being restored and who restores it, e.g. ``restore of backup
    20261129T030000123456Z in progress since 2026-11-29T09:12:03+00:00 (process 4242 on
    lab-server)``. Cheap enough to call before every request.
    """
    if engine.dialect.name == "sqlite":
        return sqlite_backend.restore_in_progress(engine)
    if engine.dialect.name == "postgresql":
        return postgres_backend.restore_in_progress(engine)
    return None
