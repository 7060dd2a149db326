"""Per-request bookkeeping as plain ASGI middleware: request id, timing, metrics, one log line.

Every response carries ``X-Request-ID`` (the client's, when it sent a sensible one, or a new
one), and every log line written while a request is answered carries it too. An exception
no handler took is logged here once, as one line with its traceback and the request id, and
answered with a JSON 500; nothing reaches the server's own error output.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import structlog
from starlette.exceptions import HTTPException
from starlette.routing import Match

from cryoprotect.service.metrics import ServiceMetrics

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
log = structlog.get_logger("cryoprotect.service")


def error_category(status: int) -> str | None:
    """Return the class of failure a status code stands for (``None`` for success)."""
    if status < 400:
        return None
    named = {
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        422: "validation",
        499: "client_gone",
        503: "unavailable",
        504: "time_limit",
    }
    return named.get(status, "client" if status < 500 else "server")


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
        started_response = False

        async def send_with_id(message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
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
            if not started_response:
                await _internal_error(send_with_id, request_id)
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


async def _internal_error(send, request_id: str) -> None:
    """Send the JSON 500 answer of an unexpected error."""
    body = json.dumps({"detail": "internal error", "request_id": request_id}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse a request body larger than ``limit`` bytes with a JSON 413, reading no more of it.

    A declared ``Content-Length`` over the limit is refused before the body is read; a body
    sent in chunks is refused once the bytes received pass the limit.
    """

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        """Pass the request on, counting the body's bytes as they are received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413)
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope, send) -> None:
        request_id = scope.get("state", {}).get("request_id")
        detail = f"the request body is larger than the limit of {self.limit} bytes"
        body = json.dumps({"detail": detail, "request_id": request_id}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
