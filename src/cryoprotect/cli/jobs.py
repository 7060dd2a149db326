"""``cryoprotect jobs``: the scheduler of backups, prunes and health checks, and its status."""

from __future__ import annotations

import signal
import threading
import time
from enum import StrEnum

import typer

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, fail, settings

app = typer.Typer(
    help="Scheduled jobs (backup and prune, health check) for hosts without cron.",
    no_args_is_help=True,
)


class Job(StrEnum):
    """A scheduled job."""

    backup = "backup"
    health = "health"


ONLY_OPTION = typer.Option(
    None, "--only", help="Only this job (backup or health); repeat for more. Default: all."
)


def _chosen(only: list[Job] | None) -> list[str]:
    from cryoprotect.jobs import JOBS

    return [job.value for job in only] if only else list(JOBS)


@app.command()
def run(
    ctx: typer.Context,
    only: list[Job] = ONLY_OPTION,
    once: bool = typer.Option(False, help="Run each job once and exit."),
) -> None:
    """Run the jobs now and then at their intervals, until stopped (SIGTERM or Ctrl-C).

    backup: back up the database and prune by the rotation policy, every
    CRYOPROTECT_SCHEDULE_BACKUP_HOURS. health: every health check, its report written to
    reports/health/, every CRYOPROTECT_SCHEDULE_HEALTH_HOURS. The service's readiness checks
    and /metrics read the newest backup and report. A failed job is logged and tried again
    at its next time. With --once the exit status is 1 if a job failed or a critical health
    check did.
    """
    from cryoprotect.jobs import run_schedule

    cfg = settings(ctx)
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda _signal, _frame: stop.set())
    try:
        runs = run_schedule(cfg, _chosen(only), rounds=1 if once else 0, stop=stop)
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if once and any(r.status != "ok" for r in runs):
        raise typer.Exit(code=1)


def _line(job: str, run: dict | None, late: bool) -> str:
    if run is None:
        return f"{job}: never run"
    when = f"{run['status']} at {run['finished']} ({run['detail']})"
    return f"{job}: {when}; next {run['next_run']}" + (" OVERDUE" if late else "")


@app.command()
def status(
    ctx: typer.Context,
    only: list[Job] = ONLY_OPTION,
    grace: float = typer.Option(1.0, help="Hours a job may be late before it is overdue."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Show each job's last run; exit 1 if the last run failed or the next one is overdue.

    Jobs never run here are shown as such and are not an error (the scheduler may be
    starting). The compose stack's scheduler uses this as its health check.
    """
    from cryoprotect.jobs import last_runs, overdue

    runs = last_runs(settings(ctx), _chosen(only))
    now = time.time()
    late = [job for job, run in runs.items() if overdue(run, now, grace * 3600)]
    failed = [job for job, run in runs.items() if run and run["status"] == "failed"]
    lines = [_line(job, run, job in late) for job, run in runs.items()]
    if late or failed:
        problems = [f"{job} overdue" for job in late] + [f"{job} failed" for job in failed]
        if fmt is OutputFormat.table:
            for line in lines:
                typer.echo(line, err=True)
        fail("; ".join(problems), fmt, jobs=runs)
    emit({"jobs": runs}, fmt, lines)
