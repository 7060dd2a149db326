"""Row counts and foreign-key consistency of the schema's tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from cryoprotect.db.repair import repair
from cryoprotect.db.schema import Base

VOCABULARY = frozenset({"properties"})
"""Tables the migrations fill; a database holding only these counts as empty."""


def table_names() -> list[str]:
    """Return the schema's tables, parents before children."""
    return [table.name for table in Base.metadata.sorted_tables]


def row_counts(connection: Connection) -> dict[str, int]:
    """Return the number of rows of every table of the schema."""
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }


def holds_data(counts: dict[str, int]) -> bool:
    """Return whether any table other than the vocabulary has rows."""
    return any(rows for name, rows in counts.items() if name not in VOCABULARY)


def related_tables(tables: set[str]) -> set[str]:
    """Return ``tables`` and every table with a foreign key to or from one of them."""
    related = set(tables)
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if table.name in tables or key.column.table.name in tables:
                related |= {table.name, key.column.table.name}
    return related


def orphans(connection: Connection, tables: set[str]) -> list[str]:
    """Describe every foreign key touching ``tables`` that points at a missing row.

    Returns one line per broken relation, e.g. ``experiments.molecule_id -> molecules.id:
    3 rows (ids 4, 9, 12)``; an empty list when all references resolve.
    """
    found = [
        action
        for action in repair(connection, dry_run=True)
        if action.child in tables or action.parent in tables
    ]
    return [
        f"{a.relation}: {len(a.ids)} rows (ids {', '.join(str(i) for i in a.ids[:10])}"
        f"{', ...' if len(a.ids) > 10 else ''})"
        for a in found
    ]
