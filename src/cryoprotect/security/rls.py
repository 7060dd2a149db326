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

from sqlalchemy import Connection, Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cryoprotect.db.access import APP_ROLE, REVIEWER_ROLE, SERVICE_ROLE, act_as, bind, refused
from cryoprotect.db.schema import Base
from cryoprotect.db.visibility import AccessDenied

ACTORS = ("owner", "other", "anonymous", "grantee", "reviewer", "service")
OPERATIONS = ("select", "insert", "update", "delete")
REFERENCE = ("users", "properties", "model_versions")
"""Tables everyone reads and only the service role writes (a user may update their own row)."""


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
    shared = (("molecule_id", "molecules"), ("mixture_id", "mixtures"))
    for column, target in (*shared, ("experiment_id", "experiments")):  # the last is probed
        rows["shares"] = _insert(
            connection,
            f"INSERT INTO shares (owner_id, grantee_id, {column}) VALUES (:o, :g, :t)",
            o=owner,
            g=grantee,
            t=rows[target],
        )
    rows["users"] = owner
    return _Fixture(users, rows, public)


def _inserts(fixture: _Fixture) -> dict[str, dict]:
    """Per table, the values of a new row claiming the owner's ownership or their rows."""
    owner, rows = fixture.users["owner"], fixture.rows
    molecule = {
        "inchikey": "RLSVERIFYNEWMO-UHFFFAOYSA-N",
        "canonical_smiles": "CCCO",
        "formula": "C3H8O",
        "molecular_weight": 60.1,
        "owner_id": owner,
    }
    measurement = {"property": "tg", "unit": "K", "citation": "made-up probe row"}
    return {
        "users": {"username": "rls-verify-new"},
        "properties": {
            "code": "rlsverify",
            "name": "probe",
            "unit": "K",
            "min_value": 0,
            "max_value": 1,
            "description": "probe",
            "in_solution": False,
        },
        "model_versions": {"property": "tg", "version": "rls-verify-new"},
        "molecules": molecule,
        "molecule_synonyms": {"molecule_id": rows["molecules"], "synonym": "rls new"},
        "mixtures": {"composition_key": "rls-verify-new", "owner_id": owner},
        "mixture_components": {
            "mixture_id": rows["mixtures"],
            "molecule_id": fixture.public_molecule,
            "amount": 2,
            "unit": "level",
        },
        "experiments": measurement
        | {"value": 210, "molecule_id": rows["molecules"], "owner_id": owner},
        "predictions": {
            "model_version_id": rows["model_versions"],
            "molecule_id": rows["molecules"],
            "value": 210,
            "owner_id": owner,
        },
        "lab_verifications": {"experiment_id": rows["experiments"], "verifier_id": owner},
        "shares": {
            "owner_id": owner,
            "grantee_id": fixture.users["other"],
            "molecule_id": rows["molecules"],
        },
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
        if refused(error):
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
        insert = Base.metadata.tables[table].insert().values(inserts[table])
        statements = {
            "select": (f"SELECT count(*) FROM {table} WHERE {key} = :t", {"t": target}),  # noqa: S608
            "insert": None,
            "update": (f"UPDATE {table} SET {key} = {key} WHERE {key} = :t", {"t": target}),  # noqa: S608
            "delete": (f"DELETE FROM {table} WHERE {key} = :t", {"t": target}),  # noqa: S608
        }
        for operation, statement in statements.items():
            for actor in ACTORS:

                def action(statement=statement, operation=operation, actor=actor, insert=insert):
                    _as(connection, actor, fixture)
                    if statement is None:
                        connection.execute(insert)  # refused rows raise
                        return 1
                    result = connection.execute(text(statement[0]), statement[1])
                    return result.scalar_one() if operation == "select" else result.rowcount

                allowed, detail = _attempt(connection, action)
                connection.exec_driver_sql("RESET ROLE")
                probes.append(
                    Probe(
                        table, operation, actor, allowed, expected(table, operation, actor), detail
                    )
                )
    return probes


def _models() -> dict[str, type]:
    return {mapper.class_.__tablename__: mapper.class_ for mapper in Base.registry.mappers}


def _orm_attempt(session: Session, model, operation: str, target, values: dict):
    key = model.__mapper__.primary_key[0]
    try:
        if operation == "select":
            found = session.execute(select(model).where(key == target)).first() is not None
            return found, "" if found else "no row visible"
        if operation == "insert":
            session.add(model(**values))
            session.flush()
            return True, ""
        change = (
            update(model).where(key == target).values({key.key: target})
            if operation == "update"
            else delete(model).where(key == target)
        )
        affected = session.execute(change.execution_options(synchronize_session=False)).rowcount
        return affected > 0, "" if affected > 0 else "no row visible"
    except AccessDenied as error:
        return False, str(error)
    except DBAPIError as error:
        message = str(error.orig).splitlines()[0]
        if refused(error):
            return False, message
        return True, f"passed the rules, stopped by: {message}"


def orm_access_matrix(engine: Engine) -> list[Probe]:
    """Run the access matrix through the application's ORM sessions, on either backend.

    The same probes as :func:`access_matrix`, made with ``select``/``update``/``delete``
    statements and ``session.add`` in sessions bound by :func:`cryoprotect.db.access.bind`:
    on PostgreSQL the policies answer, on SQLite the application's rules. The probe rows
    are committed first, so run it on a scratch database.
    """
    with engine.begin() as connection:
        fixture = _fixture(connection)
    inserts, models, probes = _inserts(fixture), _models(), []
    for table in table_order():
        target = "tg" if table == "properties" else fixture.rows[table]
        for operation in OPERATIONS:
            for actor in ACTORS:
                role = {"reviewer": REVIEWER_ROLE, "service": SERVICE_ROLE}.get(actor, APP_ROLE)
                with Session(engine) as session:
                    session.begin()
                    bind(session, fixture.users.get(actor), role)
                    allowed, detail = _orm_attempt(
                        session, models[table], operation, target, inserts[table]
                    )
                    session.rollback()
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
