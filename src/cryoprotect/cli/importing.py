"""``cryoprotect import``: add a lab's own measurements, all rows or none."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, engine, fail

app = typer.Typer(help="Import measurements into the database.", no_args_is_help=True)


@app.command()
def experiments(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV in the curated format."
    ),
    owner: str = typer.Option(None, help="Username that owns the rows (default: the OS user)."),
    visibility: str = typer.Option("private", help="private or public."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Validate FILE completely, then add all of its experiments in one transaction.

    Any invalid row (unparseable SMILES, unknown unit or property, value outside the
    property's range, missing required field) is reported with its row and field, and nothing
    is written.
    """
    from cryoprotect.db.importer import ImportValidationError, import_experiments
    from cryoprotect.db.visibility import AccessDenied

    try:
        result = import_experiments(
            engine(ctx), file, owner=owner or getpass.getuser(), visibility=visibility
        )
    except ImportValidationError as error:
        if fmt is OutputFormat.table:
            for problem in error.errors:
                typer.echo(f"{file}: {problem}", err=True)
        fail(
            f"{len(error.errors)} problem(s) in {file}; nothing was imported",
            fmt,
            errors=[vars(e) for e in error.errors],
        )
    except AccessDenied as error:
        fail(f"refused by the access rules; nothing was imported: {error}", fmt)
    except ValueError as error:
        fail(f"{error}; nothing was imported", fmt)
    emit(vars(result), fmt)
