"""``cryoprotect jobs``: the scheduler the compose stack runs, seen by readiness and /metrics.

One round of the real jobs runs against a SQLite database holding the curated reference
data (backups and health reports go to a new project folder); then the service's own
probes, readiness checks and gauges read that folder and store as the service would.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from cryoprotect.backup.store import BackupStore
from cryoprotect.cli.main import app
from cryoprotect.config import get_settings
from cryoprotect.db.engine import make_engine
from cryoprotect.jobs import run_schedule
from cryoprotect.service.context import Service, _probes
from cryoprotect.service.metrics import StateCollector
from cryoprotect.service.readiness import readiness

runner = CliRunner()


@pytest.fixture
def project(reference_database, tmp_path, monkeypatch):
    """Settings of a new project folder on the reference database, read afresh."""
    monkeypatch.setenv("CRYOPROTECT_ROOT_DIR", str(tmp_path))
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL", reference_database)
    monkeypatch.setenv("CRYOPROTECT_BACKUP_DIR", str(tmp_path / "backups"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _service(settings) -> Service:
    """The parts of the service its readiness checks and gauges read (no predictors)."""
    service = Service(
        settings=settings,
        engine=make_engine(settings.resolved_database_url),
        store=BackupStore(settings.resolved_backup_dir),
        metrics=None,
        predictors=SimpleNamespace(alive=lambda: 0, queue=SimpleNamespace(waiting_items=lambda: 0)),
        cache=None,
    )
    service.probes = _probes(service)
    for probe in service.probes.values():
        probe.read_now()
    return service


def test_one_round_is_seen_by_readiness_and_metrics(project):
    before = _service(get_settings())
    stale = readiness(before).checks
    assert stale["last_backup"].status == "warn" and "no backup" in stale["last_backup"].detail
    assert stale["last_health_check"].status == "warn"
    before.engine.dispose()

    started = time.time()
    result = runner.invoke(app, ["jobs", "run", "--once"])
    assert result.exit_code == 0, result.output

    service = _service(get_settings())
    checks = readiness(service).checks
    for name, what in (("last_backup", "backup"), ("last_health_check", "health check")):
        assert checks[name].status == "ok", checks[name]
        assert checks[name].detail.startswith(f"newest {what} 0.0 h old"), checks[name]
    gauges = {family.name: family for family in StateCollector(service.observed).collect()}
    for name in ("cryoprotect_last_backup", "cryoprotect_last_health_check"):
        (sample,) = gauges[f"{name}_timestamp_seconds"].samples
        assert started - 2 <= sample.value <= time.time(), name
    service.engine.dispose()

    status = runner.invoke(app, ["jobs", "status", "--format", "json"])
    assert status.exit_code == 0, status.output
    runs = json.loads(status.stdout)["jobs"]
    assert runs["backup"]["status"] == "ok" and runs["backup"]["detail"].startswith("backup ")
    assert runs["health"]["status"] == "ok"
    assert (project / "reports" / "health" / "latest.json").is_file()


def test_a_failed_job_is_recorded_and_the_status_fails(project, monkeypatch):
    blocker = project / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CRYOPROTECT_BACKUP_DIR", str(blocker / "backups"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["jobs", "run", "--once", "--only", "backup"])
    assert result.exit_code == 1
    status = runner.invoke(app, ["jobs", "status"])
    assert status.exit_code == 1
    assert "backup failed" in status.stderr
    never = runner.invoke(app, ["jobs", "status", "--only", "health"])
    assert never.exit_code == 0 and "health: never run" in never.stdout


def test_the_loop_runs_each_job_at_its_interval(project, monkeypatch):
    from cryoprotect import jobs

    calls = []
    monkeypatch.setitem(jobs.RUNNERS, "backup", lambda s, e: calls.append("backup") or ("ok", ""))
    monkeypatch.setitem(jobs.RUNNERS, "health", lambda s, e: calls.append("health") or ("ok", ""))
    monkeypatch.setenv("CRYOPROTECT_SCHEDULE_BACKUP_HOURS", str(0.5 / 3600))
    monkeypatch.setenv("CRYOPROTECT_SCHEDULE_HEALTH_HOURS", "24")
    get_settings.cache_clear()
    settings = get_settings()
    runs = run_schedule(settings, ["backup"], rounds=3)
    assert calls == ["backup"] * 3 and runs[-1].status == "ok"
    overdue = jobs.overdue(jobs.last_runs(settings)["backup"], time.time() + 10, grace_seconds=5)
    assert overdue and not jobs.overdue(None, time.time(), 0)
