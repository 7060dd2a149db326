"""``GET /models``: each target's model, its version, training date and validation figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cryoprotect.models import registry
from cryoprotect.models.targets import TARGETS
from cryoprotect.service.context import Service, current
from cryoprotect.service.schemas import ModelInfo

router = APIRouter(tags=["models"])


def card_metrics(card: dict) -> dict | None:
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


@router.get("/models", response_model=list[ModelInfo])
def model_list(svc: Annotated[Service, Depends(current)]) -> list[ModelInfo]:
    """List each target's production model: version, training date, metrics, versions."""
    root = svc.settings.resolved_models_dir
    out = []
    for name, spec in TARGETS.items():
        loaded = svc.models.get(name, {"error": "no predictor process started"})
        card = loaded.get("card", {})
        out.append(
            ModelInfo(
                target=name,
                loaded="version" in loaded,
                version=loaded.get("version"),
                unit=spec.unit,
                trained=card.get("created"),
                metrics=card_metrics(card),
                versions=registry.versions(root, name) if root.is_dir() else [],
                error=loaded.get("error"),
            )
        )
    return out
