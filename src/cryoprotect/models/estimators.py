"""Estimator registry: a name from the parameters maps to a scikit-learn pipeline.

The pipelines use scikit-learn's own estimators, with two subclasses that predict the same
numbers without per-call fixed costs: :class:`NormalQuantileTransformer` (the normal quantile
transform of all columns at once) and the tree ensembles :class:`ExtraTrees` and
:class:`RandomForest` (trees walked in one loop, and the spread of the trees' predictions as a
measure of how sure the ensemble is).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial

import numpy as np
from scipy.special import ndtri
from sklearn.base import BaseEstimator, RegressorMixin, clone
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
from sklearn.utils.validation import check_is_fitted

QUANTILE_BOUND = 1e-7
"""scikit-learn's ``BOUNDS_THRESHOLD``: values this close to the fitted range map to its ends."""


class NormalQuantileTransformer(QuantileTransformer):
    """``QuantileTransformer(output_distribution="normal")`` that transforms all columns at once.

    scikit-learn evaluates the normal quantile function column by column through
    ``scipy.stats``, whose per-call overhead makes one molecule cost as much as thousands. Here
    each column is interpolated as scikit-learn does and the normal quantile function
    (``scipy.special.ndtri``, what ``scipy.stats.norm.ppf`` computes) runs once on the matrix;
    the results are the same.
    """

    def __init__(self, *, n_quantiles: int = 1000, subsample: int = 10_000, random_state=None):
        super().__init__(
            n_quantiles=n_quantiles,
            output_distribution="normal",
            subsample=subsample,
            random_state=random_state,
        )

    def _transform(self, X, inverse=False):
        if inverse or self.output_distribution != "normal" or not isinstance(X, np.ndarray):
            return super()._transform(X, inverse)
        quantiles, references = self.quantiles_, self.references_
        below = quantiles[0] > X - QUANTILE_BOUND
        above = quantiles[-1] < X + QUANTILE_BOUND
        for j in range(X.shape[1]):
            column, known = X[:, j], ~np.isnan(X[:, j])
            values, q = column[known], quantiles[:, j]
            column[known] = 0.5 * (
                np.interp(values, q, references) - np.interp(-values, -q[::-1], -references[::-1])
            )
        with np.errstate(invalid="ignore"):
            X[above] = 1.0
            X[below] = 0.0
            edge = QUANTILE_BOUND - np.spacing(1)
            return np.clip(ndtri(X), ndtri(edge), ndtri(1 - edge))


class TreeSpreadMixin:
    """Fast prediction of a fitted regression forest, and the spread of its trees.

    ``predict`` gives scikit-learn's numbers (each tree's prediction added in order, then
    divided by the number of trees) without dispatching each tree as a job.
    """

    def tree_predictions(self, X) -> np.ndarray:
        """Return every tree's prediction for ``X``, shape ``(n_trees, n_samples)``."""
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        return np.stack([tree.tree_.predict(X)[:, 0] for tree in self.estimators_])

    def predict(self, X) -> np.ndarray:
        """Return the mean of the trees' predictions for ``X``."""
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        total = np.zeros(X.shape[0], dtype=np.float64)
        for tree in self.estimators_:
            total += tree.tree_.predict(X)[:, 0]
        return total / len(self.estimators_)

    def predict_spread(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and the standard deviation of the trees' predictions for ``X``."""
        every = self.tree_predictions(X)
        return every.mean(axis=0), every.std(axis=0)


class ExtraTrees(TreeSpreadMixin, ExtraTreesRegressor):
    """scikit-learn's ``ExtraTreesRegressor`` with :class:`TreeSpreadMixin`'s prediction."""


class RandomForest(TreeSpreadMixin, RandomForestRegressor):
    """scikit-learn's ``RandomForestRegressor`` with :class:`TreeSpreadMixin`'s prediction."""


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
    scale = NormalQuantileTransformer(n_quantiles=100, random_state=seed)
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
                    ExtraTrees,
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

    def predict(self, X, return_std: bool = False):
        """Return the posterior mean at ``X`` (and its standard deviation with ``return_std``)."""
        return self.gp_.predict(np.asarray(X, dtype=float), return_std=return_std)


MIN_ROWS_WITH_FEATURE = 20
"""Fewer training rows with the optional feature than this fit no model that uses it."""


class OptionalLastFeature(RegressorMixin, BaseEstimator):
    """One estimator fitted twice: with the last feature where it is known, without it elsewhere.

    For an input that is often unknown, such as a measured melting point: rows whose last
    feature is finite are predicted by a fit on the training rows that have it (all features),
    the others by a fit on all training rows without that feature. Imputing the missing value
    instead would make the model rely on a guess wherever the input is absent.

    Parameters
    ----------
    estimator
        The estimator to fit twice (cloned).
    """

    def __init__(self, estimator=None) -> None:
        self.estimator = estimator

    def fit(self, X, y) -> OptionalLastFeature:
        """Fit the model without the last feature on all rows, and with it where it is known."""
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        known = np.isfinite(X[:, -1])
        self.without_ = clone(self.estimator).fit(X[:, :-1], y)
        self.with_ = (
            clone(self.estimator).fit(X[known], y[known])
            if known.sum() >= MIN_ROWS_WITH_FEATURE
            else None
        )
        self.n_features_in_ = X.shape[1]
        return self

    def uses_feature(self, X) -> np.ndarray:
        """Return which rows of ``X`` are predicted with the last feature."""
        known = np.isfinite(np.asarray(X, dtype=float)[:, -1])
        return known if self.with_ is not None else np.zeros(len(known), dtype=bool)

    def predict(self, X) -> np.ndarray:
        """Predict each row with the fit that matches what it knows."""
        X = np.asarray(X, dtype=float)
        known = self.uses_feature(X)
        out = np.empty(len(X))
        if (~known).any():
            out[~known] = self.without_.predict(X[~known, :-1])
        if known.any():
            out[known] = self.with_.predict(X[known])
        return out

    def without_feature(self) -> OptionalLastFeature:
        """Return a copy that predicts every row without the last feature (the same fit).

        For callers that never know the feature, such as a library screen: the fit with it
        is left out, so the copy is about half the size to send to other processes and keep.
        """
        copy = OptionalLastFeature(self.estimator)
        copy.without_, copy.with_, copy.n_features_in_ = self.without_, None, self.n_features_in_
        return copy


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
    "extra_trees": partial(forest, ExtraTrees),
    "random_forest": partial(forest, RandomForest),
    "svr": svr,
    "svr_extra_trees": svr_extra_trees,
}


def build_estimator(name: str, params: dict, seed: int, optional_last_feature: bool = False):
    """Return a fresh, unfitted estimator ``name`` with ``params`` and random ``seed``.

    With ``optional_last_feature`` the estimator is wrapped in :class:`OptionalLastFeature`
    (the feature matrix ends with an input that may be unknown, such as a melting point).
    """
    if name not in ESTIMATORS:
        raise KeyError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}")
    estimator = ESTIMATORS[name](seed, **params)
    return OptionalLastFeature(estimator) if optional_last_feature else estimator
