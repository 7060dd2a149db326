"""Prometheus metrics of the service, named by Prometheus conventions (``monitoring/`` uses them).

Each app has its own registry (so several apps in one process do not share counts). Values
that describe the machine and the data (database reachable, disk space, age of the newest
backup and health check) are read when Prometheus scrapes, by :class:`StateCollector`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)


class ServiceMetrics:
    """The service's metrics, registered in one :class:`CollectorRegistry`."""

    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "cryoprotect_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cryoprotect_http_request_duration_seconds",
            "Time from receiving a request to sending its response.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "cryoprotect_http_requests_in_progress",
            "Requests being answered now.",
            ["method", "route"],
            registry=self.registry,
        )
        self.query_duration = Histogram(
            "cryoprotect_db_query_duration_seconds",
            "Database statement time, by operation (select, insert, ...).",
            ["operation"],
            buckets=QUERY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "cryoprotect_predictions",
            "Predictions made, by target and model version.",
            ["target", "model_version"],
            registry=self.registry,
        )
        self.prediction_errors = Counter(
            "cryoprotect_prediction_errors",
            "Predictions that could not be made, by target and category.",
            ["target", "category"],
            registry=self.registry,
        )
        self.predictor_batches = Counter(
            "cryoprotect_predictor_batches",
            "Batches predicted, by predictor process (worker).",
            ["worker"],
            registry=self.registry,
        )
        self.predictor_items = Counter(
            "cryoprotect_predictor_items",
            "Items predicted, by predictor process (worker).",
            ["worker"],
            registry=self.registry,
        )
        self.predictor_restarts = Counter(
            "cryoprotect_predictor_restarts",
            "Predictor processes replaced: cancelled (time limit, client gone) or crashed.",
            ["reason"],
            registry=self.registry,
        )
        self.requests_stopped = Counter(
            "cryoprotect_prediction_requests_stopped",
            "Prediction requests stopped: time_limit, disconnected or overloaded.",
            ["reason"],
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "cryoprotect_model_loaded",
            "1 if the production model of a target is loaded, 0 if it failed to load.",
            ["target", "model_version"],
            registry=self.registry,
        )
        Gauge(
            "cryoprotect_build_info",
            "The running CryoProtect version.",
            ["version"],
            registry=self.registry,
        ).labels(version).set(1)

    def watch_queries(self, engine: Engine) -> None:
        """Time every statement ``engine`` runs into ``cryoprotect_db_query_duration_seconds``."""

        @event.listens_for(engine, "before_cursor_execute")
        def _start(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("cryoprotect_query_start", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _stop(conn, cursor, statement, parameters, context, executemany):
            started = conn.info["cryoprotect_query_start"].pop()
            operation = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else ""
            self.query_duration.labels(operation or "other").observe(time.perf_counter() - started)


class StateCollector(Collector):
    """Gauges computed at scrape time from ``read_state`` (a dict of the current values).

    ``read_state`` returns ``database_up`` (bool), ``disk`` (``{path: (free, total)}``),
    ``last_backup`` and ``last_health_check`` (unix times or ``None``, left out when unknown),
    ``predictors_alive`` and ``queued_items`` (counts). Every value is a reading taken in the
    background: a scrape never waits on the database or the backup store.
    """

    def __init__(self, read_state: Callable[[], dict]) -> None:
        self.read_state = read_state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the gauges for the current state."""
        state = self.read_state()
        yield GaugeMetricFamily(
            "cryoprotect_database_up",
            "1 if the database answered a query, 0 if not.",
            value=1.0 if state["database_up"] else 0.0,
        )
        yield GaugeMetricFamily(
            "cryoprotect_predictors_alive",
            "Predictor processes running.",
            value=state["predictors_alive"],
        )
        yield GaugeMetricFamily(
            "cryoprotect_prediction_queue_items",
            "Items waiting for a predictor process.",
            value=state["queued_items"],
        )
        free = GaugeMetricFamily(
            "cryoprotect_disk_free_bytes", "Free bytes on a data file system.", labels=["path"]
        )
        total = GaugeMetricFamily(
            "cryoprotect_disk_total_bytes", "Size of a data file system.", labels=["path"]
        )
        for path, (free_bytes, total_bytes) in state["disk"].items():
            free.add_metric([path], free_bytes)
            total.add_metric([path], total_bytes)
        yield free
        yield total
        for key, name, text in (
            ("last_backup", "cryoprotect_last_backup_timestamp_seconds", "Newest backup."),
            (
                "last_health_check",
                "cryoprotect_last_health_check_timestamp_seconds",
                "Newest database health report.",
            ),
        ):
            if state.get(key) is not None:
                yield GaugeMetricFamily(
                    name, f"Unix time of the {text[:-1].lower()}.", value=state[key]
                )
