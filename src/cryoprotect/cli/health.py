"""``cryoprotect health``: the database's health checks, their report, and their GX suites."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from cryoprotect.cli.common import (
    FORMAT_OPTION,
    OutputFormat,
    emit,
    engine,
    fail,
    progress_bar,
    remember_format,
    settings,
)
from cryoprotect.files import write_json

app = typer.Typer()


class HealthFormat(StrEnum):
    """What ``health`` prints: a table of problems, the JSON report, or the HTML page."""

    table = "table"
    json = "json"
    html = "html"


@app.callback(invoke_without_command=True)
def health(
    ctx: typer.Context,
    fmt: HealthFormat = typer.Option(
        HealthFormat.table, "--format", help="table, json or html.", callback=remember_format
    ),
    output_dir: Path = typer.Option(None, help="Where reports go (default: reports/health)."),
    verdict: Path = typer.Option(
        None, help="Also write the verdict alone (no times): a stable input for the pipeline."
    ),
) -> None:
    """Check the database: schema, integrity (orphans, NULLs, duplicates) and invalid data.

    The checks run as the checkpoints of the Great Expectations project in gx/. Writes a JSON
    and an offline HTML report (and a history line) under reports/health/, with GX's Data Docs
    in reports/health/data_docs/, and exits with status 1 when a critical check fails or
    cannot run.
    """
    if ctx.invoked_subcommand is not None:
        return
    from cryoprotect.health.report import run_health, write_report

    folder = output_dir or settings(ctx).root_dir / "reports" / "health"
    try:
        with progress_bar(ctx, fmt, "health") as progress:
            report = run_health(engine(ctx), folder, progress)
    except SQLAlchemyError as error:
        fail(f"cannot check the database: {error.__class__.__name__}: {error}")
    except FileNotFoundError as error:
        fail(f"{error}: write it with 'cryoprotect health suites'")
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
            f"({summary['failed']} failed, {summary['errors']} errors); report: {paths['html']}; "
            f"Data Docs: {report.data_docs}"
        )
        for problem in report.problems:
            detail = problem.message or f"{problem.unexpected_count} rows, e.g. {problem.rows[:3]}"
            status = f"{problem.status.upper()} [{problem.severity}]"
            typer.echo(f"  {status} {problem.name} ({problem.where}): {detail}")
    if not report.passed:
        raise typer.Exit(code=1)


@app.command()
def suites(
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 if the stored suites differ from the schema."
    ),
    project: Path = typer.Option(None, help="The GX project folder (default: gx/)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Generate the GX project's suites, validation definitions and checkpoints from the schema.

    Every foreign key, NOT NULL column, CHECK constraint and length limit of the schema
    becomes an expectation; rerun after changing the schema or the vocabulary and commit the
    result. With --check, list the files that are out of date instead.
    """
    from cryoprotect.health.project import differences, project_dir, write_project

    folder = project or project_dir()
    if check:
        stale = differences(folder)
        if stale:
            fail(
                f"{len(stale)} file(s) of {folder} differ from the schema: "
                f"{', '.join(stale)}; run 'cryoprotect health suites'",
                fmt,
                stale=stale,
            )
        emit({"project": str(folder), "stale": []}, fmt, [f"{folder} matches the schema"])
        return
    changed = write_project(folder)
    emit(
        {"project": str(folder), "changed": changed},
        fmt,
        [f"{folder}: {len(changed)} file(s) written or removed", *changed],
    )
