"""The health report: every check and diagnostic of one run, as JSON, HTML and a history line."""

from __future__ import annotations

import html
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


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pass { color: #17663a; } .fail { color: #a4161a; font-weight: bold; }
.error { color: #7a4b00; font-weight: bold; } code { font-size: 0.9em; }
"""


def _cell(value) -> str:
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: HealthReport, history: list[dict]) -> str:
    """Return a self-contained HTML page of the report (no external styles or scripts)."""
    summary = report.summary()
    verdict = "healthy" if report.passed else "NOT healthy: a critical check failed"
    checks = "".join(
        f"<tr><td class='{r.status}'>{r.status}</td>"
        + "".join(_cell(v) for v in (r.suite, r.name, r.table, r.column, r.severity))
        + _cell(r.unexpected_count)
        + _cell(r.message or (json.dumps(r.rows[:5], default=str) if r.rows else ""))
        + "</tr>"
        for r in sorted(report.results, key=lambda r: (r.status == "pass", r.suite, r.name))
    )
    diag = report.diagnostics
    queries = [
        [
            q["query"],
            f"{q['seconds'] * 1000:.2f}" if "seconds" in q else q.get("error"),
            q.get("rows"),
            " | ".join(q.get("plan", [])),
        ]
        for q in diag.get("queries", [])
    ]
    tables = [[t["table"], t["rows"], t["bytes"]] for t in diag.get("tables", [])]
    unindexed = [
        [u["table"], ", ".join(u["columns"])] for u in diag.get("unindexed_foreign_keys", [])
    ]
    trend = [
        [h["created"], h["checks"], h["failed"], h["errors"], h["warnings"], h["seconds"]]
        for h in history[-20:]
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>CryoProtect database health</title><style>{STYLE}</style></head><body>"
        f"<h1>Database health: {html.escape(verdict)}</h1>"
        f"<p>{html.escape(summary['database'])} ({html.escape(report.backend)}), "
        f"{html.escape(summary['created'])}, {summary['seconds']:.2f} s: "
        f"{summary['passed']} of {summary['checks']} checks passed, {summary['failed']} failed, "
        f"{summary['errors']} could not run; SQLite integrity check: "
        f"{html.escape(str(diag.get('integrity_check')))}.</p>"
        + (
            "<p>Every expectation and its result: <a href='data_docs/index.html'>Great "
            "Expectations Data Docs</a> of this run.</p>"
            if report.data_docs
            else ""
        )
        + "<h2>Checks</h2><table><tr><th>status</th><th>suite</th><th>check</th><th>table</th>"
        "<th>column</th><th>severity</th><th>rows</th><th>detail</th></tr>"
        f"{checks}</table>"
        "<h2>Foreign keys without an index</h2>"
        + (_table(["table", "columns"], unindexed) if unindexed else "<p>none</p>")
        + "<h2>Representative queries (slowest first)</h2>"
        + _table(["query", "ms", "rows", "plan"], queries)
        + "<h2>Tables</h2>"
        + _table(["table", "rows", "bytes"], tables)
        + "<h2>Earlier runs</h2>"
        + _table(["time", "checks", "failed", "errors", "warnings", "seconds"], trend)
        + "</body></html>\n"
    )
