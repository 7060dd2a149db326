"""Grouped cross-validation: all measurements of one compound (or scaffold) share a fold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold
from sklearn.base import clone
from sklearn.metrics import (
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    root_mean_squared_error,
)
from sklearn.model_selection import GroupKFold

from cryoprotect.models.conformal import predict_with_difficulty
from cryoprotect.models.estimators import OptionalLastFeature
from cryoprotect.progress import Progress, report


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Return MAE, RMSE and R² (scikit-learn's definitions)."""
    return {
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


def activity_metrics(y_true: np.ndarray, y_pred: np.ndarray, below: float) -> dict[str, float]:
    """Precision and recall of the 'active' class (value below ``below``, e.g. %MGS < 50)."""
    actual, predicted = y_true < below, y_pred < below
    return {
        "active_precision": float(precision_score(actual, predicted, zero_division=0)),
        "active_recall": float(recall_score(actual, predicted, zero_division=0)),
        "active_fraction": float(actual.mean()),
    }


def murcko_scaffold(smiles: str) -> str:
    """Return the Bemis-Murcko scaffold SMILES (``''`` for acyclic molecules)."""
    mol = Chem.MolFromSmiles(smiles)
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol) if mol is not None else ""


def scaffold_groups(smiles: list[str], compounds: list[str]) -> list[str]:
    """Group by scaffold; acyclic molecules (no scaffold) stay grouped by compound."""
    return [murcko_scaffold(s) or f"compound:{c}" for s, c in zip(smiles, compounds, strict=True)]


@dataclass
class CVResult:
    """Out-of-fold predictions and metrics of a grouped cross-validation.

    ``sigma`` is each out-of-fold prediction's difficulty
    (:func:`~cryoprotect.models.conformal.predict_with_difficulty`). For an
    :class:`~cryoprotect.models.estimators.OptionalLastFeature` model, ``uses_feature`` says
    which rows were predicted with the optional feature, and ``oof_without`` and
    ``sigma_without`` are every row's prediction and difficulty without it.
    """

    oof: np.ndarray
    fold: np.ndarray
    per_fold: pd.DataFrame
    overall: dict[str, float]
    sigma: np.ndarray
    uses_feature: np.ndarray | None = None
    oof_without: np.ndarray | None = None
    sigma_without: np.ndarray | None = None

    def summary(self) -> dict[str, float]:
        """Mean and standard deviation across folds, and the pooled out-of-fold metrics."""
        return summarize(self.per_fold, self.overall)


def fold_metrics(
    y: np.ndarray, predicted: np.ndarray, fold: np.ndarray, active_below: float | None = None
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Return the metrics of each fold (indexed by fold, with ``n``) and of all rows pooled."""
    rows = []
    for k in np.unique(fold):
        test = fold == k
        metrics = regression_metrics(y[test], predicted[test])
        if active_below is not None:
            metrics |= activity_metrics(y[test], predicted[test], active_below)
        rows.append({"fold": int(k), "n": int(test.sum()), **metrics})
    overall = regression_metrics(y, predicted)
    if active_below is not None:
        overall |= activity_metrics(y, predicted, active_below)
    return pd.DataFrame(rows).set_index("fold"), overall


def summarize(per_fold: pd.DataFrame, overall: dict[str, float]) -> dict[str, float]:
    """Mean and standard deviation across folds, and the pooled metrics (``*_pooled``)."""
    metrics = per_fold.drop(columns="n")
    out = {f"{k}_mean": float(v) for k, v in metrics.mean().items()}
    out |= {f"{k}_std": float(v) for k, v in metrics.std().items()}
    return out | {f"{k}_pooled": v for k, v in overall.items()}


def _fit_predict(estimator, X: np.ndarray, y: np.ndarray, train, test) -> dict[str, np.ndarray]:
    """Fit on ``train``; return the predictions and difficulties of ``test`` (both routes)."""
    fitted = clone(estimator).fit(X[train], y[train])
    prediction, sigma = predict_with_difficulty(fitted, X[test])
    out = {"oof": prediction, "sigma": sigma}
    if isinstance(fitted, OptionalLastFeature):
        out["uses_feature"] = fitted.uses_feature(X[test])
        out["oof_without"], out["sigma_without"] = predict_with_difficulty(
            fitted.without_, X[test][:, :-1]
        )
    return out


def cross_validate(
    make_estimator: Callable[[], object],
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    n_splits: int = 5,
    seed: int = 0,
    active_below: float | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> CVResult:
    """Cross-validate with grouped k folds, groups shuffled into folds.

    No group (compound, scaffold or formulation) is split between folds. With ``n_jobs`` other
    than 1 the folds are fitted in parallel processes (joblib); the results are the same.
    ``progress`` hears of each fold done (unit ``fold``).
    """
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    splits = list(splitter.split(X, y, groups))
    fitted = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_predict)(make_estimator(), X, y, train, test) for train, test in splits
    )
    predictions = []
    for predicted in fitted:
        predictions.append(predicted)
        report(progress, len(predictions), len(splits), "fold")
    arrays: dict[str, np.ndarray] = {}
    fold = np.full(len(y), -1)
    for k, ((_, test), predicted) in enumerate(zip(splits, predictions, strict=True)):
        for name, values in predicted.items():
            arrays.setdefault(name, np.zeros(len(y), dtype=values.dtype))[test] = values
        fold[test] = k
    per_fold, overall = fold_metrics(y, arrays["oof"], fold, active_below)
    return CVResult(fold=fold, per_fold=per_fold, overall=overall, **arrays)
