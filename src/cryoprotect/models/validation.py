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
    """Out-of-fold predictions and metrics of a grouped cross-validation."""

    oof: np.ndarray
    fold: np.ndarray
    per_fold: pd.DataFrame
    overall: dict[str, float]

    def summary(self) -> dict[str, float]:
        """Mean and standard deviation across folds, and the pooled out-of-fold metrics."""
        metrics = self.per_fold.drop(columns="n")
        out = {f"{k}_mean": float(v) for k, v in metrics.mean().items()}
        out |= {f"{k}_std": float(v) for k, v in metrics.std().items()}
        return out | {f"{k}_pooled": v for k, v in self.overall.items()}


def _fit_predict(estimator, X: np.ndarray, y: np.ndarray, train, test) -> np.ndarray:
    return clone(estimator).fit(X[train], y[train]).predict(X[test])


def cross_validate(
    make_estimator: Callable[[], object],
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    n_splits: int = 5,
    seed: int = 0,
    active_below: float | None = None,
    n_jobs: int = 1,
) -> CVResult:
    """Cross-validate with grouped k folds, groups shuffled into folds.

    No group (compound, scaffold or formulation) is split between folds. With ``n_jobs`` other
    than 1 the folds are fitted in parallel processes (joblib); the results are the same.
    """
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    splits = list(splitter.split(X, y, groups))
    predictions = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(make_estimator(), X, y, train, test) for train, test in splits
    )
    oof = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    rows = []
    for k, ((_, test), predicted) in enumerate(zip(splits, predictions, strict=True)):
        oof[test] = predicted
        fold[test] = k
        metrics = regression_metrics(y[test], oof[test])
        if active_below is not None:
            metrics |= activity_metrics(y[test], oof[test], active_below)
        rows.append({"fold": k, "n": len(test), **metrics})
    overall = regression_metrics(y, oof)
    if active_below is not None:
        overall |= activity_metrics(y, oof, active_below)
    return CVResult(oof, fold, pd.DataFrame(rows).set_index("fold"), overall)
