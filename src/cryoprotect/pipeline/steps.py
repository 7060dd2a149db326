"""The per-target steps of the pipeline: features, tuning, training, explanation.

Each step reads the files of the step before it (see :class:`~.layout.Layout`), writes its
own and returns what its notebook shows. Inputs come from the database snapshot only, so a
step's outputs are a function of the snapshot, ``params.yaml`` and the code.
"""

from __future__ import annotations

import json

import optuna
import pandas as pd
from sqlalchemy import Engine

from cryoprotect.chem.cache import FeatureCache
from cryoprotect.db.datasets import molecule_names, training_frame
from cryoprotect.db.snapshot import load_snapshot
from cryoprotect.files import write_json
from cryoprotect.models import registry
from cryoprotect.models.explain import Explanation, explain_sample
from cryoprotect.models.feature_table import read_feature_table, write_feature_table
from cryoprotect.models.targets import target
from cryoprotect.models.training import (
    TrainingArrays,
    TrainingOutcome,
    TrainSettings,
    training_arrays,
    tuning_rows,
)
from cryoprotect.models.tuning import TuningResult, tune
from cryoprotect.params import Params
from cryoprotect.pipeline.layout import Layout
from cryoprotect.pipeline.lifecycle import train_and_register
from cryoprotect.pipeline.metrics import write_metrics, write_plot_data

BEST = "best.json"
STUDY = "study.db"


def build_features(layout: Layout, name: str, params: Params) -> TrainingArrays:
    """Featurize ``name``'s measurements in the snapshot; write and return the feature table.

    The table carries the snapshot's molecule names, which the trained model keeps.
    """
    return write_features(layout, name, TrainSettings.from_params(params, name))


def write_features(layout: Layout, name: str, settings: TrainSettings) -> TrainingArrays:
    """Featurize ``name``'s measurements in the snapshot with ``settings``; write and return them.

    The featurizer and the grouping (``settings.group_by``) come from ``settings``, so
    ``cryoprotect train``'s options reach the feature table as params.yaml's do.

    Raises
    ------
    ValueError
        If the snapshot holds fewer measurements than ``settings.n_splits``.
    """
    spec = target(name)
    engine = load_snapshot(layout.snapshot)
    frame = training_frame(engine, spec.name, spec.subject)
    if len(frame) < settings.n_splits:
        raise ValueError(
            f"the snapshot holds {len(frame)} {name} measurements, fewer than the "
            f"{settings.n_splits} cross-validation folds"
        )
    arrays = training_arrays(
        spec, frame, settings.featurizer, settings.group_by, FeatureCache(layout.cache)
    )
    write_feature_table(arrays, layout.features(name), molecule_names(engine))
    return arrays


def tune_target(layout: Layout, name: str, params: Params) -> TuningResult:
    """Tune ``name``'s estimator in a fresh study; write the best parameters and return them.

    The study starts from the parameters in params.yaml, runs the trials set there and is
    kept (SQLite) beside the best parameters; the held-out groups are never tuned on.
    """
    settings = TrainSettings.from_params(params, name)
    arrays = read_feature_table(layout.features(name))
    rows = tuning_rows(arrays, settings)
    folder = layout.tuning(name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STUDY).unlink(missing_ok=True)  # same inputs, same study: start afresh
    result = tune(
        arrays.X[rows],
        arrays.y[rows],
        arrays.groups[rows],
        estimator=settings.estimator,
        n_trials=params.targets[name].trials,
        n_splits=settings.n_splits,
        seed=settings.seed,
        storage=f"sqlite:///{folder / STUDY}",
        study_name=f"{name}-{settings.estimator}",
        baseline=settings.estimator_params,
        n_jobs=settings.n_jobs,
        optional_last_feature=target(name).optional_input is not None,
    )
    best = {"estimator": settings.estimator, **vars(result)}
    write_json(folder / BEST, best, sort_keys=True)
    return result


def study_trials(layout: Layout, name: str) -> pd.DataFrame:
    """Return the trials of ``name``'s tuning study: number, MAE (``value``) and parameters."""
    best = json.loads((layout.tuning(name) / BEST).read_text())
    study = optuna.load_study(
        study_name=best["study_name"], storage=f"sqlite:///{layout.tuning(name) / STUDY}"
    )
    return study.trials_dataframe(attrs=("number", "value", "params", "state"))


def tuned_settings(layout: Layout, name: str, params: Params) -> TrainSettings:
    """Return ``name``'s training settings with the tuned parameters when tuning has run."""
    settings = TrainSettings.from_params(params, name)
    best_file = layout.tuning(name) / BEST
    if best_file.is_file():
        best = json.loads(best_file.read_text())
        if best["estimator"] == settings.estimator:
            settings.estimator_params = best["best_params"]
    return settings


def train_target(
    layout: Layout,
    name: str,
    params: Params,
    code_version: str = "",
    *,
    engine: Engine | None = None,
    promote: bool = False,
) -> TrainingOutcome:
    """Train and register ``name``'s model (tuned settings); write its metrics and plot data.

    Training, registration and promotion are :func:`~.lifecycle.train_and_register`'s: with
    ``engine`` the version is recorded in ``model_versions``, and ``promote`` makes it the
    production model in the registry and the database together.
    """
    outcome = train_and_register(
        layout,
        name,
        tuned_settings(layout, name, params),
        engine=engine,
        promote=promote,
        code_version=code_version,
    )
    write_metrics(outcome, layout.metrics(name))
    write_plot_data(outcome, layout.plots(name))
    return outcome


def explain_target(layout: Layout, name: str, rows: int) -> Explanation:
    """Explain ``name``'s production model on a sample of its training rows with SHAP.

    Writes the importance table (mean |SHAP| per feature, readable labels) and the SHAP
    values of every explained row, which the dashboards draw.
    """
    model = registry.load(layout.models, name)
    explanation = explain_sample(model, read_feature_table(layout.features(name)), rows)
    explanation.save(layout.shap_values(name))
    explanation.importance().to_csv(layout.explanation(name), index=False)
    return explanation
