"""Batch prediction with intervals and domain flags; a bad row never stops the others."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cryoprotect.chem.featurizers import Features
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
CHUNK_ROWS = 10_000
"""Rows predicted at a time, which bounds memory whatever the size of the input."""


class UnusableInputError(ValueError):
    """The input as a whole cannot be used (for example a required column is missing)."""


def read_input(path: Path) -> tuple[pd.DataFrame, list[str | None]]:
    """Read a CSV of inputs as text, one output row per input row (blank lines included).

    Returns the table and, per row, a problem of the row itself (a wrong number of fields)
    or ``None``.

    Raises
    ------
    UnusableInputError
        If the file cannot be read as UTF-8 CSV text or has no header.
    """
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle, strict=True))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UnusableInputError(f"cannot read {path} as CSV: {error}") from None
    if not rows or not any(field.strip() for field in rows[0]):
        raise UnusableInputError(f"{path} has no header row")
    header, body = rows[0], rows[1:]
    problems: list[str | None] = []
    values = []
    for row in body:
        fitted = (row + [""] * len(header))[: len(header)]
        wrong = row and len(row) != len(header)
        problems.append(
            f"row has {len(row)} fields; the header has {len(header)}" if wrong else None
        )
        values.append(fitted)
    return pd.DataFrame(values, columns=header, dtype=str), problems


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


def _merged(components: list[Component]) -> list[Component]:
    """Add up a molecule listed more than once in one unit; refuse it in different units."""
    merged: dict[str, Component] = {}
    for component in components:
        known = merged.get(component.smiles)
        if known is not None and known.unit != component.unit:
            raise ValueError(f"{component.smiles} is listed twice in different units")
        amount = component.amount + (known.amount if known else 0.0)
        merged[component.smiles] = Component(component.smiles, amount, component.unit)
    return list(merged.values())


def _completed(components: list[Component], design: list[str] | None) -> list[Component]:
    """Add the design's molecules an input leaves out, at amount zero in the input's unit."""
    units = {c.unit for c in components}
    present = {c.smiles for c in components}
    if not design or len(units) != 1 or not present <= set(design):
        return components
    unit = units.pop()
    return components + [Component(s, 0.0, unit) for s in design if s not in present]


def _mixture(text: str, resolve: Callable[[str], str | None], design: list[str] | None):
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
    try:
        return _completed(_merged(components), design), None
    except ValueError as error:
        return None, str(error)


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
            subject, error = _mixture(raw, resolve, model.domain.get("design"))
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


def _within(value: float, bounds: list[float] | None) -> bool:
    return bounds is None or bounds[0] <= value <= bounds[1]


def _in_domain(model: TrainedModel, domain: TanimotoDomain, prepared: pd.DataFrame) -> np.ndarray:
    """Similar enough to the training molecules, and inside the trained amounts and units."""
    info = model.domain
    if info["kind"] == "molecule":
        flags = domain.contains(list(prepared["smiles"]))
        if "concentration_mM" in info:
            concentration = pd.to_numeric(prepared["concentration_mM"], errors="coerce")
            flags &= np.array([_within(c, info["concentration_mM"]) for c in concentration])
        return flags
    flags = []
    for mixture in prepared["components"]:
        try:
            amounts, basis = common_basis(mixture)
        except ValueError:
            flags.append(False)
            continue
        smiles = [c.smiles for c in mixture]
        inside = basis in info["units"] and bool(domain.contains(smiles).all())
        if info.get("design"):
            inside = (
                inside
                and sorted(smiles) == info["design"]
                and all(
                    _within(a, info["amounts"].get(s)) for s, a in zip(smiles, amounts, strict=True)
                )
            )
        flags.append(inside)
    return np.array(flags, dtype=bool)


def model_domain(model: TrainedModel) -> TanimotoDomain:
    """Return the applicability domain of ``model`` (its training molecules and threshold)."""
    return TanimotoDomain(model.domain["reference"], model.domain["threshold"])


def predict_frame(
    model: TrainedModel,
    frame: pd.DataFrame,
    resolve: Callable[[str], str | None] = lambda name: None,
    confidence: float = 0.9,
    row_problems: list[str | None] | None = None,
    domain: TanimotoDomain | None = None,
) -> pd.DataFrame:
    """Return ``frame`` with prediction, interval, domain flag, model version and error.

    ``row_problems`` (e.g. from :func:`read_input`) marks rows that are not predicted. Rows
    are handled :data:`CHUNK_ROWS` at a time. ``in_domain`` is written ``true``/``false``.
    ``domain`` is the model's applicability domain (:func:`model_domain`); callers predicting
    often pass it to avoid fingerprinting the training molecules on every call.

    Raises
    ------
    UnusableInputError
        If a column the target needs is missing.
    """
    problems = row_problems or [None] * len(frame)
    reference = domain or model_domain(model)
    chunks = [
        _predict_chunk(
            model,
            reference,
            frame.iloc[start : start + CHUNK_ROWS],
            resolve,
            confidence,
            problems[start : start + CHUNK_ROWS],
        )
        for start in range(0, max(len(frame), 1), CHUNK_ROWS)
    ]
    return pd.concat(chunks) if len(chunks) > 1 else chunks[0]


def _predict_chunk(model, reference, frame, resolve, confidence, problems) -> pd.DataFrame:
    prepared, errors, parents = _prepared(model, frame, resolve)
    errors = [p or e for p, e in zip(problems, errors, strict=True)]
    ok = np.array([e is None for e in errors], dtype=bool)
    out = frame.copy()
    columns = ("prediction", "lower", "upper")
    values = {column: np.full(len(frame), np.nan) for column in columns}
    inside = np.zeros(len(frame), dtype=bool)
    if ok.any():
        features = feature_matrix(target(model.target), model.featurizer, prepared.loc[ok])
        done = predict_featurized(model, reference, prepared.loc[ok], features, confidence)
        rows = np.flatnonzero(ok)
        for column in columns:
            values[column][rows] = done[column].to_numpy()
        inside[rows] = done["in_domain"].to_numpy()
        for row, error in zip(rows, done["error"], strict=True):
            errors[row] = error or None
    for column in columns:
        out[column] = values[column]
    out["in_domain"] = np.where(inside & ~parents, "true", "false")
    out["model_version"] = model.version
    out["error"] = [e or "" for e in errors]
    return out


def predict_featurized(
    model: TrainedModel,
    domain: TanimotoDomain,
    prepared: pd.DataFrame,
    features: Features,
    confidence: float = 0.9,
) -> pd.DataFrame:
    """Predict standardised inputs from their features (:func:`feature_matrix`).

    ``prepared`` holds the model's inputs (``smiles`` or ``components``, and
    ``concentration_mM`` where the target uses it), one row per feature row. Returns
    ``prediction``, ``lower``, ``upper``, ``in_domain`` (bool) and ``error`` (``""`` where
    the row was predicted) in the order of ``prepared``.
    """
    valid = features.valid
    prediction = np.full(len(prepared), np.nan)
    if valid.any():
        prediction[valid] = model.estimator.predict(features.values[valid].filled(np.nan))
    lower, upper = ConformalIntervals(model.residuals).interval(prediction, confidence)
    inside = np.zeros(len(prepared), dtype=bool)
    if valid.any():
        inside[valid] = _in_domain(model, domain, prepared.loc[valid])
    return pd.DataFrame(
        {
            "prediction": prediction,
            "lower": np.where(valid, lower, np.nan),
            "upper": np.where(valid, upper, np.nan),
            "in_domain": inside,
            "error": [e or "" for e in features.errors],
        }
    )
