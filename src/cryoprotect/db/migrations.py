"""Schema migrations with Alembic, driven from code (``cryoprotect db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from cryoprotect.resources import resource_dir


def migrations_dir() -> Path:
    """Return the Alembic scripts: the checkout's ``migrations/``, else the installed copy."""
    return resource_dir("migrations")


def alembic_config(engine: Engine) -> Config:
    """Build an Alembic configuration that migrates the database behind ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the schema to ``revision`` (``base`` removes every table)."""
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or ``None`` for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """Return the newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
