"""``cryoprotect predict --record`` on real SQLite and PostgreSQL.

The models are the trained test project's; the database is a new one per test (seeded, with
the made-up users alice and bob). The input rows are made up.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.config import get_settings
from cryoprotect.db.access import user_session
from cryoprotect.db.schema import ModelVersion, Prediction
from cryoprotect.models.predict import OUTPUT_COLUMNS

runner = CliRunner()
TG_INPUT = "name,smiles\nglycerol,OCC(O)CO\nbroken,C1CC(xx\nmade-up,CC(C)(C)CC(O)CO\n"
VIABILITY_INPUT = "components\nCS(C)=O:10 %v/v\nfoo:1 level\n"


@pytest.fixture
def project(trained_project, monkeypatch):
    """Settings pointing at the trained test project (read again for each test)."""
    monkeypatch.setenv("CRYOPROTECT_ROOT_DIR", str(trained_project))
    get_settings.cache_clear()
    yield trained_project
    get_settings.cache_clear()


def _predict(engine, tmp_path, target: str, text: str, *options: str) -> pd.DataFrame:
    source, output = tmp_path / f"{target}.csv", tmp_path / f"{target}-out.csv"
    source.write_text(text)
    url = engine.url.render_as_string(hide_password=False)
    arguments = ["--database-url", url, "predict", target, "--input", str(source)]
    result = runner.invoke(app, [*arguments, "--output", str(output), *options])
    assert result.exit_code == 0, result.output
    return pd.read_csv(output, dtype=str, keep_default_na=False)


def test_record_writes_the_predictions_for_the_owner_alone(project, two_users, tmp_path):
    engine, ids = two_users
    plain = _predict(engine, tmp_path, "tg", TG_INPUT)
    assert list(plain.columns) == ["name", "smiles", *OUTPUT_COLUMNS]
    out = _predict(engine, tmp_path, "tg", TG_INPUT, "--record", "--owner", "alice")
    assert list(out.columns) == ["name", "smiles", *OUTPUT_COLUMNS, "prediction_id"]
    assert out["prediction"].tolist() == plain["prediction"].tolist()
    assert out["prediction_id"][1] == "" and out["error"][1] != ""
    recorded = {int(out["prediction_id"][i]): i for i in (0, 2)}
    with user_session(engine, ids["alice"]) as session:
        rows = session.execute(
            select(Prediction, ModelVersion.version).join(
                ModelVersion, Prediction.model_version_id == ModelVersion.id
            )
        ).all()
        assert {p.id for p, _ in rows} == set(recorded)
        for prediction, version in rows:
            line = out.iloc[recorded[prediction.id]]
            assert prediction.owner_id == ids["alice"] and version == line["model_version"]
            assert prediction.inputs == {"smiles": line["smiles"]}
            assert prediction.confidence == 0.9
            assert prediction.value == pytest.approx(float(line["prediction"]))
            assert (prediction.lower, prediction.upper) == pytest.approx(
                (float(line["lower"]), float(line["upper"]))
            )
            assert prediction.in_domain == (line["in_domain"] == "true")
    with user_session(engine, ids["bob"]) as session:
        assert session.scalars(select(Prediction.id)).all() == []


def test_record_names_the_mixture_of_a_formulation(project, two_users, tmp_path):
    engine, ids = two_users
    out = _predict(engine, tmp_path, "viability", VIABILITY_INPUT, "--record", "--owner", "bob")
    assert out["prediction_id"][0] != "" and out["prediction_id"][1] == ""
    with user_session(engine, ids["bob"]) as session:
        (prediction,) = session.scalars(select(Prediction)).all()
    assert prediction.mixture_id is not None
    assert prediction.inputs == {"components": "CS(C)=O:10 %v/v"}
