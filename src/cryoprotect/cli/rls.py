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
    """Audit Row Level Security, run the access matrix and the attacks on the live database.

    The audit checks every relation of the database: every table must have RLS enabled and
    forced, the application's tables policies and a non-superuser owner, views readable by
    the application must run with their caller's rights; no login of a person may act for
    others. The matrix tries every operation on every table as owner, other user, anonymous,
    grantee, reviewer and service. The attacks forge an identity from a person's login
    (set_config, SET, SET ROLE), probe for an existence oracle, rename accounts, delete,
    hide and rewrite public rows others depend on, and read new tables granted without
    policies.

    Prints the matrix (S I U D: allowed, '.': denied, '!': a leak, '?': wrongly denied), the
    number of probes and every failed one, and exits 1 on any leak, wrongly denied access or
    audit problem. Nothing is changed: the probe rows, throwaway roles and tables live in a
    transaction that is rolled back. Connect as a superuser.
    """
    from cryoprotect.security.rls import verify as verify_rls

    url = database_url or settings(ctx).resolved_database_url
    try:
        report = verify_rls(make_engine(url))
    except (ValueError, PermissionError, SQLAlchemyError) as error:
        fail(f"cannot verify: {error}", fmt)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for line in report.matrix_lines():
            typer.echo(line)
        for table, issues in report.audit.items():
            for issue in issues:
                typer.echo(f"AUDIT {table}: {issue}")
        for probe in report.probes + report.attacks:
            if probe.leak or probe.blocked:
                kind = "LEAK" if probe.leak else "BLOCKED"
                typer.echo(f"{kind} {probe.actor} {probe.operation} {probe.table}: {probe.detail}")
        typer.echo(
            f"{len(report.probes)} matrix probes and {len(report.attacks)} attacks: "
            + ("passed" if report.passed else "FAILED")
        )
    if not report.passed:
        raise typer.Exit(code=1)
