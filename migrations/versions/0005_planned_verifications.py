"""A lab verification may be planned before its experiment exists.

``cryoprotect suggest`` records the compounds it proposes as a prediction plus a planned
verification; the experiment (the measurement) is attached when the lab has made it. So
``lab_verifications.experiment_id`` may be empty while the status is ``planned`` or
``in_progress``, and a verification must point at an experiment or a prediction. On
PostgreSQL the write policy lets the verifier plan one against their own visible prediction.

The downgrade deletes planned verifications without an experiment (they cannot exist in the
old schema) and restores the previous rules.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "cryoprotect_current_user()"
VISIBLE_EXPERIMENT = "(experiment_id IN (SELECT id FROM experiments))"
OWN_PREDICTION = f"(prediction_id IN (SELECT id FROM predictions WHERE owner_id = {ME}))"
OLD_CHECK = f"verifier_id = {ME} AND {VISIBLE_EXPERIMENT}"
NEW_CHECK = (
    f"verifier_id = {ME} AND (experiment_id IS NULL OR {VISIBLE_EXPERIMENT}) "
    f"AND (prediction_id IS NULL OR experiment_id IS NOT NULL OR {OWN_PREDICTION})"
)


def _policies(check: str) -> None:
    for action in ("insert", "update"):
        op.execute(f"DROP POLICY IF EXISTS lab_verifications_{action} ON lab_verifications")
    op.execute(
        "CREATE POLICY lab_verifications_insert ON lab_verifications FOR INSERT "
        f"TO cryoprotect_app WITH CHECK ({check})"
    )
    op.execute(
        "CREATE POLICY lab_verifications_update ON lab_verifications FOR UPDATE "
        f"TO cryoprotect_app USING (verifier_id = {ME}) WITH CHECK ({check})"
    )


def upgrade() -> None:
    with op.batch_alter_table("lab_verifications") as batch:
        batch.alter_column("experiment_id", existing_type=sa.Integer(), nullable=True)
        batch.create_check_constraint(
            op.f("ck_lab_verifications_something_to_verify"),
            "experiment_id IS NOT NULL OR prediction_id IS NOT NULL",
        )
        batch.create_check_constraint(
            op.f("ck_lab_verifications_measured_unless_pending"),
            "experiment_id IS NOT NULL OR status IN ('planned', 'in_progress')",
        )
    if op.get_bind().dialect.name == "postgresql":
        _policies(NEW_CHECK)


def downgrade() -> None:
    op.execute("DELETE FROM lab_verifications WHERE experiment_id IS NULL")
    with op.batch_alter_table("lab_verifications") as batch:
        batch.drop_constraint(op.f("ck_lab_verifications_measured_unless_pending"), type_="check")
        batch.drop_constraint(op.f("ck_lab_verifications_something_to_verify"), type_="check")
        batch.alter_column("experiment_id", existing_type=sa.Integer(), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        _policies(OLD_CHECK)
