"""One way to train, register and promote: the registry and ``model_versions`` always agree.

Viability models (the smallest data set) are trained on the reference snapshot with the fast
made-up parameters of ``pipeline_workspace``, on SQLite and PostgreSQL. A database without
tables (never migrated) stands for one that refuses the write.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cryoprotect.db.engine import make_engine
from cryoprotect.db.model_versions import production_version
from cryoprotect.db.schema import ModelVersion
from cryoprotect.models import registry
from cryoprotect.models.training import TrainSettings
from cryoprotect.params import load_params
from cryoprotect.pipeline.layout import Layout
from cryoprotect.pipeline.lifecycle import promote_version, train_and_register
from cryoprotect.pipeline.steps import build_features
from pipeline_workspace import make_workspace

NAME = "viability"


@pytest.fixture(scope="module")
def featurized(reference_snapshot, tmp_path_factory):
    """A project with the viability feature table written from the reference snapshot."""
    layout = Layout(make_workspace(tmp_path_factory.mktemp("lifecycle"), reference_snapshot))
    params = load_params(layout.params)
    build_features(layout, NAME, params)
    return layout, TrainSettings.from_params(params, NAME)


@pytest.fixture
def layout(featurized, tmp_path):
    """The featurized project with an empty registry of this test's own."""
    return Layout(featurized[0].root, models_dir=tmp_path / "models")


@pytest.fixture
def settings(featurized):
    return featurized[1]


@pytest.fixture
def unmigrated(tmp_path):
    """A SQLite database without tables: every write to ``model_versions`` fails."""
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    yield engine
    engine.dispose()


def stages(engine) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(
            select(ModelVersion.version, ModelVersion.stage).where(ModelVersion.property == NAME)
        ).all()
    return dict(rows)


def test_promotion_names_one_production_model_in_registry_and_database(layout, settings, engine):
    first = train_and_register(layout, NAME, settings, engine=engine, promote=True).model
    assert registry.production_version(layout.models, NAME) == first.version
    assert production_version(engine, NAME) == first.version

    second = train_and_register(layout, NAME, settings, engine=engine).model
    assert registry.versions(layout.models, NAME) == [first.version, second.version]
    assert stages(engine) == {first.version: "production", second.version: "candidate"}
    assert registry.production_version(layout.models, NAME) == first.version

    promote_version(layout.models, NAME, second.version, engine)
    assert registry.production_version(layout.models, NAME) == second.version
    assert stages(engine) == {first.version: "archived", second.version: "production"}


def test_a_version_the_database_lacks_is_recorded_when_promoted(layout, settings, engine):
    """A model trained against another database (none here) is recorded from its card."""
    model = train_and_register(layout, NAME, settings).model
    promote_version(layout.models, NAME, model.version, engine)
    assert production_version(engine, NAME) == model.version
    with Session(engine) as session:
        row = session.scalars(select(ModelVersion)).one()
    assert row.data_hash == model.card.data.snapshot_hash
    assert row.metrics["mae_mean"] == pytest.approx(model.card.validation.mae)


def test_a_refused_database_write_leaves_the_registry_as_it_was(
    layout, settings, engine, unmigrated
):
    kept = train_and_register(layout, NAME, settings, engine=engine, promote=True).model
    with pytest.raises(OperationalError):
        train_and_register(layout, NAME, settings, engine=unmigrated, promote=True)
    assert registry.versions(layout.models, NAME) == [kept.version]  # the new one was removed
    assert registry.production_version(layout.models, NAME) == kept.version

    other = train_and_register(layout, NAME, settings, engine=engine).model
    with pytest.raises(OperationalError):
        promote_version(layout.models, NAME, other.version, unmigrated)
    assert registry.production_version(layout.models, NAME) == kept.version
    assert production_version(engine, NAME) == kept.version


def test_a_failed_first_promotion_leaves_no_production_pointer(layout, settings, unmigrated):
    model = train_and_register(layout, NAME, settings).model
    with pytest.raises(OperationalError):
        promote_version(layout.models, NAME, model.version, unmigrated)
    assert registry.production_version(layout.models, NAME) is None
    assert not (layout.models / NAME / "registry.json").exists()


def test_an_unknown_version_is_not_promoted_anywhere(layout, settings, engine):
    kept = train_and_register(layout, NAME, settings, engine=engine, promote=True).model
    with pytest.raises(registry.ModelNotFoundError):
        promote_version(layout.models, NAME, "19990101T000000000000Z", engine)
    assert registry.production_version(layout.models, NAME) == kept.version
    assert production_version(engine, NAME) == kept.version
