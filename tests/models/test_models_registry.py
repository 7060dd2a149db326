"""Training a small Tg model on the seeded reference data, and the model registry.

The data are the curated reference measurements; the model is deliberately tiny (120 rows,
3 folds, 20 trees), so its accuracy is not checked here. The version names written by hand
below are made up.
"""

from __future__ import annotations

import dataclasses
import json
from importlib.metadata import version as package_version

import numpy as np
import pytest

from cryoprotect.db.datasets import frame_hash, training_frame
from cryoprotect.models import registry
from cryoprotect.models.registry import ModelNotFoundError
from cryoprotect.models.targets import target
from cryoprotect.models.training import (
    LIBRARIES,
    TrainSettings,
    train_model,
    training_arrays,
)

SETTINGS = TrainSettings(n_splits=3, estimator="extra_trees", estimator_params={"n_estimators": 20})


@pytest.fixture(scope="module")
def tg_frame(seeded_engine):
    return training_frame(seeded_engine, "tg", "molecule").head(120).reset_index(drop=True)


@pytest.fixture(scope="module")
def outcome(tg_frame):
    arrays = training_arrays(target("tg"), tg_frame, SETTINGS.featurizer)
    return train_model(
        target("tg"), arrays, SETTINGS, data_hash=frame_hash(tg_frame), code_version="test"
    )


@pytest.fixture(scope="module")
def X(tg_frame):
    return training_arrays(target("tg"), tg_frame, SETTINGS.featurizer).X


def test_training_frame_is_what_training_expects(tg_frame):
    assert len(tg_frame) == 120
    assert {"group", "key", "smiles", "value"} <= set(tg_frame.columns)
    assert tg_frame["value"].notna().all()
    assert tg_frame["group"].nunique() >= 3


def test_outcome_holds_the_cross_validation(outcome, tg_frame):
    assert len(outcome.oof) == len(outcome.cv.oof) == 120 - outcome.model.card.data.left_out
    assert set(outcome.cv.fold) == {0, 1, 2}
    np.testing.assert_allclose(outcome.oof["residual"], outcome.oof["value"] - outcome.cv.oof)
    per_group = outcome.oof.groupby("group")["fold"].nunique()
    assert (per_group == 1).all()


def test_the_melting_point_is_used_where_measured_and_calibrated_both_ways(outcome, tg_frame):
    known = tg_frame["melting_point_K"].notna().to_numpy()
    assert known.sum() >= 100  # the curated sources report most melting points
    np.testing.assert_array_equal(outcome.cv.uses_feature, known)
    calibration = outcome.model.calibration
    # every row calibrates the predictions made without a melting point; the rows with one
    # calibrate those made with it a second time
    assert len(calibration.residuals) == len(outcome.oof) + known.sum()
    used = [g for g in calibration.groups if g.endswith("melting point used")]
    assert len(used) == known.sum()
    own = outcome.oof["residual"].abs().to_numpy()
    np.testing.assert_allclose(calibration.residuals[: known.sum()], own[known])
    card = outcome.model.card
    assert card.data.rows_with_melting_point == known.sum()
    assert card.validation.without_melting_point is not None
    assert card.validation.without_melting_point.mae > 0


def test_card(outcome, tg_frame):
    card = outcome.model.card
    assert card.target == "tg" and card.unit == "K"
    assert card.version == outcome.model.version
    assert card.code_version == "test"
    assert card.data.snapshot_hash == frame_hash(tg_frame)
    assert len(card.data.snapshot_hash) == 64
    assert card.data.rows == len(outcome.oof)
    assert card.data.groups == tg_frame["group"].nunique()
    assert card.estimator.model_dump() == {"name": "extra_trees", "params": {"n_estimators": 20}}
    summary = card.validation.summary
    assert {"mae_mean", "mae_std", "rmse_mean", "r2_mean", "mae_pooled"} <= set(summary)
    assert summary == outcome.cv.summary()
    assert 0.0 <= card.validation.interval_coverage <= 1.0
    assert len(card.validation.per_fold) == 3
    assert card.validation.by_scaffold is not None
    assert card.validation.by_scaffold.method.endswith("by scaffold")
    assert card.libraries == {lib: package_version(lib) for lib in LIBRARIES}
    assert "scikit-learn" in card.libraries and "rdkit" in card.libraries


def test_the_card_reports_interval_coverage_per_group(outcome):
    report = outcome.model.card.uncertainty
    assert report is not None and report.difficulty.startswith("standard deviation of the trees")
    assert set(report.by_group) <= {
        f"{domain}, {use}"
        for domain in ("in domain", "out of domain")
        for use in ("melting point used", "no melting point")
    }
    rows = sum(g.rows for g in report.by_group.values())
    assert rows == report.rows == len(outcome.model.calibration.residuals)
    assert all(0.0 <= g.coverage <= 1.0 for g in report.by_group.values())
    assert -1.0 <= report.width_error_spearman <= 1.0
    oof = outcome.oof
    inside = (oof["value"] >= oof["lower"]) & (oof["value"] <= oof["upper"])
    assert outcome.model.card.validation.interval_coverage == pytest.approx(inside.mean())
    assert (oof["upper"] - oof["lower"]).nunique() > 1  # widths differ from molecule to molecule


def test_save_and_load_predict_identically(outcome, X, tmp_path):
    model = outcome.model
    folder = registry.save(model, tmp_path)
    assert folder == tmp_path / "tg" / model.version
    assert {p.name for p in folder.iterdir()} == {"estimator.skops", "model.json", "card.json"}
    assert not list((tmp_path / "tg").glob(".*partial"))
    loaded = registry.load(tmp_path, "tg")
    np.testing.assert_array_equal(loaded.estimator.predict(X), model.estimator.predict(X))
    assert loaded.version == model.version
    assert loaded.featurizer == model.featurizer
    assert loaded.feature_names == model.feature_names
    np.testing.assert_allclose(loaded.calibration.residuals, model.calibration.residuals)
    np.testing.assert_allclose(loaded.calibration.sigmas, model.calibration.sigmas)
    assert loaded.calibration.groups.tolist() == model.calibration.groups.tolist()
    assert loaded.domain == model.domain
    assert loaded.card == model.card
    assert json.loads((folder / "card.json").read_text()) == model.card.to_json_dict()


def test_save_refuses_an_existing_version(outcome, tmp_path):
    registry.save(outcome.model, tmp_path)
    before = sorted(p.name for p in (tmp_path / "tg" / outcome.model.version).iterdir())
    with pytest.raises(FileExistsError, match="exists already"):
        registry.save(outcome.model, tmp_path)
    after = sorted(p.name for p in (tmp_path / "tg" / outcome.model.version).iterdir())
    assert before == after
    assert registry.versions(tmp_path, "tg") == [outcome.model.version]


def test_versions_production_and_promote(outcome, X, tmp_path):
    old = dataclasses.replace(outcome.model, version="20200101T000000000000Z")
    new = dataclasses.replace(outcome.model, version="20300101T000000000000Z")
    assert registry.versions(tmp_path, "tg") == []
    assert registry.production_version(tmp_path, "tg") is None
    registry.save(new, tmp_path)
    registry.save(old, tmp_path)
    assert registry.versions(tmp_path, "tg") == [old.version, new.version]
    assert registry.load(tmp_path, "tg").version == new.version  # newest serves by default

    registry.promote(tmp_path, "tg", old.version)
    assert registry.production_version(tmp_path, "tg") == old.version
    assert registry.load(tmp_path, "tg").version == old.version
    assert registry.load(tmp_path, "tg", new.version).version == new.version
    assert registry.versions(tmp_path, "tg") == [old.version, new.version]

    with pytest.raises(ModelNotFoundError, match="no version '19990101T000000000000Z' of tg"):
        registry.promote(tmp_path, "tg", "19990101T000000000000Z")
    assert registry.production_version(tmp_path, "tg") == old.version
    with pytest.raises(ModelNotFoundError):
        registry.load(tmp_path, "tg", "19990101T000000000000Z")
    assert registry.versions(tmp_path, "iri") == []


def test_load_without_a_model_names_the_train_command(tmp_path):
    with pytest.raises(ModelNotFoundError, match="cryoprotect train tg"):
        registry.load(tmp_path, "tg")
    (tmp_path / "iri" / "unfinished").mkdir(parents=True)  # a folder without model.json
    with pytest.raises(ModelNotFoundError, match="cryoprotect train iri"):
        registry.load(tmp_path, "iri")


def test_promote_with_no_models_raises(tmp_path):
    with pytest.raises(ModelNotFoundError):
        registry.promote(tmp_path, "tg", "20200101T000000000000Z")
    assert not (tmp_path / "tg" / "registry.json").exists()


def test_incomplete_or_hidden_folders_are_not_versions(outcome, tmp_path):
    registry.save(outcome.model, tmp_path)
    (tmp_path / "tg" / ".20990101T000000000000Z.partial").mkdir()
    (tmp_path / "tg" / ".20990101T000000000000Z.partial" / "model.json").write_text("{}")
    crashed = tmp_path / "tg" / "20990101T000000000000Z"
    crashed.mkdir()
    (crashed / "estimator.skops").write_bytes(b"")
    assert registry.versions(tmp_path, "tg") == [outcome.model.version]
    assert registry.load(tmp_path, "tg").version == outcome.model.version
