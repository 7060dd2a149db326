"""Recording the service's predictions for the user a request acts for.

The service knows a request's user only from the header named by
``CRYOPROTECT_SERVICE_USER_HEADER``, which the authenticating proxy in front of the service
sets (overwriting whatever a client sent). Without that setting, or without the header, a
request acts for nobody and nothing is recorded. With it, every prediction of the request is
written to ``predictions`` for that user in one transaction
(:func:`cryoprotect.db.predictions.record_predictions`, without registering: the service's
login may act for users but not add users or model versions), and each result carries its
``prediction_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from cryoprotect.db.predictions import (
    USERNAME_LENGTH,
    NotRegisteredError,
    PredictionRow,
    record_predictions,
)
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.service.context import Service
from cryoprotect.service.errors import RETRY_AFTER_SECONDS
from cryoprotect.service.schemas import PredictItem


def acting_user(request: Request, svc: Service) -> str | None:
    """Return the username ``request`` acts for, or ``None`` (nobody: nothing recorded).

    Raises
    ------
    HTTPException
        403 if the header is set but is not a username.
    """
    header = svc.settings.service_user_header
    if header is None or header not in request.headers:
        return None
    username = request.headers[header].strip()
    if not username or len(username) > USERNAME_LENGTH or not username.isprintable():
        raise HTTPException(403, f"the {header} header does not name a user")
    return username


def _inputs(name: str, item: PredictItem) -> dict:
    if name == "viability":
        return {"components": [c.model_dump() for c in item.components or []]}
    inputs: dict = {"smiles": item.smiles}
    if name == "iri":
        inputs["concentration_mM"] = item.concentration_mM
    return inputs


def prediction_rows(
    items: Sequence[PredictItem],
    structures: list[list[str]],
    results: list[dict],
    confidence: float,
    resolve,
) -> list[PredictionRow]:
    """Return one :class:`PredictionRow` per result (in the order of ``results``).

    ``structures`` are the SMILES :func:`cryoprotect.service.predictions.check_structures`
    found per item; component names resolve through ``resolve``.
    """
    rows = []
    for result in results:
        item, name = items[result["item"]], result["target"]
        subject: dict = {}
        if name == "viability":
            subject["components"] = [
                (resolve(c.molecule.casefold()) or c.molecule, c.amount, c.unit)
                for c in item.components or []
            ]
        else:
            subject["smiles"] = (structures[result["item"]] or [None])[0]
        rows.append(
            PredictionRow(
                target=name,
                model_version=str(result["model_version"]),
                inputs=_inputs(name, item),
                prediction=result["prediction"],
                lower=result["lower"],
                upper=result["upper"],
                confidence=confidence,
                in_domain=result["in_domain"],
                concentration_mM=item.concentration_mM if name == "iri" else None,
                error=result["error"] or "",
                **subject,
            )
        )
    return rows


def record(svc: Service, username: str, rows: list[PredictionRow]) -> list[int | None]:
    """Record ``rows`` for ``username``; return the prediction ids (``None``: not recorded).

    Raises
    ------
    HTTPException
        403 if the user is unknown or the access rules refuse; 409 if a model version is
        not registered in the database; 503 if the database cannot be reached. Nothing is
        recorded then.
    """
    try:
        return record_predictions(svc.engine, username, rows, register=False)
    except NotRegisteredError as error:
        unknown_user = error.missing == "user"
        raise HTTPException(
            403 if unknown_user else 409,
            f"cannot record the predictions: {error}"
            + ("" if unknown_user else " (an operator registers it: cryoprotect train)"),
        ) from None
    except AccessDenied as error:
        raise HTTPException(403, f"cannot record the predictions: {error}") from None
    except OperationalError:
        raise HTTPException(
            503,
            "cannot record the predictions now: the database does not answer",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
