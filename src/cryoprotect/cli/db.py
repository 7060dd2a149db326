"""``cryoprotect db``: schema migrations, seeding and counts."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, engine, fail, settings
from cryoprotect.db import migrations

app = typer.Typer(help="Create, migrate, seed and count the database.", no_args_is_help=True)


@app.command()
def upgrade(
    ctx: typer.Context,
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Create or migrate the schema to REVISION."""
    eng = engine(ctx)
    try:
        migrations.upgrade(eng, revision)
    except SQLAlchemyError as error:
        fail(f"migration failed: {error.__class__.__name__}: {error}")
    typer.echo(f"database at revision {migrations.current_revision(eng)}")


@app.command()
def downgrade(
    ctx: typer.Context,
    revision: str = typer.Argument(..., help="Target revision; 'base' removes every table."),
) -> None:
    """Migrate the schema down to REVISION."""
    eng = engine(ctx)
    migrations.downgrade(eng, revision)
    typer.echo(f"database at revision {migrations.current_revision(eng) or 'base'}")


@app.command()
def current(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Show the schema revision of the database and the newest one the code knows."""
    eng = engine(ctx)
    emit({"current": migrations.current_revision(eng), "head": migrations.head_revision(eng)}, fmt)


@app.command()
def seed(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Load the curated reference data (idempotent: a second run adds nothing)."""
    from cryoprotect.db.importer import ImportValidationError
    from cryoprotect.db.seed import seed as seed_reference

    cfg = settings(ctx)
    eng = engine(ctx)
    if migrations.current_revision(eng) != migrations.head_revision(eng):
        fail("the schema is not at the newest revision; run 'cryoprotect db upgrade' first", fmt)
    try:
        result = seed_reference(eng, cfg.resolved_reference_dir)
    except (ImportValidationError, FileNotFoundError) as error:
        fail(f"seeding failed, nothing was written: {error}", fmt)
    emit(vars(result), fmt)


@app.command()
def stats(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Count molecules, mixtures, experiments per property, verifications and users."""
    from cryoprotect.db.stats import database_stats

    counts = database_stats(engine(ctx))
    lines = [f"{k}: {v}" for k, v in counts.items() if k != "experiments"]
    lines += [f"experiments.{k}: {v}" for k, v in counts["experiments"].items()]
    emit(counts, fmt, lines)


@app.command()
def repair(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, help="Only report what would change."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Repair rows pointing at missing rows by each foreign key's ON DELETE rule; report it.

    CASCADE deletes the orphan, SET NULL clears the reference, RESTRICT is only reported
    (exit 1: a person decides). One transaction: all repairs or none.
    """
    from cryoprotect.db.repair import describe
    from cryoprotect.db.repair import repair as repair_orphans

    with engine(ctx).begin() as connection:
        actions = repair_orphans(connection, dry_run)
    lines = describe(actions, dry_run) or ["no row points at a missing row"]
    emit({"dry_run": dry_run, "actions": [a.to_dict() for a in actions]}, fmt, lines)
    if any(a.action == "reported" for a in actions):
        raise typer.Exit(code=1)


@app.command("link-login")
def link_login(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user (users.username)."),
    login: str = typer.Argument(None, help="The person's own PostgreSQL login role."),
    unlink: bool = typer.Option(False, help="Remove the user's login instead."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Make LOGIN the PostgreSQL login of USERNAME: its sessions act as that user only.

    Refuses a login that may act for others or bypass the access rules (a superuser, or a
    member of cryoprotect_service or cryoprotect_delegate). Runs as cryoprotect_service, so
    it needs an operator's login.
    """
    from cryoprotect.db.access import link_login as link
    from cryoprotect.db.visibility import AccessDenied

    if (login is None) != unlink:
        fail("give either LOGIN or --unlink", fmt)
    try:
        link(engine(ctx), username, login)
    except (LookupError, ValueError, AccessDenied) as error:
        fail(str(error), fmt)
    emit({"username": username, "login": login}, fmt, [f"{username}: login {login or 'none'}"])
