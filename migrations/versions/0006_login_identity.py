"""Identity from the login; published rows stay put; new tables are closed until given policies.

``users.db_role`` names the database login of a person. On PostgreSQL the acting user is
derived from the login (``session_user``), so a person's own login acts only as that person
whatever ``app.current_user_id`` says; only logins that are members of
``cryoprotect_delegate`` (the service's dedicated login, never granted to people) or of
``cryoprotect_service`` (operators, who bypass Row Level Security anyway) may act for another
user through that setting. Superusers may too.

Other rules closed here (SQLite applies the same rules in ``cryoprotect.db.visibility``):

- a lab verification is read only by its verifier (its notes and prediction were readable by
  everyone who could see the experiment), and may point only at the verifier's own
  prediction (a private prediction of someone else and a missing one are refused alike);
- a user may change only the display name and e-mail of their own ``users`` row (no renaming
  onto a username an operator will later import for, no changing ``db_role`` or ``kind``);
- a public molecule, mixture or experiment may not be deleted or made private by the app
  role, its identifying columns may not change (a trigger), and a public mixture's
  components are fixed: others' experiments, predictions and verifications depend on them;
- an event trigger enables and forces Row Level Security on every table created later (and
  makes new views run with their caller's rights), so a table granted to the application
  role stays unreadable until it has policies. ``alembic_version`` gets forced RLS too, and
  every CryoProtect role may read it (commands check the schema revision first).

Policies now call ``(SELECT cryoprotect_current_user())``, evaluated once per query. The
upgrade needs a superuser on PostgreSQL (event triggers). The downgrade restores the previous
rules; the role ``cryoprotect_delegate`` stays (roles are cluster-wide).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
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
READERS = "cryoprotect_app, cryoprotect_reviewer"
PUBLISHED = {"molecules": ("name",), "mixtures": ("name",), "experiments": ("notes",)}
"""Tables whose public rows others depend on, and the columns their owner may still change."""

CURRENT_USER = """
CREATE OR REPLACE FUNCTION cryoprotect_current_user() RETURNS integer
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN pg_has_role(session_user, 'cryoprotect_delegate', 'MEMBER')
      OR pg_has_role(session_user, 'cryoprotect_service', 'MEMBER')
    THEN NULLIF(current_setting('app.current_user_id', true), '')::integer
    ELSE (SELECT u.id FROM public.users u WHERE u.db_role = session_user)
  END
$$
"""
"""The acting user: the login's own user, unless the login may act for others."""

OLD_CURRENT_USER = """
CREATE OR REPLACE FUNCTION cryoprotect_current_user() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('app.current_user_id', true), '')::integer
$$
"""

KEEP_PUBLISHED = """
CREATE OR REPLACE FUNCTION cryoprotect_keep_published() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  changed text;
BEGIN
  IF OLD.visibility IS DISTINCT FROM 'public'
     OR (SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user)
  THEN
    RETURN NEW;
  END IF;
  SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
  FROM jsonb_each(to_jsonb(NEW)) AS n(key, value)
  WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key AND n.key <> ALL (TG_ARGV);
  IF changed IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
      MESSAGE = format('%s %s is public, so its %s may not change', TG_TABLE_NAME, OLD.id, changed),
      HINT = 'Others'' rows may depend on a public row; an operator can change it.';
  END IF;
  RETURN NEW;
END
$$
"""

SECURE_NEW = """
CREATE OR REPLACE FUNCTION cryoprotect_secure_new_relations() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  created record;
BEGIN
  FOR created IN SELECT * FROM pg_event_trigger_ddl_commands()
    WHERE schema_name <> 'pg_temp' AND object_type IN ('table', 'view')
  LOOP
    IF created.object_type = 'table' THEN
      EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY',
                     created.object_identity);
    ELSE
      EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', created.object_identity);
    END IF;
  END LOOP;
END
$$
"""
"""New tables get forced RLS (no policy: nothing readable); new views run as their caller."""

ME = "(SELECT cryoprotect_current_user())"
"""The acting user, evaluated once per query (a subquery), not once per row."""
PER_ROW = "cryoprotect_current_user()"
OWN = f"(owner_id = {ME})"
UNPUBLISHED = "(visibility <> 'public')"
VISIBLE_MOLECULE = "(molecule_id IN (SELECT id FROM molecules))"
VISIBLE_MIXTURE = "(mixture_id IN (SELECT id FROM mixtures))"
VISIBLE_EXPERIMENT = "(experiment_id IN (SELECT id FROM experiments))"
OWN_MOLECULE = f"(molecule_id IN (SELECT id FROM molecules WHERE owner_id = {ME}))"
OWN_MIXTURE = f"(mixture_id IN (SELECT id FROM mixtures WHERE owner_id = {ME}))"
OWN_EXPERIMENT = f"(experiment_id IN (SELECT id FROM experiments WHERE owner_id = {ME}))"
OWN_PREDICTION = f"(prediction_id IN (SELECT id FROM predictions WHERE owner_id = {ME}))"
DRAFT_MIXTURE = f"(mixture_id IN (SELECT id FROM mixtures WHERE owner_id = {ME} AND {UNPUBLISHED}))"
SUBJECT = (
    f"(molecule_id IS NULL OR {VISIBLE_MOLECULE}) AND (mixture_id IS NULL OR {VISIBLE_MIXTURE})"
)


def _visible(column: str) -> str:
    return (
        f"visibility = 'public' OR {OWN} OR id IN "
        f"(SELECT {column} FROM shares WHERE grantee_id = {ME} AND {column} IS NOT NULL)"
    )


def _read(table: str, using: str) -> str:
    return f"CREATE POLICY {table}_select ON {table} FOR SELECT TO {READERS} USING ({using})"


def _writes(table: str, using: str, check: str, delete: str | None = None) -> list[str]:
    return [
        f"CREATE POLICY {table}_insert ON {table} FOR INSERT TO cryoprotect_app "
        f"WITH CHECK ({check})",
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE TO cryoprotect_app "
        f"USING ({using}) WITH CHECK ({check})",
        f"CREATE POLICY {table}_delete ON {table} FOR DELETE TO cryoprotect_app "
        f"USING ({delete or using})",
    ]


def policies(closed: bool) -> list[str]:
    """The policy set: ``closed`` with this revision's rules, otherwise revision 0005's."""
    kept = f"{OWN} AND {UNPUBLISHED}" if closed else OWN
    verification_read = (
        f"verifier_id = {ME}" if closed else f"verifier_id = {ME} OR {VISIBLE_EXPERIMENT}"
    )
    prediction = (
        f"(prediction_id IS NULL OR {OWN_PREDICTION})"
        if closed
        else f"(prediction_id IS NULL OR experiment_id IS NOT NULL OR {OWN_PREDICTION})"
    )
    components = DRAFT_MIXTURE if closed else OWN_MIXTURE
    return [
        _read("users", "true"),
        f"CREATE POLICY users_update ON users FOR UPDATE TO cryoprotect_app USING (id = {ME}) "
        f"WITH CHECK (id = {ME})",
        _read("properties", "true"),
        _read("model_versions", "true"),
        _read("molecules", _visible("molecule_id")),
        *_writes("molecules", OWN, OWN, kept),
        _read("mixtures", _visible("mixture_id")),
        *_writes("mixtures", OWN, OWN, kept),
        _read("experiments", _visible("experiment_id")),
        *_writes("experiments", OWN, f"{OWN} AND {SUBJECT}", kept),
        _read("molecule_synonyms", VISIBLE_MOLECULE),
        *_writes("molecule_synonyms", OWN_MOLECULE, OWN_MOLECULE),
        _read("mixture_components", VISIBLE_MIXTURE),
        *_writes("mixture_components", components, f"{components} AND {VISIBLE_MOLECULE}"),
        _read("predictions", OWN),
        *_writes("predictions", OWN, f"{OWN} AND {SUBJECT}"),
        _read("lab_verifications", verification_read),
        *_writes(
            "lab_verifications",
            f"verifier_id = {ME}",
            f"verifier_id = {ME} AND (experiment_id IS NULL OR {VISIBLE_EXPERIMENT}) "
            f"AND {prediction}",
        ),
        # Other tables' policies read shares: its read policy must stay free of subqueries
        # (a subquery there would recurse), so it calls the function per row.
        _read("shares", f"{PER_ROW} IN (owner_id, grantee_id)"),
        *_writes(
            "shares",
            OWN,
            f"{OWN} AND (molecule_id IS NULL OR {OWN_MOLECULE}) "
            f"AND (mixture_id IS NULL OR {OWN_MIXTURE}) "
            f"AND (experiment_id IS NULL OR {OWN_EXPERIMENT})",
        ),
    ]


def _replace_policies(closed: bool) -> None:
    for table in TABLES:
        op.execute(
            f"DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname FROM pg_policies "
            f"WHERE schemaname = 'public' AND tablename = '{table}' LOOP "
            f"EXECUTE format('DROP POLICY %I ON {table}', p.policyname); END LOOP; END $$"
        )
    for policy in policies(closed):
        op.execute(policy)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("db_role", sa.String(63), nullable=True))
        batch.create_unique_constraint("uq_users_db_role", ["db_role"])
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    if not connection.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
        raise RuntimeError(
            "migration 0006 creates an event trigger on PostgreSQL, which needs a superuser: "
            "run `cryoprotect db upgrade` as one"
        )
    op.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
        "'cryoprotect_delegate') THEN CREATE ROLE cryoprotect_delegate NOLOGIN; END IF; END $$"
    )
    op.execute(CURRENT_USER)
    op.execute("REVOKE UPDATE ON users FROM cryoprotect_app")
    op.execute("GRANT UPDATE (display_name, email) ON users TO cryoprotect_app")
    _replace_policies(closed=True)
    op.execute(KEEP_PUBLISHED)
    for table, editable in PUBLISHED.items():
        columns = ", ".join(f"'{column}'" for column in editable)
        op.execute(
            f"CREATE TRIGGER {table}_keep_published BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION cryoprotect_keep_published({columns})"
        )
    op.execute("ALTER TABLE alembic_version ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE alembic_version FORCE ROW LEVEL SECURITY")
    owner = connection.scalar(
        sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'alembic_version'")
    )
    op.execute(
        f'CREATE POLICY alembic_version_migrations ON alembic_version TO "{owner}" '
        "USING (true) WITH CHECK (true)"
    )
    op.execute(f"GRANT SELECT ON alembic_version TO {READERS}, cryoprotect_service")
    op.execute("CREATE POLICY alembic_version_select ON alembic_version FOR SELECT USING (true)")
    op.execute(SECURE_NEW)
    op.execute(
        "CREATE EVENT TRIGGER cryoprotect_secure_new_relations ON ddl_command_end "
        "WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE VIEW') "
        "EXECUTE FUNCTION cryoprotect_secure_new_relations()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP EVENT TRIGGER IF EXISTS cryoprotect_secure_new_relations")
        op.execute("DROP FUNCTION IF EXISTS cryoprotect_secure_new_relations()")
        op.execute("DROP POLICY IF EXISTS alembic_version_migrations ON alembic_version")
        op.execute("DROP POLICY IF EXISTS alembic_version_select ON alembic_version")
        op.execute(f"REVOKE SELECT ON alembic_version FROM {READERS}, cryoprotect_service")
        op.execute("ALTER TABLE alembic_version NO FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE alembic_version DISABLE ROW LEVEL SECURITY")
        for table in PUBLISHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_keep_published ON {table}")
        op.execute("DROP FUNCTION IF EXISTS cryoprotect_keep_published()")
        _replace_policies(closed=False)
        op.execute("REVOKE UPDATE (display_name, email) ON users FROM cryoprotect_app")
        op.execute("GRANT UPDATE ON users TO cryoprotect_app")
        op.execute(OLD_CURRENT_USER)
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_db_role", type_="unique")
        batch.drop_column("db_role")
