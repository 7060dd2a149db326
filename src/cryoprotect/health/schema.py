"""Schema checks: the migration revision, and tables, columns, types and indexes (Alembic).

Alembic's autogenerate comparison of the live database with the models finds what the
column-set expectations cannot: a changed type, a dropped index or constraint.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from cryoprotect.db.migrations import current_revision, head_revision
from cryoprotect.db.schema import Base
from cryoprotect.health.checks import CRITICAL
from cryoprotect.health.expectations import CheckResult


def _describe(diff) -> tuple[str, str | None, str]:
    """Return (table, column, message) for one Alembic difference."""
    if isinstance(diff, list):  # column modifications come as a list of tuples
        kind, _, table, column, _, existing, wanted = diff[0]
        return (
            table,
            column,
            f"{kind.replace('_', ' ')}: {existing} in the database, {wanted} expected",
        )
    kind, subject = diff[0], diff[1]
    if kind in {"add_index", "remove_index"}:
        where = "missing" if kind == "add_index" else "not in the schema"
        columns = ",".join(c.name for c in subject.columns)
        return subject.table.name, columns, f"index {subject.name} {where}"
    if kind in {"add_table", "remove_table"}:
        where = "missing" if kind == "add_table" else "not in the schema"
        return subject.name, None, f"table {where}"
    if kind in {"add_column", "remove_column"}:
        where = "missing" if kind == "add_column" else "not in the schema"
        return diff[2], diff[3].name, f"column {where}"
    name = getattr(subject, "name", None) or str(subject)
    table = getattr(getattr(subject, "table", None), "name", "")
    return table, None, f"{kind.replace('_', ' ')} {name}"


def schema_results(engine: Engine) -> list[CheckResult]:
    """Check the revision and compare tables, columns, types and indexes with the models."""
    current, head = current_revision(engine), head_revision(engine)
    results = [
        CheckResult(
            suite="schema",
            name="migration revision is the newest",
            table="alembic_version",
            column="version_num",
            severity=CRITICAL,
            description="the database is migrated to the newest revision the code knows",
            status="pass" if current == head else "fail",
            message="" if current == head else f"at {current!r}, newest is {head!r}",
        )
    ]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    for diff in differences:
        table, column, message = _describe(diff)
        results.append(
            CheckResult(
                suite="schema",
                name=f"{table} matches the schema",
                table=table,
                column=column,
                severity=CRITICAL,
                description="tables, columns, types and indexes as the models define them",
                status="fail",
                unexpected_count=1,
                message=message,
            )
        )
    if not differences:
        results.append(
            CheckResult(
                suite="schema",
                name="tables, columns, types and indexes match the schema",
                table="*",
                column=None,
                severity=CRITICAL,
                description="tables, columns, types and indexes as the models define them",
                status="pass",
            )
        )
    return results
