"""Batch prediction with intervals and domain flags; a bad row never stops the others."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from cryoprotect.chem.mixtures import Component, common_basis
from cryoprotect.chem.structures import InvalidStructureError, standardize
from cryoprotect.models.conformal import ConformalIntervals
from cryoprotect.models.domain import TanimotoDomain
from cryoprotect.models.features import feature_matrix
from cryoprotect.models.registry import TrainedModel
from cryoprotect.models.targets import target
from cryoprotect.records import parse_components
from cryoprotect.vocabulary import PROPERTIES

OUTPUT_COLUMNS = ("prediction", "lower", "upper", "in_domain", "model_version", "error")


class UnusableInputError(ValueError):
    """The input as a whole cannot be used (for example a required column is missing)."""


def _molecule(text: str, in_solution: bool) -> tuple[str | None, str | None, bool]:
    """Standardise one input structure: ``(smiles, error, parent of a salt or hydrate)``.

    A salt or hydrate of a pure-compound property (Tg) is predicted for its parent compound,
    and flagged out of domain: the training data hold no salts or hydrates.
    """
    try:
        return standardize(text, strip_counterions=in_solution).canonical_smiles, None, False
    except InvalidStructureError as error:
        if in_solution or error.kind != "multiple_fragments":
            return None, str(error), False
    try:
        return standardize(text, strip_counterions=True).canonical_smiles, None, True
    except InvalidStructureError as error:
        return None, str(error), False


def _mixture(text: str, resolve: Callable[[str], str | None]):
    try:
        entries = parse_components(text)
    except ValueError as error:
        return None, str(error)
    components = []
    for entry in entries:
        smiles = resolve(entry.identifier)
        if smiles is None:
            smiles, error, _ = _molecule(entry.identifier, True)
            if error:
                return None, f"{entry.identifier!r} is neither a known molecule name nor a SMILES"
        components.append(Component(smiles, entry.amount, entry.unit))
    return components, None


def _prepared(model: TrainedModel, frame: pd.DataFrame, resolve):
    spec = target(model.target)
    missing = [c for c in spec.input_columns if c not in frame.columns]
    if missing:
        raise UnusableInputError(
            f"input lacks column(s) {', '.join(missing)} needed for {spec.name}"
        )
    errors: list[str | None] = []
    subjects = []
    parents = []
    for raw in frame[spec.input_columns[0]].fillna("").astype(str):
        parent = False
        if spec.subject == "mixture":
            subject, error = _mixture(raw, resolve)
        else:
            subject, error, parent = _molecule(raw, PROPERTIES[spec.name].in_solution)
        subjects.append(subject)
        errors.append(error)
        parents.append(parent)
    column = "components" if spec.subject == "mixture" else "smiles"
    prepared = pd.DataFrame({column: [s if s is not None else "" for s in subjects]})
    if spec.subject == "mixture":
        prepared[column] = [s or [] for s in subjects]
    if spec.uses_concentration:
        prepared["concentration_mM"] = frame["concentration_mM"].to_numpy()
    return prepared, errors, np.array(parents, dtype=bool)


def _in_domain(model: TrainedModel, prepared: pd.DataFrame) -> np.ndarray:
    domain = TanimotoDomain(model.domain["reference"], model.domain["threshold"])
    if model.domain["kind"] == "molecule":
        return domain.contains(list(prepared["smiles"]))
    flags = []
    for mixture in prepared["components"]:
        try:
            _, basis = common_basis(mixture) if mixture else (None, None)
        except ValueError:
            basis = None
        smiles = [c.smiles for c in mixture]
        flags.append(
            bool(mixture) and basis in model.domain["units"] and bool(domain.contains(smiles).all())
        )
    return np.array(flags, dtype=bool)


def predict_frame(
    model: TrainedModel,
    frame: pd.DataFrame,
    resolve: Callable[[str], str | None] = lambda name: None,
    confidence: float = 0.9,
) -> pd.DataFrame:
    """Return ``frame`` with prediction, interval, domain flag, model version and error.

    Raises
    ------
    UnusableInputError
        If a column the target needs is missing.
    """
    prepared, errors, parents = _prepared(model, frame, resolve)
    ok = np.array([e is None for e in errors], dtype=bool)
    out = frame.copy()
    prediction = np.full(len(frame), np.nan)
    if ok.any():
        features = feature_matrix(target(model.target), model.featurizer, prepared.loc[ok])
        rows = np.flatnonzero(ok)
        for row, error in zip(rows, features.errors, strict=True):
            errors[row] = error
        valid = features.valid
        if valid.any():
            X = features.values[valid].filled(np.nan)
            prediction[rows[valid]] = model.estimator.predict(X)
    lower, upper = ConformalIntervals(model.residuals).interval(prediction, confidence)
    done = np.array([e is None for e in errors], dtype=bool)
    domain = np.zeros(len(frame), dtype=bool)
    if done.any():
        domain[done] = _in_domain(model, prepared.loc[done])
    domain[parents] = False
    out["prediction"] = np.where(done, prediction, np.nan)
    out["lower"] = np.where(done, lower, np.nan)
    out["upper"] = np.where(done, upper, np.nan)
    out["in_domain"] = np.where(done, domain, False)
    out["model_version"] = model.version
    out["error"] = [e or "" for e in errors]
    return out
