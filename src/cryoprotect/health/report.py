"""The health report: every check and diagnostic of one run, as JSON, HTML and a history line."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from cryoprotect.files import write_text_atomically
from cryoprotect.health.checks import CRITICAL
from cryoprotect.health.diagnostics import diagnostics
from cryoprotect.health.expectations import DATA_DOCS, CheckResult, run_checkpoints
from cryoprotect.health.schema import schema_results
from cryoprotect.health.sqlite import sqlite_results
from cryoprotect.html import render
from cryoprotect.progress import Progress, offset
from cryoprotect.progress import report as report_progress

HISTORY = "history.jsonl"


@dataclass
class HealthReport:
    """The results of a full health check of one database."""

    database: str
    backend: str
    created: str
    seconds: float
    results: list[CheckResult]
    diagnostics: dict = field(default_factory=dict)
    data_docs: str | None = None
    """The index page of the run's Great Expectations Data Docs, if they were built."""

    @property
    def problems(self) -> list[CheckResult]:
        """Checks that failed or could not run."""
        return [r for r in self.results if r.status != "pass"]

    @property
    def passed(self) -> bool:
        """True when no critical check failed or errored."""
        return not any(r.severity == CRITICAL for r in self.problems)

    def summary(self) -> dict:
        """Return the counts of checks by outcome, and the verdict."""
        return {
            "database": self.database,
            "created": self.created,
            "seconds": round(self.seconds, 3),
            "checks": len(self.results),
            "passed": sum(r.status == "pass" for r in self.results),
            "failed": sum(r.status == "fail" for r in self.results),
            "errors": sum(r.status == "error" for r in self.results),
            "warnings": sum(r.severity != CRITICAL for r in self.problems),
            "healthy": self.passed,
        }

    def verdict(self) -> dict:
        """Return whether the database is healthy and which checks did not pass, nothing else."""
        return {
            "healthy": self.passed,
            "problems": sorted(f"{r.status} [{r.severity}] {r.name}" for r in self.problems),
        }

    def to_dict(self) -> dict:
        """Return the whole report as JSON-ready data."""
        return {
            "summary": self.summary(),
            "backend": self.backend,
            "checks": [r.to_dict() for r in self.results],
            "diagnostics": self.diagnostics,
            "data_docs": self.data_docs,
        }


SUITES = 5
"""Parts of a health check, the unit of its progress: diagnostics, schema, the two GX
checkpoints, SQLite's own checks."""


def run_health(
    engine: Engine, folder: Path | None = None, progress: Progress | None = None
) -> HealthReport:
    """Run every check (schema, integrity, invalid data) and the diagnostics on ``engine``.

    The checks run as the checkpoints of the Great Expectations project
    (:mod:`cryoprotect.health.expectations`); with ``folder``, their validation results and
    Data Docs site are kept there (``validations/``, ``data_docs/``). ``progress`` hears
    of each of the :data:`SUITES` parts done (unit ``suite``).
    """
    start = time.perf_counter()
    found = diagnostics(engine)
    report_progress(progress, 1, SUITES, "suite")
    results = schema_results(engine)
    report_progress(progress, 2, SUITES, "suite")
    results += run_checkpoints(engine, folder, offset(progress, 2, SUITES))
    results += sqlite_results(engine, found["integrity_check"])
    report_progress(progress, SUITES, SUITES, "suite")
    return HealthReport(
        database=engine.url.render_as_string(hide_password=True),
        backend=engine.dialect.name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=time.perf_counter() - start,
        results=results,
        diagnostics=found,
        data_docs=str(folder / DATA_DOCS / "index.html") if folder is not None else None,
    )


def write_report(report: HealthReport, folder: Path) -> dict[str, Path]:
    """Write the report as JSON and HTML (timestamped and ``latest``) and extend the history."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.created.replace(":", "").replace("+0000", "Z")
    data = json.dumps(report.to_dict(), indent=2, default=str) + "\n"
    page = render_html(report, read_history(folder))
    paths = {
        "json": folder / f"health-{stamp}.json",
        "latest_json": folder / "latest.json",
        "html": folder / "latest.html",
        "history": folder / HISTORY,
    }
    write_text_atomically(paths["json"], data)
    write_text_atomically(paths["latest_json"], data)
    write_text_atomically(paths["html"], page)
    with paths["history"].open("a", encoding="utf-8") as history:
        history.write(json.dumps(report.summary()) + "\n")
    return paths


def read_history(folder: Path) -> list[dict]:
    """Return the summaries of earlier runs, oldest first."""
    path = folder / HISTORY
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def render_html(report: HealthReport, history: list[dict]) -> str:
    """Return a self-contained HTML page of the report (no external styles or scripts)."""
    diag = report.diagnostics
    checks = [
        {
            "status": r.status,
            "suite": r.suite,
            "name": r.name,
            "table": r.table,
            "column": r.column,
            "severity": r.severity,
            "unexpected_count": r.unexpected_count,
            "detail": r.message or (json.dumps(r.rows[:5], default=str) if r.rows else ""),
        }
        for r in sorted(report.results, key=lambda r: (r.status == "pass", r.suite, r.name))
    ]
    queries = [
        [
            q["query"],
            q["seconds"] * 1000 if "seconds" in q else q.get("error"),
            q.get("rows"),
            " | ".join(q.get("plan", [])),
        ]
        for q in diag.get("queries", [])
    ]
    return render(
        "health_report.html.j2",
        healthy=report.passed,
        summary=report.summary(),
        backend=report.backend,
        integrity_check=str(diag.get("integrity_check")),
        data_docs=report.data_docs,
        checks=checks,
        unindexed=[
            [u["table"], ", ".join(u["columns"])] for u in diag.get("unindexed_foreign_keys", [])
        ],
        queries=queries,
        tables=[[t["table"], t["rows"], t["bytes"]] for t in diag.get("tables", [])],
        trend=[
            [h["created"], h["checks"], h["failed"], h["errors"], h["warnings"], h["seconds"]]
            for h in history[-20:]
        ],
    )
