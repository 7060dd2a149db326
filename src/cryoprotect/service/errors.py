"""How the service refuses a request: JSON naming the field, never more than an excerpt of it.

Handlers for refused bodies (422), HTTP errors (404, 405, 413), unreadable molecules (422),
and prediction limits: time limit (504), client gone (499, for the log only), a restore,
overload and missing molecule names or predictors (503). Inputs are quoted as bounded ASCII
excerpts, so a lone surrogate, a non-finite number or a 5 MB body cannot break or bloat the answer.
"""

from __future__ import annotations

import json
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from cryoprotect.service.predictions import NamesUnavailableError, UnreadableStructureError
from cryoprotect.service.predictors import OverloadedError, PredictorCrashedError

EXCERPT_CHARACTERS = 80
"""Most characters of a refused input quoted back."""
RETRY_AFTER_SECONDS = 5
CLIENT_GONE = 499
"""Status logged for a request whose client disconnected (nginx's convention; never sent)."""


class TimeLimitError(RuntimeError):
    """A prediction took longer than the time limit; its work was stopped."""


class RestoreInProgressError(RuntimeError):
    """A restore holds the database; the message names the backup and who restores it."""


class ClientGoneError(RuntimeError):
    """The client disconnected before its predictions were ready; the work was stopped."""


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def excerpt(value: object) -> str:
    """Return ``value`` as JSON text in ASCII, cut to :data:`EXCERPT_CHARACTERS`."""
    try:
        text = json.dumps(_finite(value), ensure_ascii=True, default=repr)
    except (ValueError, RecursionError):
        text = ascii(value)[: EXCERPT_CHARACTERS * 2]
    return text if len(text) <= EXCERPT_CHARACTERS else text[:EXCERPT_CHARACTERS] + "..."


def safe_text(text: object) -> str:
    """Return ``text`` as a string that encodes as UTF-8 (lone surrogates escaped)."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")[:500]


def _loc(parts) -> list:
    loc = [p if isinstance(p, int) else safe_text(p) for p in parts]
    if loc[:1] == ["body"] and loc[1:2] in (["item"], ["batch"]):
        del loc[1]  # the tag of the body's shape (one item or a batch) says nothing useful
    return loc


def failure(request: Request, status: int, detail: str, headers: dict | None = None) -> Response:
    """Return the JSON answer ``{"detail", "request_id"}`` with ``status``."""
    request_id = request.scope.get("state", {}).get("request_id")
    body = {"detail": safe_text(detail), "request_id": request_id}
    return JSONResponse(body, status_code=status, headers=headers)


async def invalid(request: Request, error: RequestValidationError) -> Response:
    """422 naming each field, with an excerpt of what was given there."""
    detail = []
    for problem in error.errors():
        entry = {
            "type": safe_text(problem.get("type", "invalid")),
            "loc": _loc(problem.get("loc", ["body"])),
            "msg": safe_text(problem.get("msg", "invalid")),
        }
        if problem.get("type") == "json_invalid":
            reason = (problem.get("ctx") or {}).get("error")
            entry["msg"] = safe_text(f"{entry['msg']}: {reason}" if reason else entry["msg"])
        elif "input" in problem:
            entry["excerpt"] = excerpt(problem["input"])
        detail.append(entry)
    return JSONResponse({"detail": detail}, status_code=422)


async def unreadable(request: Request, error: UnreadableStructureError) -> Response:
    """422 naming the field of every molecule that cannot be read."""
    prefix = request.state.structure_prefix
    detail = [
        {"type": "structure", "loc": ["body", *prefix(location)], "msg": safe_text(message)}
        for location, message in error.problems
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def http_error(request: Request, error: HTTPException) -> Response:
    """JSON for HTTP errors (404, 405, 413 ...), keeping their headers (``Allow``)."""
    detail = error.detail
    if error.status_code == 413:
        limit = request.app.state.service.settings.max_request_bytes
        detail = f"the request body is larger than the limit of {limit} bytes"
    return failure(request, error.status_code, str(detail), headers=error.headers)


async def time_limit(request: Request, error: TimeLimitError) -> Response:
    """504: the prediction took too long and was stopped."""
    return failure(request, 504, str(error))


async def client_gone(request: Request, error: ClientGoneError) -> Response:
    """Nothing to send: the client has gone (logged as 499)."""
    return Response(status_code=CLIENT_GONE)


async def unavailable(request: Request, error: Exception) -> Response:
    """503 with the reason and when to retry (restore, overload, no names, no predictor)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return failure(request, 503, str(error), headers=headers)


def install(app: FastAPI) -> None:
    """Register every handler of this module on ``app``."""
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(UnreadableStructureError, unreadable)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(TimeLimitError, time_limit)
    app.add_exception_handler(ClientGoneError, client_gone)
    for kind in (
        RestoreInProgressError,
        OverloadedError,
        NamesUnavailableError,
        PredictorCrashedError,
    ):
        app.add_exception_handler(kind, unavailable)
