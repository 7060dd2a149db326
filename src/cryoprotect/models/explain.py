"""SHAP explanations of fitted models, with readable feature names.

Tree models (extra trees, random forests) are explained exactly with SHAP's TreeExplainer on
the features they see after imputation; other models (SVR, Gaussian processes) with SHAP's
permutation explainer over the raw features against a small background sample; an averaging
ensemble as the weighted mean of its members' explanations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shap
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor, VotingRegressor
from sklearn.pipeline import Pipeline

from cryoprotect.chem.feature_names import morgan_bit_fragments, readable
from cryoprotect.models.estimators import OptionalLastFeature
from cryoprotect.models.registry import TrainedModel
from cryoprotect.models.training import TrainingArrays
from cryoprotect.progress import Progress, report

TREES = (ExtraTreesRegressor, RandomForestRegressor)
BACKGROUND = 20
"""Background rows of the permutation explainer: its cost grows in proportion."""
BATCH = 25
"""Rows explained at a time: the unit of progress."""


@dataclass
class Explanation:
    """SHAP values of some rows: one column per feature, in the target's unit."""

    values: np.ndarray
    base_value: float
    data: np.ndarray
    feature_names: list[str]
    labels: list[str]

    def importance(self) -> pd.DataFrame:
        """Mean absolute SHAP value per feature, largest first."""
        table = pd.DataFrame(
            {
                "feature": self.feature_names,
                "label": self.labels,
                "mean_abs_shap": np.abs(self.values).mean(axis=0),
            }
        )
        return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)

    def save(self, path: Path) -> None:
        """Write the explanation to ``path`` as a NumPy ``.npz`` archive, atomically.

        The archive holds arrays of numbers and text only, so loading it runs no code.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.partial.npz")
        np.savez_compressed(
            partial,
            values=self.values,
            base_value=np.array(self.base_value),
            data=self.data,
            feature_names=np.array(self.feature_names, dtype=str),
            labels=np.array(self.labels, dtype=str),
        )
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> Explanation:
        """Read an explanation written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as archive:
            return cls(
                values=archive["values"],
                base_value=float(archive["base_value"]),
                data=archive["data"],
                feature_names=archive["feature_names"].tolist(),
                labels=archive["labels"].tolist(),
            )


def _labels(model: TrainedModel, names: list[str], smiles: list[str] | None) -> list[str]:
    morgan = {}
    settings = model.featurizer
    if smiles and any(n.startswith("morgan_") for n in names):
        morgan = morgan_bit_fragments(
            smiles,
            settings.get("morgan_radius", 2),
            settings.get("morgan_size", 1024),
            settings.get("morgan_chirality", True),
        )
    return [readable(n, morgan) for n in names]


def _batched(compute, X: np.ndarray, step) -> np.ndarray:
    """``compute(X)``, :data:`BATCH` rows at a time, calling ``step()`` after each batch."""
    parts = []
    for start in range(0, max(len(X), 1), BATCH):
        parts.append(np.asarray(compute(X[start : start + BATCH])))
        step()
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _explainers(estimator) -> int:
    """Return how many estimators are explained one by one for ``estimator``."""
    if isinstance(estimator, VotingRegressor):
        return sum(_explainers(member) for member in estimator.estimators_)
    return 1


def _shap(estimator, X: np.ndarray, background: np.ndarray, seed: int, step):
    """SHAP values over the raw features of ``X``, and the base value, for one estimator.

    Rows are explained :data:`BATCH` at a time by one explainer (the permutation explainer's
    random draws follow on from batch to batch), calling ``step()`` after each batch.
    """
    if isinstance(estimator, VotingRegressor):
        weights = np.asarray(estimator.weights or [1.0] * len(estimator.estimators_), float)
        parts = [_shap(m, X, background, seed, step) for m in estimator.estimators_]
        values = sum(w * v for w, (v, _) in zip(weights, parts, strict=True)) / weights.sum()
        base = sum(w * b for w, (_, b) in zip(weights, parts, strict=True)) / weights.sum()
        return values, float(base)
    if isinstance(estimator, Pipeline) and isinstance(estimator[-1], TREES):
        explainer = shap.TreeExplainer(estimator[-1])
        kept = _batched(
            lambda rows: explainer.shap_values(rows, check_additivity=False),
            estimator[:-1].transform(X),
            step,
        )
        values = np.zeros(X.shape)
        values[:, estimator.named_steps["drop_constant"].get_support()] = kept
        return values, float(np.ravel(explainer.expected_value)[0])
    masker = shap.maskers.Independent(background, max_samples=min(BACKGROUND, len(background)))
    explainer = shap.PermutationExplainer(estimator.predict, masker, seed=seed)
    bases = []

    def permuted(rows: np.ndarray) -> np.ndarray:
        result = explainer(rows, max_evals=2 * X.shape[1] + 1, silent=True)
        bases.append(result.base_values)
        return result.values

    values = _batched(permuted, X, step)
    return values, float(np.ravel(bases[0])[0])


def explain(
    model: TrainedModel,
    X: np.ndarray,
    background: np.ndarray,
    smiles: list[str] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Explanation:
    """Explain ``model``'s predictions for the rows of ``X`` (raw feature matrix).

    ``background`` (rows of the training features) is what features are compared against
    by the permutation explainer; ``smiles`` (the training molecules) name Morgan bits.
    An averaging ensemble is explained member by member (Shapley values are linear), so its
    tree members get exact values. A model with an optional input (Tg's melting point) is
    explained as it predicts most rows: the fit that uses the input, on the rows that have
    it (the fit without it where no row does). ``progress`` hears of each batch of
    :data:`BATCH` rows explained, per estimator explained (unit ``batch``).
    """
    estimator, names = model.estimator, list(model.feature_names)
    if isinstance(estimator, OptionalLastFeature):
        known = estimator.uses_feature(X)
        if known.any():
            estimator, X = estimator.with_, X[known]
            background = background[np.isfinite(background[:, -1])]
        else:
            estimator, X, background = estimator.without_, X[:, :-1], background[:, :-1]
            names = names[:-1]
    total = _explainers(estimator) * max(1, -(-len(X) // BATCH))
    done = [0]

    def step() -> None:
        done[0] += 1
        report(progress, done[0], total, "batch")

    values, base = _shap(estimator, X, background, seed, step)
    return Explanation(values, base, X, names, _labels(model, names, smiles))


def explain_sample(
    model: TrainedModel,
    arrays: TrainingArrays,
    rows: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> Explanation:
    """Explain a seeded random sample of ``rows`` training rows against all training rows."""
    sample = np.sort(np.random.default_rng(seed).permutation(len(arrays.y))[:rows])
    smiles = list(arrays.data["smiles"]) if "smiles" in arrays.data else None
    return explain(model, arrays.X[sample], arrays.X, smiles, seed, progress)
