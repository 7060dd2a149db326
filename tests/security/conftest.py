"""Fixtures of the security tests: throwaway login roles on the PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from cryoprotect.db.engine import make_engine


@pytest.fixture
def login(two_users, postgres_admin) -> Iterator[Callable[..., tuple[str, Engine]]]:
    """Make a throwaway login role that is a member of ``roles``; return its name and engine."""
    engine, _ = two_users
    made: list[tuple[str, Engine]] = []

    def make(kind: str, *roles: str) -> tuple[str, Engine]:
        name = f"cp_test_{kind}_{uuid.uuid4().hex[:8]}"
        with postgres_admin.connect() as connection:
            connection.execute(text(f"CREATE ROLE {name} LOGIN IN ROLE {', '.join(roles)}"))
        made.append((name, make_engine(engine.url.set(username=name).render_as_string(False))))
        return made[-1]

    yield make
    for name, eng in made:
        eng.dispose()
        with postgres_admin.connect() as connection:
            connection.execute(text(f"DROP ROLE IF EXISTS {name}"))
