"""Shared pieces of the CLI: settings from the command line, output formats, failures."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import NoReturn

import typer

from cryoprotect.config import Settings, get_settings
from cryoprotect.db.engine import make_engine


class OutputFormat(StrEnum):
    """How a command prints its result."""

    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", help="table or json.")


def settings(ctx: typer.Context) -> Settings:
    """Return the settings, with the options of the top-level command applied."""
    overrides = (ctx.find_root().obj or {}) if ctx else {}
    base = get_settings()
    return base.model_copy(update=overrides) if overrides else base


def engine(ctx: typer.Context):
    """Return an engine for the database in force."""
    return make_engine(settings(ctx).resolved_database_url)


def emit(data: dict, fmt: OutputFormat, lines: list[str] | None = None) -> None:
    """Print ``data`` as JSON, or ``lines`` (default: ``key: value``) as a table."""
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines if lines is not None else [f"{k}: {v}" for k, v in data.items()]:
            typer.echo(line)


def fail(message: str, fmt: OutputFormat = OutputFormat.table, **details) -> NoReturn:
    """Report a failure (one line, or JSON on standard output) and exit with status 1."""
    if fmt is OutputFormat.json:
        typer.echo(json.dumps({"status": "error", "message": message, **details}, default=str))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)
