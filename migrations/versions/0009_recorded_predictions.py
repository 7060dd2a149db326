"""Recorded predictions keep what was asked and at which confidence.

``cryoprotect predict --record``, the service (when it acts for a user) and ``suggest``
write each prediction to ``predictions``. Two columns join the model version, value,
interval and domain flag already there: ``inputs`` (JSON: the row as given, e.g. ``smiles``
and ``concentration_mM``, or ``components``) and ``confidence`` (the coverage the interval
was calibrated for, between 0 and 1). Both are nullable, so rows written before stay valid
and a release without them keeps working (expand only). The downgrade drops them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_predictions_confidence_fraction"),
            "confidence IS NULL OR (confidence > 0 AND confidence < 1)",
        )


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_constraint(op.f("ck_predictions_confidence_fraction"), type_="check")
        batch.drop_column("confidence")
        batch.drop_column("inputs")
