"""Acting for a user: the one place a transaction learns whose data it may touch.

On PostgreSQL the Row Level Security policies (migration 0002) read the user from the
transaction-local setting ``app.current_user_id`` and apply to the roles
``cryoprotect_app`` (users' sessions) and ``cryoprotect_reviewer`` (read-only); on SQLite
the session applies the same rules itself. Every code path that works for a user opens its
transaction with :func:`user_session` (or calls :func:`bind` / :func:`act_as` on a session
or connection it already has), so the setting can never leak into another transaction:
``set_config(..., true)`` ends with the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cryoprotect.db.engine import transaction
from cryoprotect.db.visibility import AccessDenied, Actor, apply_rules

USER_SETTING = "app.current_user_id"
APP_ROLE = "cryoprotect_app"
REVIEWER_ROLE = "cryoprotect_reviewer"
SERVICE_ROLE = "cryoprotect_service"
ROLES = (APP_ROLE, REVIEWER_ROLE, SERVICE_ROLE)


def act_as(connection: Connection, user_id: int | None, role: str | None = APP_ROLE) -> None:
    """Make the open transaction on ``connection`` act for ``user_id`` (``None``: nobody).

    On PostgreSQL the transaction also switches to ``role`` (``SET LOCAL ROLE``; the login
    role must be a member of it), so the policies bind it even when the login could bypass
    them; ``role=None`` keeps the login role. Both last until the transaction ends.

    Raises
    ------
    ValueError
        If ``role`` is not one of :data:`ROLES`.
    """
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
    if connection.dialect.name == "postgresql":
        value = "" if user_id is None else str(int(user_id))  # an integer: safe to inline
        switch = f"SET LOCAL ROLE {role}; " if role is not None else ""
        connection.exec_driver_sql(  # one round trip
            f"{switch}SELECT set_config('{USER_SETTING}', '{value}', true)"
        )
    connection.info["cryoprotect_user_id"] = user_id


def bind(session: Session, user_id: int | None, role: str | None = APP_ROLE) -> None:
    """Make ``session``'s open transaction act for ``user_id`` as ``role``.

    PostgreSQL enforces the rules itself (see :func:`act_as`); on other databases the
    session applies the same rules to its ORM queries and flushes
    (:mod:`cryoprotect.db.visibility`).
    """
    connection = session.connection()
    act_as(connection, user_id, role)
    if connection.dialect.name != "postgresql":
        apply_rules(session, Actor(user_id, role or APP_ROLE))


@contextmanager
def user_session(
    engine: Engine, user_id: int | None, role: str | None = APP_ROLE
) -> Iterator[Session]:
    """Yield a session in one transaction acting for ``user_id`` (see :func:`bind`).

    A change the rules refuse raises :class:`~cryoprotect.db.visibility.AccessDenied`, on
    PostgreSQL (where the database refuses it) as on SQLite (where the session does); so does
    a login that may not switch to ``role``.
    """
    with transaction(engine) as session:
        try:
            bind(session, user_id, role)
            yield session
        except DBAPIError as error:
            if refused(error):
                raise AccessDenied(str(error.orig).splitlines()[0]) from error
            raise


def refused(error: DBAPIError) -> bool:
    """Return whether PostgreSQL refused a statement for lack of privilege or by a policy."""
    return getattr(error.orig, "sqlstate", "") == "42501" or "row-level security" in str(error.orig)
