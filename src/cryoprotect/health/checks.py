"""The database's integrity and validity checks, written as unexpected-row queries.

Each :class:`Check` names the table (and column) it looks at and a query returning the rows
that break it; ``{batch}`` stands for the table (Great Expectations substitutes it and it
must not be aliased). The list is built from the schema and the vocabulary, so every
foreign key gets an orphan check and every property its range and unit checks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cryoprotect.db.schema import Base
from cryoprotect.vocabulary import PROPERTIES

CRITICAL = "critical"
WARNING = "warning"


@dataclass
class CheckInfo:
    """What a check is about: its suite, name, table and column, severity and meaning."""

    suite: str
    name: str
    table: str
    column: str | None
    severity: str
    description: str

    def info(self) -> dict:
        """Return these fields alone (for a result of the check)."""
        return {f.name: getattr(self, f.name) for f in fields(CheckInfo)}


@dataclass
class Check(CheckInfo):
    """One health check and its query of unexpected rows."""

    query: str = ""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def orphan_checks() -> list[Check]:
    """Return one check per foreign key: rows pointing at a row that does not exist."""
    checks = []
    for table in Base.metadata.sorted_tables:
        for constraint in table.foreign_key_constraints:
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
                    query=f"SELECT id, {', '.join(columns)} FROM {{batch}} WHERE {present} "
                    f"AND {own} NOT IN (SELECT {keys} FROM {referenced})",
                )
            )
    return checks


def duplicate_checks() -> list[Check]:
    """Return checks for molecules entered twice and measurements entered twice."""
    same_measurement = (
        "property, molecule_id, mixture_id, value, unit, concentration, concentration_unit, "
        "source, reference, citation, owner_id"
    )
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
            f"GROUP BY {same_measurement} HAVING COUNT(*) > 1",
        ),
    ]


def invalid_value_checks() -> list[Check]:
    """Return checks for values outside a property's range, wrong units and bad amounts."""
    outside = " OR ".join(
        f"(property = {_quote(p.code)} AND (value < {p.min_value} OR value > {p.max_value}))"
        for p in PROPERTIES.values()
    )
    wrong_unit = " OR ".join(
        f"(property = {_quote(p.code)} AND unit <> {_quote(p.unit)})" for p in PROPERTIES.values()
    )
    known = ", ".join(_quote(code) for code in PROPERTIES)
    impossible_amount = (
        "amount < 0 OR (unit IN ('%w/v', '%v/v') AND amount > 100) "
        "OR (unit = 'mole fraction' AND amount > 1)"
    )
    return [
        Check(
            "invalid",
            "experiments.value in property range",
            "experiments",
            "value",
            CRITICAL,
            "a value outside its property's range",
            f"SELECT id, property, value FROM {{batch}} WHERE {outside}",
        ),
        Check(
            "invalid",
            "experiments.unit of the property",
            "experiments",
            "unit",
            CRITICAL,
            "a unit other than the property's own, or an unknown property",
            f"SELECT id, property, unit FROM {{batch}} WHERE {wrong_unit} "
            f"OR property NOT IN ({known})",
        ),
        Check(
            "invalid",
            "experiments.concentration not negative",
            "experiments",
            "concentration",
            CRITICAL,
            "a negative concentration",
            "SELECT id, concentration FROM {batch} WHERE concentration < 0",
        ),
        Check(
            "invalid",
            "mixture_components.amount possible",
            "mixture_components",
            "amount",
            CRITICAL,
            "a negative amount, a percentage above 100 or a mole fraction above 1",
            f"SELECT id, amount, unit FROM {{batch}} WHERE {impossible_amount}",
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
    return orphan_checks() + duplicate_checks() + invalid_value_checks()
