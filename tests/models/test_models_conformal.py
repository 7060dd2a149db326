"""Conformal intervals from residuals, and the cross-validated interval coverage.

All residuals are made up: draws from a seeded standard normal generator, or small
hand-written arrays whose quantiles are worked out in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cryoprotect.models.conformal import ConformalIntervals
from cryoprotect.models.training import fold_half_widths, interval_coverage

Z_90 = 1.6449  # the 0.95 quantile of N(0, 1): |Z| <= 1.645 with probability 0.9


def test_half_width_and_coverage_on_normal_residuals():
    rng = np.random.default_rng(2024)
    intervals = ConformalIntervals(rng.standard_normal(2000))
    width = intervals.half_width(0.9)
    assert width == pytest.approx(Z_90, abs=0.1)
    fresh = rng.standard_normal(20_000)
    lower, upper = intervals.interval(np.zeros_like(fresh), 0.9)
    coverage = float(((fresh >= lower) & (fresh <= upper)).mean())
    assert 0.88 <= coverage <= 0.92


def test_half_width_is_the_conformal_rank_of_the_absolute_residuals():
    # |residuals| sorted: 0.5 1 2 3 4 5 6 7 8 (n = 9)
    intervals = ConformalIntervals(np.array([-3.0, 1.0, 0.5, -8.0, 4.0, 2.0, -6.0, 5.0, 7.0]))
    assert intervals.half_width(0.5) == 4.0  # ceil(10 * 0.5) = 5th smallest
    assert intervals.half_width(0.8) == 7.0  # ceil(10 * 0.8) = 8th
    assert intervals.half_width(0.9) == 8.0  # ceil(10 * 0.9) = 9th = the largest


def test_half_width_is_infinite_with_too_few_residuals():
    intervals = ConformalIntervals(np.arange(1.0, 10.0))  # n = 9
    assert intervals.half_width(0.95) == math.inf  # (n + 1) * 0.95 = 9.5 > 9
    lower, upper = intervals.interval(np.array([1.0, 2.0]), 0.95)
    assert np.isneginf(lower).all() and np.isposinf(upper).all()
    assert math.isfinite(intervals.half_width(0.9))


def test_higher_confidence_widens_the_interval():
    intervals = ConformalIntervals(np.random.default_rng(1).standard_normal(500))
    widths = [intervals.half_width(c) for c in (0.5, 0.8, 0.9, 0.95)]
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_interval_is_symmetric_around_the_predictions():
    intervals = ConformalIntervals(np.array([1.0, -2.0, 3.0]))
    lower, upper = intervals.interval([10.0, -5.0], 0.5)  # ceil(4 * 0.5) = 2nd smallest = 2
    np.testing.assert_array_equal(lower, [8.0, -7.0])
    np.testing.assert_array_equal(upper, [12.0, -3.0])


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.1, 1.5, 90])
def test_invalid_confidence_raises(confidence):
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        ConformalIntervals(np.ones(10)).half_width(confidence)


@pytest.mark.parametrize("residuals", [[], [1.0, np.nan], [np.inf, 1.0]])
def test_calibration_needs_finite_residuals(residuals):
    with pytest.raises(ValueError, match="finite residuals"):
        ConformalIntervals(np.array(residuals))


def test_interval_coverage_by_hand():
    residuals = np.array([1.0, -2.0, 3.0, 4.0, -10.0, 0.5])
    fold = np.array([0, 0, 0, 1, 1, 1])
    # Fold 0 is calibrated on |4|, |10|, |0.5|: ceil(4 * 0.5) = 2nd smallest = 4 -> 3 of 3 inside.
    # Fold 1 is calibrated on 1, 2, 3: 2nd smallest = 2 -> only 0.5 inside, 1 of 3.
    assert interval_coverage(residuals, fold, 0.5) == pytest.approx(4 / 6)
    assert fold_half_widths(residuals, fold, 0.5).tolist() == [4.0] * 3 + [2.0] * 3


def test_interval_coverage_is_near_the_confidence_on_normal_residuals():
    rng = np.random.default_rng(11)
    residuals = rng.standard_normal(3000)
    fold = rng.integers(0, 5, size=3000)
    coverage = interval_coverage(residuals, fold, 0.9)
    assert 0.0 <= coverage <= 1.0
    assert coverage == pytest.approx(0.9, abs=0.02)


def test_interval_coverage_with_too_few_residuals_is_complete():
    # Each fold is calibrated on 2 residuals; (2 + 1) * 0.9 > 2, so the width is infinite.
    residuals = np.array([1.0, 100.0, 2.0, 200.0])
    assert interval_coverage(residuals, np.array([0, 0, 1, 1]), 0.9) == 1.0
