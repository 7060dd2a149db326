"""Estimator registry: a name from the parameters maps to a scikit-learn pipeline."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor, VotingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import VarianceThreshold
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from sklearn.svm import SVR


def _prepare() -> list:
    return [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("drop_constant", VarianceThreshold()),
    ]


def forest(
    model_class: type,
    seed: int,
    n_estimators: int = 500,
    max_features: float = 0.3,
    min_samples_leaf: int = 1,
    n_jobs: int = 1,
) -> Pipeline:
    """Build a tree ensemble (extra trees or a random forest) on imputed features."""
    model = model_class(
        n_estimators=n_estimators,
        max_features=max_features,
        min_samples_leaf=min_samples_leaf,
        n_jobs=n_jobs,
        random_state=seed,
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
                forest(
                    ExtraTreesRegressor,
                    seed,
                    n_estimators=n_estimators,
                    max_features=max_features,
                    n_jobs=n_jobs,
                ),
            ),
        ]
    )


class ArdGaussianProcess(RegressorMixin, BaseEstimator):
    """A Gaussian process with a Matern kernel, one length scale per feature, and noise.

    The length-scale vector is sized at ``fit`` from the features it receives (automatic
    relevance determination), which a plain ``GaussianProcessRegressor`` in a pipeline cannot.
    """

    def __init__(self, nu: float = 2.5, restarts: int = 2, random_state: int = 0) -> None:
        self.nu = nu
        self.restarts = restarts
        self.random_state = random_state

    def fit(self, X, y) -> ArdGaussianProcess:
        """Optimise the kernel on ``X``, ``y``."""
        X = np.asarray(X, dtype=float)
        kernel = ConstantKernel() * Matern(length_scale=np.ones(X.shape[1]), nu=self.nu)
        self.gp_ = GaussianProcessRegressor(
            kernel=kernel + WhiteKernel(),
            normalize_y=True,
            n_restarts_optimizer=self.restarts,
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            # A length scale at its upper bound marks an irrelevant feature: ARD at work.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.gp_.fit(X, y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        """Return the posterior mean at ``X``."""
        return self.gp_.predict(np.asarray(X, dtype=float))


def gaussian_process(
    seed: int, nu: float = 2.5, log_target: bool = True, restarts: int = 2
) -> Pipeline | TransformedTargetRegressor:
    """Build a scaled ARD Gaussian process (:class:`ArdGaussianProcess`).

    Suited to small, smooth designed experiments; with ``log_target`` it models the logarithm
    of ``1 + target`` (a positive target), so predictions stay above -1.
    """
    model = ArdGaussianProcess(nu=nu, restarts=restarts, random_state=seed)
    pipeline = Pipeline([*_prepare(), ("scale", StandardScaler()), ("model", model)])
    if not log_target:
        return pipeline
    return TransformedTargetRegressor(pipeline, func=np.log1p, inverse_func=np.expm1)


ESTIMATORS: dict[str, Callable] = {
    "gaussian_process": gaussian_process,
    "extra_trees": partial(forest, ExtraTreesRegressor),
    "random_forest": partial(forest, RandomForestRegressor),
    "svr": svr,
    "svr_extra_trees": svr_extra_trees,
}


def build_estimator(name: str, params: dict, seed: int):
    """Return a fresh, unfitted estimator ``name`` with ``params`` and random ``seed``."""
    if name not in ESTIMATORS:
        raise KeyError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}")
    return ESTIMATORS[name](seed, **params)
