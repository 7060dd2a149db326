"""``cryoprotect backup``: create, list, verify, prune, restore and schedule backups."""

from __future__ import annotations

import json
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

import typer

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, engine, fail, settings

app = typer.Typer(help="Backups of the database: SQLite or PostgreSQL, local or object storage.")


def _store(ctx: typer.Context):
    from cryoprotect.backup.store import BackupStore

    cfg = settings(ctx)
    return BackupStore(cfg.resolved_backup_dir, **cfg.backup_storage_options)


def _policy(ctx: typer.Context):
    from cryoprotect.backup.rotation import RotationPolicy

    cfg = settings(ctx)
    return RotationPolicy(
        cfg.backup_keep_last,
        cfg.backup_keep_daily,
        cfg.backup_keep_weekly,
        cfg.backup_keep_monthly,
    )


@app.command()
def create(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Back up the database now (consistent while others write) and print its id and path."""
    from cryoprotect.backup.operations import create_backup

    store = _store(ctx)
    try:
        manifest = create_backup(engine(ctx), store)
    except (OSError, RuntimeError, ValueError) as error:
        fail(f"backup failed: {error}", fmt)
    path = f"{store.url.rstrip('/')}/{manifest.id}"
    emit(
        {"id": manifest.id, "path": path, **manifest.summary()},
        fmt,
        [f"backup {manifest.id}: {sum(manifest.tables.values())} rows -> {path}"],
    )


@app.command("list")
def list_backups(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List the whole backups, oldest first (interrupted ones never list)."""
    rows = [m.summary() for m in _store(ctx).manifests()]
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(
            f"{row['id']}  {row['created']}  {row['kind']:<10}  rev {row['schema_revision']}  "
            f"{row['rows']} rows  {row['bytes']} bytes"
        )


@app.command()
def verify(
    ctx: typer.Context,
    backup_id: str = typer.Argument(..., help="The backup to check."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check a backup end to end: checksums, unpacking, integrity, row counts."""
    from cryoprotect.backup.operations import verify_backup
    from cryoprotect.backup.store import BackupNotFoundError

    try:
        problems = verify_backup(_store(ctx), backup_id)
    except BackupNotFoundError as error:
        fail(str(error), fmt)
    if problems:
        fail(f"backup {backup_id} is damaged: {'; '.join(problems)}", fmt, problems=problems)
    emit({"id": backup_id, "valid": True}, fmt, [f"backup {backup_id} is sound"])


@app.command()
def prune(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, help="Only say what would be removed."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Delete backups the rotation policy does not keep (CRYOPROTECT_BACKUP_KEEP_*)."""
    from cryoprotect.backup.operations import prune as prune_backups

    result = prune_backups(_store(ctx), _policy(ctx), dry_run)
    verb = "would remove" if dry_run else "removed"
    emit(
        result,
        fmt,
        [
            f"kept {len(result['kept'])}, {verb} {len(result['removed'])} "
            f"({', '.join(result['removed']) or 'none'}) and {len(result['partials'])} "
            "interrupted"
        ],
    )


@app.command()
def restore(
    ctx: typer.Context,
    backup_id: str = typer.Argument(None, help="The backup (default: the newest, or see --at)."),
    at: datetime = typer.Option(None, help="Restore the newest backup at or before this time."),
    tables: str = typer.Option(None, help="Only these tables, comma-separated."),
    force: bool = typer.Option(False, help="Replace data the database holds."),
    health: bool = typer.Option(True, help="Run the health checks after restoring."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Restore a backup into the database, then check row counts (and health).

    Refuses a database that holds data without --force, and a backup of a newer schema.
    """
    from cryoprotect.backup.archive import CorruptArchiveError
    from cryoprotect.backup.operations import restore_backup
    from cryoprotect.backup.store import BackupNotFoundError

    chosen = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    when = at if at is None or at.tzinfo else at.astimezone()
    try:
        outcome = restore_backup(
            engine(ctx),
            _store(ctx),
            backup_id,
            at=when,
            tables=chosen,
            force=force,
            check_health=health,
        )
    except (BackupNotFoundError, CorruptArchiveError, RuntimeError) as error:
        # RuntimeError: refused restores, broken references, pg_restore failures
        fail(f"restore failed: {error}", fmt)
    data = vars(outcome)
    lines = [
        f"restored backup {outcome.backup_id}: "
        + ", ".join(f"{t} ({n})" for t, n in outcome.rows.items())
    ]
    if outcome.upgraded_from:
        lines.append(f"migrated the schema from {outcome.upgraded_from} to the newest revision")
    if outcome.problems:
        fail("restored, but checks failed: " + "; ".join(outcome.problems), fmt, **data)
    emit(data, fmt, lines)


@app.command()
def schedule(
    ctx: typer.Context,
    cron: str = typer.Option("17 3 * * *", help="When, as a cron expression (default 03:17)."),
    systemd: bool = typer.Option(False, help="Print a systemd service and timer instead."),
    run: bool = typer.Option(False, help="Stay running: back up and prune every --every."),
    every: float = typer.Option(24.0, help="Hours between backups with --run."),
) -> None:
    """Print a cron line (or systemd units) that backs up and prunes, or run a loop.

    Install the printed line with ``crontab -e`` (or the units under /etc/systemd/system
    and ``systemctl enable --now cryoprotect-backup.timer``); --run suits a container. The
    entries run in the project folder, so settings (and secrets) come from its .env file
    or the environment, never from the entry itself.
    """
    command = f"{shlex.quote(str(Path(sys.executable).parent / 'cryoprotect'))} backup"
    root = settings(ctx).root_dir  # settings come from its .env: no secret in the entry
    if run:
        from cryoprotect.backup.operations import create_backup
        from cryoprotect.backup.operations import prune as prune_backups

        while True:
            manifest = create_backup(engine(ctx), _store(ctx))
            result = prune_backups(_store(ctx), _policy(ctx))
            typer.echo(f"backup {manifest.id}; pruned {len(result['removed'])}", err=True)
            time.sleep(every * 3600)
    if systemd:
        typer.echo(
            "# /etc/systemd/system/cryoprotect-backup.service\n"
            "[Unit]\nDescription=CryoProtect database backup\n\n"
            f"[Service]\nType=oneshot\nWorkingDirectory={root}\n"
            f"EnvironmentFile=-{root}/.env\n"
            f"ExecStart={command} create\nExecStartPost={command} prune\n\n"
            "# /etc/systemd/system/cryoprotect-backup.timer\n"
            "[Unit]\nDescription=CryoProtect database backup, daily\n\n"
            "[Timer]\nOnCalendar=*-*-* 03:17:00\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target"
        )
        return
    if len(cron.split()) != 5:
        fail(f"--cron needs five fields (minute hour day month weekday), not {cron!r}")
    typer.echo(f"{cron} cd {shlex.quote(str(root))} && {command} create && {command} prune")
