"""Serving the production models: structures checked, results cached, rows predicted per target.

Rows of one target are predicted together (one feature matrix, one ``predict`` call), so a
batch costs little more than a single item; an item whose prediction raises fails alone
(:func:`predict_isolated`). A molecule may be given by a known name; a structure RDKit cannot
parse is refused before any model runs. The web process checks structures and keeps the
result cache; the models run in predictor processes (:mod:`cryoprotect.service.predictors`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cryoprotect.chem.structures import InvalidStructureError, excerpt, parse_smiles
from cryoprotect.models import registry
from cryoprotect.models.domain import TanimotoDomain
from cryoprotect.models.predict import model_domain, predict_frame
from cryoprotect.models.targets import TARGETS
from cryoprotect.service.schemas import PredictItem

Resolver = Callable[[str], str | None]


class UnreadableStructureError(ValueError):
    """A molecule of the request is neither a known name nor a SMILES RDKit can parse."""

    def __init__(self, problems: list[tuple[tuple, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems
        """``(location, message)`` per problem; the location is relative to the item."""


class ResultCache:
    """The most recent results, keyed by target and subject, shared by the service's threads.

    Models do not change while the service runs (a new model means a new deployment), so a
    subject asked for again is answered from here; the oldest entries go first.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> dict | None:
        """Return the result stored under ``key`` (marking it recently used), or ``None``."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, result: dict) -> None:
        """Store ``result`` under ``key``, dropping the least recently used beyond ``size``."""
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass
class LoadedModels:
    """The production model of each target (or why it could not be loaded)."""

    models: dict[str, registry.TrainedModel] = field(default_factory=dict)
    domains: dict[str, TanimotoDomain] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        root: Path,
        targets: Sequence[str] = tuple(TARGETS),
        versions: dict[str, str] | None = None,
    ) -> LoadedModels:
        """Load each target's model under ``root`` (the version ``versions`` names, if any).

        Without a version named, the production version is loaded.
        """
        loaded = cls()
        for name in targets:
            try:
                loaded.models[name] = registry.load(root, name, (versions or {}).get(name))
                loaded.domains[name] = model_domain(loaded.models[name])
            except (registry.ModelNotFoundError, OSError, ValueError) as error:
                loaded.errors[name] = str(error)
        return loaded

    def report(self) -> dict[str, dict]:
        """Return per target its version and model card, or why it is not loaded."""
        return {
            name: {"version": model.version, "card": model.card}
            for name, model in self.models.items()
        } | {name: {"error": error} for name, error in self.errors.items()}


class NamesUnavailableError(RuntimeError):
    """A text is not a SMILES, and the molecule names it might be are not loaded yet."""


def _molecule(text: str, resolve: Resolver, names_loaded: bool) -> str:
    """Return the SMILES for ``text`` (a known name or a SMILES), or raise ValueError."""
    smiles = resolve(text.casefold()) or text
    try:
        parse_smiles(smiles)
    except InvalidStructureError as error:
        if not names_loaded:
            raise NamesUnavailableError(
                f"{excerpt(text)} is not a valid SMILES, and molecule names are not loaded yet "
                "(the database has not answered): give a SMILES, or retry later"
            ) from None
        raise ValueError(
            f"{excerpt(text)} is neither a known molecule name nor a valid SMILES ({error})"
        ) from None
    return smiles


def check_structures(
    items: Sequence[PredictItem], resolve: Resolver, names_loaded: bool = True
) -> list[list[str]]:
    """Return per item the SMILES of its molecule (or ``[]``).

    Components are checked too (their names are resolved again where they are predicted).

    Raises
    ------
    UnreadableStructureError
        Naming the field of every molecule that cannot be read, relative to its item
        (``(index, "smiles")`` or ``(index, "components", k, "molecule")``).
    NamesUnavailableError
        If a text is not a SMILES while ``names_loaded`` is false (it may be a name).
    """
    problems: list[tuple[tuple, str]] = []
    resolved: list[list[str]] = []
    for index, item in enumerate(items):
        found: list[str] = []
        if item.smiles is not None:
            try:
                found.append(_molecule(item.smiles, resolve, names_loaded))
            except ValueError as error:
                problems.append(((index, "smiles"), str(error)))
        for k, component in enumerate(item.components or []):
            try:
                _molecule(component.molecule, resolve, names_loaded)
            except ValueError as error:
                problems.append(((index, "components", k, "molecule"), str(error)))
        resolved.append(found)
    if problems:
        raise UnreadableStructureError(problems)
    return resolved


def component_names(items: Sequence[PredictItem], resolve: Resolver) -> dict[str, str]:
    """Return the SMILES of each component text of ``items`` that is a known name."""
    names = {}
    for item in items:
        for component in item.components or []:
            smiles = resolve(component.molecule.casefold())
            if smiles is not None:
                names[component.molecule] = smiles
    return names


def _formulation(item: PredictItem) -> str:
    return ";".join(f"{c.molecule}:{c.amount!r} {c.unit}" for c in item.components or [])


def _frame(name: str, rows: list[tuple[int, PredictItem, list[str]]]) -> pd.DataFrame:
    if name == "viability":
        return pd.DataFrame({"components": [_formulation(item) for _, item, _ in rows]})
    frame = pd.DataFrame({"smiles": [smiles[0] for _, _, smiles in rows]})
    if TARGETS[name].uses_concentration:
        frame["concentration_mM"] = [item.concentration_mM for _, item, _ in rows]
    return frame


def _value(number) -> float | None:
    return float(number) if number is not None and np.isfinite(number) else None


def _rows(items: Sequence[PredictItem], structures: list[list[str]]) -> dict[str, list]:
    wanted: dict[str, list[tuple[int, PredictItem, list[str]]]] = {}
    for index, item in enumerate(items):
        for name in item.wanted():
            wanted.setdefault(name, []).append((index, item, structures[index]))
    return wanted


def split_cached(
    cache: ResultCache,
    items: Sequence[PredictItem],
    structures: list[list[str]],
    confidence: float,
) -> tuple[dict[int, list[dict]], list[int]]:
    """Return the results of the items whose every target is cached, and the other indices."""
    found: dict[int, list[dict]] = {}
    missing: list[int] = []
    for index, item in enumerate(items):
        known = [
            cache.get(_key(name, item, structures[index], confidence)) for name in item.wanted()
        ]
        if all(k is not None for k in known):
            found[index] = [
                _reused(k, index, n, item) for k, n in zip(known, item.wanted(), strict=True)
            ]
        else:
            missing.append(index)
    return found, missing


def remember(
    cache: ResultCache,
    items: Sequence[PredictItem],
    structures: list[list[str]],
    results: list[dict],
    confidence: float,
) -> None:
    """Store the predicted ``results`` of ``items`` (not the failed ones) in ``cache``."""
    for result in results:
        if result["error"] is None:
            index = result["item"]
            key = _key(result["target"], items[index], structures[index], confidence)
            cache.put(key, result)


def predict_checked(
    loaded: LoadedModels,
    items: Sequence[PredictItem],
    structures: list[list[str]],
    resolve: Resolver,
    confidence: float,
) -> list[dict]:
    """Predict every target each item asks for; one dict per (item, target), items in order.

    ``structures`` are what :func:`check_structures` gave for ``items``. A target without a
    loaded model, or a subject its model cannot use, gives a result with ``error`` set; the
    others are still predicted.
    """
    results: dict[tuple[int, str], dict] = {}
    for name, rows in _rows(items, structures).items():
        unit = TARGETS[name].unit
        model = loaded.models.get(name)
        if model is None:
            for index, item, _ in rows:
                results[index, name] = _empty(index, name, item, unit, loaded.errors.get(name))
            continue
        out = predict_frame(
            model, _frame(name, rows), resolve, confidence, domain=loaded.domains[name]
        )
        for (index, item, _), row in zip(rows, out.itertuples(index=False), strict=True):
            value = _value(row.prediction)
            error = row.error or (None if value is not None else "the model gave no finite value")
            results[index, name] = {
                "item": index,
                "target": name,
                "input": _label(name, item),
                "prediction": value if error is None else None,
                "lower": _value(row.lower) if error is None else None,
                "upper": _value(row.upper) if error is None else None,
                "unit": unit,
                "in_domain": row.in_domain == "true" if error is None else None,
                "model_version": model.version,
                "error": error,
            }
    return [results[index, name] for index, item in enumerate(items) for name in item.wanted()]


def predict_isolated(
    loaded: LoadedModels,
    items: Sequence[PredictItem],
    structures: list[list[str]],
    resolve: Resolver,
    confidence: float,
) -> list[dict]:
    """Like :func:`predict_checked`, but a prediction that raises fails alone.

    The items are predicted together; if that raises, each item is predicted on its own,
    and an item that still raises has each of its targets predicted on its own. A target
    that still raises gets ``error`` naming the exception; the others are predicted.
    """
    try:
        return predict_checked(loaded, items, structures, resolve, confidence)
    except Exception as error:  # a model or featurizer failing on one subject  # noqa: BLE001
        failure = f"prediction failed: {type(error).__name__}: {error}"[:300]
    if len(items) > 1:
        parts = [
            predict_isolated(loaded, [item], [found], resolve, confidence)
            for item, found in zip(items, structures, strict=True)
        ]
        return [{**r, "item": index} for index, part in enumerate(parts) for r in part]
    (item,) = items
    if len(item.wanted()) > 1:
        alone = [item.model_copy(update={"target": t, "targets": None}) for t in item.wanted()]
        return [
            r
            for one in alone
            for r in predict_isolated(loaded, [one], structures, resolve, confidence)
        ]
    (name,) = item.wanted()
    model = loaded.models.get(name)
    return [
        {
            **_empty(0, name, item, TARGETS[name].unit, failure),
            "model_version": model.version if model else None,
        }
    ]


def _reused(known: dict, index: int, name: str, item: PredictItem) -> dict:
    """Return a cached result as the answer for item ``index`` (its own number and input)."""
    return {**known, "item": index, "input": _label(name, item)}


def _key(name: str, item: PredictItem, smiles: list[str], confidence: float) -> tuple:
    """Return what a result depends on besides the model: target, subject, dose, confidence."""
    if name == "viability":
        return (name, _formulation(item), confidence)
    dose = item.concentration_mM if TARGETS[name].uses_concentration else None
    return (name, smiles[0], dose, confidence)


def _label(name: str, item: PredictItem) -> str:
    return _formulation(item) if name == "viability" else str(item.smiles)


def _empty(index: int, name: str, item: PredictItem, unit: str, error: str | None) -> dict:
    return {
        "item": index,
        "target": name,
        "input": _label(name, item),
        "prediction": None,
        "lower": None,
        "upper": None,
        "unit": unit,
        "in_domain": None,
        "model_version": None,
        "error": error or f"no {name} model is loaded",
    }
