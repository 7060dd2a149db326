"""``/health/ready``: whether this instance can serve, and whether anything is going stale.

Each check is a function of the :class:`~.context.Service` in :data:`CHECKS`, reading only
what background probes measured, so readiness answers at once whatever the database does.
Failing checks (the instance must not get traffic): the database has not answered lately or
a restore holds it, a target's model is not loaded, or a data file system is nearly full.
Warnings (it may serve, but an operator should look): backups cannot be written, or the
newest backup or database health check is older than the settings allow. Adding a check is
adding an entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryoprotect.models.targets import TARGETS
from cryoprotect.service import state
from cryoprotect.service.schemas import Check, Readiness

if TYPE_CHECKING:
    from cryoprotect.service.context import Service


def _age_check(when: float | None, limit_hours: float, what: str) -> Check:
    if when is None:
        return Check(status="warn", detail=f"no {what} yet")
    hours = (time.time() - when) / 3600
    status = "ok" if hours <= limit_hours else "warn"
    return Check(status=status, detail=f"newest {what} {hours:.1f} h old (limit {limit_hours:g} h)")


def database(service: Service) -> Check:
    """Fail unless the database answered the last background check, and lately."""
    probe = service.probes["database"]
    settings = service.settings
    stale_after = 2 * settings.ready_check_interval + settings.database_connect_timeout + 1
    reading, running = probe.last, probe.running_for()
    restoring = service.reading("restore")
    if restoring:
        return Check(status="fail", detail=restoring)
    if reading is None:
        return Check(status="fail", detail=f"no answer yet (asking for {running or 0:.1f} s)")
    age = round(reading.age, 1)
    if reading.error:
        return Check(status="fail", detail=reading.error, age_seconds=age)
    if age > stale_after:
        return Check(
            status="fail",
            detail=f"last answer {age:.0f} s ago; asking again for {running or 0:.0f} s",
            age_seconds=age,
        )
    backend = service.engine.url.get_backend_name()
    return Check(
        status="ok", detail=f"{backend} answered in {reading.seconds:.3f} s", age_seconds=age
    )


def models(service: Service) -> Check:
    """Fail unless every target's model is loaded and a predictor process runs."""
    missing = {t: service.models.get(t, {}).get("error", "not loaded") for t in TARGETS}
    missing = {t: e for t, e in missing.items() if "version" not in service.models.get(t, {})}
    if missing:
        return Check(status="fail", detail="; ".join(f"{t}: {e}" for t, e in missing.items()))
    alive = service.predictors.alive()
    if not alive:
        return Check(status="fail", detail="no predictor process is running")
    loaded = ", ".join(f"{t} {m['version']}" for t, m in sorted(service.models.items()))
    workers = len(service.predictors.workers)
    return Check(status="ok", detail=f"loaded {loaded}; {alive} of {workers} predictors running")


def disk(service: Service) -> Check:
    """Fail when a data file system has less free space than the settings allow."""
    minimum = service.settings.ready_min_free_disk
    usage = service.reading("disk")
    if not usage:
        return Check(status="fail", detail="no data folder found")
    shares = {path: free / total for path, (free, total) in usage.items() if total}
    path, share = min(shares.items(), key=lambda kv: kv[1])
    status = "ok" if share >= minimum else "fail"
    return Check(status=status, detail=f"{share:.1%} free on {path} (minimum {minimum:.0%})")


def backup_storage(service: Service) -> Check:
    """Warn when a backup cannot be written to the store."""
    last = service.probes["backup_writable"].last
    problem = last.error if last and last.error else (last.value if last else "not checked yet")
    if problem:
        return Check(status="warn", detail=f"cannot write backups: {problem}")
    return Check(status="ok", detail=f"{service.store.url} is writable")


def last_backup(service: Service) -> Check:
    """Warn when the newest backup is older than the settings allow."""
    limit = service.settings.ready_max_backup_age_hours
    return _age_check(service.reading("last_backup"), limit, "backup")


def last_health_check(service: Service) -> Check:
    """Warn when the newest health report about this database is older than allowed."""
    report = service.reading("health_report")
    limit = service.settings.ready_max_health_age_hours
    return _age_check(state.report_time(report), limit, "health check")


CHECKS: dict[str, Callable[[Service], Check]] = {
    "database": database,
    "models": models,
    "disk": disk,
    "backup_storage": backup_storage,
    "last_backup": last_backup,
    "last_health_check": last_health_check,
}
"""Every readiness check by name."""


def readiness(service: Service) -> Readiness:
    """Run every readiness check of ``service``.

    The status is ``fail`` if any check fails, ``degraded`` on a warning, else ``ok``.
    """
    checks = {name: check(service) for name, check in CHECKS.items()}
    statuses = {c.status for c in checks.values()}
    overall = "fail" if "fail" in statuses else "degraded" if "warn" in statuses else "ok"
    return Readiness(status=overall, checks=checks)
