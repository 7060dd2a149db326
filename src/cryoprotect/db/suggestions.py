"""Suggested experiments in the database: the pool to choose from, and planned verifications.

A suggestion is stored as what it is: the model's prediction for the compound (``predictions``,
with its model version) and a planned lab verification of that prediction
(``lab_verifications``, status ``planned``, no experiment yet). Both belong to the user who
asked, and are written acting for that user, so the access rules apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, and_, exists, select
from sqlalchemy.orm import Session

from cryoprotect.chem.structures import standardize
from cryoprotect.db.access import SERVICE_ROLE, bind, user_session
from cryoprotect.db.identity import add_molecule, molecule_by_inchikey
from cryoprotect.db.importer import get_or_create_user
from cryoprotect.db.schema import (
    Experiment,
    LabVerification,
    ModelVersion,
    Molecule,
    Prediction,
    User,
)
from cryoprotect.db.visibility import visible


def _planned(target: str, user_id: int):
    return exists(
        select(LabVerification.id)
        .join(Prediction, LabVerification.prediction_id == Prediction.id)
        .join(ModelVersion, Prediction.model_version_id == ModelVersion.id)
        .where(
            Prediction.molecule_id == Molecule.id,
            ModelVersion.property == target,
            LabVerification.verifier_id == user_id,
            LabVerification.experiment_id.is_(None),
        )
    )


def unmeasured_molecules(engine: Engine, target: str, username: str) -> pd.DataFrame:
    """Return the molecules ``username`` may see with no ``target`` measurement yet.

    Molecules the user already has a planned verification of ``target`` for are left out.
    Columns: ``molecule_id``, ``smiles``, ``inchikey``, ``name``.
    """
    with Session(engine) as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        measured = exists(
            select(Experiment.id).where(
                Experiment.molecule_id == Molecule.id, Experiment.property == target
            )
        )
        query = select(Molecule.id, Molecule.canonical_smiles, Molecule.inchikey, Molecule.name)
        query = query.where(visible(Molecule, user_id), ~measured)
        if user_id is not None:
            query = query.where(~_planned(target, user_id))
        rows = session.execute(query.order_by(Molecule.id)).all()
    return pd.DataFrame(rows, columns=["molecule_id", "smiles", "inchikey", "name"])


@dataclass
class Planned:
    """A recorded suggestion: the ids of its molecule, prediction and planned verification."""

    molecule_id: int
    prediction_id: int
    verification_id: int


def _model_version_id(session: Session, target: str, version: str) -> int:
    found = session.scalar(
        select(ModelVersion.id).where(
            and_(ModelVersion.property == target, ModelVersion.version == version)
        )
    )
    if found is None:
        row = ModelVersion(property=target, version=version, stage="production")
        session.add(row)
        session.flush()
        found = row.id
    return found


def record_suggestions(
    engine: Engine,
    username: str,
    target: str,
    version: str,
    proposals: pd.DataFrame,
    concentration_mM: float | None = None,
    confidence: float | None = None,
) -> list[Planned]:
    """Store each proposal (from :func:`cryoprotect.screening.suggest.propose`) for ``username``.

    One transaction: the service role registers the user and the model version if new; the
    rest is written acting for the user. A structure the user cannot see yet becomes the
    user's private molecule. Each prediction keeps its inputs (``smiles``, and
    ``concentration_mM`` where given) and the ``confidence`` of its interval.
    """
    planned = []
    with user_session(engine, None, SERVICE_ROLE) as session:
        user = get_or_create_user(session, username)
        version_id = _model_version_id(session, target, version)
        bind(session, user.id)
        for row in proposals.itertuples(index=False):
            molecule_id = molecule_by_inchikey(session, row.inchikey, user.id)
            if molecule_id is None:
                structure = standardize(row.smiles, strip_counterions=True)
                name = row.name if isinstance(row.name, str) else None
                molecule_id = add_molecule(session, structure, name, user.id, "private")
            prediction = Prediction(
                model_version_id=version_id,
                molecule_id=molecule_id,
                concentration=concentration_mM,
                concentration_unit="mM" if concentration_mM is not None else None,
                value=float(row.prediction),
                lower=float(row.lower),
                upper=float(row.upper),
                in_domain=bool(row.in_domain),
                inputs={"smiles": row.smiles}
                | ({"concentration_mM": concentration_mM} if concentration_mM is not None else {}),
                confidence=confidence,
                owner_id=user.id,
            )
            session.add(prediction)
            session.flush()
            verification = LabVerification(
                prediction_id=prediction.id,
                verifier_id=user.id,
                status="planned",
                notes=f"suggested (acquisition score {row.score:.2f}, interval width "
                f"{row.upper - row.lower:.3g}, novelty {row.novelty:.2f})",
            )
            session.add(verification)
            session.flush()
            planned.append(Planned(molecule_id, prediction.id, verification.id))
    return planned
