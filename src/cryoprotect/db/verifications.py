"""Lab verifications read for review: each measured value beside the prediction it checks."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from cryoprotect.db.schema import (
    Experiment,
    LabVerification,
    Mixture,
    ModelVersion,
    Molecule,
    Prediction,
)

VERIFICATION_COLUMNS = [
    "verification",
    "status",
    "subject",
    "measured",
    "predicted",
    "lower",
    "upper",
    "in_domain",
    "model_version",
    "completed_at",
]
"""The columns of :func:`verification_table`, in order."""


def verification_table(engine: Engine, property_code: str) -> pd.DataFrame:
    """Return the lab verifications of ``property_code``, oldest first.

    Planned verifications (e.g. from ``cryoprotect suggest``) have no measured value yet.

    Parameters
    ----------
    engine
        The database.
    property_code
        A property of :data:`cryoprotect.vocabulary.PROPERTIES`, e.g. ``"tg"``: the property
        of the verifying experiment, or of the verified prediction's model.

    Returns
    -------
    pandas.DataFrame
        One row per verification with :data:`VERIFICATION_COLUMNS`: ``subject`` is the
        molecule's name (or its SMILES), or the mixture's name (``"unnamed mixture"``);
        ``measured`` the lab value; ``predicted``, ``lower``, ``upper``, ``in_domain`` and
        ``model_version`` the prediction it checks.
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
            ModelVersion.version,
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
        .where(func.coalesce(Experiment.property, ModelVersion.property) == property_code)
        .order_by(LabVerification.id)
    )
    with Session(engine) as session:
        rows = [
            (
                vid,
                status,
                molecule_name or smiles or mixture_name or "unnamed mixture",
                *rest,
            )
            for vid, status, molecule_name, smiles, mixture_name, *rest in session.execute(query)
        ]
    return pd.DataFrame(rows, columns=VERIFICATION_COLUMNS)
