"""Row counts of the database, in the shape ``cryoprotect db stats`` prints."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cryoprotect.db.schema import Experiment, LabVerification, Mixture, Molecule, User
from cryoprotect.vocabulary import PROPERTIES


def database_stats(engine: Engine) -> dict:
    """Return the row counts of the main tables, experiments counted per property."""
    with Session(engine) as session:
        per_property = {
            code: n
            for code, n in session.execute(
                select(Experiment.property, func.count()).group_by(Experiment.property)
            )
        }

        def count(model) -> int:
            return session.scalar(select(func.count()).select_from(model)) or 0

        return {
            "molecules": count(Molecule),
            "mixtures": count(Mixture),
            "experiments": {code: per_property.get(code, 0) for code in PROPERTIES},
            "lab_verifications": count(LabVerification),
            "users": count(User),
        }
