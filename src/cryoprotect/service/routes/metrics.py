"""``GET /metrics``: Prometheus metrics in the text format; never waits on the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cryoprotect.service.context import Service, current

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def exposition(svc: Annotated[Service, Depends(current)]) -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
