"""SHAP explanations: additive to the predictions, for tree and non-tree models.

The training values here are made up (a function of chain length) for the tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryoprotect.models.explain import explain
from cryoprotect.models.targets import TargetSpec
from cryoprotect.models.training import TrainSettings, train_model, training_arrays

SMILES = ["C" * n + "O" for n in range(1, 31)] + ["OC" + "C" * n + "O" for n in range(1, 31)]
SPEC = TargetSpec("made_up", "molecule", "K", ("smiles",))
FEATURIZER = {"descriptors": "physchem", "morgan_size": 64, "morgan_radius": 1}


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame(
        {
            "group": SMILES,
            "smiles": SMILES,
            "value": [150 + 4 * len(s) + 30 * s.count("O") for s in SMILES],
        }
    )


@pytest.mark.parametrize(
    ("estimator", "params"),
    [
        ("random_forest", {"n_estimators": 20}),
        ("svr", {"C": 100.0}),
        ("svr_extra_trees", {"C": 100.0, "n_estimators": 20}),
    ],
)
def test_shap_values_add_up_to_the_prediction(frame, estimator, params):
    settings = TrainSettings(
        n_splits=3, estimator=estimator, estimator_params=params, featurizer=FEATURIZER
    )
    arrays = training_arrays(SPEC, frame, settings.featurizer)
    model = train_model(SPEC, arrays, settings).model
    result = explain(model, arrays.X[:5], arrays.X, smiles=SMILES)
    predicted = model.estimator.predict(arrays.X[:5])
    np.testing.assert_allclose(result.values.sum(axis=1) + result.base_value, predicted, atol=1e-3)
    table = result.importance()
    assert table["mean_abs_shap"].is_monotonic_decreasing
    assert len(result.labels) == result.values.shape[1]


def test_labels_are_readable(frame):
    settings = TrainSettings(
        n_splits=3,
        estimator="random_forest",
        estimator_params={"n_estimators": 20},
        featurizer=FEATURIZER,
    )
    arrays = training_arrays(SPEC, frame, settings.featurizer)
    model = train_model(SPEC, arrays, settings).model
    labels = explain(model, arrays.X[:3], arrays.X, smiles=SMILES).labels
    assert "logP (Wildman-Crippen)" in labels
    assert any(label.startswith("count of ") for label in labels)
