"""Serving the production models: loaded once, each request's rows predicted per target.

Rows of one target are predicted together (one feature matrix, one ``predict`` call), so a
batch costs little more than a single item. A molecule may be given by a known name; a
structure RDKit cannot parse is refused before any model runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cryoprotect.chem.structures import InvalidStructureError, parse_smiles
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
    """The production model of each target (or why it could not be loaded), and recent results."""

    models: dict[str, registry.TrainedModel] = field(default_factory=dict)
    domains: dict[str, TanimotoDomain] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    cache: ResultCache = field(default_factory=lambda: ResultCache(0))

    @classmethod
    def load(
        cls, root: Path, targets: Sequence[str] = tuple(TARGETS), cache_size: int = 0
    ) -> LoadedModels:
        """Load the production version of every target under ``root``.

        ``cache_size`` results are kept for subjects asked for again (0: none).
        """
        loaded = cls(cache=ResultCache(cache_size))
        for name in targets:
            try:
                loaded.models[name] = registry.load(root, name)
                loaded.domains[name] = model_domain(loaded.models[name])
            except (registry.ModelNotFoundError, OSError, ValueError) as error:
                loaded.errors[name] = str(error)
        return loaded


def _molecule(text: str, resolve: Resolver) -> str:
    """Return the SMILES for ``text`` (a known name or a SMILES), or raise ValueError."""
    smiles = resolve(text.casefold()) or text
    try:
        parse_smiles(smiles)
    except InvalidStructureError:
        raise ValueError(f"{text!r} is neither a known molecule name nor a valid SMILES") from None
    return smiles


def check_structures(items: Sequence[PredictItem], resolve: Resolver) -> list[list[str]]:
    """Return per item the SMILES of its molecule (or ``[]``) and its components' SMILES.

    Raises
    ------
    UnreadableStructureError
        Naming the field of every molecule that cannot be read, relative to its item
        (``(index, "smiles")`` or ``(index, "components", k, "molecule")``).
    """
    problems: list[tuple[tuple, str]] = []
    resolved: list[list[str]] = []
    for index, item in enumerate(items):
        found: list[str] = []
        if item.smiles is not None:
            try:
                found.append(_molecule(item.smiles, resolve))
            except ValueError as error:
                problems.append(((index, "smiles"), str(error)))
        for k, component in enumerate(item.components or []):
            try:
                _molecule(component.molecule, resolve)
            except ValueError as error:
                problems.append(((index, "components", k, "molecule"), str(error)))
        resolved.append(found)
    if problems:
        raise UnreadableStructureError(problems)
    return resolved


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


def predict_items(
    loaded: LoadedModels,
    items: Sequence[PredictItem],
    resolve: Resolver,
    confidence: float = 0.9,
) -> list[dict]:
    """Predict every target each item asks for; one dict per (item, target), items in order.

    A target without a loaded model, or a subject its model cannot use, gives a result with
    ``error`` set; the others are still predicted.

    Raises
    ------
    UnreadableStructureError
        If a molecule cannot be read (nothing is predicted then).
    """
    structures = check_structures(items, resolve)
    return predict_checked(loaded, items, structures, resolve, confidence)


def _rows(items: Sequence[PredictItem], structures: list[list[str]]) -> dict[str, list]:
    wanted: dict[str, list[tuple[int, PredictItem, list[str]]]] = {}
    for index, item in enumerate(items):
        for name in item.wanted():
            wanted.setdefault(name, []).append((index, item, structures[index]))
    return wanted


def cached_results(
    loaded: LoadedModels,
    items: Sequence[PredictItem],
    structures: list[list[str]],
    confidence: float,
) -> list[dict] | None:
    """Return the results of ``items`` if every one is in the result cache, else ``None``."""
    out = []
    for index, item in enumerate(items):
        for name in item.wanted():
            known = loaded.cache.get(_key(name, item, structures[index], confidence))
            if known is None:
                return None
            out.append(_reused(known, index, name, item))
    return out


def predict_checked(
    loaded: LoadedModels,
    items: Sequence[PredictItem],
    structures: list[list[str]],
    resolve: Resolver,
    confidence: float,
) -> list[dict]:
    """Like :func:`predict_items` for items whose ``structures`` :func:`check_structures` gave."""
    results: dict[tuple[int, str], dict] = {}
    for name, rows in _rows(items, structures).items():
        unit = TARGETS[name].unit
        model = loaded.models.get(name)
        if model is None:
            for index, item, _ in rows:
                results[index, name] = _empty(index, name, item, unit, loaded.errors.get(name))
            continue
        keys = {index: _key(name, item, smiles, confidence) for index, item, smiles in rows}
        missing = []
        for index, item, smiles in rows:
            known = loaded.cache.get(keys[index])
            if known is None:
                missing.append((index, item, smiles))
            else:
                results[index, name] = _reused(known, index, name, item)
        if not missing:
            continue
        out = predict_frame(
            model, _frame(name, missing), resolve, confidence, domain=loaded.domains[name]
        )
        for (index, item, _), row in zip(missing, out.itertuples(index=False), strict=True):
            results[index, name] = {
                "item": index,
                "target": name,
                "input": _label(name, item),
                "prediction": _value(row.prediction),
                "lower": _value(row.lower),
                "upper": _value(row.upper),
                "unit": unit,
                "in_domain": row.in_domain == "true" if not row.error else None,
                "model_version": model.version,
                "error": row.error or None,
            }
            loaded.cache.put(keys[index], results[index, name])
    return [results[index, name] for index, item in enumerate(items) for name in item.wanted()]


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
