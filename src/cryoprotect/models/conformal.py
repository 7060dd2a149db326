"""Prediction intervals whose width follows each prediction's difficulty (conformal).

The out-of-fold results of the grouped cross-validation calibrate the intervals, with
normalised Mondrian conformal regression (`crepes <https://github.com/henrikbostrom/crepes>`_):

* **normalised**: each prediction comes with a difficulty ``sigma``
  (:func:`predict_with_difficulty`: the spread of a tree ensemble's trees, a Gaussian
  process's standard deviation), and the
  nonconformity score is ``|residual| / (sigma + beta)``; an interval is the prediction
  ± the score quantile times ``sigma + beta``, so a molecule the trees disagree on gets a wider
  interval than a familiar one;
* **Mondrian**: scores are calibrated separately per group (:func:`group_label`: inside or
  outside the applicability domain, and for Tg whether a measured melting point was used),
  so the coverage holds within each group, not only on average. A group with fewer than
  :data:`MIN_GROUP_ROWS` calibration rows borrows the scores of all rows (and says so).

Coverage is measured as it is used: each fold's rows get intervals calibrated on the other
folds only (:func:`cross_conformal`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from crepes import ConformalRegressor
from scipy.stats import spearmanr
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import VotingRegressor
from sklearn.pipeline import Pipeline

from cryoprotect.models.estimators import ArdGaussianProcess, OptionalLastFeature, TreeSpreadMixin

MIN_GROUP_ROWS = 20
"""A group needs this many calibration rows for intervals of its own."""
IN_DOMAIN, OUT_OF_DOMAIN = "in domain", "out of domain"
WITH_MELTING_POINT, WITHOUT_MELTING_POINT = "melting point used", "no melting point"


def group_label(in_domain: bool, optional_feature: bool | None = None) -> str:
    """Return the calibration group of a prediction: domain, and optional-feature use."""
    label = IN_DOMAIN if in_domain else OUT_OF_DOMAIN
    if optional_feature is None:
        return label
    return f"{label}, {WITH_MELTING_POINT if optional_feature else WITHOUT_MELTING_POINT}"


def predict_with_difficulty(estimator, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the predictions of ``estimator`` for ``X`` and each one's difficulty.

    The difficulty is the spread (standard deviation) of the trees' predictions for a tree
    ensemble (for an average of an SVR and trees, the trees'), the posterior standard
    deviation for a Gaussian process (in the target's unit), and 1 for other estimators
    (plain conformal intervals). Predictions are the estimator's own, up to rounding.
    """
    X = np.asarray(X, dtype=float)
    if isinstance(estimator, OptionalLastFeature):
        known = estimator.uses_feature(X)
        prediction, sigma = np.empty(len(X)), np.empty(len(X))
        for rows, model, columns in (
            (~known, estimator.without_, slice(None, -1)),
            (known, estimator.with_, slice(None)),
        ):
            if rows.any():
                prediction[rows], sigma[rows] = predict_with_difficulty(model, X[rows][:, columns])
        return prediction, sigma
    if isinstance(estimator, TransformedTargetRegressor):
        inner = estimator.regressor_
        mean, spread = predict_with_difficulty(inner, X)
        prediction = estimator.inverse_func(mean)
        upper = estimator.inverse_func(mean + spread)
        lower = estimator.inverse_func(mean - spread)
        return prediction, np.abs(upper - lower) / 2
    if isinstance(estimator, VotingRegressor):
        parts = [predict_with_difficulty(member, X) for member in estimator.estimators_]
        weights = np.asarray(estimator.weights or [1.0] * len(parts), dtype=float)
        prediction = np.average([p for p, _ in parts], axis=0, weights=weights)
        spreads = [s for (_, s), m in zip(parts, estimator.estimators_, strict=True) if _varies(m)]
        return prediction, np.mean(spreads, axis=0) if spreads else np.ones(len(X))
    if isinstance(estimator, Pipeline):
        inner = estimator[:-1].transform(X) if len(estimator) > 1 else X
        return predict_with_difficulty(estimator[-1], inner)
    if isinstance(estimator, TreeSpreadMixin):
        return estimator.predict_spread(X)
    if isinstance(estimator, ArdGaussianProcess):
        return estimator.predict(X, return_std=True)
    return estimator.predict(X), np.ones(len(X))


def _varies(estimator) -> bool:
    """Whether ``estimator`` (or the last step of a pipeline) reports a real difficulty."""
    last = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    return isinstance(last, TreeSpreadMixin | ArdGaussianProcess)


@dataclass
class Calibration:
    """Calibration rows of the intervals: absolute residual, difficulty and group of each."""

    residuals: np.ndarray
    sigmas: np.ndarray
    groups: np.ndarray
    beta: float
    """Added to every difficulty, so that a prediction all trees agree on still has width."""

    @classmethod
    def from_out_of_fold(
        cls, residuals: np.ndarray, sigmas: np.ndarray, groups: Sequence[str]
    ) -> Calibration:
        """Build the calibration from out-of-fold residuals, difficulties and groups.

        ``beta`` is a tenth of the median difficulty (or 1 when all are zero).

        Raises
        ------
        ValueError
            If there is no row, or a residual or difficulty is not finite.
        """
        residuals = np.abs(np.asarray(residuals, dtype=float))
        sigmas = np.asarray(sigmas, dtype=float)
        if residuals.size == 0 or not (np.isfinite(residuals).all() and np.isfinite(sigmas).all()):
            raise ValueError("conformal calibration needs finite residuals and difficulties")
        median = float(np.median(sigmas))
        return cls(residuals, sigmas, np.asarray(groups, dtype=str), 0.1 * median or 1.0)

    def to_dict(self) -> dict:
        """Return the calibration as JSON-ready lists."""
        return {
            "residuals": self.residuals.tolist(),
            "sigmas": self.sigmas.tolist(),
            "groups": self.groups.tolist(),
            "beta": self.beta,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """Rebuild a calibration written by :meth:`to_dict`."""
        return cls(
            np.asarray(data["residuals"], dtype=float),
            np.asarray(data["sigmas"], dtype=float),
            np.asarray(data["groups"], dtype=str),
            float(data["beta"]),
        )

    def subset(self, rows: np.ndarray) -> Calibration:
        """Return the calibration of the selected rows (same ``beta``)."""
        return Calibration(self.residuals[rows], self.sigmas[rows], self.groups[rows], self.beta)


class ConformalIntervals:
    """Normalised Mondrian conformal intervals from a :class:`Calibration`."""

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration
        counts = dict(zip(*np.unique(calibration.groups, return_counts=True), strict=True))
        self.own_groups = sorted(g for g, n in counts.items() if n >= MIN_GROUP_ROWS)
        self.counts = {str(g): int(n) for g, n in counts.items()}
        scaled = calibration.sigmas + calibration.beta
        self._pooled = ConformalRegressor().fit(calibration.residuals, sigmas=scaled)
        own = np.isin(calibration.groups, self.own_groups)
        self._mondrian = (
            ConformalRegressor().fit(
                calibration.residuals[own], sigmas=scaled[own], bins=calibration.groups[own]
            )
            if own.any()
            else None
        )

    def interval(
        self,
        predictions: np.ndarray,
        sigmas: np.ndarray,
        groups: Sequence[str],
        confidence: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return lower and upper bounds around ``predictions`` at ``confidence``.

        ``sigmas`` are the predictions' difficulties (:func:`predict_with_difficulty`) and
        ``groups`` their calibration groups (:func:`group_label`). A bound that the
        calibration cannot support (too few rows for the confidence) is infinite.
        """
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
        predictions = np.asarray(predictions, dtype=float)
        scaled = np.asarray(sigmas, dtype=float) + self.calibration.beta
        groups = np.asarray(groups, dtype=str)
        lower, upper = np.full(len(predictions), np.nan), np.full(len(predictions), np.nan)
        usable = np.isfinite(predictions) & np.isfinite(scaled)
        own = usable & np.isin(groups, self.own_groups)
        for rows, regressor, bins in (
            (own, self._mondrian, groups[own]),
            (usable & ~own, self._pooled, None),
        ):
            if rows.any():
                with warnings.catch_warnings():  # too few rows: infinite bounds, as documented
                    warnings.simplefilter("ignore", UserWarning)
                    bounds = regressor.predict_int(
                        predictions[rows], sigmas=scaled[rows], bins=bins, confidence=confidence
                    )
                lower[rows], upper[rows] = bounds[:, 0], bounds[:, 1]
        return lower, upper

    def pooled_groups(self) -> list[str]:
        """Return the groups whose intervals borrow all rows' scores (too few rows of their own)."""
        return sorted(set(self.counts) - set(self.own_groups))


def cross_conformal(
    calibration: Calibration,
    predictions: np.ndarray,
    fold: np.ndarray,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return each calibration row's interval calibrated on the other folds' rows only.

    ``predictions`` and ``fold`` belong to the rows of ``calibration``; the result is what
    coverage and width are measured on.
    """
    fold = np.asarray(fold)
    lower, upper = np.full(len(fold), np.nan), np.full(len(fold), np.nan)
    for k in np.unique(fold):
        inside = fold == k
        intervals = ConformalIntervals(calibration.subset(~inside))
        lower[inside], upper[inside] = intervals.interval(
            predictions[inside], calibration.sigmas[inside], calibration.groups[inside], confidence
        )
    return lower, upper


def coverage_report(
    measured: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    predictions: np.ndarray,
    groups: Sequence[str],
) -> dict:
    """Return coverage and width overall and per group, and how well width ranks error.

    Returns
    -------
    dict
        ``coverage``, ``mean_width``, ``rows``; ``by_group``: per group ``rows``,
        ``coverage`` and ``mean_width``; ``width_error_spearman``: Spearman correlation of the
        interval width with the absolute error (0 when every width is the same).
    """
    measured, lower, upper = (np.asarray(a, dtype=float) for a in (measured, lower, upper))
    inside = (measured >= lower) & (measured <= upper)
    width = upper - lower
    groups = np.asarray(groups, dtype=str)
    error = np.abs(measured - np.asarray(predictions, dtype=float))

    def figures(rows: np.ndarray) -> dict:
        finite = width[rows][np.isfinite(width[rows])]
        return {
            "rows": int(rows.sum()),
            "coverage": float(inside[rows].mean()),
            "mean_width": float(finite.mean()) if finite.size else math.inf,
        }

    finite = np.isfinite(width)
    varies = finite.sum() > 2 and np.ptp(width[finite]) > 0
    rho = spearmanr(width[finite], error[finite]).statistic if varies else 0.0
    return {
        **figures(np.ones(len(measured), dtype=bool)),
        "by_group": {str(g): figures(groups == g) for g in np.unique(groups)},
        "width_error_spearman": float(np.nan_to_num(rho)),
    }
