"""What the dashboard shows per target: out-of-fold rows, versions, verifications."""

from __future__ import annotations

import dataclasses
import shutil

import ipywidgets as widgets
import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from cryoprotect.dashboard.app import target_tab
from cryoprotect.dashboard.review import (
    load_review,
    version_history,
    worst_compounds,
)
from cryoprotect.models import registry
from cryoprotect.models.predict import predict_frame
from cryoprotect.models.registry import ModelNotFoundError
from cryoprotect.pipeline.layout import Layout
from verification_fixtures import made_up_verification


@pytest.mark.parametrize("name", ["tg", "iri", "viability"])
def test_out_of_fold_intervals_reproduce_the_coverage_in_the_model_card(trained_project, name):
    review = load_review(Layout(trained_project), name)
    oof = review.oof
    assert len(oof) == review.card.data.rows
    assert (oof["lower"] <= oof["predicted"]).all() and (oof["predicted"] <= oof["upper"]).all()
    assert oof["covered"].mean() == pytest.approx(review.card.validation.interval_coverage)
    assert oof["residual"].to_numpy() == pytest.approx(oof["measured"] - oof["predicted"], abs=1e-3)


@pytest.mark.parametrize("name", ["tg", "iri"])
def test_every_molecule_row_has_its_source_and_a_readable_structure(trained_project, name):
    oof = load_review(Layout(trained_project), name).oof
    assert oof["source"].ne("unknown").all()
    assert oof["subject"].notna().all()
    assert all(Chem.MolFromSmiles(s) is not None for s in oof["structure"].unique())


def test_formulations_are_written_so_that_the_model_can_predict_them(trained_project):
    layout = Layout(trained_project)
    oof = load_review(layout, "viability").oof
    model = registry.load(layout.models, "viability")
    sample = oof.drop_duplicates("group").head(20)
    frame = pd.DataFrame({"components": sample["structure"]})
    resolve = {name: smiles for name, smiles in model.names.items()}.get
    predicted = predict_frame(model, frame, resolve)
    assert predicted["error"].eq("").all(), predicted["error"].tolist()
    assert all(":" in text and "level" in text for text in sample["structure"])


def test_worst_compounds_lists_each_compound_once_worst_first():
    oof = pd.DataFrame(
        {
            "group": ["a", "a", "b", "c", "c", "c"],
            "residual": [1.0, -9.0, 5.0, 2.0, 3.0, -4.0],
        }
    )
    worst = worst_compounds(oof, count=2)
    assert worst["group"].tolist() == ["a", "b"]
    assert worst["residual"].tolist() == [-9.0, 5.0]
    assert worst["measurements"].tolist() == [2, 1]


def test_version_history_has_every_version_and_marks_production(trained_project, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(trained_project / "models" / "tg", models / "tg")
    first = registry.load(models, "tg")
    version = "99990101T000000000000Z"
    validation = first.card.validation.model_copy(update={"interval_coverage": 0.5})
    card = first.card.model_copy(update={"version": version, "validation": validation})
    registry.save(dataclasses.replace(first, version=version, card=card), models)
    history = version_history(models, "tg")
    assert history["version"].tolist() == [first.version, version]
    assert history["production"].tolist() == [True, False]
    assert history["coverage"].tolist()[1] == 0.5
    registry.promote(models, "tg", version)
    assert version_history(models, "tg")["production"].tolist() == [False, True]


def test_a_missing_model_or_explanation_is_reported_not_invented(trained_project, tmp_path):
    shutil.copytree(trained_project, tmp_path / "p", ignore=shutil.ignore_patterns("src"))
    layout = Layout(tmp_path / "p")
    layout.shap_values("iri").unlink()
    assert load_review(layout, "iri").explanation is None
    shutil.rmtree(layout.models / "tg")
    with pytest.raises(ModelNotFoundError, match="cryoprotect train tg"):
        load_review(layout, "tg")


def test_out_of_fold_table_is_in_the_file_order(trained_project):
    layout = Layout(trained_project)
    plot = pd.read_csv(layout.plots("tg"))
    oof = load_review(layout, "tg").oof
    assert np.array_equal(oof["record_id"].to_numpy(), plot["record_id"].to_numpy())


def test_the_target_tab_plots_and_lists_verifications(trained_project, engine):
    made_up_verification(engine, measured=230.0, predicted=185.0)
    review = load_review(Layout(trained_project), "tg", engine)
    page = "".join(w.value for w in _widgets(target_tab(review)) if isinstance(w, widgets.HTML))
    assert "data-plot='tg-verifications'" in page
    assert "<td>glycerol</td>" in page and "<td>confirmed</td>" in page
    assert "No lab verifications" not in page


def _widgets(widget) -> list:
    return [widget, *(w for child in getattr(widget, "children", ()) for w in _widgets(child))]
