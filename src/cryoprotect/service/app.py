"""The FastAPI application: ``POST /predict``, ``GET /models``, health endpoints, ``/metrics``.

Build it with :func:`create_app` (``cryoprotect serve`` runs it with uvicorn). Models load
once at start-up; a target whose model fails to load is reported by ``/models``,
``/health/ready`` and ``cryoprotect_model_loaded``, and its predictions carry an error.
"""

from __future__ import annotations

import gc
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import Body, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import Discriminator, Tag
from sqlalchemy import Engine

from cryoprotect import __version__
from cryoprotect.backup.exclusion import restore_in_progress
from cryoprotect.backup.store import BackupStore
from cryoprotect.config import Settings
from cryoprotect.db.datasets import molecule_names
from cryoprotect.db.engine import make_engine
from cryoprotect.models import registry
from cryoprotect.models.targets import TARGETS
from cryoprotect.service import state
from cryoprotect.service.batching import MicroBatcher
from cryoprotect.service.metrics import ServiceMetrics, StateCollector
from cryoprotect.service.middleware import RequestMiddleware
from cryoprotect.service.predictions import (
    LoadedModels,
    UnreadableStructureError,
    cached_results,
    check_structures,
    predict_checked,
)
from cryoprotect.service.readiness import readiness
from cryoprotect.service.schemas import (
    BatchRequest,
    ModelInfo,
    PredictItem,
    PredictResponse,
    Readiness,
)

log = structlog.get_logger("cryoprotect.service")


@dataclass
class Service:
    """What the endpoints share: settings, database, models, metrics and cached readings."""

    settings: Settings
    engine: Engine
    store: BackupStore
    metrics: ServiceMetrics
    models: LoadedModels
    names: dict[str, str]
    health_folder: Path
    database: state.Cached
    disk: state.Cached
    last_backup: state.Cached
    backup_writable: state.Cached
    batcher: MicroBatcher

    def health_checked_at(self) -> float | None:
        """Return the unix time of the newest database health report, or ``None``."""
        return state.report_time(state.health_report(self.health_folder))

    def observed(self) -> dict:
        """Return the readings the scrape-time gauges report."""
        return {
            "database_up": self.database.get() is None,
            "disk": self.disk.get(),
            "last_backup": self.last_backup.get(),
            "last_health_check": self.health_checked_at(),
        }


def _data_paths(settings: Settings, engine: Engine) -> list[Path]:
    paths = [settings.root_dir / "data", settings.resolved_models_dir]
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        paths.append(Path(engine.url.database).parent)
    store = settings.resolved_backup_dir
    if "://" not in store:
        paths.append(Path(store))
    return list(dict.fromkeys(p.resolve() for p in paths))


def _newest_backup(store: BackupStore) -> float | None:
    try:
        return state.last_backup_time(store)
    except Exception as error:  # an unreachable store: no reading  # noqa: BLE001
        log.warning("backup listing failed", error=str(error))
        return None


def _names(engine: Engine) -> dict[str, str]:
    try:
        return molecule_names(engine, public_only=True)
    except Exception as error:  # the database may be down at start: names come later  # noqa: BLE001
        log.warning("molecule names not loaded", error=str(error))
        return {}


def build_service(
    settings: Settings, metrics: ServiceMetrics, engine: Engine | None = None
) -> Service:
    """Connect to the database and backup store and load the production models."""
    engine = engine or make_engine(settings.resolved_database_url)
    metrics.watch_queries(engine)
    store = BackupStore(settings.resolved_backup_dir, **settings.backup_storage_options)
    models = LoadedModels.load(
        settings.resolved_models_dir, cache_size=settings.prediction_cache_size
    )
    for name in TARGETS:
        model = models.models.get(name)
        metrics.model_loaded.labels(name, model.version if model else "none").set(1 if model else 0)
        if model is None:
            log.error("model not loaded", target=name, error=models.errors[name])
    names = _names(engine)
    service = Service(
        settings=settings,
        engine=engine,
        store=store,
        metrics=metrics,
        models=models,
        names=names,
        health_folder=settings.root_dir / "reports" / "health",
        database=state.Cached(lambda: state.database_error(engine), seconds=2),
        disk=state.Cached(lambda: state.disk_usage(_data_paths(settings, engine)), seconds=5),
        last_backup=state.Cached(lambda: _newest_backup(store), seconds=60),
        backup_writable=state.Cached(lambda: state.backup_write_error(store), seconds=60),
        batcher=MicroBatcher(
            lambda items, structures: predict_checked(
                models, items, structures, names.get, settings.prediction_confidence
            )
        ),
    )
    metrics.registry.register(StateCollector(service.observed))
    return service


def _card_metrics(card: dict) -> dict | None:
    """Return the validation figures of a model card (cross-validation, hold-out, gate)."""
    validation = card.get("validation")
    if not validation:
        return None
    return {
        "method": validation.get("method"),
        "cross_validation": validation.get("summary"),
        "holdout": validation.get("holdout"),
        "interval_confidence": validation.get("interval_confidence"),
        "interval_coverage": validation.get("interval_coverage"),
        "gate_passed": validation.get("gate", {}).get("passed"),
    }


Body_ = Annotated[
    Annotated[PredictItem, Tag("item")] | Annotated[BatchRequest, Tag("batch")],
    Discriminator(lambda v: "batch" if isinstance(v, dict) and "items" in v else "item"),
    Body(
        openapi_examples={
            "molecule": {"value": {"target": "tg", "smiles": "OCC(O)CO"}},
            "targets": {
                "value": {"targets": ["tg", "iri"], "smiles": "glycerol", "concentration_mM": 50}
            },
            "formulation": {
                "value": {
                    "target": "viability",
                    "components": [
                        {"molecule": "glycerol", "amount": 10, "unit": "%v/v"},
                        {"molecule": "CS(C)=O", "amount": 5, "unit": "%v/v"},
                    ],
                }
            },
            "batch": {
                "value": {
                    "items": [
                        {"target": "tg", "smiles": "OCC(O)CO"},
                        {"target": "tg", "smiles": "OCCO"},
                    ]
                }
            },
        }
    ),
]


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Return the service's FastAPI app for ``settings`` (and ``engine``, if given)."""
    holder: dict[str, Service] = {}
    metrics = ServiceMetrics(__version__)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = time.perf_counter()
        holder["service"] = build_service(settings, metrics, engine)
        gc.collect()
        gc.freeze()  # the models' many objects are permanent: full collections skip them
        loaded = sorted(holder["service"].models.models)
        log.info(
            "service ready",
            models=loaded,
            seconds=round(time.perf_counter() - started, 2),
            settings=settings.public(),
        )
        yield
        holder["service"].batcher.close()
        holder["service"].engine.dispose()

    app = FastAPI(
        title="CryoProtect prediction service",
        version=__version__,
        description="Predictions of glass transition temperature (tg), ice recrystallization "
        "inhibition (iri) and post-thaw viability, with intervals, applicability domain and "
        "model versions; health checks and Prometheus metrics for operators.",
        lifespan=lifespan,
    )

    def service() -> Service:
        return holder["service"]

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        """422 naming each field; the body's shape (single item or batch) is left out."""
        detail = []
        for problem in error.errors():
            loc = list(problem["loc"])
            if loc[:1] == ["body"] and loc[1:2] in (["item"], ["batch"]):
                del loc[1]
            detail.append({**problem, "loc": loc})
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)

    @app.exception_handler(UnreadableStructureError)
    async def unreadable(request: Request, error: UnreadableStructureError) -> JSONResponse:
        prefix = request.state.structure_prefix
        detail = [
            {
                "type": "structure",
                "loc": ["body", *prefix(location)],
                "msg": message,
            }
            for location, message in error.problems
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id")
        return JSONResponse({"detail": "internal error", "request_id": request_id}, status_code=500)

    @app.post(
        "/predict",
        response_model=PredictResponse,
        tags=["predictions"],
        responses={503: {"description": "A restore of the database is in progress."}},
    )
    def predict(request: Request, body: Body_) -> PredictResponse:
        """Predict one or more targets for a molecule or a formulation, or for a batch.

        A single item gives ``item: 0`` results; a batch (``{"items": [...]}``, at most
        1,000 items) gives results in item order. A structure RDKit cannot read is a 422
        naming its field; a subject a model cannot use gets ``error`` in its result. While
        a restore holds the database the answer is 503 naming it.
        """
        svc = service()
        restoring = restore_in_progress(svc.engine)
        if restoring:
            return JSONResponse({"detail": restoring}, status_code=503)
        items = body.items if isinstance(body, BatchRequest) else [body]
        request.state.structure_prefix = (
            (lambda loc: ["items", *loc])
            if isinstance(body, BatchRequest)
            else (lambda loc: loc[1:])
        )
        confidence = svc.settings.prediction_confidence
        structures = check_structures(items, svc.names.get)
        results = cached_results(svc.models, items, structures, confidence)
        if results is None:
            results = svc.batcher.submit(items, structures)
        for result in results:
            if result["error"]:
                category = "no_model" if result["model_version"] is None else "unusable_input"
                svc.metrics.prediction_errors.labels(result["target"], category).inc()
            else:
                svc.metrics.predictions.labels(result["target"], result["model_version"]).inc()
        return PredictResponse(
            request_id=request.scope["state"]["request_id"],
            confidence=confidence,
            predictions=results,
        )

    @app.get("/models", response_model=list[ModelInfo], tags=["models"])
    def model_list() -> list[ModelInfo]:
        """List each target's production model: version, training date, metrics, versions."""
        svc = service()
        root = svc.settings.resolved_models_dir
        out = []
        for name, spec in TARGETS.items():
            model = svc.models.models.get(name)
            card = model.card if model else {}
            out.append(
                ModelInfo(
                    target=name,
                    loaded=model is not None,
                    version=model.version if model else None,
                    unit=spec.unit,
                    trained=card.get("created"),
                    metrics=_card_metrics(card),
                    versions=registry.versions(root, name) if root.is_dir() else [],
                    error=svc.models.errors.get(name),
                )
            )
        return out

    @app.get("/health", tags=["health"])
    def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/health/ready",
        response_model=Readiness,
        tags=["health"],
        responses={503: {"model": Readiness, "description": "A check failed."}},
    )
    def ready() -> JSONResponse:
        """Readiness: database, models, disk (fail), backup storage and ages (warn)."""
        result = readiness(service())
        return JSONResponse(
            result.model_dump(), status_code=503 if result.status == "fail" else 200
        )

    @app.get("/health/db", tags=["health"])
    def health_db() -> dict:
        """Summary of the newest database health report (``cryoprotect health``)."""
        svc = service()
        report = state.health_report(svc.health_folder)
        if report is None:
            return {"status": "unknown", "detail": "no health report yet: run cryoprotect health"}
        summary = report["summary"]
        failed = [
            {k: c.get(k) for k in ("name", "table", "column", "severity", "message")}
            for c in report.get("checks", [])
            if not c.get("passed", True)
        ]
        return {
            "status": "ok" if summary["healthy"] else "fail",
            "created": summary["created"],
            "age_seconds": round(time.time() - state.report_time(report)),
            "summary": summary,
            "failed_checks": failed,
        }

    @app.get("/metrics", include_in_schema=False)
    def exposition() -> Response:
        """Prometheus metrics in the text exposition format."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(RequestMiddleware, metrics=metrics, routes=app.routes)
    return app
