"""A snapshot of the database that has passed the pipeline's gate, for training outside DVC.

The pipeline exports a snapshot (``export`` stage), checks it (``validate``) and runs the
database's health checks (``health``) before anything is featurized; ``cryoprotect train``
runs the same three through :func:`export_checked_snapshot`, so both train on data that
passed the same checks.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from cryoprotect.db.snapshot import check_snapshot, export_snapshot
from cryoprotect.health.checks import CRITICAL
from cryoprotect.health.report import run_health


class SnapshotRefused(ValueError):
    """The snapshot or the database failed a critical check; ``problems`` names each one."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


def export_checked_snapshot(engine: Engine, folder: Path) -> dict:
    """Export ``engine``'s database to ``folder`` and run the pipeline's gate on it.

    Parameters
    ----------
    engine
        The database to snapshot.
    folder
        Where the snapshot goes (replaced whole).

    Returns
    -------
    dict
        The snapshot's manifest (schema revision, rows per table).

    Raises
    ------
    SnapshotRefused
        If the snapshot is not valid (the ``validate`` stage's checks) or a critical health
        check of the database fails or cannot run (the ``health`` stage's).
    sqlalchemy.exc.SQLAlchemyError
        If the database cannot be read.
    """
    manifest = export_snapshot(engine, folder)
    problems = check_snapshot(folder)
    if problems:
        raise SnapshotRefused(
            f"the database's snapshot is not valid: {'; '.join(problems)}", problems
        )
    report = run_health(engine)
    critical = [
        f"{r.status} {r.name} ({r.where})" for r in report.problems if r.severity == CRITICAL
    ]
    if critical:
        raise SnapshotRefused(
            f"critical health checks of the database failed: {'; '.join(critical)}; "
            "see 'cryoprotect health'",
            critical,
        )
    return manifest
