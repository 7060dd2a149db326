"""Per-prediction conformal intervals: normalised by difficulty, calibrated per group.

All residuals and difficulties here are made up: draws from seeded generators, or small
hand-written arrays whose quantiles are worked out in the comments. The estimators are real
scikit-learn fits on made-up data.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from sklearn.ensemble import VotingRegressor
from sklearn.svm import SVR

from cryoprotect.models.conformal import (
    MIN_GROUP_ROWS,
    Calibration,
    ConformalIntervals,
    coverage_report,
    cross_conformal,
    group_label,
    predict_with_difficulty,
)
from cryoprotect.models.estimators import (
    ExtraTrees,
    OptionalLastFeature,
    build_estimator,
    gaussian_process,
)

Z_90 = 1.6449  # the 0.95 quantile of N(0, 1): |Z| <= 1.645 with probability 0.9


def plain(residuals, group="in domain") -> Calibration:
    """A calibration where every difficulty is the same (plain split conformal)."""
    residuals = np.asarray(residuals, dtype=float)
    return Calibration.from_out_of_fold(
        residuals, np.ones(len(residuals)), [group] * len(residuals)
    )


def test_equal_difficulties_give_the_plain_conformal_rank():
    # |residuals| sorted: 0.5 1 2 3 4 5 6 7 8 (n = 9); beta = 0.1, so each score is |r| / 1.1
    intervals = ConformalIntervals(plain([-3.0, 1.0, 0.5, -8.0, 4.0, 2.0, -6.0, 5.0, 7.0]))
    lower, upper = intervals.interval(np.array([10.0]), np.array([1.0]), ["in domain"], 0.5)
    # ceil(10 * 0.5) = 5th smallest score = 4 / 1.1, times (1 + 0.1): a half-width of 4
    assert lower[0] == pytest.approx(6.0) and upper[0] == pytest.approx(14.0)


def test_the_width_follows_the_difficulty():
    rng = np.random.default_rng(7)
    sigmas = rng.uniform(0.5, 5.0, 2000)
    residuals = rng.standard_normal(2000) * sigmas  # the error grows with the difficulty
    intervals = ConformalIntervals(
        Calibration.from_out_of_fold(residuals, sigmas, ["in domain"] * 2000)
    )
    easy, hard = intervals.interval(np.zeros(2), np.array([1.0, 4.0]), ["in domain"] * 2, 0.9)[1]
    assert hard > 3 * easy
    fresh_sigmas = rng.uniform(0.5, 5.0, 20_000)
    fresh = rng.standard_normal(20_000) * fresh_sigmas
    lower, upper = intervals.interval(np.zeros(20_000), fresh_sigmas, ["in domain"] * 20_000, 0.9)
    inside = (fresh >= lower) & (fresh <= upper)
    assert 0.88 <= inside.mean() <= 0.92
    assert 0.85 <= inside[fresh_sigmas > 4].mean() <= 0.95  # calibrated for the hard ones too


def test_each_group_is_calibrated_on_its_own_rows():
    rng = np.random.default_rng(3)
    inside = rng.standard_normal(1000)  # in the domain: errors of scale 1
    outside = 5 * rng.standard_normal(3000)  # outside: five times larger, same difficulty
    calibration = Calibration.from_out_of_fold(
        np.concatenate([inside, outside]),
        np.ones(4000),
        ["in domain"] * 1000 + ["out of domain"] * 3000,
    )
    intervals = ConformalIntervals(calibration)
    lower, upper = intervals.interval(np.zeros(2), np.ones(2), ["in domain", "out of domain"], 0.9)
    assert upper[0] == pytest.approx(Z_90, abs=0.15)
    assert upper[1] == pytest.approx(5 * Z_90, abs=0.5)


def test_a_group_with_too_few_rows_borrows_every_row():
    calibration = Calibration.from_out_of_fold(
        np.concatenate([np.ones(50), np.full(MIN_GROUP_ROWS - 1, 100.0)]),
        np.ones(50 + MIN_GROUP_ROWS - 1),
        ["in domain"] * 50 + ["out of domain"] * (MIN_GROUP_ROWS - 1),
    )
    intervals = ConformalIntervals(calibration)
    assert intervals.pooled_groups() == ["out of domain"]
    assert intervals.own_groups == ["in domain"]
    lower, upper = intervals.interval(
        np.zeros(3), np.ones(3), ["in domain", "out of domain", "never seen"], 0.9
    )
    assert upper[0] == pytest.approx(1.0)  # in domain: its own residuals, all 1
    assert upper[1] == upper[2] == pytest.approx(100.0)  # the pooled 90 % quantile


def test_too_few_rows_for_the_confidence_give_infinite_bounds():
    intervals = ConformalIntervals(plain(np.arange(1.0, 10.0)))  # n = 9
    lower, upper = intervals.interval(np.array([1.0]), np.array([1.0]), ["in domain"], 0.95)
    assert np.isneginf(lower).all() and np.isposinf(upper).all()


def test_rows_that_cannot_be_predicted_get_no_interval():
    intervals = ConformalIntervals(plain(np.random.default_rng(1).standard_normal(100)))
    lower, upper = intervals.interval(
        np.array([np.nan, 1.0]), np.array([1.0, np.nan]), ["in domain"] * 2, 0.9
    )
    assert np.isnan(lower).all() and np.isnan(upper).all()


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.1, 1.5, 90])
def test_invalid_confidence_raises(confidence):
    intervals = ConformalIntervals(plain(np.ones(30)))
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        intervals.interval(np.zeros(1), np.ones(1), ["in domain"], confidence)


@pytest.mark.parametrize("residuals", [[], [1.0, np.nan], [np.inf, 1.0]])
def test_calibration_needs_finite_residuals(residuals):
    with pytest.raises(ValueError, match="finite residuals"):
        plain(residuals)


def test_calibration_survives_a_round_trip_through_json():
    calibration = Calibration.from_out_of_fold(
        np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.0, 2.0]), ["a", "b", "a"]
    )
    again = Calibration.from_dict(calibration.to_dict())
    np.testing.assert_array_equal(again.residuals, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(again.sigmas, calibration.sigmas)
    assert again.groups.tolist() == ["a", "b", "a"] and again.beta == calibration.beta == 0.1


def test_cross_conformal_calibrates_each_fold_on_the_others_only():
    rng = np.random.default_rng(11)
    sigmas = rng.uniform(1, 3, 3000)
    residuals = rng.standard_normal(3000) * sigmas
    calibration = Calibration.from_out_of_fold(residuals, sigmas, ["in domain"] * 3000)
    fold = rng.integers(0, 5, size=3000)
    lower, upper = cross_conformal(calibration, np.zeros(3000), fold, 0.9)
    report = coverage_report(residuals, lower, upper, np.zeros(3000), ["in domain"] * 3000)
    assert report["coverage"] == pytest.approx(0.9, abs=0.02)
    assert report["width_error_spearman"] > 0.3  # wide intervals where errors are large
    assert report["by_group"]["in domain"]["rows"] == 3000


def test_a_fold_calibrated_without_its_own_rows_by_hand():
    # Fold 0's intervals come from fold 1's |residuals| 4, 10, 0.5 only: with equal
    # difficulties and confidence 0.5 the 2nd smallest, 4, is the half-width.
    calibration = plain([1.0, -2.0, 3.0, 4.0, -10.0, 0.5])
    fold = np.array([0, 0, 0, 1, 1, 1])
    lower, upper = cross_conformal(calibration, np.zeros(6), fold, 0.5)
    np.testing.assert_allclose(upper[:3], 4.0)
    np.testing.assert_allclose(upper[3:], 2.0)


def test_coverage_report_by_group_and_a_constant_width_ranks_nothing():
    measured = np.array([0.0, 0.0, 5.0, 5.0])
    lower, upper = np.full(4, -1.0), np.full(4, 1.0)
    report = coverage_report(measured, lower, upper, np.zeros(4), ["a", "a", "b", "b"])
    assert report["by_group"]["a"]["coverage"] == 1.0
    assert report["by_group"]["b"]["coverage"] == 0.0
    assert report["coverage"] == 0.5 and report["width_error_spearman"] == 0.0


def test_group_labels_name_the_domain_and_the_melting_point():
    assert group_label(True) == "in domain"
    assert group_label(False, True) == "out of domain, melting point used"
    assert group_label(True, False) == "in domain, no melting point"


def _made_up_data(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 4))
    return X, 3 * X[:, 0] + rng.normal(scale=0.3, size=rows)


def test_a_forest_reports_the_spread_of_its_trees():
    X, y = _made_up_data()
    forest = ExtraTrees(n_estimators=50, random_state=0).fit(X, y)
    prediction, sigma = predict_with_difficulty(forest, X[:5])
    np.testing.assert_allclose(prediction, forest.predict(X[:5]))
    every = np.stack([tree.predict(X[:5].astype(np.float32)) for tree in forest.estimators_])
    np.testing.assert_allclose(sigma, every.std(axis=0))
    far = np.full((1, 4), 8.0)  # far outside the training data
    assert predict_with_difficulty(forest, far)[1][0] >= 0


def test_an_svr_and_trees_average_takes_the_trees_spread():
    X, y = _made_up_data()
    model = build_estimator("svr_extra_trees", {"n_estimators": 30}, 0).fit(X, y)
    new = np.random.default_rng(9).normal(size=(7, 4))  # not training rows: the trees differ
    prediction, sigma = predict_with_difficulty(model, new)
    np.testing.assert_allclose(prediction, model.predict(new))
    trees = model.named_estimators_["extra_trees"]
    np.testing.assert_allclose(sigma, predict_with_difficulty(trees, new)[1])
    assert (sigma > 0).all()


def test_a_model_without_a_difficulty_gets_equal_ones():
    X, y = _made_up_data()
    plain_model = VotingRegressor([("a", SVR()), ("b", SVR(C=10))]).fit(X, y)
    assert predict_with_difficulty(plain_model, X[:3])[1].tolist() == [1.0, 1.0, 1.0]


def test_a_gaussian_process_reports_its_standard_deviation_in_the_target_unit():
    X, y = _made_up_data(rows=60)
    model = gaussian_process(0, restarts=0).fit(X[:, :2], np.abs(y) + 1)
    near, far = X[:1, :2], np.full((1, 2), 20.0)
    prediction, sigma = predict_with_difficulty(model, np.vstack([near, far]))
    np.testing.assert_allclose(prediction, model.predict(np.vstack([near, far])), rtol=1e-6)
    assert sigma[1] > sigma[0] > 0  # far from the data the process is less sure


def test_an_optional_last_input_is_used_where_known_and_left_out_elsewhere():
    rng = np.random.default_rng(5)
    X, y = _made_up_data(rows=200)
    hint = y + rng.normal(scale=0.1, size=200)  # a made-up input that nearly gives the answer
    hint[::4] = np.nan  # unknown for a quarter of the rows
    data = np.column_stack([X, hint])
    model = OptionalLastFeature(ExtraTrees(n_estimators=40, random_state=0)).fit(data, y)
    assert model.uses_feature(data).tolist() == (~np.isnan(hint)).tolist()
    prediction, _ = predict_with_difficulty(model, data)
    np.testing.assert_allclose(prediction, model.predict(data))
    known = ~np.isnan(hint)
    np.testing.assert_allclose(prediction[~known], model.without_.predict(X[~known]))
    np.testing.assert_allclose(prediction[known], model.with_.predict(data[known]))
    unknowing = model.without_feature()  # e.g. for a library screen: the input never known
    assert unknowing.with_ is None and model.with_ is not None
    assert not unknowing.uses_feature(data).any()
    np.testing.assert_allclose(unknowing.predict(data), model.without_.predict(X))
    assert len(pickle.dumps(unknowing)) < 0.7 * len(pickle.dumps(model))


def test_too_few_rows_with_the_optional_input_fit_no_model_that_uses_it():
    X, y = _made_up_data(rows=60)
    hint = np.full(60, np.nan)
    hint[:5] = 1.0
    model = OptionalLastFeature(ExtraTrees(n_estimators=10, random_state=0))
    model.fit(np.column_stack([X, hint]), y)
    assert model.with_ is None
    assert not model.uses_feature(np.column_stack([X, hint])).any()
    assert math.isfinite(model.predict(np.column_stack([X[:1], [2.0]]))[0])
