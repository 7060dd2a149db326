"""Mixture featurization: composition-weighted pooling of component features.

Amounts are put on one basis before weighting. ``mM``, ``M`` and ``%w/v`` (through the
component's molecular weight) convert to mol/L; ``molal``, ``%v/v`` (which would need
densities), ``mole fraction`` and coded design ``level`` convert to nothing else, so a mixture
may use one of them only if all its components do. A coded level is an ordinal setting of a
designed experiment, not a concentration: its weights are fractions of the summed levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors
from sklearn.base import BaseEstimator, TransformerMixin

from cryoprotect.chem.cache import FeatureCache, featurize_cached
from cryoprotect.chem.featurizers import Features, MoleculeFeaturizer

MOLAR_FACTORS = {"M": 1.0, "mM": 1e-3}
COMPOSITION_FEATURES = ("mix_n_components", "mix_total_amount", "mix_max_fraction")
SLOT_FEATURES = ("amount", "fraction", "molecular_weight")


@dataclass(frozen=True)
class Component:
    """A component of a mixture: its (standardised) SMILES, amount and unit."""

    smiles: str
    amount: float
    unit: str


@lru_cache(maxsize=4096)
def molecular_weight(smiles: str) -> float:
    """Return the average molecular weight (g/mol) of ``smiles``, computed once per SMILES."""
    return Descriptors.MolWt(Chem.MolFromSmiles(smiles))


class IncompatibleUnitsError(ValueError):
    """The components' units cannot be put on one basis."""


def common_basis(components: Sequence[Component]) -> tuple[np.ndarray, str]:
    """Return the components' amounts on one basis, and the basis' unit.

    Molar-convertible units (mM, M, %w/v) always become mol/L (``"M"``), so one composition
    gets one set of features however it is written; other units stay as they are when all
    components share them.

    Raises
    ------
    IncompatibleUnitsError
        If the units cannot be converted to one another (see the module notes).
    """
    units = {c.unit for c in components}
    if units <= {"M", "mM", "%w/v"}:
        amounts = []
        for c in components:
            if c.unit == "%w/v":
                amounts.append(c.amount * 10.0 / molecular_weight(c.smiles))
            else:
                amounts.append(c.amount * MOLAR_FACTORS[c.unit])
        return np.array(amounts), "M"
    if len(units) == 1:
        return np.array([c.amount for c in components], dtype=float), units.pop()
    raise IncompatibleUnitsError(
        f"units {', '.join(sorted(units))} cannot be put on one basis (only mM, M and %w/v "
        "convert to one another)"
    )


class MixtureFeaturizer(TransformerMixin, BaseEstimator):
    """Features of mixtures: mean- and sum-pooled component features plus composition.

    For components with amounts ``a_i`` on a common basis and features ``f_i``, the row is
    ``sum_i (a_i / sum a) f_i`` (the composition-weighted mean), ``sum_i a_i f_i`` (the
    amount-weighted sum), the number of components present, the total amount and the largest
    fraction. A mixture whose amounts sum to zero has zero pooled features. Then come
    ``slots`` component slots, filled in order of molecular weight: each slot's amount,
    fraction and molecular weight (zeros for an empty slot), which let a model see each
    component's amount directly; a component listed with amount zero keeps its slot, so that
    slots mean the same in every row of a design; components beyond the slots count in the
    pooled features only.

    Parameters
    ----------
    molecule
        The featurizer of the components.
    slots
        How many components get a slot of their own.
    pooled
        Include the pooled component features (without them: composition and slots only,
        which suits designs over a few fixed molecules).
    """

    def __init__(
        self, molecule: MoleculeFeaturizer | None = None, slots: int = 3, pooled: bool = True
    ) -> None:
        self.molecule = molecule
        self.slots = slots
        self.pooled = pooled

    def _molecule(self) -> MoleculeFeaturizer:
        return self.molecule or MoleculeFeaturizer(descriptors="physchem", morgan_size=0)

    def fit(self, X=None, y=None) -> MixtureFeaturizer:
        """Nothing to learn."""
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return ``mean_<feature>``, ``sum_<feature>`` and the composition feature names."""
        base = [str(n) for n in self._molecule().get_feature_names_out()]
        names = [f"mean_{n}" for n in base] + [f"sum_{n}" for n in base] if self.pooled else []
        names += list(COMPOSITION_FEATURES)
        names += [f"slot{i + 1}_{f}" for i in range(self.slots) for f in SLOT_FEATURES]
        return np.array(names, dtype=object)

    def featurize(
        self, mixtures: Sequence[Sequence[Component]], cache: FeatureCache | None = None
    ) -> Features:
        """Featurize ``mixtures``; a mixture with an invalid component or units is masked."""
        smiles = sorted({c.smiles for mixture in mixtures for c in mixture})
        parts = featurize_cached(self._molecule(), smiles, smiles, cache)
        index = {s: i for i, s in enumerate(smiles)}
        names = [str(n) for n in self.get_feature_names_out()]
        values = np.ma.masked_all((len(mixtures), len(names)), dtype=np.float64)
        errors: list[str | None] = []
        for row, mixture in enumerate(mixtures):
            error = self._row(mixture, parts, index, values, row, self.slots, self.pooled)
            errors.append(error)
        return Features(values, errors, names)

    @staticmethod
    def _row(mixture, parts: Features, index, values, row, slots: int, pooled: bool):
        if not mixture:
            return "no components"
        bad = [c.smiles for c in mixture if parts.errors[index[c.smiles]] is not None]
        if bad:
            return f"invalid component {bad[0]!r}: {parts.errors[index[bad[0]]]}"
        try:
            amounts, _ = common_basis(mixture)
        except IncompatibleUnitsError as error:
            return str(error)
        features = np.vstack([parts.values[index[c.smiles]].filled(np.nan) for c in mixture])
        total = float(amounts.sum())
        fractions = amounts / total if total > 0 else np.zeros_like(amounts)
        weights = [molecular_weight(c.smiles) for c in mixture]
        order = sorted(range(len(mixture)), key=lambda i: (weights[i], mixture[i].smiles))
        slot_values = np.zeros(slots * len(SLOT_FEATURES))
        for slot, i in enumerate(order[:slots]):
            slot_values[slot * 3 : slot * 3 + 3] = (amounts[i], fractions[i], weights[i])
        values[row] = np.concatenate(
            [
                *([fractions @ features, amounts @ features] if pooled else []),
                [float((amounts > 0).sum()), total, float(fractions.max())],
                slot_values,
            ]
        )
        return None

    def transform(self, X) -> np.ma.MaskedArray:
        """Return the feature matrix of the mixtures in ``X``."""
        return self.featurize(X).values
