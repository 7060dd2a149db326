"""Conformal prediction intervals from cross-validation residuals.

The absolute out-of-fold residuals of the grouped cross-validation are the nonconformity
scores; the interval at confidence ``c`` is the prediction ± the ``ceil((n + 1) c) / n``
empirical quantile of those scores (split/CV conformal). Its coverage on new data from the
same distribution is at least ``c`` up to the usual finite-sample slack.
"""

from __future__ import annotations

import math

import numpy as np


class ConformalIntervals:
    """Symmetric intervals around point predictions, calibrated on residuals."""

    def __init__(self, residuals: np.ndarray) -> None:
        scores = np.sort(np.abs(np.asarray(residuals, dtype=float)))
        if scores.size == 0 or not np.isfinite(scores).all():
            raise ValueError("conformal calibration needs finite residuals")
        self.scores = scores

    def half_width(self, confidence: float) -> float:
        """Return the interval half-width for ``confidence`` (e.g. 0.9); inf if too few scores."""
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
        n = self.scores.size
        rank = math.ceil((n + 1) * confidence)
        return float(self.scores[rank - 1]) if rank <= n else math.inf

    def interval(self, predictions: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
        """Return lower and upper bounds around ``predictions``."""
        width = self.half_width(confidence)
        predictions = np.asarray(predictions, dtype=float)
        return predictions - width, predictions + width
