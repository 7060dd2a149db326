"""Optuna tuning: seeded, persistent, resumable, shared through a database (SQLite, PostgreSQL).

The regression data here are made up (a noisy linear function) for the tests.
"""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from conftest import _throwaway_postgres
from cryoprotect.models.tuning import DEFAULT_SPACES, best_of_study, suggest, tune

SPACE = {
    "n_estimators": {"type": "int", "low": 10, "high": 30, "step": 10},
    "max_features": {"type": "float", "low": 0.3, "high": 1.0},
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = 3 * X[:, 0] - X[:, 1] + rng.normal(scale=0.1, size=60)
    return X, y, np.repeat(np.arange(20), 3)


def run(data, storage, study="s", trials=2, seed=0):
    X, y, groups = data
    return tune(
        X,
        y,
        groups,
        estimator="extra_trees",
        space=SPACE,
        n_trials=trials,
        n_splits=3,
        seed=seed,
        storage=storage,
        study_name=study,
    )


def test_a_study_persists_and_resumes(data, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    first = run(data, storage)
    second = run(data, storage)
    assert (first.trials, second.trials) == (2, 4)
    assert second.best_mae <= first.best_mae
    estimator, params = best_of_study(storage, "s")
    assert estimator == "extra_trees" and set(params) == set(SPACE)


def test_the_same_seed_gives_the_same_study(data, tmp_path):
    a = run(data, f"sqlite:///{tmp_path / 'a.db'}", trials=3)
    b = run(data, f"sqlite:///{tmp_path / 'b.db'}", trials=3)
    assert a.best_params == b.best_params and a.best_mae == b.best_mae


@pytest.mark.postgres
def test_workers_share_a_study_in_postgresql(data, postgres_admin):
    for url in _throwaway_postgres(postgres_admin):
        run(data, url, study="shared")
        result = run(data, url, study="shared", seed=1)
        assert result.trials == 4
        assert len(optuna.load_study(study_name="shared", storage=url).trials) == 4


def test_suggest_reads_every_parameter_type():
    space = {
        "a": {"type": "int", "low": 1, "high": 3},
        "b": {"type": "float", "low": 0.1, "high": 1.0, "log": True},
        "c": {"type": "categorical", "choices": [0.5, 2.5]},
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    params = suggest(study.ask(), space)
    assert 1 <= params["a"] <= 3 and 0.1 <= params["b"] <= 1.0 and params["c"] in (0.5, 2.5)
    with pytest.raises(ValueError, match="unknown type"):
        suggest(study.ask(), {"d": {"type": "complex"}})


def test_every_registered_estimator_has_a_search_space():
    from cryoprotect.models.estimators import ESTIMATORS

    assert set(DEFAULT_SPACES) == set(ESTIMATORS)
