"""``cryoprotect rls verify``: audit Row Level Security and run the access matrix."""

from __future__ import annotations

import json

import typer
from sqlalchemy.exc import SQLAlchemyError

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, fail, settings
from cryoprotect.db.engine import make_engine

app = typer.Typer(help="Row Level Security (PostgreSQL).")


@app.command()
def verify(
    ctx: typer.Context,
    database_url: str = typer.Option(None, help="Database to check (default: the one in force)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Audit Row Level Security, then run the access matrix on the live database.

    The audit checks that every table has RLS enabled, forced and with policies; the matrix
    tries every operation on every table as owner, other user, anonymous, grantee, reviewer
    and service.

    Prints the matrix (S I U D: allowed, '.': denied, '!': a leak, '?': wrongly denied) and
    exits 1 on any leak, wrongly denied access or table without policies. Nothing is changed:
    the probe rows live in a transaction that is rolled back. Connect as a role that may SET
    ROLE to the CryoProtect roles (a superuser or the migration role).
    """
    from cryoprotect.security.rls import verify as verify_rls

    url = database_url or settings(ctx).resolved_database_url
    try:
        report = verify_rls(make_engine(url))
    except (ValueError, SQLAlchemyError) as error:
        fail(f"cannot verify: {error}", fmt)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for line in report.matrix_lines():
            typer.echo(line)
        for table, issues in report.audit.items():
            for issue in issues:
                typer.echo(f"AUDIT {table}: {issue}")
        for probe in report.probes:
            if probe.leak or probe.blocked:
                kind = "LEAK" if probe.leak else "BLOCKED"
                typer.echo(f"{kind} {probe.actor} {probe.operation} {probe.table}: {probe.detail}")
        typer.echo("passed" if report.passed else "FAILED")
    if not report.passed:
        raise typer.Exit(code=1)
