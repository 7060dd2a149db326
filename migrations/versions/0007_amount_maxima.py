"""Shares of the whole cannot exceed the whole, for every such unit and in both tables.

A mixture component in %w/v could exceed 100 (only %v/v and mole fractions were bounded) and
an experiment's concentration had no upper bound at all, although the health checks and the
importer treat amounts above 100 %w/v, 100 %v/v or a mole fraction of 1 as impossible. This
revision adds the missing CHECK constraints. Rows that break them stop the upgrade with a
message naming them (fix or delete them first); nothing is changed silently.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, constraint name, rule): a frozen copy of the vocabulary's AMOUNT_MAXIMA at this revision
NEW_CHECKS = (
    (
        "mixture_components",
        "ck_mixture_components_weight_percent_at_most_100",
        "unit NOT IN ('%w/v') OR amount <= 100",
    ),
    (
        "experiments",
        "ck_experiments_concentration_mole_fraction_at_most_one",
        "concentration_unit NOT IN ('mole fraction') OR concentration <= 1",
    ),
    (
        "experiments",
        "ck_experiments_concentration_volume_percent_at_most_100",
        "concentration_unit NOT IN ('%v/v') OR concentration <= 100",
    ),
    (
        "experiments",
        "ck_experiments_concentration_weight_percent_at_most_100",
        "concentration_unit NOT IN ('%w/v') OR concentration <= 100",
    ),
)


def _refuse_breaking_rows() -> None:
    connection = op.get_bind()
    problems = []
    for table, name, rule in NEW_CHECKS:
        ids = connection.execute(
            sa.text(f"SELECT id FROM {table} WHERE NOT ({rule}) ORDER BY id LIMIT 10")
        ).scalars()
        found = list(ids)
        if found:
            problems.append(f"{table} rows {found} break {name} ({rule})")
    if problems:
        raise RuntimeError("cannot add the amount limits: " + "; ".join(problems))


def upgrade() -> None:
    _refuse_breaking_rows()
    for table in ("mixture_components", "experiments"):
        with op.batch_alter_table(table) as batch:
            for owner, name, rule in NEW_CHECKS:
                if owner == table:
                    batch.create_check_constraint(op.f(name), rule)


def downgrade() -> None:
    for table in ("experiments", "mixture_components"):
        with op.batch_alter_table(table) as batch:
            for owner, name, _ in reversed(NEW_CHECKS):
                if owner == table:
                    batch.drop_constraint(op.f(name), type_="check")
