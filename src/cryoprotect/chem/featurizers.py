"""Molecular featurizers as scikit-learn transformers, built on scikit-mol.

:class:`MoleculeFeaturizer` turns SMILES into one feature row per molecule: a named set of
RDKit descriptors, Morgan count fingerprints and, optionally, MACCS keys. An invalid structure
never stops a batch: its row is masked (``numpy.ma``) and :meth:`MoleculeFeaturizer.featurize`
says why. Work is split into batches that run in parallel; each worker rebuilds the featurizer
from ``get_params()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit.Chem import Descriptors
from scikit_mol.conversions import SmilesToMolTransformer
from scikit_mol.descriptors import MolecularDescriptorTransformer
from scikit_mol.fingerprints import MACCSKeysFingerprintTransformer, MorganFingerprintTransformer
from sklearn.base import BaseEstimator, TransformerMixin

from cryoprotect.chem.parallel import parallelized

ALL_DESCRIPTORS: tuple[str, ...] = tuple(name for name, _ in Descriptors._descList)
FRAGMENT_DESCRIPTORS: tuple[str, ...] = tuple(n for n in ALL_DESCRIPTORS if n.startswith("fr_"))
PHYSCHEM_DESCRIPTORS: tuple[str, ...] = (
    "MolWt", "HeavyAtomCount", "NumHeteroatoms", "NumValenceElectrons", "MolLogP", "MolMR",
    "TPSA", "LabuteASA", "NumHDonors", "NumHAcceptors", "NHOHCount", "NOCount",
    "NumRotatableBonds", "FractionCSP3", "RingCount", "NumAromaticRings", "NumAliphaticRings",
    "NumSaturatedRings", "NumAtomStereoCenters", "NumAmideBonds", "BertzCT", "BalabanJ",
    "HallKierAlpha", "Kappa1", "Kappa2", "Kappa3", "Chi0v", "Chi1v", "Chi2v", "Chi3v",
    "MaxPartialCharge", "MinPartialCharge", "qed",
)  # fmt: skip
DESCRIPTOR_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "physchem": PHYSCHEM_DESCRIPTORS,
    "fragments": FRAGMENT_DESCRIPTORS,
    "physchem+fragments": PHYSCHEM_DESCRIPTORS + FRAGMENT_DESCRIPTORS,
    "all": ALL_DESCRIPTORS,
}
"""Named descriptor sets: ``fragments`` are RDKit's functional-group counts (``fr_*``)."""

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
        n_jobs: int = 1,
        batch_size: int = 250,
        progress: bool = False,
    ) -> None:
        self.descriptors = descriptors
        self.morgan_radius = morgan_radius
        self.morgan_size = morgan_size
        self.morgan_chirality = morgan_chirality
        self.maccs = maccs
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

    def transform(self, X) -> np.ma.MaskedArray:
        """Return the feature matrix of the SMILES in ``X`` (masked rows for invalid ones)."""
        return self.featurize(X).values


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
        values = np.ma.masked_all((len(smiles), len(names)), dtype=np.float64)
        errors: list[str | None] = []
        for i, per_featurizer in enumerate(rows):
            row, error = per_featurizer[k]
            errors.append(error)
            if error is None:
                values[i] = row
        out.append(Features(values, errors, names))
    return out


def _parts(settings: dict) -> list[tuple[tuple, Callable[[], TransformerMixin]]]:
    """Return the transformers ``settings`` asks for, each with a key naming what it computes."""
    parts: list[tuple[tuple, Callable[[], TransformerMixin]]] = []
    descriptors = DESCRIPTOR_SETS[settings["descriptors"]]
    if descriptors:
        parts.append(
            (
                ("descriptors", descriptors),
                lambda: MolecularDescriptorTransformer(
                    desc_list=list(descriptors), safe_inference_mode=True, dtype=np.float64
                ),
            )
        )
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


def _featurize_batch(
    settings_list: Sequence[dict], smiles: Sequence[str]
) -> list[list[tuple[np.ndarray | None, str | None]]]:
    """Featurize one batch in this process: per SMILES, one ``(row, error)`` per settings."""
    results = [[(None, "empty SMILES")] * len(settings_list) for _ in smiles]
    present = [i for i, s in enumerate(smiles) if s.strip()]
    if not present:
        return results
    mols = SmilesToMolTransformer(safe_inference_mode=True).transform(
        np.array([smiles[i] for i in present], dtype=object).reshape(-1, 1)
    )
    computed: dict[tuple, np.ma.MaskedArray] = {}
    for k, settings in enumerate(settings_list):
        blocks = []
        for key, make in _parts(settings):
            if key not in computed:
                computed[key] = np.ma.asarray(make().transform(mols), dtype=np.float64)
            blocks.append(computed[key])
        matrix = np.ma.hstack(blocks) if blocks else np.ma.zeros((len(present), 0))
        for row_index, (i, mol) in enumerate(zip(present, mols.ravel(), strict=True)):
            results[i][k] = _row(mol, matrix[row_index])
    return results


FLOAT32_MAX = float(np.finfo(np.float32).max)
"""scikit-learn's trees work in float32: a larger value (RDKit's ``Ipc`` of a big peptide, say)
would become infinite there, so it is treated as missing, like a value that is not finite."""


def _row(mol, values: np.ma.MaskedArray) -> tuple[np.ndarray | None, str | None]:
    """Return one molecule's ``(row, error)``: NaN where a value is not finite in float32."""
    if hasattr(mol, "error"):
        return None, str(mol.error)
    if np.ma.getmaskarray(values).any():
        return None, "features could not be computed"
    row = np.asarray(values.filled(np.nan), dtype=np.float64)
    row[~(np.abs(row) <= FLOAT32_MAX)] = np.nan
    return row, None
