"""``/health/ready``: whether this instance can serve, and whether anything is going stale.

Failing checks (the instance must not get traffic): the database does not answer or a
restore holds it, a target's model is not loaded, or a data file system is nearly full.
Warnings (it may serve, but an operator should look): backups cannot be written, or the
newest backup or database health check is older than the settings allow.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from cryoprotect.backup.exclusion import restore_in_progress
from cryoprotect.models.targets import TARGETS
from cryoprotect.service.schemas import Check, Readiness

if TYPE_CHECKING:
    from cryoprotect.service.app import Service


def _age_check(when: float | None, limit_hours: float, what: str) -> Check:
    if when is None:
        return Check(status="warn", detail=f"no {what} yet")
    hours = (time.time() - when) / 3600
    status = "ok" if hours <= limit_hours else "warn"
    return Check(status=status, detail=f"newest {what} {hours:.1f} h old (limit {limit_hours:g} h)")


def _disk(usage: dict[str, tuple[int, int]], minimum: float) -> Check:
    if not usage:
        return Check(status="fail", detail="no data folder found")
    shares = {path: free / total for path, (free, total) in usage.items() if total}
    path, share = min(shares.items(), key=lambda kv: kv[1])
    status = "ok" if share >= minimum else "fail"
    return Check(status=status, detail=f"{share:.1%} free on {path} (minimum {minimum:.0%})")


def readiness(service: Service) -> Readiness:
    """Run every readiness check of ``service``.

    The status is ``fail`` if any check fails, ``degraded`` on a warning, else ``ok``.
    """
    settings = service.settings
    database = restore_in_progress(service.engine) or service.database.get()
    missing = {
        t: service.models.errors.get(t, "not loaded")
        for t in TARGETS
        if t not in service.models.models
    }
    loaded = ", ".join(f"{t} {m.version}" for t, m in sorted(service.models.models.items()))
    writable = service.backup_writable.get()
    checks = {
        "database": Check(status="fail", detail=database)
        if database
        else Check(status="ok", detail=f"{service.engine.url.get_backend_name()} answers"),
        "models": Check(status="fail", detail="; ".join(f"{t}: {e}" for t, e in missing.items()))
        if missing
        else Check(status="ok", detail=f"loaded {loaded}"),
        "disk": _disk(service.disk.get(), settings.ready_min_free_disk),
        "backup_storage": Check(status="warn", detail=f"cannot write backups: {writable}")
        if writable
        else Check(status="ok", detail=f"{service.store.url} is writable"),
        "last_backup": _age_check(
            service.last_backup.get(), settings.ready_max_backup_age_hours, "backup"
        ),
        "last_health_check": _age_check(
            service.health_checked_at(),
            settings.ready_max_health_age_hours,
            "health check",
        ),
    }
    statuses = {c.status for c in checks.values()}
    overall = "fail" if "fail" in statuses else "degraded" if "warn" in statuses else "ok"
    return Readiness(status=overall, checks=checks)
