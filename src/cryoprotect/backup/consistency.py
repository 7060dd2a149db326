"""Row counts and foreign-key consistency of the schema's tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Connection, func, inspect, select

from cryoprotect.db.repair import repair
from cryoprotect.db.schema import Base

VOCABULARY = frozenset({"properties"})
"""Tables the migrations fill; a database holding only these counts as empty."""


def table_names() -> list[str]:
    """Return the schema's tables, parents before children."""
    return [table.name for table in Base.metadata.sorted_tables]


def row_counts(connection: Connection) -> dict[str, int]:
    """Return the number of rows of every table of the schema the database holds."""
    present = set(inspect(connection).get_table_names())
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
        if table.name in present
    }


def holds_data(counts: dict[str, int]) -> bool:
    """Return whether any table other than the vocabulary has rows."""
    return any(rows for name, rows in counts.items() if name not in VOCABULARY)


class InconsistentRestoreError(RuntimeError):
    """A partial restore would leave rows pointing at missing rows; nothing was changed."""


def check_references(connection: Connection, tables: list[str]) -> None:
    """Raise unless every foreign key touching ``tables`` resolves (after a partial restore).

    Raises
    ------
    InconsistentRestoreError
        Naming each broken relation, e.g. ``experiments.molecule_id -> molecules.id: 3 rows
        (ids 4, 9, 12)``.
    """
    broken = [
        action.text()
        for action in repair(connection, dry_run=True)
        if action.child in tables or action.parent in tables
    ]
    if broken:
        raise InconsistentRestoreError(
            f"restoring {', '.join(tables)} would break references: {'; '.join(broken)}. "
            "Nothing was changed; restore the related tables too."
        )
