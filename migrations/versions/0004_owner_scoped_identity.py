"""Molecules and experiment record ids are unique per owner, not across all users.

Under Row Level Security a user cannot see another user's private rows. With an InChIKey
unique across the whole table, importing a structure that someone else keeps private would
fail on a key the importer cannot see, and the failure itself would tell that the private
molecule exists. Scoping both keys to the owner keeps private data private: each user (and
the public reference set) holds at most one row per InChIKey and per ``record_id``. Code
that reads across users groups molecules by InChIKey, never by row id.

The downgrade restores the global keys and stops, naming them, if two owners now hold the
same InChIKey or record id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = (("molecules", "inchikey"), ("experiments", "record_id"))


def upgrade() -> None:
    for table, column in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_{column}", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_owner_id_{column}", ["owner_id", column])
            batch.create_index(f"ix_{table}_{column}", [column])


def downgrade() -> None:
    connection = op.get_bind()
    for table, column in KEYS:
        shared = connection.scalars(
            sa.text(
                f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL "
                f"GROUP BY {column} HAVING COUNT(*) > 1 ORDER BY {column}"
            )
        ).all()
        if shared:
            raise RuntimeError(
                f"cannot make {table}.{column} unique again: several owners hold "
                + ", ".join(shared[:10])
                + (" ..." if len(shared) > 10 else "")
            )
    for table, column in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_{column}")
            batch.drop_constraint(f"uq_{table}_owner_id_{column}", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_{column}", [column])
