"""A feature cache keyed by InChIKey and featurizer settings: reruns compute only new molecules."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from cryoprotect.chem.featurizers import Features, MoleculeFeaturizer

KEY_LIBRARIES = ("rdkit", "scikit-mol")
"""Libraries whose version is part of the cache key: an upgrade may change the features."""


class FeatureCache:
    """Feature rows stored as one Parquet file per featurizer setting under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, featurizer: MoleculeFeaturizer) -> Path:
        """Return the file that holds the rows for ``featurizer``'s settings."""
        key = {
            **featurizer.settings(),
            "names": [str(n) for n in featurizer.get_feature_names_out()],
            "libraries": {n: version(n) for n in KEY_LIBRARIES},
        }
        text = json.dumps(key, sort_keys=True)
        return self.directory / f"features-{hashlib.sha256(text.encode()).hexdigest()[:16]}.parquet"

    def load(self, featurizer: MoleculeFeaturizer) -> pd.DataFrame:
        """Return every cached row for ``featurizer`` (index: InChIKey)."""
        path = self.path(featurizer)
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()

    def save(self, featurizer: MoleculeFeaturizer, rows: pd.DataFrame) -> None:
        """Write ``rows`` for ``featurizer`` atomically (temporary file, then rename)."""
        path = self.path(featurizer)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        rows.to_parquet(partial)
        os.replace(partial, path)


def featurize_cached(
    featurizer: MoleculeFeaturizer,
    smiles: Sequence[str],
    keys: Sequence[str],
    cache: FeatureCache | None,
) -> Features:
    """Featurize ``smiles`` (identified by ``keys``, e.g. InChIKeys), computing only new ones.

    Rows of invalid structures are never cached; they are masked in the result, as in
    :meth:`MoleculeFeaturizer.featurize`.
    """
    if cache is None:
        return _featurize_distinct(featurizer, smiles, keys)
    names = [str(n) for n in featurizer.get_feature_names_out()]
    cached = cache.load(featurizer)
    first: dict[str, str] = {}
    for key, text in zip(keys, smiles, strict=True):
        if key not in cached.index:
            first.setdefault(key, text)
    computed = featurizer.featurize(list(first.values()))
    new_keys = list(first)
    new_rows = pd.DataFrame(
        computed.values.filled(np.nan)[computed.valid],
        index=pd.Index([k for k, ok in zip(new_keys, computed.valid, strict=True) if ok]),
        columns=names,
    )
    errors = {k: e for k, e in zip(new_keys, computed.errors, strict=True) if e}
    table = pd.concat([cached, new_rows]) if len(cached) else new_rows
    if cache is not None and len(new_rows):
        cache.save(featurizer, table)
    aligned = table.reindex(index=list(keys), columns=names).to_numpy(dtype=np.float64)
    row_errors = [errors.get(key) for key in keys]
    mask = np.zeros(aligned.shape, dtype=bool)
    mask[[e is not None for e in row_errors]] = True
    return Features(np.ma.MaskedArray(aligned, mask=mask), row_errors, names)


def _featurize_distinct(
    featurizer: MoleculeFeaturizer, smiles: Sequence[str], keys: Sequence[str]
) -> Features:
    """Featurize each distinct key's first SMILES once and give every row its key's features.

    No table is built: a single new molecule (a service request) costs its chemistry only.
    """
    first: dict[str, int] = {}
    texts: list[str] = []
    rows = np.empty(len(keys), dtype=np.intp)
    for position, (key, text) in enumerate(zip(keys, smiles, strict=True)):
        if key not in first:
            first[key] = len(texts)
            texts.append(text)
        rows[position] = first[key]
    computed = featurizer.featurize(texts)
    if len(texts) == len(keys):
        return computed
    errors = [computed.errors[row] for row in rows]
    return Features(computed.values[rows], errors, computed.names)
