"""The first pass of a two-stage screen: every molecule, cheaply, with an exact domain flag.

Each target gets a small *mimic* model: extremely randomised trees on the cheap features of
:mod:`cryoprotect.screening.cheap` (the Morgan counts at positions set in at least
:data:`MIN_SHARE` of the calibration molecules, a few descriptors, the nearest-neighbour
similarity to the target's training molecules), fitted to the full model's predictions for the
first molecules of the library (the calibration sample, which the full pipeline screens
anyway). The applicability-domain flag is not estimated: it is the full model's own rule
(Tanimoto similarity of Morgan fingerprints to the training molecules, and for IRI the
concentration within the trained range), computed exactly.

The first pass orders molecules as the ranking does (inside every model's domain first, then
by the weighted score of the objectives) so that the full models see the most promising part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryoprotect.models.estimators import ExtraTrees
from cryoprotect.models.registry import TrainedModel
from cryoprotect.screening import cheap

MIMIC_TREES = 50
"""Trees of each mimic model (100 kept no more of the full models' best, at twice the cost)."""
MIN_SHARE = 0.01
"""A Morgan position is a mimic's input when at least this share of the calibration sample has
it: about 650 of the 2,048 on PubChem structures, a third of the cost of fitting all, and the
same share of the full models' best kept (measured on the ``chemicals`` package's table)."""


@dataclass
class DomainRule:
    """A model's applicability domain: training fingerprints, threshold, fixed-input check."""

    reference: np.ndarray
    threshold: float
    inputs_inside: bool = True
    """Whether the screen's fixed inputs (IRI's concentration) lie in the trained range."""

    @classmethod
    def of(cls, model: TrainedModel, concentration_mM: float) -> DomainRule:
        """Return the rule of ``model``'s domain (see :func:`~..models.predict._in_domain`)."""
        bounds = model.domain.get("concentration_mM")
        inside = bounds is None or bounds[0] <= concentration_mM <= bounds[1]
        return cls(
            cheap.reference_bits(model.domain["reference"]), model.domain["threshold"], inside
        )


def mimic_features(
    counts: np.ndarray, values: np.ndarray, similarity: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """Return a mimic's inputs: Morgan counts at ``positions``, descriptors, domain similarity."""
    return np.hstack(
        [
            counts[:, positions].astype(np.float32),
            values,
            similarity.reshape(-1, 1).astype(np.float32),
        ]
    )


def fit_mimic(features: np.ndarray, target: np.ndarray, seed: int = 0) -> ExtraTrees:
    """Fit a mimic model to a full model's predictions (rows with a prediction only).

    The fit uses every core of this process (the workers wait for it); the fitted model
    predicts in one thread, without dispatching each tree as a job
    (:class:`~cryoprotect.models.estimators.ExtraTrees`).
    """
    known = np.isfinite(target)
    model = ExtraTrees(
        n_estimators=MIMIC_TREES, max_features=0.3, min_samples_leaf=2, random_state=seed, n_jobs=-1
    )
    model.fit(features[known], target[known])
    model.n_jobs = 1
    return model


@dataclass
class FirstPassResult:
    """What the first pass gave for one chunk: estimates per molecule, unusable lines, read."""

    estimates: pd.DataFrame
    """``line``, ``name``, ``input_smiles``, ``smiles`` (canonical), ``first_pass_error``, and
    per target ``<t>_first_pass`` (the mimic's estimate) and ``<t>_in_domain``."""
    invalid: pd.DataFrame
    read: int


@dataclass
class FirstPassScreener:
    """Estimates every target of a chunk cheaply; ``mimics`` are filled by :meth:`fit`."""

    domains: dict[str, DomainRule]
    max_heavy_atoms: int
    mimics: dict[str, ExtraTrees] = field(default_factory=dict)
    positions: np.ndarray = field(default_factory=lambda: np.arange(cheap.MORGAN_SIZE))
    """The Morgan positions the mimics read (set by :meth:`fit`)."""

    def measure(self, smiles: list[str]):
        """Return the parsed molecules' cheap features and per-target similarity.

        Returns ``(rows, canonical, counts, values, similarity, errors)`` where ``rows`` are
        the indices of usable ``smiles``.
        """
        rows, canonical, mols, errors = [], [], [], {}
        for i, text in enumerate(smiles):
            mol, key, error = cheap.read(text)
            if error is not None:
                errors[i] = error
                continue
            rows.append(i)
            canonical.append(key)
            mols.append(mol)
        counts, values = cheap.featurize(mols)
        similarity = {
            name: cheap.max_similarity(counts, rule.reference)
            for name, rule in self.domains.items()
        }
        return rows, canonical, counts, values, similarity, errors

    def fit(self, smiles: list[str], predictions: dict[str, np.ndarray], seed: int = 0) -> None:
        """Fit each target's mimic to the full model's ``predictions`` for ``smiles``."""
        rows, _, counts, values, similarity, _ = self.measure(smiles)
        self.positions = np.flatnonzero((counts > 0).mean(axis=0) >= MIN_SHARE)
        for name in self.domains:
            features = mimic_features(counts, values, similarity[name], self.positions)
            self.mimics[name] = fit_mimic(features, predictions[name][rows], seed)

    def __call__(self, chunk: pd.DataFrame) -> FirstPassResult:
        """Return the first-pass estimates of ``chunk`` (repeats within it not yet dropped)."""
        texts = chunk["smiles"].tolist()
        rows, canonical, counts, values, similarity, errors = self.measure(texts)
        lines, names = chunk["line"].to_numpy(), chunk["name"].to_numpy()
        estimates = pd.DataFrame(
            {
                "line": lines[rows],
                "name": names[rows],
                "input_smiles": [texts[i] for i in rows],
                "smiles": canonical,
            }
        )
        heavy = values[:, cheap.DESCRIPTOR_NAMES.index("heavy_atoms")]
        large = heavy > self.max_heavy_atoms
        estimates["first_pass_error"] = np.where(
            large,
            [
                f"{int(n)} heavy atoms, more than the {self.max_heavy_atoms} the models featurize "
                "(max_heavy_atoms in params.yaml); larger molecules are outside their domain"
                if big
                else ""
                for n, big in zip(heavy, large, strict=True)
            ],
            "",
        )
        for name, rule in self.domains.items():
            estimate = np.full(len(rows), np.nan)
            if len(rows) and (~large).any():
                features = mimic_features(
                    counts[~large], values[~large], similarity[name][~large], self.positions
                )
                estimate[~large] = self.mimics[name].predict(features)
            estimates[f"{name}_first_pass"] = estimate
            estimates[f"{name}_in_domain"] = (
                (similarity[name] >= rule.threshold) & rule.inputs_inside & ~large
            )
        invalid = pd.DataFrame(
            {
                "line": lines[list(errors)],
                "input_smiles": [texts[i] for i in errors],
                "reason": list(errors.values()),
            }
        )
        return FirstPassResult(estimates, invalid, len(chunk))
