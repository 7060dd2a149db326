"""``cryoprotect config``: the settings in force, and the template documenting all of them."""

from __future__ import annotations

import typer

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, settings

app = typer.Typer(help="Show the settings, or write the template of all settings.")


@app.command()
def show(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Print the settings in force that may be shown (passwords masked, secrets left out)."""
    public = settings(ctx).public()
    emit(public, fmt, [f"{key}: {value}" for key, value in public.items()])


@app.command()
def template() -> None:
    """Print .env.template: every setting with its description and default."""
    from cryoprotect.cli.env_template import render

    typer.echo(render(), nl=False)
