"""Made-up lab verifications written into a test database (test data, not measurements)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cryoprotect.db.predictions import PredictionRow
from cryoprotect.db.schema import (
    Experiment,
    LabVerification,
    Mixture,
    ModelVersion,
    Molecule,
    Prediction,
    User,
)


def _made_up_user(session: Session) -> User:
    user = User(username="verifier", display_name="Test verifier")
    session.add(user)
    session.flush()
    return user


def made_up_verification(engine, measured: float, predicted: float) -> None:
    """A made-up lab verification of a made-up Tg prediction (test data, not a measurement)."""
    with Session(engine) as session, session.begin():
        user = _made_up_user(session)
        molecule = Molecule(
            inchikey="PEDCQBHIVMGVHV-UHFFFAOYSA-N",
            canonical_smiles="OCC(O)CO",
            name="glycerol",
            formula="C3H8O3",
            molecular_weight=92.09,
            owner_id=user.id,
        )
        session.add(molecule)
        session.flush()
        version = ModelVersion(property="tg", version="test-version", stage="production")
        experiment = Experiment(
            property="tg",
            value=measured,
            unit="K",
            molecule_id=molecule.id,
            citation="made-up test data",
            owner_id=user.id,
        )
        session.add_all([version, experiment])
        session.flush()
        prediction = Prediction(
            model_version_id=version.id,
            molecule_id=molecule.id,
            value=predicted,
            lower=predicted - 10,
            upper=predicted + 10,
            in_domain=True,
            owner_id=user.id,
        )
        session.add(prediction)
        session.flush()
        session.add(
            LabVerification(
                experiment_id=experiment.id,
                prediction_id=prediction.id,
                verifier_id=user.id,
                status="confirmed",
                completed_at=datetime.now(UTC),
            )
        )


def made_up_planned_mixture_verification(engine, mixture_name: str | None) -> None:
    """A planned verification of a made-up viability prediction of a mixture (not measured)."""
    with Session(engine) as session, session.begin():
        user = _made_up_user(session)
        mixture = Mixture(name=mixture_name, composition_key="made-up", owner_id=user.id)
        version = ModelVersion(property="viability", version="test-v", stage="production")
        session.add_all([mixture, version])
        session.flush()
        prediction = Prediction(
            model_version_id=version.id,
            mixture_id=mixture.id,
            value=61.0,
            lower=50.0,
            upper=72.0,
            in_domain=False,
            owner_id=user.id,
        )
        session.add(prediction)
        session.flush()
        session.add(LabVerification(prediction_id=prediction.id, verifier_id=user.id))


def made_up_prediction(smiles: str, value: float = 190.0, **changes) -> PredictionRow:
    """A made-up Tg prediction of ``smiles`` with a +/- 10 K interval (test data)."""
    fields = {
        "target": "tg",
        "model_version": "made-up-1",
        "inputs": {"smiles": smiles},
        "prediction": value,
        "lower": value - 10,
        "upper": value + 10,
        "confidence": 0.9,
        "in_domain": True,
        "smiles": smiles,
    }
    return PredictionRow(**(fields | changes))
