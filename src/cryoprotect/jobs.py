"""Scheduled operations jobs: backup and prune, and the database health check, in a loop.

``cryoprotect jobs run`` is the scheduler of the compose stack (no cron daemon): each job
runs when the loop starts and then every interval of the settings
(``CRYOPROTECT_SCHEDULE_BACKUP_HOURS``, ``CRYOPROTECT_SCHEDULE_HEALTH_HOURS``). The jobs
write where the prediction service reads:

- ``backup``: a backup into the backup store, then a prune by the rotation policy
  (``CRYOPROTECT_BACKUP_KEEP_*``); readiness ``last_backup`` and the gauge
  ``cryoprotect_last_backup_timestamp_seconds`` read the store's newest backup.
- ``health``: every health check, its report written to ``reports/health/`` under the
  project root; readiness ``last_health_check`` and the gauge
  ``cryoprotect_last_health_check_timestamp_seconds`` read the newest report.

Each job's last run (start, end, outcome, next run) is also kept in
``reports/jobs/<job>.json``, which ``cryoprotect jobs status`` reads. A failed job is logged
and retried at its next time; it never ends the loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy import Engine

from cryoprotect.config import Settings
from cryoprotect.files import write_json

log = structlog.get_logger("cryoprotect.jobs")

JOBS = ("backup", "health")
"""Every job, in the order a round runs them."""


def health_folder(settings: Settings) -> Path:
    """Return the folder of health reports the service reads (``reports/health``)."""
    return settings.root_dir / "reports" / "health"


def status_folder(settings: Settings) -> Path:
    """Return the folder of the jobs' last-run records (``reports/jobs``)."""
    return settings.root_dir / "reports" / "jobs"


def interval_seconds(settings: Settings, job: str) -> float:
    """Return the seconds between two runs of ``job``."""
    hours = {"backup": settings.schedule_backup_hours, "health": settings.schedule_health_hours}
    return hours[job] * 3600


def rotation_policy(settings: Settings):
    """Return the rotation policy of the settings (``CRYOPROTECT_BACKUP_KEEP_*``)."""
    from cryoprotect.backup.rotation import RotationPolicy

    return RotationPolicy(
        settings.backup_keep_last,
        settings.backup_keep_daily,
        settings.backup_keep_weekly,
        settings.backup_keep_monthly,
    )


def backup_job(settings: Settings, engine: Engine) -> tuple[str, str]:
    """Back up the database and prune the store; return the status and a line to log."""
    from cryoprotect.backup.operations import create_backup, prune
    from cryoprotect.backup.store import BackupStore

    store = BackupStore(settings.resolved_backup_dir, **settings.backup_storage_options)
    manifest = create_backup(engine, store)
    pruned = prune(store, rotation_policy(settings))
    broken = f", {len(pruned['broken'])} broken left alone" if pruned["broken"] else ""
    return "ok", f"backup {manifest.id}; pruned {len(pruned['removed'])}{broken}"


def health_job(settings: Settings, engine: Engine) -> tuple[str, str]:
    """Run every health check and write its report; return the status and a line to log.

    The status is ``problems`` when a critical check failed (the report is written all the
    same: the service sees a fresh check, and its verdict).
    """
    from cryoprotect.health.report import run_health, write_report

    folder = health_folder(settings)
    report = run_health(engine, folder)
    write_report(report, folder)
    summary = report.summary()
    line = (
        f"{summary['passed']}/{summary['checks']} checks passed ({summary['failed']} failed, "
        f"{summary['errors']} errors)"
    )
    return ("ok" if report.passed else "problems"), line


RUNNERS: dict[str, Callable[[Settings, Engine], tuple[str, str]]] = {
    "backup": backup_job,
    "health": health_job,
}


@dataclass
class JobRun:
    """One run of a job: when, how it ended (``ok``, ``problems``, ``failed``), what it did."""

    job: str
    started: str
    finished: str
    seconds: float
    status: str
    detail: str
    next_run: str | None = None


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def run_job(settings: Settings, engine: Engine, job: str, clock=time.time) -> JobRun:
    """Run ``job`` once, log its outcome and record it in ``reports/jobs/<job>.json``.

    A failure is caught, logged and recorded with status ``failed``.
    """
    started = clock()
    log.info("job started", job=job)
    try:
        status, detail = RUNNERS[job](settings, engine)
    except Exception as error:  # noqa: BLE001 (a failed job is recorded; the loop goes on)
        status, detail = "failed", f"{type(error).__name__}: {error}"
    finished = clock()
    run = JobRun(
        job=job,
        started=_iso(started),
        finished=_iso(finished),
        seconds=round(finished - started, 3),
        status=status,
        detail=detail,
        next_run=_iso(started + interval_seconds(settings, job)),
    )
    level = {"ok": log.info, "problems": log.warning}.get(status, log.error)
    level("job finished", job=job, status=status, detail=detail, seconds=run.seconds)
    write_json(status_folder(settings) / f"{job}.json", asdict(run))
    return run


def last_runs(settings: Settings, jobs: Iterable[str] = JOBS) -> dict[str, dict | None]:
    """Return each job's recorded last run (``None`` for a job never run here)."""
    runs: dict[str, dict | None] = {}
    for job in jobs:
        path = status_folder(settings) / f"{job}.json"
        try:
            runs[job] = json.loads(path.read_text())
        except (OSError, ValueError):
            runs[job] = None
    return runs


def overdue(run: dict | None, now: float, grace_seconds: float) -> bool:
    """Whether a job's next run is more than ``grace_seconds`` late (never run: no)."""
    if run is None or not run.get("next_run"):
        return False
    return now > datetime.fromisoformat(run["next_run"]).timestamp() + grace_seconds


def run_schedule(
    settings: Settings,
    jobs: Iterable[str] = JOBS,
    *,
    rounds: int = 0,
    stop: threading.Event | None = None,
    engine: Engine | None = None,
    clock=time.time,
) -> list[JobRun]:
    """Run ``jobs`` now and then each at its interval, until ``stop`` is set.

    With ``rounds``, stop once every job has run that many times. Returns the last run of
    each job. The database engine is made from the settings unless given.
    """
    from cryoprotect.db.engine import make_engine

    chosen = list(dict.fromkeys(jobs))
    stop = stop or threading.Event()
    own = engine is None
    engine = engine or make_engine(
        settings.resolved_database_url, connect_timeout=settings.database_connect_timeout
    )
    due = dict.fromkeys(chosen, clock())
    done = dict.fromkeys(chosen, 0)
    last: dict[str, JobRun] = {}
    try:
        while not stop.is_set():
            for job in sorted(chosen, key=lambda j: (due[j], JOBS.index(j))):
                if due[job] > clock() or (rounds and done[job] >= rounds) or stop.is_set():
                    continue
                started = clock()
                last[job] = run_job(settings, engine, job, clock)
                done[job] += 1
                due[job] = max(started + interval_seconds(settings, job), clock())
            if rounds and all(n >= rounds for n in done.values()):
                break
            stop.wait(max(1.0, min(due.values()) - clock()))
    finally:
        if own:
            engine.dispose()
    return [last[job] for job in chosen if job in last]
