"""Acting for a user: the one place a transaction learns whose data it may touch.

On PostgreSQL the Row Level Security policies read the acting user from the function
``cryoprotect_current_user()`` (migration 0006): a person's own login (the ``users`` row whose
``db_role`` is the login, matched against ``session_user``) acts only as that person. Only
logins that are members of :data:`DELEGATE_ROLE` (the service's dedicated login, never
granted to people) or of :data:`SERVICE_ROLE` (operators), and superusers, may act for
another user, through the transaction-local setting ``app.current_user_id``. The policies
apply to the roles ``cryoprotect_app`` (users' sessions) and ``cryoprotect_reviewer``
(read-only). On SQLite, which has no logins, the session applies the same rules itself for
the user the code names.

Every code path that works for a user opens its transaction with :func:`user_session` (or
calls :func:`bind` / :func:`act_as` on a session or connection it already has), so neither
the role nor the setting can leak into another transaction (both are transaction-local).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cryoprotect.db.engine import transaction
from cryoprotect.db.schema import User
from cryoprotect.db.visibility import AccessDenied, Actor, apply_rules

USER_SETTING = "app.current_user_id"
APP_ROLE = "cryoprotect_app"
REVIEWER_ROLE = "cryoprotect_reviewer"
SERVICE_ROLE = "cryoprotect_service"
ROLES = (APP_ROLE, REVIEWER_ROLE, SERVICE_ROLE)
DELEGATE_ROLE = "cryoprotect_delegate"
"""Membership lets a login act for any user: for the service's own login, never for people."""

_TRUSTED_KEY = "cryoprotect_trusted_login"
_TRUSTED = (
    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN "
    f"('{DELEGATE_ROLE}', '{SERVICE_ROLE}') AND pg_has_role(session_user, oid, 'MEMBER'))"
)


def trusted_login(connection: Connection) -> bool:
    """Return whether ``connection``'s login may act for other users (PostgreSQL).

    Members of :data:`DELEGATE_ROLE` or :data:`SERVICE_ROLE`, and superusers, may. The answer
    is kept with the database connection, whose login does not change unless a superuser
    changes the session user (then call :func:`forget_login`).
    """
    if _TRUSTED_KEY not in connection.info:
        connection.info[_TRUSTED_KEY] = bool(connection.exec_driver_sql(_TRUSTED).scalar())
    return connection.info[_TRUSTED_KEY]


def forget_login(connection: Connection) -> None:
    """Forget what :func:`trusted_login` knows: call it after ``SET SESSION AUTHORIZATION``."""
    connection.info.pop(_TRUSTED_KEY, None)


def act_as(connection: Connection, user_id: int | None, role: str | None = APP_ROLE) -> None:
    """Make the open transaction on ``connection`` act for ``user_id`` (``None``: nobody).

    On PostgreSQL the transaction also switches to ``role`` (``SET LOCAL ROLE``; the login
    must be a member of it), so the policies bind it even when the login could bypass them;
    ``role=None`` keeps the login role. Both last until the transaction ends. The database,
    not this function, decides who the transaction acts for: a trusted login (see
    :func:`trusted_login`) acts for ``user_id``, any other login only as its own user, so
    asking it to act for someone else is refused.

    Raises
    ------
    ValueError
        If ``role`` is not one of :data:`ROLES`.
    AccessDenied
        If the login is a person's own login and ``user_id`` is someone else, or nobody.
    """
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
    if connection.dialect.name == "postgresql":
        value = "" if user_id is None else str(int(user_id))  # an integer: safe to inline
        switch = f"SET LOCAL ROLE {role}; " if role is not None else ""
        setting = f"set_config('{USER_SETTING}', '{value}', true)"
        if trusted_login(connection):
            connection.exec_driver_sql(f"{switch}SELECT {setting}")  # one round trip
        else:
            connection.exec_driver_sql(switch + f"SELECT {setting}")
            login, acting = connection.exec_driver_sql(
                "SELECT session_user, cryoprotect_current_user()"
            ).one()
            if acting != user_id:
                raise AccessDenied(
                    f"the login {login!r} acts only as user {acting}, not "
                    f"{'nobody' if user_id is None else f'user {user_id}'}: only the "
                    f"service's login ({DELEGATE_ROLE}) and operators may act for other users"
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
    a login that may not switch to ``role`` or may not act for ``user_id``.
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


def link_login(engine: Engine, username: str, login: str | None) -> None:
    """Make ``login`` the PostgreSQL login of the existing user ``username`` (``None``: unlink).

    Sessions of that login then act as this user and no other. Runs as :data:`SERVICE_ROLE`.

    Raises
    ------
    LookupError
        If there is no user ``username``, or (PostgreSQL) no role ``login``.
    ValueError
        If ``login`` may act for other users or bypass the access rules (a superuser, or a
        member of the service or delegate role): a person's login must not.
    """
    with user_session(engine, None, SERVICE_ROLE) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise LookupError(f"there is no user {username!r}")
        if login is not None and engine.dialect.name == "postgresql":
            trusted = session.execute(
                text(
                    "SELECT rolsuper OR rolbypassrls OR pg_has_role(oid, :service, 'MEMBER') "
                    "OR pg_has_role(oid, :delegate, 'MEMBER') FROM pg_roles WHERE rolname = :r"
                ),
                {"r": login, "service": SERVICE_ROLE, "delegate": DELEGATE_ROLE},
            ).scalar()
            if trusted is None:
                raise LookupError(f"there is no PostgreSQL role {login!r}")
            if trusted:
                raise ValueError(
                    f"{login!r} may act for other users or bypass the access rules; "
                    "link only a person's own login (a member of cryoprotect_app or "
                    "cryoprotect_reviewer)"
                )
        user.db_role = login
