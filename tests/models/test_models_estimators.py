"""Every registered estimator builds from its name, fits and predicts (made-up data)."""

from __future__ import annotations

import numpy as np
import pytest

from cryoprotect.models.estimators import ESTIMATORS, build_estimator


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 5, size=(80, 3))
    X[:3, 1] = np.nan  # imputed inside every pipeline
    y = 10 + 4 * X[:, 0] + rng.normal(scale=0.2, size=80)
    return X, y


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_fits_and_predicts(data, name):
    X, y = data
    small = (
        {"n_estimators": 20} if name in {"extra_trees", "random_forest", "svr_extra_trees"} else {}
    )
    model = build_estimator(name, small, seed=0).fit(X, y)
    predicted = model.predict(X)
    assert np.isfinite(predicted).all()
    assert np.mean(np.abs(predicted - y)) < 2.0


def test_gaussian_process_learns_one_length_scale_per_feature(data):
    X, y = data
    model = build_estimator("gaussian_process", {}, seed=0).fit(X, y)
    gp = model.regressor_.named_steps["model"].gp_
    scales = gp.kernel_.k1.k2.length_scale
    assert np.shape(scales) == (3,)
    assert scales[0] < scales[2]  # the informative feature varies on a shorter scale


def test_unknown_estimator_is_named():
    with pytest.raises(KeyError, match="unknown estimator 'boosted'"):
        build_estimator("boosted", {}, seed=0)
