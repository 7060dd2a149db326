"""Health endpoints: liveness, readiness from background readings, the database's health report.

None of them waits on the database: readiness and ``/health/db`` report what the background
probes last read, with its age.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from cryoprotect import __version__
from cryoprotect.health.checks import CRITICAL
from cryoprotect.service import state
from cryoprotect.service.context import Service, current
from cryoprotect.service.readiness import readiness
from cryoprotect.service.schemas import DatabaseHealth, FailedCheck, Liveness, Readiness

router = APIRouter(tags=["health"])
FAILED_FIELDS = ("name", "table", "column", "severity", "status", "message")


@router.get("/health", response_model=Liveness)
def health() -> Liveness:
    """Liveness: the process answers (nothing else is checked)."""
    return Liveness(status="ok", version=__version__)


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A check failed."}},
)
def ready(svc: Annotated[Service, Depends(current)]) -> JSONResponse:
    """Readiness: database, models and predictors, disk (fail); backups, reports (warn).

    Answers at once: every check reads what a background probe measured last, and says how
    old that reading is.
    """
    result = readiness(svc)
    return JSONResponse(result.model_dump(), status_code=503 if result.status == "fail" else 200)


def database_health(svc: Service) -> DatabaseHealth:
    """Summarise the newest health report about the service's own database."""
    report = svc.reading("health_report")
    if report is None:
        return DatabaseHealth(
            status="unknown",
            database=svc.database,
            detail="no health report about this database yet: run cryoprotect health",
        )
    failed = [
        FailedCheck(**{k: c.get(k) for k in FAILED_FIELDS})
        for c in report.get("checks", [])
        if c.get("status", "pass") != "pass"
    ]
    critical = any(c.severity == CRITICAL for c in failed)
    summary = report["summary"]
    return DatabaseHealth(
        status="fail" if critical or not summary["healthy"] else "warn" if failed else "ok",
        database=svc.database,
        created=summary["created"],
        age_seconds=round(time.time() - state.report_time(report), 1),
        summary=summary,
        failed_checks=failed,
    )


@router.get(
    "/health/db",
    response_model=DatabaseHealth,
    responses={503: {"model": DatabaseHealth, "description": "A critical check failed."}},
)
def health_db(svc: Annotated[Service, Depends(current)]) -> JSONResponse:
    """Summarise the newest health report (``cryoprotect health``) of this service's database.

    Lists every check that did not pass; HTTP 503 when a critical one failed.
    """
    result = database_health(svc)
    return JSONResponse(result.model_dump(), status_code=503 if result.status == "fail" else 200)
