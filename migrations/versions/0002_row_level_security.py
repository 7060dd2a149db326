"""Row Level Security on PostgreSQL: roles, table ownership, grants and a policy set per table.

Roles (cluster-wide, created when missing, never dropped by a downgrade since other
databases may use them):

- ``cryoprotect_owner`` owns the tables. It is not a superuser, so FORCE ROW LEVEL SECURITY
  binds it too.
- ``cryoprotect_app`` is what users' sessions run as: bound by every policy. The user a
  transaction acts for is ``app.current_user_id`` (``set_config(..., true)``).
- ``cryoprotect_service`` has BYPASSRLS for admin work: backups, health checks, seeding.
- ``cryoprotect_reviewer`` may only read, under the same visibility rules.

Rules: a user reads their own rows, public rows and rows shared with them; writes only their
own rows (the owner cannot be forged), cannot attach components to someone else's mixture or
point at a molecule, mixture or experiment they cannot see; verifications are written by
their verifier; users, properties and model versions are readable by all and written by the
service role only. Without a current user, only public rows are visible and nothing can be
written. On SQLite this migration does nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "users",
    "properties",
    "molecules",
    "molecule_synonyms",
    "mixtures",
    "mixture_components",
    "experiments",
    "model_versions",
    "predictions",
    "lab_verifications",
    "shares",
)
ROLES = {
    "cryoprotect_owner": "NOLOGIN",
    "cryoprotect_app": "NOLOGIN",
    "cryoprotect_service": "NOLOGIN BYPASSRLS",
    "cryoprotect_reviewer": "NOLOGIN",
}
ME = "cryoprotect_current_user()"
READERS = "cryoprotect_app, cryoprotect_reviewer"

FUNCTIONS = """
CREATE OR REPLACE FUNCTION cryoprotect_current_user() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('app.current_user_id', true), '')::integer
$$;
"""


def _visible(column: str) -> str:
    """Public, owned by the user, or shared with them (the shares' own policy applies)."""
    return (
        f"visibility = 'public' OR {OWN} OR id IN "
        f"(SELECT {column} FROM shares WHERE grantee_id = {ME} AND {column} IS NOT NULL)"
    )


OWN = f"(owner_id = {ME})"
# A subquery on another table sees only what that table's policies let the user see; the
# policies reference each other without a cycle (shares' read policy references no table).
VISIBLE_MOLECULE = "(molecule_id IN (SELECT id FROM molecules))"
VISIBLE_MIXTURE = "(mixture_id IN (SELECT id FROM mixtures))"
VISIBLE_EXPERIMENT = "(experiment_id IN (SELECT id FROM experiments))"
OWN_MOLECULE = f"(molecule_id IN (SELECT id FROM molecules WHERE owner_id = {ME}))"
OWN_MIXTURE = f"(mixture_id IN (SELECT id FROM mixtures WHERE owner_id = {ME}))"
OWN_EXPERIMENT = f"(experiment_id IN (SELECT id FROM experiments WHERE owner_id = {ME}))"


def _writes(table: str, using: str, check: str) -> list[str]:
    """Insert (checked), update (seen and checked) and delete (seen) policies for the app."""
    return [
        f"CREATE POLICY {table}_insert ON {table} FOR INSERT TO cryoprotect_app "
        f"WITH CHECK ({check})",
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE TO cryoprotect_app "
        f"USING ({using}) WITH CHECK ({check})",
        f"CREATE POLICY {table}_delete ON {table} FOR DELETE TO cryoprotect_app USING ({using})",
    ]


def _read(table: str, using: str) -> str:
    return f"CREATE POLICY {table}_select ON {table} FOR SELECT TO {READERS} USING ({using})"


SUBJECT = (
    f"(molecule_id IS NULL OR {VISIBLE_MOLECULE}) AND (mixture_id IS NULL OR {VISIBLE_MIXTURE})"
)
"""The molecule or mixture a row is about is one the user can see."""


POLICIES = [
    _read("users", "true"),
    f"CREATE POLICY users_update ON users FOR UPDATE TO cryoprotect_app USING (id = {ME}) "
    f"WITH CHECK (id = {ME})",
    _read("properties", "true"),
    _read("model_versions", "true"),
    _read("molecules", _visible("molecule_id")),
    *_writes("molecules", OWN, OWN),
    _read("mixtures", _visible("mixture_id")),
    *_writes("mixtures", OWN, OWN),
    _read("experiments", _visible("experiment_id")),
    *_writes("experiments", OWN, f"{OWN} AND {SUBJECT}"),
    _read("molecule_synonyms", VISIBLE_MOLECULE),
    *_writes("molecule_synonyms", OWN_MOLECULE, OWN_MOLECULE),
    _read("mixture_components", VISIBLE_MIXTURE),
    *_writes("mixture_components", OWN_MIXTURE, f"{OWN_MIXTURE} AND {VISIBLE_MOLECULE}"),
    _read("predictions", OWN),
    *_writes("predictions", OWN, f"{OWN} AND {SUBJECT}"),
    _read("lab_verifications", f"verifier_id = {ME} OR {VISIBLE_EXPERIMENT}"),
    *_writes(
        "lab_verifications", f"verifier_id = {ME}", f"verifier_id = {ME} AND {VISIBLE_EXPERIMENT}"
    ),
    _read("shares", f"{OWN} OR grantee_id = {ME}"),
    *_writes(
        "shares",
        OWN,
        f"{OWN} AND (molecule_id IS NULL OR {OWN_MOLECULE}) "
        f"AND (mixture_id IS NULL OR {OWN_MIXTURE}) "
        f"AND (experiment_id IS NULL OR {OWN_EXPERIMENT})",
    ),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for role, options in ROLES.items():
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} {options}; END IF; END $$"
        )
    tables = ", ".join(TABLES)
    op.execute(
        "GRANT USAGE ON SCHEMA public TO cryoprotect_app, cryoprotect_service, cryoprotect_reviewer"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO cryoprotect_app")
    op.execute(f"GRANT SELECT ON {tables} TO cryoprotect_reviewer")
    op.execute(f"GRANT ALL ON {tables} TO cryoprotect_service")
    op.execute(
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cryoprotect_app, "
        "cryoprotect_service"
    )
    op.execute(FUNCTIONS)
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} OWNER TO cryoprotect_owner")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for policy in POLICIES:
        op.execute(policy)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    tables = ", ".join(TABLES)
    for table in TABLES:
        op.execute(
            f"DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname FROM pg_policies "
            f"WHERE schemaname = 'public' AND tablename = '{table}' LOOP "
            f"EXECUTE format('DROP POLICY %I ON {table}', p.policyname); END LOOP; END $$"
        )
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} OWNER TO CURRENT_USER")
    op.execute("DROP FUNCTION IF EXISTS cryoprotect_current_user()")
    op.execute(
        f"REVOKE ALL ON {tables} FROM cryoprotect_app, cryoprotect_service, cryoprotect_reviewer"
    )
    op.execute(
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM cryoprotect_app, cryoprotect_service"
    )
    op.execute(
        "REVOKE USAGE ON SCHEMA public FROM cryoprotect_app, cryoprotect_service, "
        "cryoprotect_reviewer"
    )
