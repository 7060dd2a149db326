"""Grouped cross-validation, its metrics, and scaffold groups.

The feature/target frames are made up: random numbers from a seeded generator, and a tiny
hand-written set of %MGS values for the activity metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import (
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    root_mean_squared_error,
)

from cryoprotect.models.validation import (
    activity_metrics,
    cross_validate,
    murcko_scaffold,
    regression_metrics,
    scaffold_groups,
)


@pytest.fixture(scope="module")
def frame():
    """Made-up data: 30 groups of 3 rows, y linear in X plus noise and a per-group offset."""
    rng = np.random.default_rng(7)
    groups = np.repeat([f"g{i:02d}" for i in range(30)], 3)
    X = rng.normal(size=(90, 4))
    y = X @ np.array([3.0, -2.0, 0.5, 0.0]) + rng.normal(size=30).repeat(3) + 50
    return X, y, groups


@pytest.fixture(scope="module")
def result(frame):
    X, y, groups = frame
    return cross_validate(lambda: Ridge(alpha=1.0), X, y, groups, n_splits=5, seed=3)


def test_no_group_is_split_between_folds(frame, result):
    _, _, groups = frame
    assert set(result.fold) == set(range(5))
    per_group = pd.Series(result.fold).groupby(groups).nunique()
    assert (per_group == 1).all()
    assert len(per_group) == 30


def test_every_row_gets_one_out_of_fold_prediction(result):
    assert np.isfinite(result.oof).all()
    assert (result.fold >= 0).all()
    assert result.per_fold["n"].sum() == 90


def test_out_of_fold_predictions_come_from_models_that_did_not_see_the_row(frame, result):
    X, y, _ = frame
    for k in range(5):
        test = result.fold == k
        expected = Ridge(alpha=1.0).fit(X[~test], y[~test]).predict(X[test])
        np.testing.assert_allclose(result.oof[test], expected)
    in_sample = Ridge(alpha=1.0).fit(X, y).predict(X)
    assert not np.allclose(result.oof, in_sample)


def test_metrics_are_sklearns_on_the_out_of_fold_predictions(frame, result):
    _, y, _ = frame
    assert result.overall["mae"] == pytest.approx(mean_absolute_error(y, result.oof))
    assert result.overall["rmse"] == pytest.approx(root_mean_squared_error(y, result.oof))
    assert result.overall["r2"] == pytest.approx(r2_score(y, result.oof))
    for k, fold in result.per_fold.iterrows():
        test = result.fold == k
        assert fold["n"] == test.sum()
        assert fold["mae"] == pytest.approx(mean_absolute_error(y[test], result.oof[test]))
        assert fold["rmse"] == pytest.approx(root_mean_squared_error(y[test], result.oof[test]))
        assert fold["r2"] == pytest.approx(r2_score(y[test], result.oof[test]))
    assert result.overall["r2"] > 0.5  # the made-up relation is mostly linear


def test_summary(result):
    summary = result.summary()
    for metric in ("mae", "rmse", "r2"):
        assert summary[f"{metric}_mean"] == pytest.approx(result.per_fold[metric].mean())
        assert summary[f"{metric}_std"] == pytest.approx(result.per_fold[metric].std())
        assert summary[f"{metric}_pooled"] == result.overall[metric]
    assert {"mae_mean", "mae_std", "rmse_mean", "rmse_std", "r2_mean", "r2_std"} <= set(summary)
    assert all(isinstance(v, float) for v in summary.values())


def test_same_seed_same_folds_other_seed_other_folds(frame, result):
    X, y, groups = frame
    again = cross_validate(lambda: Ridge(alpha=1.0), X, y, groups, n_splits=5, seed=3)
    np.testing.assert_array_equal(again.fold, result.fold)
    other = cross_validate(lambda: Ridge(alpha=1.0), X, y, groups, n_splits=5, seed=4)
    assert not np.array_equal(other.fold, result.fold)


def test_activity_metrics_join_the_results_when_asked(frame):
    X, y, groups = frame
    cv = cross_validate(lambda: Ridge(), X, y, groups, n_splits=3, active_below=50.0)
    expected = activity_metrics(y, cv.oof, 50.0)
    assert {k: cv.overall[k] for k in expected} == pytest.approx(expected)
    assert {"active_precision", "active_recall", "active_fraction"} <= set(cv.per_fold)
    assert "active_precision_mean" in cv.summary()


def test_activity_metrics_on_a_hand_made_example():
    # Made-up %MGS values; 'active' means below 50.
    y_true = np.array([10.0, 40.0, 45.0, 60.0, 80.0])  # active: T T T F F
    y_pred = np.array([20.0, 70.0, 80.0, 30.0, 90.0])  # active: T F F T F
    metrics = activity_metrics(y_true, y_pred, 50.0)
    # one true positive, one false positive, two false negatives
    assert metrics["active_precision"] == pytest.approx(1 / 2)
    assert metrics["active_recall"] == pytest.approx(1 / 3)
    assert metrics["active_fraction"] == pytest.approx(3 / 5)
    actual, predicted = y_true < 50, y_pred < 50
    assert metrics["active_precision"] == precision_score(actual, predicted)
    assert metrics["active_recall"] == recall_score(actual, predicted)


def test_activity_metrics_threshold_is_strict_and_nothing_predicted_active_is_zero():
    metrics = activity_metrics(np.array([50.0, 10.0]), np.array([50.0, 60.0]), 50.0)
    assert metrics == {"active_precision": 0.0, "active_recall": 0.0, "active_fraction": 0.5}


def test_regression_metrics_of_one_row_has_no_r2():
    metrics = regression_metrics(np.array([3.0]), np.array([1.0]))
    assert metrics["mae"] == 2.0 and metrics["rmse"] == 2.0
    assert np.isnan(metrics["r2"])


def test_scaffold_groups():
    smiles = ["Cc1ccccc1", "Oc1ccccc1", "CCO", "OCC(O)CO", "OC1CCCCC1", "C1CC"]
    compounds = ["toluene", "phenol", "ethanol", "glycerol", "cyclohexanol", "broken"]
    groups = scaffold_groups(smiles, compounds)
    assert groups[0] == groups[1] == "c1ccccc1"
    assert groups[2] == "compound:ethanol"
    assert groups[3] == "compound:glycerol"
    assert groups[4] == "C1CCCCC1"
    assert groups[5] == "compound:broken"  # unparseable: no scaffold, its own group
    assert len(set(groups)) == 5


def test_murcko_scaffold_keeps_linkers():
    assert murcko_scaffold("OCc1ccc(Cc2ccccc2)cc1") == "c1ccc(Cc2ccccc2)cc1"
    assert murcko_scaffold("CCCC") == ""
