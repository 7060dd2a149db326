"""Molecular featurizers as scikit-learn transformers, built on scikit-mol.

:class:`MoleculeFeaturizer` turns SMILES into one feature row per molecule: a named set of
RDKit descriptors, Morgan count fingerprints and, optionally, MACCS keys. Each SMILES is read
by :func:`~cryoprotect.chem.structures.parse_smiles`, the one strict reading of a structure.
An invalid structure, or one larger than ``max_heavy_atoms`` (whose descriptors would cost
seconds), never stops a batch: its row is masked (``numpy.ma``, values NaN) and
:meth:`MoleculeFeaturizer.featurize` says why; ``transform`` returns those rows as NaN, so a
plain scikit-learn pipeline never reads anything else for them. Work is split into batches
that run in parallel; each worker rebuilds the featurizer from ``get_params()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem
from scikit_mol.fingerprints import MACCSKeysFingerprintTransformer, MorganFingerprintTransformer
from sklearn.base import BaseEstimator, TransformerMixin

from cryoprotect.chem.descriptors import (
    ALL_DESCRIPTORS,
    DESCRIPTOR_SETS,
    FRAGMENT_DESCRIPTORS,
    PHYSCHEM_DESCRIPTORS,
    descriptor_row,
)
from cryoprotect.chem.parallel import parallelized
from cryoprotect.chem.structures import InvalidStructureError, parse_smiles

__all__ = [
    "ALL_DESCRIPTORS",
    "DESCRIPTOR_SETS",
    "FRAGMENT_DESCRIPTORS",
    "MACCS_SIZE",
    "PHYSCHEM_DESCRIPTORS",
    "Features",
    "MoleculeFeaturizer",
    "featurize_together",
    "missing_rows",
]

MACCS_SIZE = 167


@dataclass
class Features:
    """Feature rows of a batch: masked rows are invalid structures, ``errors`` says why."""

    values: np.ma.MaskedArray
    errors: list[str | None]
    names: list[str]

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the rows that have features."""
        return np.array([e is None for e in self.errors], dtype=bool)


class MoleculeFeaturizer(TransformerMixin, BaseEstimator):
    """SMILES to descriptors + Morgan count fingerprint (+ MACCS keys), one row per molecule.

    Parameters
    ----------
    descriptors
        Name of a descriptor set in :data:`DESCRIPTOR_SETS`.
    morgan_radius, morgan_size
        Radius and length of the Morgan count fingerprint; ``morgan_size=0`` leaves it out.
    morgan_chirality
        Distinguish stereoisomers in the fingerprint.
    maccs
        Add the 167 MACCS structural keys.
    max_heavy_atoms
        Larger molecules are refused with their reason; the cost of some descriptors grows
        with the cube of the size, so this bounds the time one molecule can take.
    n_jobs, batch_size, progress
        Parallel workers, molecules per batch, and whether to show a progress bar.
    """

    def __init__(
        self,
        descriptors: str = "all",
        morgan_radius: int = 2,
        morgan_size: int = 1024,
        morgan_chirality: bool = True,
        maccs: bool = False,
        max_heavy_atoms: int = 150,
        n_jobs: int = 1,
        batch_size: int = 250,
        progress: bool = False,
    ) -> None:
        self.descriptors = descriptors
        self.morgan_radius = morgan_radius
        self.morgan_size = morgan_size
        self.morgan_chirality = morgan_chirality
        self.maccs = maccs
        self.max_heavy_atoms = max_heavy_atoms
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.progress = progress

    def fit(self, X=None, y=None) -> MoleculeFeaturizer:
        """Check the settings; there is nothing to learn."""
        if self.descriptors not in DESCRIPTOR_SETS:
            raise ValueError(
                f"unknown descriptor set {self.descriptors!r}; "
                f"choose from {sorted(DESCRIPTOR_SETS)}"
            )
        return self

    def settings(self) -> dict:
        """Return the parameters that determine the features (used as the cache key)."""
        params = self.get_params()
        for name in ("n_jobs", "batch_size", "progress"):
            params.pop(name)
        return params

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the feature names: descriptor names, ``morgan_<i>``, ``maccs_<i>``."""
        self.fit()
        names = list(DESCRIPTOR_SETS[self.descriptors])
        names += [f"morgan_{i}" for i in range(self.morgan_size)]
        names += [f"maccs_{i}" for i in range(MACCS_SIZE)] if self.maccs else []
        return np.array(names, dtype=object)

    def featurize(self, smiles: Sequence[str]) -> Features:
        """Compute features for ``smiles``; invalid ones become masked rows with a reason."""
        return featurize_together(
            [self], smiles, n_jobs=self.n_jobs, batch_size=self.batch_size, progress=self.progress
        )[0]

    def transform(self, X) -> np.ndarray:
        """Return the feature matrix of the SMILES in ``X``; rows of invalid ones are NaN."""
        return self.featurize(X).values.filled(np.nan)


def featurize_together(
    featurizers: Sequence[MoleculeFeaturizer],
    smiles: Sequence[str],
    n_jobs: int = 1,
    batch_size: int = 250,
    progress: bool = False,
) -> list[Features]:
    """Featurize ``smiles`` for each of ``featurizers``, one :class:`Features` per featurizer.

    Each structure is parsed once, and a part several featurizers ask for (for example the
    same descriptor set) is computed once; the values are those of each featurizer alone.
    """
    for featurizer in featurizers:
        featurizer.fit()
    smiles = [str(s) for s in np.asarray(smiles, dtype=object).ravel()]
    rows = parallelized(
        functools.partial(_featurize_batch, [f.settings() for f in featurizers]),
        smiles,
        n_jobs=n_jobs,
        batch_size=batch_size,
        progress=progress,
    )
    out = []
    for k, featurizer in enumerate(featurizers):
        names = list(featurizer.get_feature_names_out())
        values = missing_rows(len(smiles), len(names))
        errors: list[str | None] = []
        for i, per_featurizer in enumerate(rows):
            row, error = per_featurizer[k]
            errors.append(error)
            if error is None:
                values[i] = row
        out.append(Features(values, errors, names))
    return out


def missing_rows(rows: int, columns: int) -> np.ma.MaskedArray:
    """Return a feature matrix whose rows are all masked and hold NaN until they are set."""
    return np.ma.masked_array(np.full((rows, columns), np.nan), mask=True)


class _Descriptors:
    """The descriptor block of a feature row (see :func:`descriptor_row`)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)

    def transform(self, mols: np.ndarray) -> np.ndarray:
        rows = [descriptor_row(mol, self.names) for mol in np.ravel(mols)]
        return np.array(rows).reshape(len(rows), len(self.names))


def _parts(settings: dict) -> list[tuple[tuple, Callable[[], object]]]:
    """Return the transformers ``settings`` asks for, each with a key naming what it computes."""
    parts: list[tuple[tuple, Callable[[], object]]] = []
    descriptors = DESCRIPTOR_SETS[settings["descriptors"]]
    if descriptors:
        parts.append((("descriptors", descriptors), lambda: _Descriptors(descriptors)))
    if settings["morgan_size"]:
        morgan = (settings["morgan_size"], settings["morgan_radius"], settings["morgan_chirality"])
        parts.append(
            (
                ("morgan", *morgan),
                lambda: MorganFingerprintTransformer(
                    fpSize=morgan[0],
                    radius=morgan[1],
                    useChirality=morgan[2],
                    useCounts=True,
                    safe_inference_mode=True,
                ),
            )
        )
    if settings["maccs"]:
        parts.append(
            (
                ("maccs",),
                lambda: MACCSKeysFingerprintTransformer(safe_inference_mode=True, dtype=np.float64),
            )
        )
    return parts


def _read(smiles: str) -> tuple[Chem.Mol | None, str | None]:
    """Return ``(molecule, None)`` for a usable SMILES, else ``(None, reason)``."""
    try:
        return parse_smiles(smiles), None
    except InvalidStructureError as error:
        return None, str(error)


def _too_large(mol: Chem.Mol, max_heavy_atoms: int) -> str | None:
    """Return why ``mol`` is too large to featurize, or ``None``."""
    atoms = mol.GetNumHeavyAtoms()
    if atoms <= max_heavy_atoms:
        return None
    return (
        f"{atoms} heavy atoms, more than the {max_heavy_atoms} the models featurize "
        "(max_heavy_atoms in params.yaml); larger molecules are outside their domain"
    )


def _featurize_batch(
    settings_list: Sequence[dict], smiles: Sequence[str]
) -> list[list[tuple[np.ndarray | None, str | None]]]:
    """Featurize one batch in this process: per SMILES, one ``(row, error)`` per settings."""
    read = [_read(text) for text in smiles]
    results: list[list[tuple[np.ndarray | None, str | None]]] = [
        [(None, error)] * len(settings_list) for _, error in read
    ]
    computed: dict[tuple, dict[int, np.ndarray]] = {}
    for k, settings in enumerate(settings_list):
        usable = {}
        for i, (mol, _) in enumerate(read):
            if mol is not None:
                reason = _too_large(mol, settings["max_heavy_atoms"])
                if reason is None:
                    usable[i] = mol
                else:
                    results[i][k] = (None, reason)
        if not usable:
            continue
        blocks = []
        for key, make in _parts(settings):
            done = computed.setdefault(key, {})
            todo = [i for i in usable if i not in done]
            if todo:
                mols = np.array([usable[i] for i in todo], dtype=object).reshape(-1, 1)
                block = np.asarray(make().transform(mols), dtype=np.float64)
                done.update(zip(todo, block, strict=True))
            blocks.append(np.array([done[i] for i in usable]).reshape(len(usable), -1))
        matrix = np.hstack(blocks) if blocks else np.zeros((len(usable), 0))
        for row_index, i in enumerate(usable):
            results[i][k] = _row(matrix[row_index])
    return results


FLOAT32_MAX = float(np.finfo(np.float32).max)
"""scikit-learn's trees work in float32: a larger value (RDKit's ``Ipc`` of a big peptide, say)
would become infinite there, so it is treated as missing, like a value that is not finite."""


def _row(values: np.ndarray) -> tuple[np.ndarray, None]:
    """Return one molecule's ``(row, None)``: NaN where a value is not finite in float32."""
    row = np.array(values, dtype=np.float64)
    row[~(np.abs(row) <= FLOAT32_MAX)] = np.nan
    return row, None
