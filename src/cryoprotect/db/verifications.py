"""Lab verifications: a measurement set against the recorded prediction it checks.

A verification points at a prediction (``predictions``, written by ``predict --record``, the
service or ``suggest``) and, once measured, at the experiment holding the lab's value.
:func:`add_verification` links the two for the verifier; :func:`verification_table` sets
the measured value beside the prediction with its interval and whether the value fell
inside it, which the dashboard shows per target.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from cryoprotect.db.access import user_session
from cryoprotect.db.schema import (
    Experiment,
    LabVerification,
    Mixture,
    ModelVersion,
    Molecule,
    Prediction,
    User,
)
from cryoprotect.vocabulary import VERIFICATION_STATUSES

VERIFICATION_COLUMNS = [
    "verification",
    "status",
    "subject",
    "measured",
    "predicted",
    "lower",
    "upper",
    "inside",
    "in_domain",
    "confidence",
    "model_version",
    "prediction_id",
    "completed_at",
]
"""Columns of :func:`verification_table`."""
PENDING = ("planned", "in_progress")


def add_verification(
    engine: Engine,
    username: str,
    prediction_id: int,
    record_id: str | None = None,
    status: str = "confirmed",
    notes: str | None = None,
) -> int:
    """Record that ``username`` checked prediction ``prediction_id``; return the verification id.

    ``record_id`` names the user's experiment (``experiments.record_id``, e.g. from ``import
    experiments``) that measured it. A pending (planned) verification of that prediction by
    the user is completed with it; otherwise a new verification is added. Without
    ``record_id`` the status must be pending (``planned`` or ``in_progress``). Written acting
    for the user: the prediction must be the user's own.

    Raises
    ------
    LookupError
        If the user, the experiment (among the user's) or the prediction (among the user's)
        is not found, or the experiment measures another property than the prediction.
    ValueError
        If ``status`` is unknown, or not pending without an experiment.
    """
    if status not in VERIFICATION_STATUSES:
        raise ValueError(f"status must be one of {', '.join(VERIFICATION_STATUSES)}")
    if record_id is None and status not in PENDING:
        raise ValueError(f"without a measurement (record_id) the status is one of {PENDING}")
    with Session(engine) as lookup:
        user_id = lookup.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise LookupError(f"there is no user {username!r}")
    with user_session(engine, user_id) as session:
        predicted = session.execute(
            select(ModelVersion.property)
            .join(Prediction, Prediction.model_version_id == ModelVersion.id)
            .where(Prediction.id == prediction_id, Prediction.owner_id == user_id)
        ).scalar()
        if predicted is None:
            raise LookupError(f"{username} has no prediction {prediction_id}")
        experiment_id = None
        if record_id is not None:
            experiment_id, measured = session.execute(
                select(Experiment.id, Experiment.property).where(
                    Experiment.record_id == record_id, Experiment.owner_id == user_id
                )
            ).one_or_none() or (None, None)
            if experiment_id is None:
                raise LookupError(f"{username} has no experiment with record_id {record_id!r}")
            if measured != predicted:
                raise LookupError(
                    f"experiment {record_id!r} measures {measured}, prediction "
                    f"{prediction_id} is of {predicted}"
                )
        verification = session.scalar(
            select(LabVerification)
            .where(
                LabVerification.prediction_id == prediction_id,
                LabVerification.verifier_id == user_id,
                LabVerification.experiment_id.is_(None),
            )
            .order_by(LabVerification.id)
            .limit(1)
        )
        now = datetime.now(UTC)
        if verification is None:
            verification = LabVerification(
                prediction_id=prediction_id, verifier_id=user_id, requested_at=now
            )
            session.add(verification)
        verification.experiment_id = experiment_id
        verification.status = status
        if notes is not None:
            verification.notes = notes
        if experiment_id is not None:
            verification.completed_at = now
        session.flush()
        return verification.id


def verification_table(engine: Engine, target: str, measured_only: bool = False) -> pd.DataFrame:
    """Return the lab verifications of ``target``: measured value beside the prediction.

    One row per verification the session may see (on PostgreSQL, the login's; a verification
    is read by its verifier only), in the columns :data:`VERIFICATION_COLUMNS`. ``inside``
    says whether the measured value lies in the prediction's interval (``None`` while
    unmeasured or without an interval). Planned verifications (e.g. from ``cryoprotect
    suggest``) have no measured value yet; ``measured_only`` leaves them out, keeping the
    verified compounds whose measurement and prediction are both known.
    """
    mixture = aliased(Mixture)
    query = (
        select(
            LabVerification.id,
            LabVerification.status,
            Molecule.name,
            Molecule.canonical_smiles,
            mixture.name,
            Experiment.value,
            Prediction.value,
            Prediction.lower,
            Prediction.upper,
            Prediction.in_domain,
            Prediction.confidence,
            ModelVersion.version,
            Prediction.id,
            LabVerification.completed_at,
        )
        .outerjoin(Experiment, LabVerification.experiment_id == Experiment.id)
        .outerjoin(Prediction, LabVerification.prediction_id == Prediction.id)
        .outerjoin(ModelVersion, Prediction.model_version_id == ModelVersion.id)
        .outerjoin(
            Molecule, func.coalesce(Experiment.molecule_id, Prediction.molecule_id) == Molecule.id
        )
        .outerjoin(
            mixture, func.coalesce(Experiment.mixture_id, Prediction.mixture_id) == mixture.id
        )
        .where(func.coalesce(Experiment.property, ModelVersion.property) == target)
        .order_by(LabVerification.id)
    )
    if measured_only:
        query = query.where(Experiment.id.is_not(None), Prediction.id.is_not(None))
    rows = []
    with Session(engine) as session:
        for (
            vid,
            status,
            name,
            smiles,
            mixture_name,
            measured,
            value,
            lower,
            upper,
            *rest,
        ) in session.execute(query):
            known = None not in (measured, lower, upper)
            rows.append(
                (
                    vid,
                    status,
                    name or smiles or mixture_name or "unnamed mixture",
                    measured,
                    value,
                    lower,
                    upper,
                    bool(lower <= measured <= upper) if known else None,
                    *rest,
                )
            )
    return pd.DataFrame(rows, columns=VERIFICATION_COLUMNS)
