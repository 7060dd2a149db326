"""Batch prediction with intervals and domain flags; a bad row never stops the others."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cryoprotect.chem.featurizers import Features
from cryoprotect.chem.mixtures import Component, common_basis
from cryoprotect.chem.structures import InvalidStructureError, Structure, excerpt, standardize
from cryoprotect.models.conformal import group_label, predict_with_difficulty
from cryoprotect.models.domain import TanimotoDomain
from cryoprotect.models.estimators import OptionalLastFeature
from cryoprotect.models.features import feature_matrix
from cryoprotect.models.registry import TrainedModel
from cryoprotect.models.targets import target
from cryoprotect.records import parse_components
from cryoprotect.vocabulary import PROPERTIES

OUTPUT_COLUMNS = ("prediction", "lower", "upper", "in_domain", "model_version", "error")
CHUNK_ROWS = 10_000
"""Rows predicted at a time, which bounds memory whatever the size of the input."""
OUT_OF_RANGE = "an input is out of range: its features are not finite numbers"
CONCENTRATION_LIMIT_MM = 10_000.0
"""Largest concentration accepted (10 M): beyond it an input is a mistake, not a solution."""


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


def _molecule(text: str, in_solution: bool) -> tuple[Structure | None, str | None, bool]:
    """Standardise one input structure: ``(structure, error, parent of a salt or hydrate)``.

    A salt or hydrate of a pure-compound property (Tg) is predicted for its parent compound,
    and flagged out of domain: the training data hold no salts or hydrates.
    """
    try:
        return standardize(text, strip_counterions=in_solution), None, False
    except InvalidStructureError as error:
        if in_solution or error.kind != "multiple_fragments":
            return None, str(error), False
    try:
        return standardize(text, strip_counterions=True), None, True
    except InvalidStructureError as error:
        return None, str(error), False


def _number(text, field: str, low: float, high: float, unit: str) -> tuple[float, str | None]:
    """Read a number of ``field`` that must lie in ``(low, high]``: ``(value, error)``."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = math.nan
    if math.isfinite(value) and low < value <= high:
        return value, None
    shown = excerpt(str(text)) if str(text).strip() else "nothing"
    return math.nan, (
        f"{field} must be a number of {unit} above {low:g} and at most {high:g}, not {shown}"
    )


def _optional_number(text, field: str, low: float, high: float, unit: str):
    """Like :func:`_number`, but an empty field is unknown (NaN) rather than an error."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return math.nan, None
    return _number(text, field, low, high, unit)


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
            structure, error, _ = _molecule(entry.identifier, True)
            if error:
                return None, (
                    f"{excerpt(entry.identifier)} is neither a known molecule name nor a "
                    f"valid SMILES ({error})"
                )
            smiles = structure.canonical_smiles
        components.append(Component(smiles, entry.amount, entry.unit))
    try:
        return _completed(_merged(components), design), None
    except ValueError as error:
        return None, str(error)


def _prepared(model: TrainedModel, frame: pd.DataFrame, resolve, melting_point):
    """Standardise the inputs of ``frame`` for ``model``: the frame to featurize and errors.

    Returns the prepared frame (``smiles`` or ``components``, ``concentration_mM`` and the
    optional input where the target uses them), one error (or ``None``) per row, and which
    rows are the parent of a salt or hydrate.
    """
    spec = target(model.target)
    missing = [c for c in spec.input_columns if c not in frame.columns]
    if missing:
        raise UnusableInputError(
            f"input lacks column(s) {', '.join(missing)} needed for {spec.name}"
        )
    errors: list[str | None] = []
    subjects = []
    parents = []
    keys = []
    for raw in frame[spec.input_columns[0]].fillna("").astype(str):
        parent, key = False, None
        if spec.subject == "mixture":
            subject, error = _mixture(raw, resolve, model.domain.get("design"))
        else:
            structure, error, parent = _molecule(raw, PROPERTIES[spec.name].in_solution)
            subject = structure.canonical_smiles if structure else None
            key = structure.inchikey if structure else None
        subjects.append(subject)
        errors.append(error)
        parents.append(parent)
        keys.append(key)
    column = "components" if spec.subject == "mixture" else "smiles"
    prepared = pd.DataFrame({column: [s if s is not None else "" for s in subjects]})
    if spec.subject == "mixture":
        prepared[column] = [s or [] for s in subjects]
    if spec.uses_concentration:
        checked = [
            _number(c, "concentration_mM", 0.0, CONCENTRATION_LIMIT_MM, "mM")
            for c in frame["concentration_mM"]
        ]
        prepared["concentration_mM"] = [value for value, _ in checked]
        errors = [e or problem for e, (_, problem) in zip(errors, checked, strict=True)]
    if spec.optional_input is not None:
        given = frame.get(spec.optional_input, pd.Series([None] * len(frame), index=frame.index))
        low, high = PROPERTIES["tm"].min_value, PROPERTIES["tm"].max_value
        checked = [_optional_number(v, spec.optional_input, low, high, "K") for v in given]
        values = [
            value if math.isfinite(value) or key is None else melting_point(key) or math.nan
            for (value, _), key in zip(checked, keys, strict=True)
        ]
        prepared[spec.optional_input] = values
        errors = [e or problem for e, (_, problem) in zip(errors, checked, strict=True)]
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
    melting_point: Callable[[str], float | None] = lambda inchikey: None,
) -> pd.DataFrame:
    """Return ``frame`` with prediction, interval, domain flag, model version and error.

    ``row_problems`` (e.g. from :func:`read_input`) marks rows that are not predicted. Rows
    are handled :data:`CHUNK_ROWS` at a time. ``in_domain`` is written ``true``/``false``.
    ``domain`` is the model's applicability domain (:func:`model_domain`); callers predicting
    often pass it to avoid fingerprinting the training molecules on every call. For Tg, a
    ``melting_point_K`` column gives a measured melting point; where it is empty,
    ``melting_point`` (InChIKey to kelvin, e.g. the database's measurements) is asked.

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
            (resolve, melting_point),
            confidence,
            problems[start : start + CHUNK_ROWS],
        )
        for start in range(0, max(len(frame), 1), CHUNK_ROWS)
    ]
    return pd.concat(chunks) if len(chunks) > 1 else chunks[0]


def _predict_chunk(model, reference, frame, lookups, confidence, problems) -> pd.DataFrame:
    prepared, errors, parents = _prepared(model, frame, *lookups)
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
    ``prediction``, ``lower``, ``upper`` (an interval whose width follows the prediction's
    difficulty, calibrated for its group: in or out of the domain, and for Tg with or
    without a melting point), ``sigma`` (the difficulty), ``in_domain`` (bool) and ``error``
    (``""`` where the row was predicted) in the order of ``prepared``.
    """
    X = features.values.filled(np.nan)
    errors = [
        error or (OUT_OF_RANGE if np.isinf(row).any() else None)
        for error, row in zip(features.errors, X, strict=True)
    ]
    valid = np.array([e is None for e in errors], dtype=bool)
    n = len(prepared)
    prediction, sigma = np.full(n, np.nan), np.full(n, np.nan)
    inside = np.zeros(n, dtype=bool)
    groups = np.full(n, "", dtype=object)
    if valid.any():
        prediction[valid], sigma[valid] = predict_with_difficulty(model.estimator, X[valid])
        inside[valid] = _in_domain(model, domain, prepared.loc[valid])
        estimator = model.estimator
        used = (
            estimator.uses_feature(X[valid])
            if isinstance(estimator, OptionalLastFeature)
            else [None] * int(valid.sum())
        )
        groups[valid] = [group_label(i, u) for i, u in zip(inside[valid], used, strict=True)]
    lower, upper = np.full(n, np.nan), np.full(n, np.nan)
    if valid.any():
        lower[valid], upper[valid] = model.intervals.interval(
            prediction[valid], sigma[valid], groups[valid].astype(str), confidence
        )
    return pd.DataFrame(
        {
            "prediction": prediction,
            "lower": lower,
            "upper": upper,
            "sigma": sigma,
            "in_domain": inside,
            "error": [e or "" for e in errors],
        }
    )
