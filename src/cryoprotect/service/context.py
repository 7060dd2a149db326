"""What the endpoints share: settings, database, predictors, result cache and background readings.

:func:`build_service` starts it without waiting on the database: molecule names, the
database check, disk space, backups and the database's health report are read by
background probes (:mod:`cryoprotect.service.probes`), and the models load in the predictor
processes (:mod:`cryoprotect.service.predictors`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from fastapi import Request
from sqlalchemy import Engine

from cryoprotect.backup.exclusion import restore_in_progress
from cryoprotect.backup.store import BackupStore
from cryoprotect.config import Settings
from cryoprotect.db.datasets import molecule_names
from cryoprotect.db.engine import make_engine
from cryoprotect.models.targets import TARGETS
from cryoprotect.service import state
from cryoprotect.service.metrics import ServiceMetrics, StateCollector
from cryoprotect.service.predictions import ResultCache
from cryoprotect.service.predictors import PredictorPool
from cryoprotect.service.probes import Probe

log = structlog.get_logger("cryoprotect.service")
NAMES_REFRESH_SECONDS = 300.0
"""Molecule names are read again this often once loaded (new molecules become known)."""
BACKUP_CHECK_SECONDS = 60.0
REPORT_CHECK_SECONDS = 30.0
RESTORE_CHECK_SECONDS = 1.0
"""How often the service looks for a restore holding its database (it answers 503 then)."""


@dataclass
class Service:
    """The running service's parts; one per app, kept in ``app.state.service``."""

    settings: Settings
    engine: Engine
    store: BackupStore
    metrics: ServiceMetrics
    predictors: PredictorPool
    cache: ResultCache
    models: dict[str, dict] = field(default_factory=dict)
    """Per target: ``version`` and ``card`` of the loaded model, or ``error``."""
    names: dict[str, str] = field(default_factory=dict)
    names_loaded_at: float | None = None
    probes: dict[str, Probe] = field(default_factory=dict)

    @property
    def database(self) -> str:
        """The database URL as health reports name it (password hidden)."""
        return self.engine.url.render_as_string(hide_password=True)

    def resolve(self, name: str) -> str | None:
        """Return the SMILES of a known molecule name (case-folded), or ``None``."""
        return self.names.get(name)

    @property
    def names_loaded(self) -> bool:
        """Whether molecule names have been read from the database since start."""
        return self.names_loaded_at is not None

    def load_names(self) -> int:
        """Read the molecule names again when due; return how many are known.

        Due: never read, none known yet (a database being filled), or read long ago.
        """
        due = (
            self.names_loaded_at is None
            or not self.names
            or time.monotonic() - self.names_loaded_at > NAMES_REFRESH_SECONDS
        )
        if due:
            self.names = molecule_names(self.engine, public_only=True)
            if self.names_loaded_at is None:
                log.info("molecule names loaded", names=len(self.names))
            self.names_loaded_at = time.monotonic()
        return len(self.names)

    def reading(self, name: str):
        """Return the last value of probe ``name`` (``None`` if none or failed)."""
        last = self.probes[name].last
        return None if last is None or last.error else last.value

    def observed(self) -> dict:
        """Return the readings the scrape-time gauges report."""
        database = self.probes["database"].last
        return {
            "database_up": database is not None and database.error is None,
            "disk": self.reading("disk") or {},
            "last_backup": self.reading("last_backup"),
            "last_health_check": state.report_time(self.reading("health_report")),
            "predictors_alive": self.predictors.alive(),
            "queued_items": self.predictors.queue.waiting_items(),
        }

    def close(self) -> None:
        """Stop the probes and predictors and close the database connections."""
        for probe in self.probes.values():
            probe.stop()
        self.predictors.close()
        self.engine.dispose()


def current(request: Request) -> Service:
    """Return the service of the app answering ``request`` (a FastAPI dependency)."""
    return request.app.state.service


def _data_paths(settings: Settings, engine: Engine) -> list[Path]:
    paths = [settings.root_dir / "data", settings.resolved_models_dir]
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        paths.append(Path(engine.url.database).parent)
    store = settings.resolved_backup_dir
    if "://" not in store:
        paths.append(Path(store))
    return list(dict.fromkeys(p.resolve() for p in paths))


def _probes(service: Service) -> dict[str, Probe]:
    settings, engine, store = service.settings, service.engine, service.store
    every = settings.ready_check_interval
    folder = settings.root_dir / "reports" / "health"
    paths = _data_paths(settings, engine)
    return {
        "database": Probe("database", lambda: state.ping(engine), every),
        "restore": Probe("restore", lambda: restore_in_progress(engine), RESTORE_CHECK_SECONDS),
        "names": Probe("names", service.load_names, every),
        "disk": Probe("disk", lambda: state.disk_usage(paths), every),
        "last_backup": Probe(
            "last_backup", lambda: state.last_backup_time(store), BACKUP_CHECK_SECONDS
        ),
        "backup_writable": Probe(
            "backup_writable", lambda: state.backup_write_error(store), BACKUP_CHECK_SECONDS
        ),
        "health_report": Probe(
            "health_report",
            lambda: state.own_health_report(folder, service.database),
            REPORT_CHECK_SECONDS,
        ),
    }


def build_service(
    settings: Settings, metrics: ServiceMetrics, engine: Engine | None = None
) -> Service:
    """Start the service's parts: probes in the background, predictors loaded (waited for)."""
    engine = engine or make_engine(
        settings.resolved_database_url, connect_timeout=settings.database_connect_timeout
    )
    metrics.watch_queries(engine)

    def batch_done(worker: int, items: int, seconds: float) -> None:
        metrics.predictor_batches.labels(str(worker)).inc()
        metrics.predictor_items.labels(str(worker)).inc(items)

    predictors = PredictorPool(
        settings.resolved_models_dir,
        settings.prediction_confidence,
        settings.service_workers,
        max_waiting=settings.prediction_max_waiting,
        log_format=settings.log_format,
        on_batch=batch_done,
        on_restart=lambda reason: metrics.predictor_restarts.labels(reason).inc(),
    )
    service = Service(
        settings=settings,
        engine=engine,
        store=BackupStore(settings.resolved_backup_dir, **settings.backup_storage_options),
        metrics=metrics,
        predictors=predictors,
        cache=ResultCache(settings.prediction_cache_size),
    )
    service.probes = _probes(service)
    for probe in service.probes.values():
        probe.start()
    service.models = predictors.start()
    for name in TARGETS:
        loaded = service.models.get(name, {"error": "no predictor process started"})
        version = loaded.get("version")
        metrics.model_loaded.labels(name, version or "none").set(1 if version else 0)
        if version is None:
            log.error("model not loaded", target=name, error=loaded["error"])
    metrics.registry.register(StateCollector(service.observed))
    return service
