"""The FastAPI application: ``POST /predict``, ``GET /models``, health endpoints, ``/metrics``.

Build it with :func:`create_app` (``cryoprotect serve`` runs it with uvicorn). The endpoints
live in :mod:`cryoprotect.service.routes`; what they share is the
:class:`~cryoprotect.service.context.Service` in ``app.state.service``, started by the
lifespan. Models load in the predictor processes at start-up; a target whose model fails to
load is reported by ``/models``, ``/health/ready`` and ``cryoprotect_model_loaded``, and its
predictions carry an error. Nothing waits on the database at start-up.
"""

from __future__ import annotations

import gc
import time
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from sqlalchemy import Engine

from cryoprotect import __version__
from cryoprotect.config import Settings
from cryoprotect.service import errors
from cryoprotect.service.context import build_service
from cryoprotect.service.metrics import ServiceMetrics
from cryoprotect.service.middleware import BodyLimitMiddleware, RequestMiddleware
from cryoprotect.service.routes import docs, health, metrics, models, predict
from cryoprotect.service.schemas import Failure

log = structlog.get_logger("cryoprotect.service")
DESCRIPTION = (
    "Predictions of glass transition temperature (tg), ice recrystallization inhibition (iri) "
    "and post-thaw viability, with intervals, applicability domain and model versions; health "
    "checks and Prometheus metrics for operators. Every error answer is JSON: 422 lists the "
    "problems by field, other errors give `detail` and the `request_id`."
)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Return the service's FastAPI app for ``settings`` (and ``engine``, if given)."""
    service_metrics = ServiceMetrics(__version__)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = time.perf_counter()
        app.state.service = build_service(settings, service_metrics, engine)
        gc.collect()
        gc.freeze()  # what start-up made is permanent: full collections skip it
        log.info(
            "service ready",
            models={t: m.get("version") for t, m in app.state.service.models.items()},
            workers=settings.service_workers,
            seconds=round(time.perf_counter() - started, 2),
            settings=settings.public(),
        )
        yield
        app.state.service.close()

    app = FastAPI(
        title="CryoProtect prediction service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses={500: {"model": Failure, "description": "An error of the service itself."}},
    )
    errors.install(app)
    routers = (predict.router, models.router, health.router, metrics.router)
    for router in routers:
        app.include_router(router)
    docs.install(app)
    routes = [r for router in routers for r in router.routes]
    routes += [r for r in app.routes if hasattr(r, "path")]  # /docs, its assets, /openapi.json
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes)
    app.add_middleware(RequestMiddleware, metrics=service_metrics, routes=routes)
    return app
