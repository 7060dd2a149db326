"""Alembic environment: migrates the engine handed over by ``cryoprotect.db.migrations``.

Run from the command line with ``cryoprotect db upgrade``; the database URL comes from the
settings (``CRYOPROTECT_DATABASE_URL``).
"""

from alembic import context

from cryoprotect.db.schema import Base

config = context.config


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:
        from cryoprotect.config import get_settings
        from cryoprotect.db.engine import make_engine

        engine = make_engine(get_settings().resolved_database_url)
    return engine


def run_migrations_online() -> None:
    """Run the migrations in one transaction on the configured engine."""
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # batch migrations rebuild tables: dropping one must not cascade
            _sqlite_foreign_keys(connection, enabled=False)
            broken_before = _broken_references(connection)
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and _broken_references(connection) - broken_before:
                raise RuntimeError(
                    "the migration left rows pointing at missing rows: "
                    f"{sorted(_broken_references(connection) - broken_before)[:10]}"
                )
        if sqlite:
            _sqlite_foreign_keys(connection, enabled=True)


def _sqlite_foreign_keys(connection, enabled: bool) -> None:
    """Switch SQLite's foreign key enforcement (only possible outside a transaction)."""
    connection.commit()
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    connection.commit()


def _broken_references(connection) -> set[tuple]:
    """Return (table, rowid, parent) for every row pointing at a missing row.

    SQLite also numbers the foreign key, but a rebuilt table may number them differently.
    """
    return {tuple(row[:3]) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")}


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; connect to a database")
run_migrations_online()
