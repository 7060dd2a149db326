"""Verify Row Level Security on a live PostgreSQL database: an audit and an access matrix.

The audit checks that every table of the schema has RLS enabled and forced, has policies,
and is owned by a role that is not a superuser (a superuser owner would ignore them).

The access matrix creates made-up probe rows (users, a private molecule, mixture,
experiment, prediction, verification, synonym, component and share of one user, some of them
shared with another) inside one transaction, tries select, insert, update and delete on
every table as each actor, and rolls everything back, so a production database is left as
it was. The connection must be allowed to ``SET ROLE`` to every CryoProtect role (a
superuser, or the migration role).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from cryoprotect.db.access import APP_ROLE, REVIEWER_ROLE, SERVICE_ROLE, act_as
from cryoprotect.db.schema import Base

ACTORS = ("owner", "other", "anonymous", "grantee", "reviewer", "service")
OPERATIONS = ("select", "insert", "update", "delete")
REFERENCE = ("users", "properties", "model_versions")
"""Tables everyone reads and only the service role writes (a user may update their own row)."""
PRIVILEGE_DENIED = "42501"


@dataclass
class Probe:
    """The outcome of one attempt: what happened against what the rules expect."""

    table: str
    operation: str
    actor: str
    allowed: bool
    expected: bool
    detail: str = ""

    @property
    def leak(self) -> bool:
        """Allowed although the rules deny it."""
        return self.allowed and not self.expected

    @property
    def blocked(self) -> bool:
        """Denied although the rules allow it."""
        return self.expected and not self.allowed


@dataclass
class RlsReport:
    """The audit's problems per table and the access matrix."""

    audit: dict[str, list[str]] = field(default_factory=dict)
    probes: list[Probe] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No audit problem, no leak and no wrongly blocked access."""
        return not any(self.audit.values()) and not any(p.leak or p.blocked for p in self.probes)

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        return {
            "passed": self.passed,
            "audit": self.audit,
            "leaks": [asdict(p) for p in self.probes if p.leak],
            "blocked": [asdict(p) for p in self.probes if p.blocked],
            "matrix": [asdict(p) for p in self.probes],
        }

    def matrix_lines(self) -> list[str]:
        """Render the matrix: a row per table, a column per actor, one letter per operation.

        ``S I U D`` for allowed, ``.`` for denied; ``!`` marks a leak, ``?`` a wrongly
        blocked access.
        """
        cells: dict[tuple[str, str], str] = {}
        for probe in self.probes:
            letter = probe.operation[0].upper() if probe.allowed else "."
            if probe.leak:
                letter = "!"
            elif probe.blocked:
                letter = "?"
            key = (probe.table, probe.actor)
            cells[key] = cells.get(key, "") + letter
        tables = sorted({p.table for p in self.probes}, key=table_order().index)
        lines = [f"{'table':<20}" + "".join(f"{actor:>11}" for actor in ACTORS)]
        for table in tables:
            lines.append(
                f"{table:<20}" + "".join(f"{cells.get((table, a), ''):>11}" for a in ACTORS)
            )
        return lines


def table_order() -> list[str]:
    """Return the schema's tables, parents first."""
    return [table.name for table in Base.metadata.sorted_tables]


def audit(connection: Connection) -> dict[str, list[str]]:
    """Return, per table of the schema, what is wrong with its RLS set-up (empty lists: none)."""
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, r.rolsuper, "
            "(SELECT count(*) FROM pg_policies p WHERE p.schemaname = 'public' "
            "AND p.tablename = c.relname) AS policies "
            "FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
        )
    ).all()
    found = {row.relname: row for row in rows}
    problems: dict[str, list[str]] = {}
    for table in table_order():
        row = found.get(table)
        issues = []
        if row is None:
            issues.append("table is missing")
        else:
            if not row.relrowsecurity:
                issues.append("row level security is not enabled")
            if not row.relforcerowsecurity:
                issues.append("row level security is not forced")
            if not row.policies:
                issues.append("no policies")
            if row.rolsuper:
                issues.append("owned by a superuser, which ignores the policies")
        problems[table] = issues
    return problems


@dataclass
class _Fixture:
    """Ids of the made-up probe rows."""

    users: dict[str, int]
    rows: dict[str, int]
    public_molecule: int


def _insert(connection: Connection, sql: str, **values) -> int:
    return connection.execute(text(sql + " RETURNING id"), values).scalar_one()


def _fixture(connection: Connection) -> _Fixture:
    """Create the probe rows (as the connecting role, which bypasses RLS)."""
    users = {
        actor: _insert(
            connection,
            "INSERT INTO users (username, kind) VALUES (:name, 'person')",
            name=f"rls-verify-{actor}",
        )
        for actor in ("owner", "other", "grantee", "reviewer")
    }
    owner, grantee = users["owner"], users["grantee"]
    public = _insert(
        connection,
        "INSERT INTO molecules (inchikey, canonical_smiles, formula, molecular_weight, owner_id, "
        "visibility) VALUES ('RLSVERIFYPUBLI-UHFFFAOYSA-N', 'CO', 'CH4O', 32.04, :o, 'public')",
        o=users["other"],
    )
    rows = {
        "molecules": _insert(
            connection,
            "INSERT INTO molecules (inchikey, canonical_smiles, formula, molecular_weight, "
            "owner_id) VALUES ('RLSVERIFYPRIVA-UHFFFAOYSA-N', 'CCO', 'C2H6O', 46.07, :o)",
            o=owner,
        )
    }
    molecule = rows["molecules"]
    rows["molecule_synonyms"] = _insert(
        connection,
        "INSERT INTO molecule_synonyms (molecule_id, synonym) VALUES (:m, 'rls verify')",
        m=molecule,
    )
    rows["mixtures"] = _insert(
        connection,
        "INSERT INTO mixtures (composition_key, owner_id) VALUES ('rls-verify', :o)",
        o=owner,
    )
    rows["mixture_components"] = _insert(
        connection,
        "INSERT INTO mixture_components (mixture_id, molecule_id, amount, unit) "
        "VALUES (:x, :m, 1, 'level')",
        x=rows["mixtures"],
        m=molecule,
    )
    rows["experiments"] = _insert(
        connection,
        "INSERT INTO experiments (property, value, unit, molecule_id, citation, owner_id) "
        "VALUES ('tg', 200, 'K', :m, 'made-up probe row', :o)",
        m=molecule,
        o=owner,
    )
    rows["model_versions"] = _insert(
        connection,
        "INSERT INTO model_versions (property, version) VALUES ('tg', 'rls-verify')",
    )
    rows["predictions"] = _insert(
        connection,
        "INSERT INTO predictions (model_version_id, molecule_id, value, owner_id) "
        "VALUES (:v, :m, 200, :o)",
        v=rows["model_versions"],
        m=molecule,
        o=owner,
    )
    rows["lab_verifications"] = _insert(
        connection,
        "INSERT INTO lab_verifications (experiment_id, prediction_id, verifier_id) "
        "VALUES (:e, :p, :o)",
        e=rows["experiments"],
        p=rows["predictions"],
        o=owner,
    )
    for column in ("molecule_id", "mixture_id", "experiment_id"):
        target = {"molecule_id": "molecules", "mixture_id": "mixtures"}.get(column, "experiments")
        rows["shares"] = _insert(
            connection,
            f"INSERT INTO shares (owner_id, grantee_id, {column}) VALUES (:o, :g, :t)",
            o=owner,
            g=grantee,
            t=rows[target],
        )
    rows["users"] = owner
    return _Fixture(users, rows, public)


def _inserts(fixture: _Fixture) -> dict[str, tuple[str, dict]]:
    """Per table, an insert that claims the owner's ownership or attaches to their rows."""
    owner, rows = fixture.users["owner"], fixture.rows
    return {
        "users": ("INSERT INTO users (username) VALUES ('rls-verify-new')", {}),
        "properties": (
            "INSERT INTO properties (code, name, unit, min_value, max_value, description, "
            "in_solution) VALUES ('rlsverify', 'probe', 'K', 0, 1, 'probe', false)",
            {},
        ),
        "model_versions": (
            "INSERT INTO model_versions (property, version) VALUES ('tg', 'rls-verify-new')",
            {},
        ),
        "molecules": (
            "INSERT INTO molecules (inchikey, canonical_smiles, formula, molecular_weight, "
            "owner_id) VALUES ('RLSVERIFYNEWMO-UHFFFAOYSA-N', 'CCCO', 'C3H8O', 60.1, :o)",
            {"o": owner},
        ),
        "molecule_synonyms": (
            "INSERT INTO molecule_synonyms (molecule_id, synonym) VALUES (:m, 'rls new')",
            {"m": rows["molecules"]},
        ),
        "mixtures": (
            "INSERT INTO mixtures (composition_key, owner_id) VALUES ('rls-verify-new', :o)",
            {"o": owner},
        ),
        "mixture_components": (
            "INSERT INTO mixture_components (mixture_id, molecule_id, amount, unit) "
            "VALUES (:x, :m, 2, 'level')",
            {"x": rows["mixtures"], "m": fixture.public_molecule},
        ),
        "experiments": (
            "INSERT INTO experiments (property, value, unit, molecule_id, citation, owner_id) "
            "VALUES ('tg', 210, 'K', :m, 'made-up probe row', :o)",
            {"m": rows["molecules"], "o": owner},
        ),
        "predictions": (
            "INSERT INTO predictions (model_version_id, molecule_id, value, owner_id) "
            "VALUES (:v, :m, 210, :o)",
            {"v": rows["model_versions"], "m": rows["molecules"], "o": owner},
        ),
        "lab_verifications": (
            "INSERT INTO lab_verifications (experiment_id, verifier_id) VALUES (:e, :o)",
            {"e": rows["experiments"], "o": owner},
        ),
        "shares": (
            "INSERT INTO shares (owner_id, grantee_id, molecule_id) VALUES (:o, :g, :m)",
            {"o": owner, "g": fixture.users["other"], "m": rows["molecules"]},
        ),
    }


def expected(table: str, operation: str, actor: str) -> bool:
    """Return whether the rules allow ``actor`` to ``operation`` the owner's row of ``table``.

    The owner's rows are private; the molecule, mixture and experiment are shared with the
    grantee, which makes their synonyms, components and verifications visible too.
    """
    if actor == "service":
        return True
    if table in REFERENCE:
        if operation == "select":
            return True
        return table == "users" and operation == "update" and actor == "owner"
    if actor == "owner":
        return True
    if actor == "grantee" and operation == "select":
        return table != "predictions"
    return False


def _attempt(connection: Connection, action: Callable[[], int]) -> tuple[bool, str]:
    """Run ``action`` in a savepoint; return whether RLS let it through, and why not."""
    savepoint = connection.begin_nested()
    try:
        affected = action()
        return affected > 0, "" if affected > 0 else "no row visible"
    except DBAPIError as error:
        state = getattr(error.orig, "sqlstate", "") or ""
        if state == PRIVILEGE_DENIED or "row-level security" in str(error.orig):
            return False, str(error.orig).splitlines()[0]
        return True, f"passed the policies, stopped by: {str(error.orig).splitlines()[0]}"
    finally:
        savepoint.rollback()


def _as(connection: Connection, actor: str, fixture: _Fixture) -> None:
    role = {"reviewer": REVIEWER_ROLE, "service": SERVICE_ROLE}.get(actor, APP_ROLE)
    act_as(connection, fixture.users.get(actor), role)


def access_matrix(connection: Connection) -> list[Probe]:
    """Try every operation on every table as every actor; return the probes (rolled back)."""
    fixture = _fixture(connection)
    inserts = _inserts(fixture)
    probes = []
    for table in table_order():
        key = "code" if table == "properties" else "id"
        target = "tg" if table == "properties" else fixture.rows[table]
        statements = {
            "select": (f"SELECT count(*) FROM {table} WHERE {key} = :t", {"t": target}),  # noqa: S608
            "insert": inserts[table],
            "update": (f"UPDATE {table} SET {key} = {key} WHERE {key} = :t", {"t": target}),  # noqa: S608
            "delete": (f"DELETE FROM {table} WHERE {key} = :t", {"t": target}),  # noqa: S608
        }
        for operation, (sql, values) in statements.items():
            for actor in ACTORS:

                def action(sql=sql, values=values, operation=operation, actor=actor) -> int:
                    _as(connection, actor, fixture)
                    result = connection.execute(text(sql), values)
                    return result.scalar_one() if operation == "select" else result.rowcount

                allowed, detail = _attempt(connection, action)
                connection.exec_driver_sql("RESET ROLE")
                probes.append(
                    Probe(
                        table, operation, actor, allowed, expected(table, operation, actor), detail
                    )
                )
    return probes


def verify(engine: Engine) -> RlsReport:
    """Audit the database behind ``engine`` and run the access matrix; change nothing.

    Raises
    ------
    ValueError
        If the database is not PostgreSQL.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(
            f"Row Level Security is a PostgreSQL feature; this database is {engine.dialect.name}"
        )
    with engine.connect() as connection:
        report = RlsReport(audit=audit(connection))
        connection.rollback()  # end the audit's read before the probes' transaction
        transaction = connection.begin()
        try:
            report.probes = access_matrix(connection)
        finally:
            transaction.rollback()
    return report
