"""``cryoprotect health``: the database's health and integrity checks, with a report."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from cryoprotect.cli.common import engine, fail, settings
from cryoprotect.files import write_json


class HealthFormat(StrEnum):
    """What ``health`` prints: a table of problems, the JSON report, or the HTML page."""

    table = "table"
    json = "json"
    html = "html"


def health(
    ctx: typer.Context,
    fmt: HealthFormat = typer.Option(HealthFormat.table, "--format", help="table, json or html."),
    output_dir: Path = typer.Option(None, help="Where reports go (default: reports/health)."),
    verdict: Path = typer.Option(
        None, help="Also write the verdict alone (no times): a stable input for the pipeline."
    ),
) -> None:
    """Check the database: schema, integrity (orphans, duplicates) and invalid data.

    Writes a JSON and an offline HTML report (and a history line) under reports/health/, and
    exits with status 1 when a critical check fails or cannot run.
    """
    from cryoprotect.health.report import run_health, write_report

    folder = output_dir or settings(ctx).root_dir / "reports" / "health"
    try:
        report = run_health(engine(ctx))
    except SQLAlchemyError as error:
        fail(f"cannot check the database: {error.__class__.__name__}: {error}")
    paths = write_report(report, folder)
    if verdict:
        write_json(verdict, report.verdict())
    if fmt is HealthFormat.json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
    elif fmt is HealthFormat.html:
        typer.echo(paths["html"].read_text())
    else:
        summary = report.summary()
        typer.echo(
            f"{summary['passed']}/{summary['checks']} checks passed in {summary['seconds']} s "
            f"({summary['failed']} failed, {summary['errors']} errors); report: {paths['html']}"
        )
        for problem in report.problems:
            where = problem.table + (f".{problem.column}" if problem.column else "")
            detail = problem.message or f"{problem.unexpected_count} rows, e.g. {problem.rows[:3]}"
            status = f"{problem.status.upper()} [{problem.severity}]"
            typer.echo(f"  {status} {problem.name} ({where}): {detail}")
    if not report.passed:
        raise typer.Exit(code=1)
