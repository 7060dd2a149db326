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
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; connect to a database")
run_migrations_online()
