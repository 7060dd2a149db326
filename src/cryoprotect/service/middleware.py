"""Per-request bookkeeping as plain ASGI middleware: request id, timing, metrics, one log line.

Every response carries ``X-Request-ID`` (the client's, when it sent a sensible one, or a new
one), and every log line written while a request is answered carries it too.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.routing import Match

from cryoprotect.service.metrics import ServiceMetrics

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
log = structlog.get_logger("cryoprotect.service")


def error_category(status: int) -> str | None:
    """Return the class of failure a status code stands for (``None`` for success)."""
    if status < 400:
        return None
    return {404: "not_found", 405: "method_not_allowed", 422: "validation"}.get(
        status, "client" if status < 500 else "server"
    )


def _request_id(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            if _SAFE_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RequestMiddleware:
    """Wrap an ASGI app: request id, latency histogram, request counter, access log line."""

    def __init__(self, app, metrics: ServiceMetrics, routes: list) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    def _route(self, scope) -> str:
        """Return the template of the route ``scope`` goes to (``unmatched`` for none)."""
        for route in self.routes:
            if route.matches(scope)[0] is Match.FULL:
                return route.path
        return "unmatched"

    async def __call__(self, scope, receive, send) -> None:
        """Answer one request through the wrapped app, recording what happened."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER, request_id.encode()),
                ]
            await send(message)

        method, route = scope["method"], self._route(scope)
        in_progress = self.metrics.in_progress.labels(method, route)
        in_progress.inc()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", error_category="server")
            raise
        finally:
            in_progress.dec()
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            category = error_category(status)
            level = log.warning if category == "server" else log.info
            level(
                "request",
                method=method,
                route=route,
                path=scope["path"],
                status=status,
                latency_ms=round(elapsed * 1000, 2),
                error_category=category,
            )
            structlog.contextvars.unbind_contextvars("request_id")
