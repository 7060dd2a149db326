"""The database's integrity and validity checks, generated from the schema and the vocabulary.

Each :class:`Check` names the table (and column) it looks at and a query returning the rows
that break it; ``{batch}`` stands for the table (Great Expectations substitutes it and it
must not be aliased). Every foreign key gets an orphan check, every NOT NULL column, CHECK
constraint and length limit of the models a check of its own, so the health checks find in
the data whatever the database would have refused (and SQLite may have stored anyway). The
checks become the Great Expectations suites of :mod:`cryoprotect.health.project`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from sqlalchemy import CheckConstraint, String, Table

from cryoprotect.db.schema import SAME_MEASUREMENT, Base, check_name

CRITICAL = "critical"
WARNING = "warning"

BROKEN_COLUMN = "broken_column"
"""Column of a grouped check's rows that names the column a row breaks."""


@dataclass
class CheckInfo:
    """What a check is about: its suite, name, table and column, severity and meaning."""

    suite: str
    name: str
    table: str
    column: str | None
    severity: str
    description: str

    @property
    def where(self) -> str:
        """Return the table the check reads, with its column when it has one (``table.column``)."""
        return self.table + (f".{self.column}" if self.column else "")

    def info(self) -> dict:
        """Return these fields alone (for a result of the check)."""
        return {f.name: getattr(self, f.name) for f in fields(CheckInfo)}


@dataclass
class Check(CheckInfo):
    """One health check and its query of unexpected rows."""

    query: str = ""


def _key(table: Table) -> list[str]:
    """Return the columns that name a row of ``table`` in a result: its primary key."""
    return [c.name for c in table.primary_key.columns]


def _select(table: Table, columns: list[str]) -> str:
    wanted = _key(table) + [c for c in columns if c not in _key(table)]
    return ", ".join(wanted)


def orphan_checks() -> list[Check]:
    """Return one check per foreign key: rows pointing at a row that does not exist."""
    checks = []
    for table in Base.metadata.sorted_tables:
        for constraint in sorted(
            table.foreign_key_constraints, key=lambda c: [e.parent.name for e in c.elements]
        ):
            columns = [e.parent.name for e in constraint.elements]
            targets = [e.column for e in constraint.elements]
            referenced = targets[0].table.name
            present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
            own = ", ".join(columns) if len(columns) == 1 else f"({', '.join(columns)})"
            keys = ", ".join(t.name for t in targets)
            checks.append(
                Check(
                    suite="integrity",
                    name=f"orphan {table.name}.{'+'.join(columns)}",
                    table=table.name,
                    column=",".join(columns),
                    severity=CRITICAL,
                    description=f"{table.name}.{'+'.join(columns)} points at a missing "
                    f"{referenced} row",
                    query=f"SELECT {_select(table, columns)} FROM {{batch}} WHERE {present} "
                    f"AND {own} NOT IN (SELECT {keys} FROM {referenced})",
                )
            )
    return checks


def _grouped(suite: str, name: str, table: Table, tests: dict[str, str], meaning: str) -> Check:
    """Return one check over several columns of ``table``, each row once per column it breaks.

    ``tests`` maps a column to the SQL condition a row breaking it meets; the rows found name
    that column in :data:`BROKEN_COLUMN`.
    """
    key = ", ".join(_key(table))
    query = " UNION ALL ".join(
        f"SELECT {key}, '{column}' AS {BROKEN_COLUMN} FROM {{batch}} WHERE {test}"
        for column, test in tests.items()
    )
    return Check(
        suite, f"{table.name} {name}", table.name, ",".join(tests), CRITICAL, meaning, query
    )


def not_null_checks() -> list[Check]:
    """Return one check per table: no NULL in a column the schema declares NOT NULL."""
    checks = []
    for table in Base.metadata.sorted_tables:
        required = [c.name for c in table.columns if not c.nullable and not c.primary_key]
        # SQLite answers "x IS NULL" for a NOT NULL column without reading it: coalesce
        tests = {c: f"coalesce({c}, NULL) IS NULL" for c in required}
        if tests:
            meaning = f"a NULL in a NOT NULL column of {table.name}"
            checks.append(
                _grouped("integrity", "NOT NULL columns hold values", table, tests, meaning)
            )
    return checks


def length_checks() -> list[Check]:
    """Return one check per table: no text longer than its column's declared length."""
    checks = []
    for table in Base.metadata.sorted_tables:
        tests = {
            c.name: f"length({c.name}) > {c.type.length}"
            for c in table.columns
            if isinstance(c.type, String) and c.type.length
        }
        if tests:
            meaning = (
                f"a text longer than its column of {table.name} declares "
                "(PostgreSQL refuses it, SQLite stores it)"
            )
            checks.append(_grouped("invalid", "texts fit their columns", table, tests, meaning))
    return checks


def _mentioned(table: Table, sql: str) -> list[str]:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"'[^']*'", "", sql)))
    return [c.name for c in table.columns if c.name in words]


def constraint_checks() -> list[Check]:
    """Return one check per CHECK constraint of the models: rows that break its rule."""
    checks = []
    for table in Base.metadata.sorted_tables:
        rules = [c for c in table.constraints if isinstance(c, CheckConstraint)]
        for constraint in sorted(rules, key=check_name):
            rule = str(constraint.sqltext)
            columns = _mentioned(table, rule)
            name = check_name(constraint)
            checks.append(
                Check(
                    suite="invalid",
                    name=f"{table.name} rule {name}",
                    table=table.name,
                    column=",".join(columns) or None,
                    severity=CRITICAL,
                    description=f"a row breaking the rule {name}: {rule}",
                    query=f"SELECT {_select(table, columns)} FROM {{batch}} WHERE NOT ({rule})",
                )
            )
    return checks


def other_checks() -> list[Check]:
    """Return the checks no constraint expresses: repeats, and mixtures without components."""
    return [
        Check(
            "integrity",
            "duplicate molecules.inchikey",
            "molecules",
            "inchikey",
            CRITICAL,
            "one owner holds one InChIKey on several molecules",
            "SELECT owner_id, inchikey, COUNT(*) AS copies FROM {batch} "
            "GROUP BY owner_id, inchikey HAVING COUNT(*) > 1",
        ),
        Check(
            "integrity",
            "duplicate experiments",
            "experiments",
            None,
            WARNING,
            "the same measurement (subject, property, value, concentration, source, reference, "
            "citation, owner) entered more than once",
            f"SELECT MIN(id) AS first_id, COUNT(*) AS copies FROM {{batch}} "
            f"GROUP BY {', '.join(SAME_MEASUREMENT)} HAVING COUNT(*) > 1",
        ),
        Check(
            "invalid",
            "mixtures have components",
            "mixtures",
            "id",
            CRITICAL,
            "a mixture without any component",
            "SELECT id, name FROM {batch} "
            "WHERE id NOT IN (SELECT mixture_id FROM mixture_components)",
        ),
    ]


def sql_checks() -> list[Check]:
    """Return every unexpected-row check, integrity first."""
    return (
        orphan_checks() + not_null_checks() + length_checks() + constraint_checks() + other_checks()
    )


MOLECULE_FLAGS: dict[str, CheckInfo] = {
    "smiles_parses": CheckInfo(
        "invalid",
        "molecules.canonical_smiles parses",
        "molecules",
        "canonical_smiles",
        CRITICAL,
        "a SMILES that RDKit cannot parse",
    ),
    "inchikey_agrees": CheckInfo(
        "invalid",
        "molecules.inchikey agrees with the SMILES",
        "molecules",
        "inchikey",
        CRITICAL,
        "a stored InChIKey that differs from the one RDKit computes from the SMILES",
    ),
}
"""The RDKit checks of molecules: a flag column of the molecule frame, true when sound."""
