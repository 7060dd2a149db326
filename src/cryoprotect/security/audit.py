"""Audit the Row Level Security set-up of a live PostgreSQL database, table by table.

Every relation in every schema of the database is audited, not a fixed list:

- every table (and partition) must have Row Level Security enabled and forced;
- the application's tables must also have policies and an owner that is not a superuser
  (a superuser ignores the policies);
- a view the application roles may read must run with its caller's rights
  (``security_invoker``), and they may not read materialized views or foreign tables, which
  Row Level Security does not cover;
- the event trigger that closes new tables must be in place;
- neither people's group roles nor any login linked to a user (``users.db_role``) may act
  for other users or bypass the rules.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from cryoprotect.db.access import APP_ROLE, DELEGATE_ROLE, REVIEWER_ROLE, SERVICE_ROLE
from cryoprotect.security.probes import table_order

EVENT_TRIGGER = "cryoprotect_secure_new_relations"
PEOPLE_ROLES = (APP_ROLE, REVIEWER_ROLE)
_RELATIONS = text(
    "SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, "
    "c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, r.rolsuper AS super_owner, "
    "coalesce(c.reloptions, '{}') AS options, "
    "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies, "
    "has_table_privilege(:app, c.oid, 'SELECT') "
    "OR has_table_privilege(:reviewer, c.oid, 'SELECT') AS readable "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_roles r ON r.oid = c.relowner "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)
_TRUSTED_MEMBERS = text(
    "SELECT r.rolname AS role, t.rolname AS trusted FROM pg_roles r "
    "JOIN pg_roles t ON t.rolname IN (:service, :delegate) "
    "WHERE r.rolname IN (:app, :reviewer) AND pg_has_role(r.oid, t.oid, 'MEMBER')"
)
_TRUSTED_PEOPLE = text(
    "SELECT u.username, u.db_role, r.rolsuper, r.rolbypassrls, EXISTS (SELECT 1 FROM pg_roles t "
    "WHERE t.rolname IN (:service, :delegate) AND pg_has_role(r.oid, t.oid, 'MEMBER')) "
    "AS acts_for_others FROM users u JOIN pg_roles r ON r.rolname = u.db_role"
)


def _invoker(options: list[str]) -> bool:
    return any(
        o.split("=", 1)[0] == "security_invoker" and o.split("=", 1)[1] in ("true", "on", "1")
        for o in options
    )


def _relation_issues(row, application: bool) -> list[str]:
    if row.kind in ("r", "p"):
        issues = []
        if not row.enabled:
            issues.append("row level security is not enabled")
        if not row.forced:
            issues.append("row level security is not forced")
        if application and not row.policies:
            issues.append("no policies")
        if application and row.super_owner:
            issues.append("owned by a superuser, which ignores the policies")
        return issues
    if not row.readable:
        return []
    if row.kind == "v" and not _invoker(row.options):
        return ["a view the application roles may read runs with its owner's rights"]
    if row.kind in ("m", "f"):
        kind = "materialized view" if row.kind == "m" else "foreign table"
        return [f"the application roles may read this {kind}, which no policy covers"]
    return []


def audit(connection: Connection) -> dict[str, list[str]]:
    """Return, per relation (and role, login or trigger), what is wrong (empty lists: none)."""
    values = {"app": APP_ROLE, "reviewer": REVIEWER_ROLE}
    rows = connection.execute(_RELATIONS, values).all()
    application = set(table_order())
    found = {row.name for row in rows if row.schema == "public"}
    problems: dict[str, list[str]] = {
        table: ["table is missing"] for table in sorted(application - found)
    }
    for row in rows:
        name = row.name if row.schema == "public" else f"{row.schema}.{row.name}"
        is_app = row.schema == "public" and row.name in application
        problems[name] = _relation_issues(row, is_app)
    enabled = connection.execute(
        text("SELECT evtenabled <> 'D' FROM pg_event_trigger WHERE evtname = :n"),
        {"n": EVENT_TRIGGER},
    ).scalar()
    problems[f"event trigger {EVENT_TRIGGER}"] = (
        []
        if enabled
        else ["missing or disabled: a new table granted to the application would be readable"]
    )
    roles = {"service": SERVICE_ROLE, "delegate": DELEGATE_ROLE}
    for row in connection.execute(_TRUSTED_MEMBERS, values | roles):
        problems.setdefault(f"role {row.role}", []).append(
            f"is a member of {row.trusted}: every login of a person could act for others"
        )
    for row in connection.execute(_TRUSTED_PEOPLE, roles):
        issues = problems.setdefault(f"login {row.db_role}", [])
        if row.rolsuper or row.rolbypassrls:
            issues.append(f"the login of user {row.username!r} bypasses Row Level Security")
        if row.acts_for_others:
            issues.append(f"the login of user {row.username!r} may act for other users")
    return problems
