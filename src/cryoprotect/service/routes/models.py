"""``GET /models``: each target's model, its version, training date and validation figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cryoprotect.models import registry
from cryoprotect.models.card import ModelCard
from cryoprotect.models.targets import TARGETS
from cryoprotect.service.context import Service, current
from cryoprotect.service.schemas import ModelInfo

router = APIRouter(tags=["models"])


def card_metrics(card: ModelCard | None) -> dict | None:
    """Return a model card's validation figures: CV, scaffold CV, hold-out, intervals, gate."""
    if card is None:
        return None
    validation = card.validation
    return {
        "method": validation.method,
        "cross_validation": validation.summary,
        "by_scaffold": validation.by_scaffold.summary if validation.by_scaffold else None,
        "holdout": validation.holdout.model_dump() if validation.holdout else None,
        "interval_confidence": validation.interval_confidence,
        "interval_coverage": validation.interval_coverage,
        "interval_coverage_by_group": {
            group: figures.coverage for group, figures in card.uncertainty.by_group.items()
        }
        if card.uncertainty
        else None,
        "gate_passed": validation.gate.passed,
    }


@router.get("/models", response_model=list[ModelInfo])
def model_list(svc: Annotated[Service, Depends(current)]) -> list[ModelInfo]:
    """List each target's production model: version, training date, metrics, versions."""
    root = svc.settings.resolved_models_dir
    out = []
    for name, spec in TARGETS.items():
        loaded = svc.models.get(name, {"error": "no predictor process started"})
        card = loaded.get("card")
        out.append(
            ModelInfo(
                target=name,
                loaded="version" in loaded,
                version=loaded.get("version"),
                unit=spec.unit,
                trained=card.created if card else None,
                metrics=card_metrics(card),
                versions=registry.versions(root, name) if root.is_dir() else [],
                error=loaded.get("error"),
            )
        )
    return out
