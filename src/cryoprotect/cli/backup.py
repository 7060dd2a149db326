"""``cryoprotect backup``: create, list, verify, prune, restore, schedule; archive WAL."""

from __future__ import annotations

import json
import shlex
import sys
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer

from cryoprotect.cli.common import (
    FORMAT_OPTION,
    OutputFormat,
    emit,
    engine,
    fail,
    progress_bar,
    settings,
)

app = typer.Typer(help="Backups of the database: SQLite or PostgreSQL, local or object storage.")


class Method(StrEnum):
    """How ``backup create`` backs up."""

    copy = "copy"
    dump = "dump"
    base = "base"


def _store(ctx: typer.Context, url: str | None = None):
    from cryoprotect.backup.store import BackupStore

    cfg = settings(ctx)
    return BackupStore(url or cfg.resolved_backup_dir, **cfg.backup_storage_options)


def _policy(ctx: typer.Context):
    from cryoprotect.jobs import rotation_policy

    return rotation_policy(settings(ctx))


def _create(ctx: typer.Context, method: Method | None, progress=None):
    from cryoprotect.backup.operations import create_backup

    return create_backup(
        engine(ctx), _store(ctx), method=method.value if method else None, progress=progress
    )


@app.command()
def create(
    ctx: typer.Context,
    method: Method = typer.Option(
        None,
        help="copy (SQLite, the default there), dump (PostgreSQL, the default there) or base: "
        "a PostgreSQL base backup that point-in-time recovery replays archived WAL onto.",
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Back up the database now (consistent while others write) and print its id and path."""
    store = _store(ctx)
    try:
        with progress_bar(ctx, fmt, "backup") as progress:
            manifest = _create(ctx, method, progress)
    except (OSError, RuntimeError, ValueError) as error:
        fail(f"backup failed: {error}", fmt)
    path = f"{store.url.rstrip('/')}/{manifest.id}"
    summary = manifest.summary()
    emit(
        {"id": manifest.id, "path": path, **summary},
        fmt,
        [f"backup {manifest.id} ({manifest.method}): {summary['rows'] or 'no'} rows -> {path}"],
    )


@app.command("list")
def list_backups(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List the backups, oldest first; broken ones (unreadable manifest) are marked as such.

    Interrupted backups never list (``prune`` removes them).
    """
    manifests, broken = _store(ctx).listing()
    rows = [{**m.summary(), "broken": None} for m in manifests]
    rows += [{"id": backup_id, "broken": reason} for backup_id, reason in broken.items()]
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        if row["broken"]:
            typer.echo(f"{row['id']}  BROKEN: {row['broken']}")
            continue
        rows_text = "" if row["rows"] is None else f"  {row['rows']} rows"
        typer.echo(
            f"{row['id']}  {row['created']}  {row['kind']:<10}  {row['method']:<4}  "
            f"rev {row['schema_revision']}{rows_text}  {row['bytes']} bytes"
        )


@app.command()
def verify(
    ctx: typer.Context,
    backup_id: str = typer.Argument(..., help="The backup to check."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check a backup end to end: checksums, unpacking, row counts (SQLite: integrity too).

    A base backup is unpacked and checked with pg_verifybackup.
    """
    from cryoprotect.backup.operations import verify_backup
    from cryoprotect.backup.store import BackupNotFoundError, BrokenBackupError

    try:
        problems = verify_backup(_store(ctx), backup_id)
    except (BackupNotFoundError, BrokenBackupError) as error:
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
    """Delete backups the rotation policy does not keep (CRYOPROTECT_BACKUP_KEEP_*).

    Copies, dumps and base backups rotate separately; archived WAL older than the oldest
    kept base backup goes too. Broken backups are reported, never deleted.
    """
    from cryoprotect.backup.operations import prune as prune_backups

    result = prune_backups(_store(ctx), _policy(ctx), dry_run)
    verb = "would remove" if dry_run else "removed"
    lines = [
        f"kept {len(result['kept'])}, {verb} {len(result['removed'])} "
        f"({', '.join(result['removed']) or 'none'}), {len(result['wal_removed'])} WAL "
        f"segments and {len(result['partials'])} interrupted"
    ]
    lines += [f"broken, left alone: {i}: {reason}" for i, reason in result["broken"].items()]
    emit(result, fmt, lines)


AT_HELP = (
    "PostgreSQL: the database as it was at this moment, replayed from the newest base backup "
    "before it and the archived WAL. SQLite (no WAL archive): the newest whole backup taken "
    "at or before this time. A time without a zone is local time."
)


@app.command()
def restore(
    ctx: typer.Context,
    backup_id: str = typer.Argument(None, help="The backup (default: the newest, or see --at)."),
    at: datetime = typer.Option(None, help=AT_HELP),
    tables: str = typer.Option(None, help="Only these tables, comma-separated."),
    force: bool = typer.Option(False, help="Replace data the database holds."),
    health: bool = typer.Option(True, help="Check schema and references after restoring."),
    full_health: bool = typer.Option(
        False, help="Run every health check after restoring (slower on large databases)."
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Restore a backup into the database, holding it for the whole restore.

    Every check of the backup (kind, schema revision, checksums, row counts) happens before
    anything is written. While the restore runs no other connection can write (the service
    answers 503); the output counts the rows replaced. Refuses a database that holds data
    without --force, and a backup of a newer schema.
    """
    from cryoprotect.backup.archive import CorruptArchiveError
    from cryoprotect.backup.operations import restore_backup
    from cryoprotect.backup.store import BackupNotFoundError, BrokenBackupError

    chosen = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    when = at if at is None or at.tzinfo else at.astimezone()
    try:
        with progress_bar(ctx, fmt, "restore") as progress:
            outcome = restore_backup(
                engine(ctx),
                _store(ctx),
                backup_id,
                at=when,
                tables=chosen,
                force=force,
                check_health=health,
                full_health=full_health,
                server_user=settings(ctx).backup_replay_user,
                progress=progress,
            )
    except (BackupNotFoundError, BrokenBackupError, CorruptArchiveError, RuntimeError) as error:
        # RuntimeError: refused or busy restores, broken references, tool and replay failures
        fail(f"restore failed: {error}", fmt)
    data = vars(outcome)
    moment = f" as of {outcome.at}" if outcome.at else ""
    lines = [
        f"restored backup {outcome.backup_id}{moment}: "
        + ", ".join(f"{t} ({n})" for t, n in outcome.rows.items()),
        "replaced: "
        + (", ".join(f"{t} ({n})" for t, n in outcome.replaced.items() if n) or "nothing"),
    ]
    if outcome.upgraded_from:
        lines.append(f"migrated the schema from {outcome.upgraded_from} to the newest revision")
    if outcome.problems:
        fail("restored, but checks failed: " + "; ".join(outcome.problems), fmt, **data)
    emit(data, fmt, lines)


@app.command("wal-push")
def wal_push(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="The WAL file (%p in archive_command)."),
    store: str = typer.Option(
        None, help="The backup store (default CRYOPROTECT_BACKUP_DIR); a folder or fsspec URL."
    ),
) -> None:
    """Archive one PostgreSQL WAL file into the store: the server's archive_command.

    postgresql.conf: archive_mode = on and
    archive_command = 'cryoprotect backup wal-push --store /srv/backups %p'.
    Exits non-zero (the server retries) unless the file is stored; a file of the same name
    and other content is never overwritten.
    """
    from cryoprotect.backup.pitr import push_wal

    try:
        stored = push_wal(_store(ctx, store), path)
    except (OSError, RuntimeError, ValueError) as error:
        fail(f"archiving {path.name} failed: {error}")
    typer.echo(f"{path.name} {'archived' if stored else 'was archived already'}")


def _round(ctx: typer.Context) -> str:
    """Back up and prune once; return the line to log."""
    from cryoprotect.backup.operations import prune as prune_backups

    manifest = _create(ctx, None)
    result = prune_backups(_store(ctx), _policy(ctx))
    return f"backup {manifest.id}; pruned {len(result['removed'])}"


@app.command()
def schedule(
    ctx: typer.Context,
    cron: str = typer.Option("17 3 * * *", help="When, as a cron expression (default 03:17)."),
    systemd: bool = typer.Option(False, help="Print a systemd service and timer instead."),
    run: bool = typer.Option(False, help="Stay running: back up and prune every --every."),
    every: float = typer.Option(24.0, help="Hours between backups with --run."),
    runs: int = typer.Option(0, help="With --run, stop after this many rounds (0: never)."),
) -> None:
    """Print a cron line (or systemd units) that backs up and prunes, or run a loop.

    Install the printed line with ``crontab -e`` (or the units under /etc/systemd/system
    and ``systemctl enable --now cryoprotect-backup.timer``); --run suits a container: a
    failed round is logged on standard error and the loop goes on (exit 1 at the end of
    --runs if the last round failed). The entries run in the project folder, so settings
    (and secrets) come from its .env file or the environment, never from the entry itself.
    """
    command = f"{shlex.quote(str(Path(sys.executable).parent / 'cryoprotect'))} backup"
    root = settings(ctx).root_dir  # settings come from its .env: no secret in the entry
    if run:
        done, failed = 0, False
        while True:
            try:
                typer.echo(_round(ctx), err=True)
                failed = False
            except Exception as error:  # noqa: BLE001 (a failed round must not end the loop)
                typer.echo(f"backup failed: {type(error).__name__}: {error}", err=True)
                failed = True
            done += 1
            if runs and done >= runs:
                raise typer.Exit(code=1 if failed else 0)
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
