"""Recorded predictions: what a model predicted, for whom, from which inputs.

``cryoprotect predict --record``, the service (when a request acts for a user) and
``cryoprotect suggest`` write their predictions here, so a lab verification can later point
at the prediction it checks (:mod:`cryoprotect.db.verifications`). Each row keeps the model
version, the inputs as asked (JSON), the value, its interval with the confidence it was
calibrated for, and the domain flag; it belongs to the acting user, and is written acting
for that user, so the access rules (Row Level Security on PostgreSQL) judge it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cryoprotect.chem.structures import InvalidStructureError, Structure, standardize
from cryoprotect.db.access import SERVICE_ROLE, bind, refused
from cryoprotect.db.engine import transaction
from cryoprotect.db.identity import add_molecule, mixture_of, molecule_by_inchikey
from cryoprotect.db.importer import get_or_create_user
from cryoprotect.db.schema import ModelVersion, Prediction, User
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.records import parse_components

STRIP = {"strip_counterions": True}
USERNAME_LENGTH: int = User.__table__.c.username.type.length
"""The longest username the database holds (a request naming a longer one names nobody)."""
"""A salt or hydrate is recorded as its parent compound, which is what the models predict."""


class NotRegisteredError(LookupError):
    """The acting user, or a model version, is not in the database and may not be added.

    ``missing`` is ``"user"`` or ``"model_version"``.
    """

    def __init__(self, message: str, missing: str) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class PredictionRow:
    """One prediction to record.

    ``smiles`` (a molecule) or ``components`` (``(SMILES, amount, unit)`` per component of a
    mixture) is the subject, names already resolved; ``inputs`` is the row as it was asked,
    stored as given. A row with an ``error``, without a finite ``prediction``, or whose
    subject is not a valid structure is not recorded.
    """

    target: str
    model_version: str
    inputs: dict
    prediction: float | None
    lower: float | None
    upper: float | None
    confidence: float
    in_domain: bool | None
    smiles: str | None = None
    components: list[tuple[str, float, str]] = field(default_factory=list)
    concentration_mM: float | None = None
    error: str = ""


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def recordable(row: PredictionRow) -> bool:
    """Return whether ``row`` is a prediction (no error, a finite value, a subject)."""
    return (
        not row.error and _finite(row.prediction) is not None and bool(row.smiles or row.components)
    )


def _model_versions(session: Session, rows: Sequence[PredictionRow]) -> dict[tuple, int]:
    wanted = {(r.target, r.model_version) for r in rows}
    found = session.execute(
        select(ModelVersion.property, ModelVersion.version, ModelVersion.id).where(
            ModelVersion.version.in_({version for _, version in wanted})
        )
    )
    return {(p, v): i for p, v, i in found if (p, v) in wanted}


def _register(
    session: Session, username: str, rows: Sequence[PredictionRow], known: dict[tuple, int]
) -> int:
    """Add the user and the model versions not yet registered (as the service role)."""
    bind(session, None, SERVICE_ROLE)
    user = get_or_create_user(session, username)
    for target, version in sorted({(r.target, r.model_version) for r in rows} - set(known)):
        added = ModelVersion(property=target, version=version, stage="candidate")
        session.add(added)
        session.flush()
        known[target, version] = added.id
    return user.id


class _Subjects:
    """Finds or adds the acting user's molecules and mixtures, once per structure."""

    def __init__(self, session: Session, user_id: int) -> None:
        self.session, self.user_id = session, user_id
        self._molecules: dict[str, int] = {}

    def molecule(self, structure: Structure) -> int:
        if structure.inchikey not in self._molecules:
            found = molecule_by_inchikey(self.session, structure.inchikey, self.user_id)
            if found is None:
                found = add_molecule(self.session, structure, None, self.user_id, "private")
            self._molecules[structure.inchikey] = found
        return self._molecules[structure.inchikey]

    def subject(self, row: PredictionRow) -> dict[str, int] | None:
        """Return ``molecule_id`` or ``mixture_id`` of ``row``'s subject, or ``None`` if invalid.

        Every structure is checked before anything is added, so an invalid row adds nothing.
        """
        try:
            if row.smiles:
                return {"molecule_id": self.molecule(standardize(row.smiles, **STRIP))}
            structures = [(standardize(s, **STRIP), a, u) for s, a, u in row.components]
        except InvalidStructureError:
            return None
        parts: dict[int, tuple[int, float, str]] = {}
        for structure, amount, unit in structures:
            molecule_id = self.molecule(structure)
            if molecule_id in parts:  # one molecule written twice: one component
                if parts[molecule_id][2] != unit:
                    return None
                amount += parts[molecule_id][1]
            parts[molecule_id] = (molecule_id, float(amount), unit)
        mixture_id, _ = mixture_of(self.session, list(parts.values()), self.user_id)
        return {"mixture_id": mixture_id}


def record_predictions(
    engine: Engine, username: str, rows: Sequence[PredictionRow], *, register: bool = True
) -> list[int | None]:
    """Write ``rows`` as predictions owned by ``username``, all in one transaction.

    The rows are written acting for the user (:func:`cryoprotect.db.access.bind`), so the
    access rules judge each; if any write fails, none is kept. A subject the user cannot
    see yet becomes the user's private molecule (or mixture), as in an import.

    Parameters
    ----------
    engine
        The database.
    username
        The acting user (``users.username``).
    rows
        The predictions; those that are not :func:`recordable` (an error, no value, an
        invalid structure) are skipped.
    register
        Add the user and model versions not yet in the database, acting as the service
        role (an operator's login). Without it (the prediction service, whose login may
        only act for users) an unknown user or model version raises.

    Returns
    -------
    list of int or None
        Per row, the id of its recorded prediction, or ``None`` where it was skipped.

    Raises
    ------
    NotRegisteredError
        Without ``register``: if ``username`` or a model version is unknown.
    cryoprotect.db.visibility.AccessDenied
        If the database or the session's rules refuse a write (e.g. a person's own login
        recording for someone else); nothing is written.
    """
    kept = [row for row in rows if recordable(row)]
    ids: dict[int, int] = {}
    try:
        with transaction(engine) as session:
            user_id = session.scalar(select(User.id).where(User.username == username))
            versions = _model_versions(session, kept)
            missing = {(r.target, r.model_version) for r in kept} - set(versions)
            if user_id is None or missing:
                if not register:
                    if user_id is None:
                        raise NotRegisteredError(f"there is no user {username!r}", "user")
                    raise NotRegisteredError(
                        "model version(s) not registered in the database: "
                        + ", ".join(f"{t} {v}" for t, v in sorted(missing)),
                        "model_version",
                    )
                user_id = _register(session, username, kept, versions)
            bind(session, user_id)
            subjects = _Subjects(session, user_id)
            for index, row in enumerate(rows):
                subject = subjects.subject(row) if recordable(row) else None
                if subject is None:
                    continue
                ids[index] = _write(session, row, subject, versions, user_id)
    except DBAPIError as error:
        if refused(error):
            raise AccessDenied(str(error.orig).splitlines()[0]) from error
        raise
    return [ids.get(index) for index in range(len(rows))]


def _write(
    session: Session, row: PredictionRow, subject: dict, versions: dict, user_id: int
) -> int:
    lower, upper = _finite(row.lower), _finite(row.upper)
    if lower is None or upper is None:
        lower = upper = None
    concentration = _finite(row.concentration_mM)
    prediction = Prediction(
        model_version_id=versions[row.target, row.model_version],
        concentration=concentration,
        concentration_unit="mM" if concentration is not None else None,
        value=float(row.prediction),
        lower=lower,
        upper=upper,
        in_domain=row.in_domain,
        inputs=row.inputs,
        confidence=row.confidence,
        owner_id=user_id,
        **subject,
    )
    session.add(prediction)
    session.flush()
    return prediction.id


def rows_from_frame(
    result: pd.DataFrame,
    target: str,
    confidence: float,
    input_columns: Sequence[str],
    resolve: Callable[[str], str | None] = lambda name: None,
) -> list[PredictionRow]:
    """Return one :class:`PredictionRow` per row of a batch prediction's output.

    ``result`` is the output of :func:`cryoprotect.models.predict.predict_frame` (input
    columns plus ``prediction``, ``lower``, ``upper``, ``in_domain``, ``model_version``,
    ``error``). ``inputs`` keeps ``input_columns`` as given (empty ones left out). A
    mixture's component names resolve through ``resolve`` (name to SMILES), else are read
    as SMILES; a ``components`` text that cannot be parsed gives a row without a subject.
    """
    rows = []
    for record in result.to_dict("records"):
        inputs = {
            c: record[c] for c in input_columns if c in record and str(record[c]).strip() != ""
        }
        if "concentration_mM" in inputs:
            inputs["concentration_mM"] = _finite(inputs["concentration_mM"])
        subject: dict = {}
        if "components" in record:
            try:
                entries = parse_components(str(record["components"]))
            except ValueError:
                entries = []
            subject["components"] = [
                (resolve(e.identifier.casefold()) or e.identifier, e.amount, e.unit)
                for e in entries
            ]
        else:
            subject["smiles"] = str(record.get("smiles") or "").strip() or None
        rows.append(
            PredictionRow(
                target=target,
                model_version=str(record["model_version"]),
                inputs=inputs,
                prediction=_finite(record["prediction"]),
                lower=_finite(record["lower"]),
                upper=_finite(record["upper"]),
                confidence=confidence,
                in_domain=str(record["in_domain"]).lower() == "true",
                concentration_mM=_finite(record.get("concentration_mM")),
                error=str(record.get("error") or ""),
                **subject,
            )
        )
    return rows
