"""Repair rows that point at missing rows, as each foreign key's ON DELETE rule would have.

Databases written with foreign keys unenforced (a SQLite file edited by another tool, or data
loaded with checks off) can hold orphans. For every foreign key of the schema, orphans are
handled by its ON DELETE rule: ``CASCADE`` deletes the orphan, ``SET NULL`` clears the
reference, ``RESTRICT`` cannot be decided by a rule and is only reported. Deleting an orphan
applies the database's own ON DELETE rules to the rows pointing at it (with foreign keys
enforced), and may orphan further rows where they are not, so the passes repeat until
nothing changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, and_, delete, exists, select, text, update

from cryoprotect.db.schema import Base

MAX_PASSES = 20


@dataclass
class RepairAction:
    """What was done (or would be done) about one foreign key's orphans."""

    relation: str
    """``child.column -> parent.column``."""
    child: str
    parent: str
    action: str
    """``deleted``, ``set null`` or ``reported`` (RESTRICT: left for a person to decide)."""
    ids: list[int]

    def text(self) -> str:
        """Return e.g. ``experiments.molecule_id -> molecules.id: 3 rows (ids 4, 9, 12)``."""
        shown = ", ".join(str(i) for i in self.ids[:10]) + (", ..." if len(self.ids) > 10 else "")
        return f"{self.relation}: {len(self.ids)} rows (ids {shown})"

    def to_dict(self) -> dict:
        """Return the action as JSON-ready data."""
        return asdict(self)


def _orphaned(constraint):
    """Return the child table, column pairs and the condition of pointing at no parent row."""
    child, parent = constraint.table, constraint.referred_table
    pairs = [(element.parent, element.column) for element in constraint.elements]
    present = and_(*(c.is_not(None) for c, _ in pairs))
    matched = exists(select(1).select_from(parent).where(and_(*(p == c for c, p in pairs))))
    return child, pairs, and_(present, ~matched)


def repair(connection: Connection, dry_run: bool = False) -> list[RepairAction]:
    """Find and repair orphans on ``connection`` (inside its transaction); return the actions.

    With ``dry_run`` nothing is changed and one pass is reported.

    Raises
    ------
    PermissionError
        On PostgreSQL, if Row Level Security binds the role: rows it cannot see would look
        missing, and their children would be taken for orphans.
    """
    if (
        connection.dialect.name == "postgresql"
        and not connection.execute(
            text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).scalar_one()
    ):
        raise PermissionError(
            "repairing needs a role that bypasses Row Level Security (a superuser or the "
            "service role): rows hidden from this one would look missing"
        )
    actions: dict[tuple[str, str], RepairAction] = {}
    for _ in range(1 if dry_run else MAX_PASSES):
        changed = False
        for table in Base.metadata.sorted_tables:
            for constraint in table.foreign_key_constraints:
                child, pairs, condition = _orphaned(constraint)
                ids = list(connection.execute(select(child.c.id).where(condition)).scalars())
                if not ids:
                    continue
                rule = (constraint.ondelete or "RESTRICT").upper()
                action = {"CASCADE": "deleted", "SET NULL": "set null"}.get(rule, "reported")
                relation = (
                    f"{child.name}.{','.join(c.name for c, _ in pairs)} -> "
                    f"{constraint.referred_table.name}.{','.join(p.name for _, p in pairs)}"
                )
                entry = actions.setdefault(
                    (relation, action),
                    RepairAction(relation, child.name, constraint.referred_table.name, action, []),
                )
                entry.ids = sorted(set(entry.ids) | set(ids))
                if dry_run or action == "reported":
                    continue
                if action == "deleted":
                    connection.execute(delete(child).where(child.c.id.in_(ids)))
                else:
                    connection.execute(
                        update(child)
                        .where(child.c.id.in_(ids))
                        .values({c.name: None for c, _ in pairs})
                    )
                changed = True
        if not changed:
            break
    return list(actions.values())


def describe(actions: list[RepairAction], dry_run: bool = False) -> list[str]:
    """Return one line per action, e.g. ``deleted: predictions.molecule_id -> ...``."""
    verbs = {"deleted": "would delete", "set null": "would clear"} if dry_run else {}
    return [f"{verbs.get(a.action, a.action)}: {a.text()}" for a in actions]
