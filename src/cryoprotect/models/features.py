"""Feature matrices of training or prediction frames for a target."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryoprotect.chem.cache import FeatureCache, featurize_cached
from cryoprotect.chem.featurizers import Features, MoleculeFeaturizer
from cryoprotect.chem.mixtures import MixtureFeaturizer
from cryoprotect.models.targets import TargetSpec

CONCENTRATION_FEATURE = "log10_concentration_mM"
MIXTURE_OPTIONS = ("slots", "pooled")
"""Featurizer settings that belong to the mixture featurizer; the rest are the molecules'."""


def feature_matrix(
    spec: TargetSpec, settings: dict, frame: pd.DataFrame, cache: FeatureCache | None = None
) -> Features:
    """Featurize ``frame`` for ``spec``.

    Molecule targets read ``smiles`` (and ``key``, an identity such as the InChIKey, used by
    the cache; defaults to the SMILES); IRI adds ``log10`` of ``concentration_mM``. Mixture
    targets read ``components`` (lists of :class:`~cryoprotect.chem.mixtures.Component`);
    their settings may add ``slots`` and ``pooled`` (see :class:`MixtureFeaturizer`).
    """
    mixture_options = {k: settings[k] for k in MIXTURE_OPTIONS if k in settings}
    molecule = molecule_featurizer(settings)
    if spec.subject == "mixture":
        featurizer = MixtureFeaturizer(molecule, **mixture_options)
        return featurizer.featurize(list(frame["components"]), cache)
    smiles = [str(s) for s in frame["smiles"]]
    keys = [str(k) for k in frame["key"]] if "key" in frame else smiles
    features = featurize_cached(molecule, smiles, keys, cache)
    if not spec.uses_concentration:
        return features
    return with_concentration(features, frame["concentration_mM"])


def molecule_featurizer(settings: dict) -> MoleculeFeaturizer:
    """Return the molecule featurizer of a target's featurizer ``settings``."""
    return MoleculeFeaturizer(**{k: v for k, v in settings.items() if k not in MIXTURE_OPTIONS})


def with_concentration(features: Features, concentration: pd.Series) -> Features:
    """Add ``log10`` of ``concentration`` (mM) as the last feature; a row without one is masked."""
    concentration = pd.to_numeric(concentration, errors="coerce").to_numpy(float)
    usable = np.isfinite(concentration) & (concentration > 0)
    column = np.ma.masked_array(np.log10(np.where(usable, concentration, 1.0)), mask=~usable)
    errors = [
        e if e is not None or ok else "concentration_mM must be a positive number"
        for e, ok in zip(features.errors, usable, strict=True)
    ]
    values = np.ma.column_stack([features.values, column])
    values[[e is not None for e in errors]] = np.ma.masked
    return Features(values, errors, [*features.names, CONCENTRATION_FEATURE])
