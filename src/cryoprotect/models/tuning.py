"""Hyper-parameter tuning with Optuna: grouped-CV MAE minimised over a search space.

Studies live in persistent storage (any SQLAlchemy URL Optuna accepts: a SQLite file by
default, PostgreSQL so that workers on several machines share one study); a study resumes
where it stopped. The sampler is seeded, so a study run from scratch is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna

from cryoprotect.models.estimators import build_estimator
from cryoprotect.models.validation import cross_validate
from cryoprotect.progress import Progress, report

DEFAULT_SPACES: dict[str, dict[str, dict]] = {
    "extra_trees": {
        "n_estimators": {"type": "int", "low": 200, "high": 800, "step": 100},
        "max_features": {"type": "float", "low": 0.1, "high": 1.0},
        "min_samples_leaf": {"type": "int", "low": 1, "high": 5},
    },
    "random_forest": {
        "n_estimators": {"type": "int", "low": 200, "high": 800, "step": 100},
        "max_features": {"type": "float", "low": 0.1, "high": 1.0},
        "min_samples_leaf": {"type": "int", "low": 1, "high": 5},
    },
    "svr": {
        "C": {"type": "float", "low": 1.0, "high": 3000.0, "log": True},
        "epsilon": {"type": "float", "low": 0.1, "high": 10.0, "log": True},
    },
    "gaussian_process": {
        "nu": {"type": "categorical", "choices": [0.5, 1.5, 2.5]},
    },
    "svr_extra_trees": {
        "C": {"type": "float", "low": 10.0, "high": 3000.0, "log": True},
        "epsilon": {"type": "float", "low": 0.1, "high": 10.0, "log": True},
        "max_features": {"type": "float", "low": 0.1, "high": 0.8},
    },
}
"""Search space per estimator: parameter -> ``{"type": "int"|"float", "low", "high",
"log"?, "step"?}`` or ``{"type": "categorical", "choices"}`` (Optuna's ``suggest_*``)."""


def suggest(trial: optuna.Trial, space: dict[str, dict]) -> dict:
    """Draw one parameter set from ``space`` for ``trial``."""
    params = {}
    for name, spec in space.items():
        options = {k: v for k, v in spec.items() if k in {"log", "step"}}
        if spec["type"] == "int":
            params[name] = trial.suggest_int(name, spec["low"], spec["high"], **options)
        elif spec["type"] == "float":
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], **options)
        elif spec["type"] == "categorical":
            params[name] = trial.suggest_categorical(name, spec["choices"])
        else:
            raise ValueError(f"parameter {name!r}: unknown type {spec['type']!r}")
    return params


@dataclass
class TuningResult:
    """The best parameters of a study and their grouped-CV MAE."""

    study_name: str
    best_params: dict
    best_mae: float
    trials: int


def tune(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    estimator: str,
    space: dict[str, dict] | None = None,
    n_trials: int = 20,
    n_splits: int = 5,
    seed: int = 0,
    storage: str | None = None,
    study_name: str = "cryoprotect",
    baseline: dict | None = None,
    n_jobs: int = 1,
    optional_last_feature: bool = False,
    progress: Progress | None = None,
) -> TuningResult:
    """Run (or resume) an Optuna study minimising the grouped-CV MAE of ``estimator``.

    ``baseline`` (e.g. the parameters in params.yaml) is the first trial of a new study, so
    the best trial is never worse than it; its parameters outside ``space`` stay fixed in
    every trial. ``n_jobs`` fits each trial's folds in parallel. With
    ``optional_last_feature`` the last column of ``X`` is an input that may be unknown (see
    :class:`~cryoprotect.models.estimators.OptionalLastFeature`). ``progress`` hears of
    each trial this call finishes (unit ``trial``).
    """
    space = space if space is not None else DEFAULT_SPACES[estimator]
    fixed = {k: v for k, v in (baseline or {}).items() if k not in space}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )
    study.set_user_attr("estimator", estimator)
    study.set_user_attr("fixed", fixed)
    if baseline and not study.trials:
        study.enqueue_trial({k: v for k, v in baseline.items() if k in space})

    def objective(trial: optuna.Trial) -> float:
        params = fixed | suggest(trial, space)
        result = cross_validate(
            lambda: build_estimator(estimator, params, seed, optional_last_feature),
            X,
            y,
            groups,
            n_splits,
            seed,
            n_jobs=n_jobs,
        )
        return result.overall["mae"]

    finished = []

    def trial_done(_study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        finished.append(True)
        report(progress, len(finished), n_trials, "trial")

    study.optimize(objective, n_trials=n_trials, callbacks=[trial_done])
    return TuningResult(
        study_name, fixed | study.best_params, float(study.best_value), len(study.trials)
    )


def best_of_study(storage: str, study_name: str) -> tuple[str, dict]:
    """Return the estimator name and best parameters (with the fixed ones) of a stored study."""
    study = optuna.load_study(study_name=study_name, storage=storage)
    return study.user_attrs["estimator"], study.user_attrs.get("fixed", {}) | study.best_params
