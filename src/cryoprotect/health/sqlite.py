"""SQLite's own checks of its file as health checks: ``integrity_check``, ``foreign_key_check``.

SQLite stores what its schema forbids once a check is switched off or the stored table
definition is edited; these pragmas find it. Their findings fail critical checks, so the
verdict follows them. Nothing on other databases.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from cryoprotect.health.checks import CRITICAL
from cryoprotect.health.expectations import SAMPLE_ROWS, CheckResult


def _result(name: str, description: str, findings: list[dict], where: list[tuple]) -> CheckResult:
    tables = sorted({t for t, _ in where if t})
    columns = sorted({c for _, c in where if c})
    first = findings[0] if findings else {}
    return CheckResult(
        suite="integrity",
        name=name,
        table=",".join(tables) or "*",
        column=",".join(columns) or None,
        severity=CRITICAL,
        description=description,
        status="fail" if findings else "pass",
        unexpected_count=len(findings) if findings else None,
        rows=findings[:SAMPLE_ROWS],
        message=first.get("finding", ""),
    )


def integrity_result(verdict: str) -> CheckResult:
    """Return ``PRAGMA integrity_check``'s ``verdict`` (``ok`` when sound) as a check."""
    findings = [] if verdict == "ok" else verdict.split("; ")
    places = [re.search(r"\bin (\w+)(?:\.(\w+))?", f) for f in findings]
    return _result(
        "SQLite integrity_check",
        "SQLite's own PRAGMA integrity_check: pages, indexes, NOT NULL and CHECK constraints "
        "of the stored rows",
        [{"finding": f} for f in findings],
        [(p.group(1), p.group(2)) for p in places if p],
    )


def foreign_key_result(engine: Engine) -> CheckResult:
    """Return ``PRAGMA foreign_key_check`` (rows pointing at a missing parent) as a check."""
    with engine.connect() as connection:
        rows = connection.execute(text("PRAGMA foreign_key_check")).all()
    findings = [
        {"finding": f"{table} row {rowid} points at a missing {parent} row", "table": table}
        for table, rowid, parent, _ in rows
    ]
    return _result(
        "SQLite foreign_key_check",
        "SQLite's own PRAGMA foreign_key_check: rows whose parent row is missing",
        findings,
        [(f["table"], None) for f in findings],
    )


def sqlite_results(engine: Engine, verdict: str | None) -> list[CheckResult]:
    """Return SQLite's own checks (``verdict``: its integrity_check); none elsewhere."""
    if engine.dialect.name != "sqlite" or verdict is None:
        return []
    return [integrity_result(verdict), foreign_key_result(engine)]
