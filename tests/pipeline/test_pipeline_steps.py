"""The pipeline steps on the reference data, with fast made-up parameters (few trees)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import upgrade
from cryoprotect.db.model_versions import production_version
from cryoprotect.db.snapshot import export_snapshot
from cryoprotect.models import registry
from cryoprotect.models.explain import Explanation
from cryoprotect.models.feature_table import read_feature_names, read_feature_table
from cryoprotect.models.targets import TARGETS
from cryoprotect.params import load_params
from cryoprotect.pipeline.layout import Layout, enter_project, find_project
from cryoprotect.pipeline.metrics import regression_gate
from cryoprotect.pipeline.report import build_report
from cryoprotect.pipeline.steps import (
    build_features,
    explain_target,
    study_trials,
    train_target,
    tune_target,
)
from pipeline_workspace import make_workspace


@pytest.fixture(scope="module")
def project(reference_snapshot, tmp_path_factory):
    """A project where every step has run once for every target, training promoting into a
    migrated SQLite database's ``model_versions`` as the pipeline's train stage does."""
    layout = Layout(make_workspace(tmp_path_factory.mktemp("project"), reference_snapshot))
    params = load_params(layout.params)
    engine = make_engine(f"sqlite:///{layout.root / 'cryoprotect.db'}")
    upgrade(engine)
    runs = {}
    for name in TARGETS:
        runs[name] = {
            "features": build_features(layout, name, params),
            "tuning": tune_target(layout, name, params),
            "training": train_target(
                layout, name, params, code_version="test", engine=engine, promote=True
            ),
            "explanation": explain_target(layout, name, params.explain.rows),
        }
    build_report(layout, params, list(TARGETS))
    yield layout, params, runs
    engine.dispose()


def test_feature_tables_hold_every_usable_measurement(project):
    layout, _, runs = project
    expected_rows = {"tg": 623, "iri": 246, "viability": 184}
    for name, rows in expected_rows.items():
        saved = read_feature_table(layout.features(name))
        assert len(saved.y) + saved.left_out == rows
        np.testing.assert_array_equal(saved.X, runs[name]["features"].X)
        assert saved.feature_names == runs[name]["features"].feature_names
    assert read_feature_names(layout.features("viability"))["glycerol"] == "OCC(O)CO"


def test_tuning_starts_from_params_and_training_uses_its_best(project):
    layout, params, runs = project
    for name in TARGETS:
        trials = study_trials(layout, name)
        assert len(trials) == params.targets[name].tuning["trials"]
        assert trials.loc[0, "params_n_estimators"] == 10  # trial 0: params.yaml
        best = json.loads((layout.tuning(name) / "best.json").read_text())
        assert best["best_mae"] == pytest.approx(trials["value"].min())
        card = runs[name]["training"].model.card
        assert card.estimator.params == best["best_params"]


def test_training_promotes_in_registry_and_database_and_writes_metrics_and_plots(project):
    layout, _, runs = project
    engine = make_engine(f"sqlite:///{layout.root / 'cryoprotect.db'}")
    for name in TARGETS:
        model = runs[name]["training"].model
        assert registry.production_version(layout.models, name) == model.version
        assert production_version(engine, name) == model.version  # model_versions agrees
        metrics = json.loads(layout.metrics(name).read_text())
        summary = model.card.validation.summary
        assert metrics["mae"] == pytest.approx(summary["mae_mean"], abs=1e-4)
        assert metrics["rmse_std"] == pytest.approx(summary["rmse_std"], abs=1e-4)
        assert {"r2", "interval_coverage", "holdout_mae", "rows"} <= set(metrics)
        plot = pd.read_csv(layout.plots(name))
        assert list(plot.columns) == [
            "record_id",
            "group",
            "measured",
            "predicted",
            "residual",
            "fold",
            "lower",
            "upper",
            "sigma",
            "interval_group",
            "in_domain",
        ]
        assert (plot["lower"] <= plot["predicted"]).all()
        assert (plot["predicted"] <= plot["upper"]).all()
        np.testing.assert_allclose(
            plot["measured"] - plot["predicted"], plot["residual"], atol=2e-4
        )
    assert "active_precision" in json.loads(layout.metrics("iri").read_text())
    engine.dispose()


def test_explanations_are_written_with_readable_labels(project):
    layout, _, _ = project
    table = pd.read_csv(layout.explanation("tg"))
    assert table["mean_abs_shap"].is_monotonic_decreasing
    assert table["label"].notna().all()
    saved = Explanation.load(layout.shap_values("tg"))  # what the dashboard draws
    pd.testing.assert_frame_equal(saved.importance(), table, check_exact=False)
    assert saved.values.shape == saved.data.shape


def test_the_report_covers_every_target(project):
    layout, _, _ = project
    page = (layout.reports / "index.html").read_text()
    for name in TARGETS:
        assert f"<h2 id='{name}'>" in page
    assert page.count("<img ") == 3 * len(TARGETS)
    assert page.count("class='pass'") == len(TARGETS)
    assert "https://" not in page  # self-contained


def test_the_gate_names_each_target_that_misses_a_threshold(project):
    layout, params, _ = project
    files = {name: layout.metrics(name) for name in TARGETS}
    assert regression_gate(files, params)["passed"]
    strict = params.model_copy(deep=True)
    strict.targets["tg"].thresholds.mae = 0.5
    strict.targets["viability"].thresholds.coverage_max = 0.1
    result = regression_gate(files, strict)
    assert not result["passed"]
    assert [f.split(":")[0] for f in result["failures"]] == ["tg", "viability"]
    assert result["failures"][0].startswith("tg: cross-validated MAE")
    missing = regression_gate({"tg": layout.root / "nowhere.json"}, params)
    assert missing["failures"] == [
        f"tg: no metrics at {layout.root / 'nowhere.json'}; has the train stage run?"
    ]


def test_features_refuse_a_snapshot_with_too_few_measurements(project, tmp_path):
    _, params, _ = project
    layout = Layout(make_workspace(tmp_path))
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(empty)
    export_snapshot(empty, layout.snapshot)
    with pytest.raises(ValueError, match="holds 0 tg measurements"):
        build_features(layout, "tg", params)


def test_the_project_is_found_from_any_folder_inside_it(project, monkeypatch):
    layout, _, _ = project
    monkeypatch.chdir(layout.root / "notebooks")
    assert find_project() == layout.root
    assert enter_project().root == layout.root
    assert enter_project(str(layout.root)).root == layout.root
    monkeypatch.chdir(layout.root.parent)
    with pytest.raises(FileNotFoundError, match="no dvc.yaml"):
        find_project()
