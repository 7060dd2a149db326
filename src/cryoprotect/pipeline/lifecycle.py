"""The one way a model is trained, registered and promoted: pipeline, CLI and notebooks alike.

A model learns from the feature table of a pipeline layout (written from a checked database
snapshot, see :mod:`cryoprotect.pipeline.steps`), is saved in the registry and, given a
database, recorded in its ``model_versions`` table. Promotion changes the registry's
production pointer and ``model_versions`` together (see :func:`promote_version`), so the two
name the same production model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from cryoprotect.db.datasets import frame_hash
from cryoprotect.db.model_versions import is_recorded, record_model_version, set_production
from cryoprotect.models import registry
from cryoprotect.models.feature_table import read_feature_names, read_feature_table
from cryoprotect.models.targets import target
from cryoprotect.models.training import TrainingOutcome, TrainSettings, train_model
from cryoprotect.pipeline.layout import Layout
from cryoprotect.progress import Progress


def train_and_register(
    layout: Layout,
    name: str,
    settings: TrainSettings,
    *,
    engine: Engine | None = None,
    promote: bool = False,
    code_version: str = "",
    progress: Progress | None = None,
) -> TrainingOutcome:
    """Train ``name``'s model on the layout's feature table, register it, promote it if asked.

    Parameters
    ----------
    layout
        Where the feature table (``layout.features(name)``) and the registry
        (``layout.models``) are.
    name
        The target: ``tg``, ``iri`` or ``viability``.
    settings
        Folds, seed, estimator and its parameters, thresholds.
    engine
        The database whose ``model_versions`` records the new version (as a candidate, or as
        production when promoted). Without one only the registry changes.
    promote
        Make the new version the production model, in the registry and the database.
    code_version
        The code's commit, kept in the model card.
    progress
        Hears of each model fitted (unit ``fit``).

    Returns
    -------
    TrainingOutcome
        The saved model, its cross-validation and out-of-fold predictions.

    Raises
    ------
    sqlalchemy.exc.SQLAlchemyError
        If the database cannot record the version; the saved version is removed again, so the
        registry holds no version the database does not know.
    """
    table = layout.features(name)
    arrays = read_feature_table(table)
    data_hash = frame_hash(arrays.data)
    outcome = train_model(
        target(name),
        arrays,
        settings,
        data_hash=data_hash,
        code_version=code_version,
        names=read_feature_names(table),
        progress=progress,
    )
    path = registry.save(outcome.model, layout.models)
    version = outcome.model.version
    if engine is not None:
        try:
            record_model_version(engine, name, version, str(path), data_hash, outcome.cv.summary())
        except BaseException:
            shutil.rmtree(path)
            raise
    if promote:
        promote_version(layout.models, name, version, engine)
    return outcome


def promote_version(models: Path, name: str, version: str, engine: Engine | None) -> None:
    """Make ``version`` the production model of ``name`` in the registry and the database.

    The registry's pointer is written first, then ``model_versions`` (a version the database
    does not know yet, trained against another database, is recorded from its model card). If
    the database write fails, the registry's previous pointer is put back, so a failed
    promotion changes neither. Without ``engine`` only the registry changes.

    Raises
    ------
    ModelNotFoundError
        If ``version`` is not in the registry; nothing changes.
    sqlalchemy.exc.SQLAlchemyError
        If the database cannot be written; the registry is left as it was.
    """
    previous = registry.production_version(models, name)
    registry.promote(models, name, version)
    if engine is None:
        return
    try:
        if not is_recorded(engine, name, version):
            card = registry.read_card(models, name, version)
            summary = card.validation.summary
            folder = str(models / name / version)
            record_model_version(engine, name, version, folder, card.data.snapshot_hash, summary)
        set_production(engine, name, version)
    except BaseException:
        registry.promote(models, name, previous)
        raise
