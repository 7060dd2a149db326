"""SHAP explanations of fitted models, with readable feature names.

Tree models (extra trees, random forests) are explained exactly with SHAP's TreeExplainer on
the features they see after imputation; other models (the SVR ensemble, Gaussian processes)
with SHAP's permutation explainer over the raw features against a small background sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shap
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.pipeline import Pipeline

from cryoprotect.chem.feature_names import morgan_bit_fragments, readable
from cryoprotect.models.registry import TrainedModel

TREES = (ExtraTreesRegressor, RandomForestRegressor)


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


def explain(
    model: TrainedModel,
    X: np.ndarray,
    background: np.ndarray,
    smiles: list[str] | None = None,
    seed: int = 0,
) -> Explanation:
    """Explain ``model``'s predictions for the rows of ``X`` (raw feature matrix).

    ``background`` (rows of the training features) is what features are compared against
    by the permutation explainer; ``smiles`` (the training molecules) name Morgan bits.
    """
    estimator = model.estimator
    names = list(model.feature_names)
    if isinstance(estimator, Pipeline) and isinstance(estimator[-1], TREES):
        prepare = estimator[:-1]
        data = prepare.transform(X)
        kept = np.array(names)[estimator.named_steps["drop_constant"].get_support()].tolist()
        explainer = shap.TreeExplainer(estimator[-1])
        values = explainer.shap_values(data, check_additivity=False)
        base = float(np.ravel(explainer.expected_value)[0])
        return Explanation(values, base, data, kept, _labels(model, kept, smiles))
    masker = shap.maskers.Independent(background, max_samples=min(50, len(background)))
    explainer = shap.PermutationExplainer(estimator.predict, masker, seed=seed)
    result = explainer(X, max_evals=2 * X.shape[1] + 1, silent=True)
    return Explanation(
        np.asarray(result.values),
        float(np.ravel(result.base_values)[0]),
        X,
        names,
        _labels(model, names, smiles),
    )
