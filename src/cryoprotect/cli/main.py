"""The ``cryoprotect`` command: every user action outside the notebooks starts here."""

from __future__ import annotations

import sys
import traceback

import typer
from pydantic import ValidationError

from cryoprotect import __version__
from cryoprotect.cli import (
    backup,
    configuration,
    curate,
    dashboard,
    db,
    health,
    importing,
    jobs,
    modelling,
    pipeline,
    rls,
    screening,
    serve,
    suggesting,
    verifying,
)
from cryoprotect.cli.common import JSON_REQUESTED, error_document, fail, json_requested
from cryoprotect.config import get_settings
from cryoprotect.logs import configure_logging

app = typer.Typer(
    help="CryoProtect: data, models and operations for cryoprotectant discovery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(backup.app, name="backup")
app.add_typer(configuration.app, name="config")
app.add_typer(importing.app, name="import")
app.add_typer(modelling.models_app, name="models")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(rls.app, name="rls")
app.add_typer(health.app, name="health")
app.add_typer(jobs.app, name="jobs")
app.add_typer(verifying.app, name="verification")
app.command()(curate.curate)
app.command()(dashboard.dashboard)
app.command()(serve.serve)
app.command()(screening.screen)
app.command()(suggesting.suggest)
app.command()(modelling.tune)
app.command()(modelling.train)
app.command()(modelling.predict)
app.command()(modelling.explain)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    database_url: str = typer.Option(
        None, "--database-url", help="SQLAlchemy URL; overrides CRYOPROTECT_DATABASE_URL."
    ),
    log_level: str = typer.Option(None, "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Set the options every command shares."""
    ctx.call_on_close(lambda: JSON_REQUESTED.set(False))  # the next invocation starts afresh
    overrides = {"database_url": database_url, "log_level": log_level}
    ctx.obj = {k: v for k, v in overrides.items() if v}
    try:
        base = get_settings()
    except ValidationError as error:
        reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        fail(f"the settings cannot be used: {reasons}", code=2)
    configure_logging(ctx.obj.get("log_level", base.log_level).upper(), base.log_format)


def run(argv: list[str] | None = None) -> None:
    """Run the ``cryoprotect`` executable.

    Asked for JSON, every failure is a JSON document on standard output, also the ones no command
    reports itself: usage errors (exit 2) and unexpected exceptions (exit 1, with the traceback
    on standard error).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not json_requested(args):
        app(args, prog_name="cryoprotect")
        return
    token = JSON_REQUESTED.set(True)  # failures before a command's options are read are JSON too
    try:
        code = typer.main.get_command(app).main(args, "cryoprotect", standalone_mode=False)
    except typer.Abort:
        typer.echo(error_document("aborted"))
        sys.exit(1)
    except typer.TyperException as error:  # usage errors: the parser's message and exit status
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        typer.echo(error_document(message))
        sys.exit(getattr(error, "exit_code", 2))
    except Exception as error:  # noqa: BLE001 - asked for JSON: a document, not only a traceback
        traceback.print_exc()
        typer.echo(error_document(f"{error.__class__.__name__}: {error}"))
        sys.exit(1)
    finally:
        JSON_REQUESTED.reset(token)
    sys.exit(code if isinstance(code, int) else 0)
