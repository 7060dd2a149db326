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
    the cache; defaults to the SMILES); IRI adds ``log10`` of ``concentration_mM``; a target
    with an optional input (Tg: ``melting_point_K``) adds it as the last feature, NaN where
    it is unknown or the column is absent. Mixture
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
    if spec.optional_input is not None:
        features = with_optional_input(
            features, spec.optional_input, frame.get(spec.optional_input)
        )
    if not spec.uses_concentration:
        return features
    return with_concentration(features, frame["concentration_mM"])


def with_optional_input(features: Features, name: str, values: pd.Series | None) -> Features:
    """Add an optional input (e.g. a melting point) as the last feature: NaN where unknown.

    A value that is not a positive finite number counts as unknown; the row stays valid.
    """
    numbers = (
        pd.to_numeric(values, errors="coerce").to_numpy(float)
        if values is not None
        else np.full(len(features.errors), np.nan)
    )
    numbers = np.where(np.isfinite(numbers) & (numbers > 0), numbers, np.nan)
    values_out = np.ma.column_stack([features.values, np.ma.masked_array(numbers)])
    values_out[[e is not None for e in features.errors]] = np.ma.masked
    return Features(values_out, features.errors, [*features.names, name])


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
