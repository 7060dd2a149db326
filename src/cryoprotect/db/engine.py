"""Engines and sessions for any SQLAlchemy URL (SQLite file by default, PostgreSQL in teams)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, connect_timeout: int | None = None) -> Engine:
    """Create an engine for ``url``; SQLite gets foreign keys enforced and its folder created.

    ``connect_timeout`` bounds, in seconds, how long a PostgreSQL connection may take to
    open (unless the URL sets ``connect_timeout`` itself); without it the driver may wait
    minutes for a server that accepts connections but does not answer.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    arguments = {}
    if connect_timeout is not None and "connect_timeout" not in parsed.query:
        arguments["connect_timeout"] = connect_timeout
    return create_engine(url, pool_pre_ping=True, connect_args=arguments)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """Yield a session in one transaction: committed on success, rolled back on any error."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
