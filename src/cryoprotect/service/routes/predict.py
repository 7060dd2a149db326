"""``POST /predict``: one item or a batch, answered from the cache or by the predictor processes."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from pydantic import Discriminator, Tag
from starlette.concurrency import run_in_threadpool

from cryoprotect.service.bodies import StrictJSONRoute
from cryoprotect.service.context import Service, current
from cryoprotect.service.errors import ClientGoneError, RestoreInProgressError, TimeLimitError
from cryoprotect.service.predictions import (
    check_structures,
    component_names,
    remember,
    split_cached,
)
from cryoprotect.service.predictors import OverloadedError, Ticket
from cryoprotect.service.recording import acting_user, prediction_rows, record
from cryoprotect.service.schemas import (
    BatchRequest,
    Failure,
    PredictItem,
    PredictResponse,
    ValidationProblems,
)

router = APIRouter(route_class=StrictJSONRoute, tags=["predictions"])

EXAMPLES = {
    "molecule": {"value": {"target": "tg", "smiles": "OCC(O)CO"}},
    "targets": {"value": {"targets": ["tg", "iri"], "smiles": "glycerol", "concentration_mM": 50}},
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
            "items": [{"target": "tg", "smiles": "OCC(O)CO"}, {"target": "tg", "smiles": "OCCO"}]
        }
    },
}
PredictBody = Annotated[
    Annotated[PredictItem, Tag("item")] | Annotated[BatchRequest, Tag("batch")],
    Discriminator(lambda v: "batch" if isinstance(v, dict) and "items" in v else "item"),
    Body(openapi_examples=EXAMPLES),
]
RESPONSES = {
    403: {
        "model": Failure,
        "description": "The request acts for a user (the header CRYOPROTECT_SERVICE_USER_HEADER "
        "names) who is unknown or may not record predictions; nothing was recorded.",
    },
    409: {
        "model": Failure,
        "description": "The request acts for a user, but a model version that predicted is "
        "not registered in the database, so its predictions cannot be recorded.",
    },
    413: {"model": Failure, "description": "The body is larger than the service reads."},
    422: {
        "model": ValidationProblems,
        "description": "The body is not valid: each problem names its field (a molecule that "
        "is neither a known name nor a readable SMILES, too).",
    },
    503: {
        "model": Failure,
        "description": "Cannot predict now: a restore holds the database, too many items "
        "waiting, molecule names not loaded yet (the database has not answered), or a "
        "predictor process ended. "
        "Retry after the seconds of the Retry-After header.",
    },
    504: {
        "model": Failure,
        "description": "The prediction took longer than the time limit "
        "(CRYOPROTECT_PREDICTION_TIME_LIMIT); its work was stopped.",
    },
}


async def _disconnected(request: Request) -> None:
    """Return once the client has disconnected (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _wait(ticket: Ticket, request: Request, seconds: float) -> list[dict]:
    """Return the ticket's results; stop its work if the time runs out or the client goes."""
    answer = asyncio.ensure_future(ticket.results())
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait(
            {answer, gone}, timeout=max(seconds, 0), return_when=asyncio.FIRST_COMPLETED
        )
    except BaseException:  # the server cancels the request (shutting down): stop its work
        ticket.cancel()
        answer.cancel()
        raise
    finally:
        gone.cancel()
    if answer in done:
        return answer.result()
    ticket.cancel()
    answer.cancel()
    if gone in done:
        raise ClientGoneError("the client disconnected")
    raise TimeLimitError("the prediction took longer than the time limit")


async def _predicted(
    svc: Service, request: Request, items: list, structures: list, deadline: float
) -> list[dict]:
    """Predict ``items`` in the predictor processes by ``deadline``, counting stops."""
    limit = svc.settings.prediction_time_limit
    try:
        names = component_names(items, svc.resolve)
        ticket = svc.predictors.submit(items, structures, names)
        return await _wait(ticket, request, deadline - time.monotonic())
    except OverloadedError:
        svc.metrics.requests_stopped.labels("overloaded").inc()
        raise
    except ClientGoneError:
        svc.metrics.requests_stopped.labels("disconnected").inc()
        raise
    except TimeLimitError:
        svc.metrics.requests_stopped.labels("time_limit").inc()
        raise TimeLimitError(
            f"the prediction took longer than the time limit of {limit:g} s "
            "(CRYOPROTECT_PREDICTION_TIME_LIMIT); its work was stopped"
        ) from None


@router.post("/predict", response_model=PredictResponse, responses=RESPONSES)
async def predict(
    request: Request, body: PredictBody, svc: Annotated[Service, Depends(current)]
) -> PredictResponse:
    """Predict one or more targets for a molecule or a formulation, or for a batch.

    A single item gives ``item: 0`` results; a batch (``{"items": [...]}``, at most
    1,000 items) gives results in item order. A structure RDKit cannot read is a 422
    naming its field; a subject a model cannot use gets ``error`` in its result, and the
    other items are still predicted. While a restore holds the database the answer is 503
    naming it.

    When the service is set to trust an authenticating proxy's user header
    (CRYOPROTECT_SERVICE_USER_HEADER) and the request carries it, the request acts for that
    user: every prediction is recorded for them (all or none) and carries its
    ``prediction_id``; ``recorded_for`` names the user. Otherwise nothing is recorded.
    """
    restoring = svc.reading("restore")
    if restoring:
        raise RestoreInProgressError(restoring)
    user = acting_user(request, svc)
    deadline = time.monotonic() + svc.settings.prediction_time_limit
    batch = isinstance(body, BatchRequest)
    items = body.items if batch else [body]
    request.state.structure_prefix = (
        (lambda loc: ["items", *loc]) if batch else (lambda loc: list(loc[1:]))
    )
    confidence = svc.settings.prediction_confidence
    structures = await run_in_threadpool(check_structures, items, svc.resolve, svc.names_loaded)
    found, missing = split_cached(svc.cache, items, structures, confidence)
    if missing:
        todo, checked = [items[i] for i in missing], [structures[i] for i in missing]
        fresh = await _predicted(svc, request, todo, checked, deadline)
        remember(svc.cache, todo, checked, fresh, confidence)
        for result in fresh:
            index = missing[result["item"]]
            found.setdefault(index, []).append({**result, "item": index})
    results = [result for index in range(len(items)) for result in found[index]]
    for result in results:
        if result["error"]:
            category = "no_model" if result["model_version"] is None else "unusable_input"
            svc.metrics.prediction_errors.labels(result["target"], category).inc()
        else:
            svc.metrics.predictions.labels(result["target"], result["model_version"]).inc()
    if user is not None:
        rows = prediction_rows(items, structures, results, confidence, svc.resolve)
        ids = await run_in_threadpool(record, svc, user, rows)
        results = [{**r, "prediction_id": i} for r, i in zip(results, ids, strict=True)]
    return PredictResponse(
        request_id=request.scope["state"]["request_id"],
        confidence=confidence,
        predictions=results,
        recorded_for=user,
    )
