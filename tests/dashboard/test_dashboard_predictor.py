"""The dashboard's prediction form: all three targets, intervals, domain flags, clear errors."""

from __future__ import annotations

import shutil

import pytest

from cryoprotect.dashboard.predictor import RESULT_COLUMNS, Predictor
from cryoprotect.models import registry


@pytest.fixture(scope="module")
def predictor(trained_project) -> Predictor:
    models = trained_project / "models"
    names = dict(registry.load(models, "viability").names)
    return Predictor(models, names.get)


def _formulation(predictor: Predictor) -> str:
    design = registry.load(predictor.models, "viability").domain["design"]
    return ";".join(f"{smiles}:1 level" for smiles in design)


def test_a_molecule_and_a_formulation_get_all_three_predictions(predictor):
    table = predictor.predict("OCC(O)CO", 50.0, _formulation(predictor))
    assert list(table.columns) == RESULT_COLUMNS
    assert table["target"].tolist() == ["tg", "iri", "viability"]
    assert table["unit"].tolist() == ["K", "%MGS", "% recovery"]
    assert table["message"].eq("").all(), table["message"].tolist()
    assert (table["lower"] < table["prediction"]).all()
    assert (table["prediction"] < table["upper"]).all()
    assert table["in_domain"].isin([True, False]).all()
    versions = [
        registry.production_version(predictor.models, t) for t in ("tg", "iri", "viability")
    ]
    assert table["model_version"].tolist() == versions
    assert table.loc[1, "input"] == "OCC(O)CO at 50 mM"


def test_a_name_resolves_to_its_molecule(predictor):
    by_name = predictor.predict("Glycerol", 50.0, "")
    by_smiles = predictor.predict("OCC(O)CO", 50.0, "")
    assert by_name["prediction"].tolist() == pytest.approx(by_smiles["prediction"].tolist())


def test_an_unlike_molecule_is_flagged_out_of_domain(predictor):
    table = predictor.predict("C[Si](C)(C)O[Si](C)(C)C", 50.0, "")  # hexamethyldisiloxane
    assert table["in_domain"].tolist() == [False, False]


@pytest.mark.parametrize(
    ("molecule", "message"),
    [
        ("C1CC(xx", "'C1CC(xx' is neither a known molecule name nor a valid SMILES"),
        ("   ", "enter a molecule, a formulation, or both"),
    ],
)
def test_unreadable_input_is_a_clear_message(predictor, molecule, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        predictor.predict(molecule, 50.0, "")


def test_a_bad_formulation_or_concentration_is_explained_in_its_row(predictor):
    table = predictor.predict("OCC(O)CO", 0.0, "glycerol 5 level")
    messages = dict(zip(table["target"], table["message"], strict=True))
    assert messages["tg"] == ""
    assert messages["iri"] == "IRI needs a concentration above 0 mM"
    assert "glycerol 5 level" in messages["viability"]
    assert table.loc[table["target"] == "viability", "prediction"].isna().all()


def test_a_missing_model_says_how_to_train_it(trained_project, tmp_path):
    shutil.copytree(trained_project / "models" / "tg", tmp_path / "tg")
    table = Predictor(tmp_path).predict("OCC(O)CO", 50.0, "")
    messages = dict(zip(table["target"], table["message"], strict=True))
    assert messages["tg"] == ""
    assert "cryoprotect train iri" in messages["iri"]
