"""Estimator registry: a name from the parameters maps to a scikit-learn pipeline."""

from __future__ import annotations

from collections.abc import Callable

from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor, VotingRegressor
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer
from sklearn.svm import SVR


def _prepare() -> list:
    return [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("drop_constant", VarianceThreshold()),
    ]


def extra_trees(
    seed: int,
    n_estimators: int = 500,
    max_features: float = 0.3,
    min_samples_leaf: int = 1,
    n_jobs: int = 1,
) -> Pipeline:
    """Build extremely randomised trees on imputed features."""
    model = ExtraTreesRegressor(
        n_estimators=n_estimators,
        max_features=max_features,
        min_samples_leaf=min_samples_leaf,
        random_state=seed,
        n_jobs=n_jobs,
    )
    return Pipeline([*_prepare(), ("model", model)])


def random_forest(
    seed: int,
    n_estimators: int = 500,
    max_features: float = 0.3,
    min_samples_leaf: int = 1,
    n_jobs: int = 1,
) -> Pipeline:
    """Build a random forest on imputed features."""
    model = RandomForestRegressor(
        n_estimators=n_estimators,
        max_features=max_features,
        min_samples_leaf=min_samples_leaf,
        random_state=seed,
        n_jobs=n_jobs,
    )
    return Pipeline([*_prepare(), ("model", model)])


def svr(
    seed: int, C: float = 100.0, epsilon: float = 1.0, gamma: str | float = "scale"
) -> Pipeline:
    """Build an RBF support vector regressor on quantile-normalised features."""
    scale = QuantileTransformer(n_quantiles=100, output_distribution="normal", random_state=seed)
    return Pipeline(
        [*_prepare(), ("scale", scale), ("model", SVR(C=C, epsilon=epsilon, gamma=gamma))]
    )


def svr_extra_trees(
    seed: int,
    C: float = 100.0,
    epsilon: float = 1.0,
    n_estimators: int = 500,
    max_features: float = 0.3,
    n_jobs: int = 1,
) -> VotingRegressor:
    """Average an SVR and extremely randomised trees (their errors differ)."""
    return VotingRegressor(
        [
            ("svr", svr(seed, C=C, epsilon=epsilon)),
            (
                "extra_trees",
                extra_trees(
                    seed, n_estimators=n_estimators, max_features=max_features, n_jobs=n_jobs
                ),
            ),
        ]
    )


ESTIMATORS: dict[str, Callable] = {
    "extra_trees": extra_trees,
    "random_forest": random_forest,
    "svr": svr,
    "svr_extra_trees": svr_extra_trees,
}


def build_estimator(name: str, params: dict, seed: int):
    """Return a fresh, unfitted estimator ``name`` with ``params`` and random ``seed``."""
    if name not in ESTIMATORS:
        raise KeyError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}")
    return ESTIMATORS[name](seed, **params)
