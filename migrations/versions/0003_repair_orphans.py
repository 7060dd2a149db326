"""Repair rows that point at missing rows, and report what changed.

Rows written while foreign keys were not enforced (possible in SQLite files edited by other
tools) are repaired by each foreign key's ON DELETE rule: CASCADE deletes the orphan, SET NULL
clears the reference; orphans under RESTRICT stop the migration with the list, for a person
to decide. Every action is printed. The same repair runs on demand as
``cryoprotect db repair [--dry-run]``. The schema does not change, so the downgrade is empty.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sys
from collections.abc import Sequence

from alembic import op

from cryoprotect.db.repair import describe, repair

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    actions = repair(op.get_bind())
    for line in describe(actions):
        print(f"repair: {line}", file=sys.stderr)
    undecided = [a.relation for a in actions if a.action == "reported"]
    if undecided:
        raise RuntimeError(
            "rows point at missing rows under RESTRICT foreign keys: "
            + "; ".join(undecided)
            + ". Fix or delete them, then upgrade again ('cryoprotect db repair --dry-run' lists them)."
        )


def downgrade() -> None:
    pass
