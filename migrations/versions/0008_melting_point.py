"""Melting point (``tm``, K) becomes a property: measured values the Tg model can use.

The curated Tg sources report the melting point of most compounds; the Tg/Tm ratio of organic
glass formers is about 0.7, so a measured melting point is a strong input for predicting Tg.
The upgrade adds the property and widens the value-range check of experiments to it; the
downgrade deletes melting-point experiments (they cannot exist in the old schema), restores
the previous check and removes the property.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANGES_BEFORE = (
    "WHEN 'tg' THEN value >= 30.0 AND value <= 800.0 "
    "WHEN 'iri' THEN value >= 0.0 AND value <= 300.0 "
    "WHEN 'viability' THEN value >= 0.0 AND value <= 150.0"
)
RANGES_AFTER = (
    "WHEN 'tg' THEN value >= 30.0 AND value <= 800.0 "
    "WHEN 'tm' THEN value >= 30.0 AND value <= 1000.0 "
    "WHEN 'iri' THEN value >= 0.0 AND value <= 300.0 "
    "WHEN 'viability' THEN value >= 0.0 AND value <= 150.0"
)
CHECK = "ck_experiments_value_in_property_range"


def _range_check(ranges: str) -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), f"CASE property {ranges} ELSE 0 = 1 END")


def upgrade() -> None:
    op.bulk_insert(
        sa.table(
            "properties",
            sa.column("code", sa.String),
            sa.column("name", sa.String),
            sa.column("unit", sa.String),
            sa.column("min_value", sa.Float),
            sa.column("max_value", sa.Float),
            sa.column("description", sa.Text),
            sa.column("in_solution", sa.Boolean),
        ),
        [
            {
                "code": "tm",
                "name": "melting point",
                "unit": "K",
                "min_value": 30.0,
                "max_value": 1000.0,
                "description": "Melting point of the pure compound, in kelvin (an optional "
                "input of the Tg model: Tg/Tm is about 0.7 for many organic glass formers).",
                "in_solution": False,
            }
        ],
    )
    _range_check(RANGES_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM experiments WHERE property = 'tm'")
    _range_check(RANGES_BEFORE)
    op.execute("DELETE FROM properties WHERE code = 'tm'")
