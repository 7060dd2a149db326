"""Verify Row Level Security on a live PostgreSQL database: audit, access matrix, attacks.

The audit (:mod:`cryoprotect.security.audit`) checks every relation of the database. The
access matrix creates made-up probe rows (:mod:`cryoprotect.security.probes`) inside one
transaction and tries select, insert, update and delete on every table as each actor; the
attacks (:mod:`cryoprotect.security.attacks`) try to forge an identity from a person's login
and to break the rules in the ways people have found. Everything is rolled back, so a
production database is left as it was. The connection must be a superuser's: it becomes
throwaway logins with ``SET SESSION AUTHORIZATION``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cryoprotect.db.access import act_as, bind, refused
from cryoprotect.db.schema import Base
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.security.attacks import login_attacks, relation_attacks, rule_attacks
from cryoprotect.security.audit import audit
from cryoprotect.security.probes import (
    ACTORS,
    OPERATIONS,
    UPDATED_COLUMN,
    Fixture,
    Probe,
    expected,
    inserts,
    make_fixture,
    role_of,
    run_matrix,
    table_order,
)

__all__ = ["ACTORS", "OPERATIONS", "Probe", "RlsReport", "access_matrix", "verify"]


@dataclass
class RlsReport:
    """The audit's problems per relation, the access matrix and the attacks."""

    audit: dict[str, list[str]] = field(default_factory=dict)
    probes: list[Probe] = field(default_factory=list)
    attacks: list[Probe] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No audit problem, no leak and no wrongly blocked access, in the matrix or attacks."""
        tried = self.probes + self.attacks
        return not any(self.audit.values()) and not any(p.leak or p.blocked for p in tried)

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        tried = self.probes + self.attacks
        return {
            "passed": self.passed,
            "probes": len(tried),
            "audit": self.audit,
            "leaks": [asdict(p) for p in tried if p.leak],
            "blocked": [asdict(p) for p in tried if p.blocked],
            "matrix": [asdict(p) for p in self.probes],
            "attacks": [asdict(p) for p in self.attacks],
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


def access_matrix(connection: Connection, fixture: Fixture) -> list[Probe]:
    """Try every operation on every table as every actor, through :func:`act_as`."""
    probes = []
    for actor in ACTORS:
        role = role_of(actor)

        def setup(actor=actor, role=role) -> None:
            act_as(connection, fixture.users.get(actor), role)

        probes += run_matrix(connection, fixture, actor, setup, like=actor)
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
        column = getattr(model, UPDATED_COLUMN.get(model.__tablename__, key.key))
        change = (
            update(model).where(key == target).values({column: column})
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
        fixture = make_fixture(connection)
    values, models, probes = inserts(fixture), _models(), []
    for table in table_order():
        target = "tg" if table == "properties" else fixture.rows[table]
        for operation in OPERATIONS:
            for actor in ACTORS:
                role = role_of(actor)
                with Session(engine) as session:
                    session.begin()
                    bind(session, fixture.users.get(actor), role)
                    allowed, detail = _orm_attempt(
                        session, models[table], operation, target, values[table]
                    )
                    session.rollback()
                probes.append(
                    Probe(
                        table, operation, actor, allowed, expected(table, operation, actor), detail
                    )
                )
    return probes


def verify(engine: Engine) -> RlsReport:
    """Audit the database behind ``engine``, run the access matrix and the attacks.

    Nothing is changed: the probe rows, throwaway roles, tables and views live in one
    transaction that is rolled back.

    Raises
    ------
    ValueError
        If the database is not PostgreSQL.
    PermissionError
        If the connection is not a superuser's.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(
            f"Row Level Security is a PostgreSQL feature; this database is {engine.dialect.name}"
        )
    with engine.connect() as connection:
        superuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        if not connection.exec_driver_sql(superuser).scalar():
            raise PermissionError(
                "rls verify needs a superuser connection: it becomes throwaway logins "
                "with SET SESSION AUTHORIZATION"
            )
        report = RlsReport(audit=audit(connection))
        connection.rollback()  # end the audit's read before the probes' transaction
        transaction = connection.begin()
        try:
            fixture = make_fixture(connection)
            report.probes = access_matrix(connection, fixture)
            report.attacks = (
                login_attacks(connection, fixture)
                + rule_attacks(connection, fixture)
                + relation_attacks(connection, fixture)
            )
        finally:
            transaction.rollback()
    return report
