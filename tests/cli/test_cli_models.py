"""``cryoprotect train``, ``predict`` and ``models``, run through the real CLI.

A SQLite database is built and seeded with the curated reference data through the CLI, and
Tg and viability models are trained on it with 3 folds and a small parameters file written
here (20 extra trees each, so the module stays fast; the project's ``params.yaml`` settings
take far longer to train). The input rows given to ``predict`` are made up.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cryoprotect.cli.common import JSON_REQUESTED
from cryoprotect.cli.main import app
from cryoprotect.config import get_settings
from cryoprotect.db.engine import make_engine
from cryoprotect.db.model_versions import production_version
from cryoprotect.models import registry
from cryoprotect.models.predict import OUTPUT_COLUMNS

runner = CliRunner()

PARAMS = """
seed: 0
cv: {n_splits: 5, group_by: compound}
holdout_fraction: 0.15
confidence: 0.9
domain_threshold: 0.3
targets:
  tg:
    featurizer: {descriptors: physchem, morgan_size: 256, maccs: false}
    estimator: extra_trees
    estimator_params: {n_estimators: 20}
    thresholds: {mae: 15.0}
  iri:
    featurizer: {descriptors: physchem, morgan_size: 0}
    estimator: extra_trees
    estimator_params: {n_estimators: 20}
    thresholds: {mae: 16.0}
  viability:
    featurizer: {descriptors: physchem, morgan_size: 0}
    estimator: extra_trees
    estimator_params: {n_estimators: 20, max_features: 1.0}
    thresholds: {mae: 3.0}
"""

PERFLUORODECANE = "FC(F)(F)" + "C(F)(F)" * 8 + "C(F)(F)F"
TG_INPUT = pd.DataFrame(
    {
        "name": ["glycerol", "perfluorodecane", "broken", "nothing", "glucose"],
        "smiles": ["OCC(O)CO", PERFLUORODECANE, "C1CC", "", "OCC1OC(O)C(O)C(O)C1O"],
    }
)
VIABILITY_INPUT = pd.DataFrame(
    {
        "id": ["a", "b", "c"],
        "components": [
            "sucrose:2 level;glycerol:3 level;isoleucine:0 level",
            "CS(C)=O:10 %v/v",
            "foo:1 level",
        ],
    }
)


def run(url: str, *args: str):
    JSON_REQUESTED.set(False)  # as in a new process: an earlier --format json does not linger
    return runner.invoke(app, ["--database-url", url, *args])


@pytest.fixture(autouse=True)
def fresh_settings():
    """Settings are read once per process: read them again around every test."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A seeded SQLite database, models and cache folders, and trained Tg/viability models."""
    root = tmp_path_factory.mktemp("cli-models")
    url = f"sqlite:///{root / 'cryoprotect.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRYOPROTECT_MODELS_DIR", str(root / "models"))
        patch.setenv("CRYOPROTECT_CACHE_DIR", str(root / "cache"))
        get_settings.cache_clear()
        assert run(url, "db", "upgrade").exit_code == 0
        seeded = run(url, "db", "seed")
        assert seeded.exit_code == 0, seeded.output
        params = root / "params.yaml"
        params.write_text(PARAMS)
        trained = {}
        for name in ("tg", "iri", "viability"):
            result = run(
                url, "train", name, "--n-splits", "3", "--params", str(params), "--format", "json"
            )
            assert result.exit_code == 0, result.output
            trained[name] = json.loads(result.stdout)
        yield {"root": root, "url": url, "trained": trained}
    get_settings.cache_clear()


def run_predict(workspace, target: str, source, output, *options: str):
    return run(
        workspace["url"],
        "predict",
        target,
        "--input",
        str(source),
        "--output",
        str(output),
        *options,
    )


def predict(workspace, name: str, frame: pd.DataFrame, *options: str, filename="out.csv"):
    root = workspace["root"]
    source, target = root / f"in-{filename}", root / filename
    frame.to_csv(source, index=False)
    result = run_predict(workspace, name, source, target, *options)
    assert result.exit_code == 0, result.output
    return pd.read_csv(target, dtype=str, keep_default_na=False), result


def one_line_error(result) -> str:
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_train_reports_and_registers(workspace):
    root = workspace["root"]
    for name, out in workspace["trained"].items():
        assert out["target"] == name
        assert (root / "models" / name / out["version"] / "model.json").is_file()
        assert out["path"] == str(root / "models" / name / out["version"])
        assert out["rows"] > 3
        assert out["mae"] > 0 and 0 <= out["interval_coverage"] <= 1
        assert set(out["gate"]) == {"passed", "failures", "thresholds"}
    assert workspace["trained"]["tg"]["rows"] > 500
    assert list((root / "cache").glob("features-*.parquet"))


def test_predict_tg(workspace):
    out, result = predict(workspace, "tg", TG_INPUT)
    assert list(out.columns) == [*TG_INPUT.columns, *OUTPUT_COLUMNS]
    assert out["name"].tolist() == TG_INPUT["name"].tolist()
    assert out["smiles"].tolist() == TG_INPUT["smiles"].tolist()
    good = out["name"].isin(["glycerol", "perfluorodecane", "glucose"])
    bad = out.loc[~good]
    assert "C1CC" in bad["error"].iloc[0]
    assert bad["error"].iloc[1] == "empty SMILES"
    assert (bad[["prediction", "lower", "upper"]] == "").all().all()
    assert (bad["in_domain"] == "false").all()
    rows = out.loc[good]
    assert (rows["error"] == "").all()
    prediction, lower, upper = (rows[c].astype(float) for c in ("prediction", "lower", "upper"))
    assert (lower <= prediction).all() and (prediction <= upper).all()
    assert (upper > lower).all()
    assert prediction.between(100, 500).all()  # trees predict within the training Tg range (K)
    # Glycerol and glucose are training molecules; nothing like perfluorodecane is.
    assert rows["in_domain"].tolist() == ["true", "false", "true"]
    assert (out["model_version"] == workspace["trained"]["tg"]["version"]).all()
    assert "wrote 5 rows" in result.stderr and "2 with an error" in result.stderr


def test_lower_confidence_gives_narrower_intervals(workspace):
    wide, _ = predict(workspace, "tg", TG_INPUT.head(2), "--confidence", "0.9", filename="w.csv")
    narrow, _ = predict(workspace, "tg", TG_INPUT.head(2), "--confidence", "0.5", filename="n.csv")
    assert narrow["prediction"].tolist() == wide["prediction"].tolist()
    width = {
        name: frame["upper"].astype(float) - frame["lower"].astype(float)
        for name, frame in (("wide", wide), ("narrow", narrow))
    }
    assert (width["narrow"] < width["wide"]).all()


@pytest.mark.parametrize("confidence", ["0", "1", "1.5"])
def test_confidence_outside_0_1_is_refused(workspace, confidence):
    source = workspace["root"] / "conf.csv"
    TG_INPUT.to_csv(source, index=False)
    result = run_predict(
        workspace,
        "tg",
        str(source),
        str(workspace["root"] / "conf-out.csv"),
        "--confidence",
        confidence,
    )
    assert "--confidence must be between 0 and 1" in one_line_error(result)


def test_predict_viability(workspace):
    out, _ = predict(workspace, "viability", VIABILITY_INPUT, filename="v.csv")
    assert list(out.columns) == [*VIABILITY_INPUT.columns, *OUTPUT_COLUMNS]
    good, dmso, foo = (out.iloc[i] for i in range(3))
    assert good["error"] == "" and good["in_domain"] == "true"
    assert float(good["lower"]) <= float(good["prediction"]) <= float(good["upper"])
    # DMSO in %v/v is predicted but outside the domain: no training mixture is like it.
    assert dmso["error"] == "" and dmso["in_domain"] == "false"
    assert float(dmso["lower"]) <= float(dmso["prediction"]) <= float(dmso["upper"])
    assert "'foo'" in foo["error"] and foo["prediction"] == "" and foo["in_domain"] == "false"
    assert (out["model_version"] == workspace["trained"]["viability"]["version"]).all()


def test_missing_column_is_a_one_line_failure(workspace):
    source = workspace["root"] / "nocolumn.csv"
    source.write_text("name,structure\nglycerol,OCC(O)CO\n")
    target = workspace["root"] / "nocolumn-out.csv"
    result = run_predict(workspace, "tg", source, target)
    line = one_line_error(result)
    assert "smiles" in line and "tg" in line
    assert not target.exists()


def test_binary_input_is_refused(workspace):
    source = workspace["root"] / "binary.csv"
    source.write_bytes(bytes(range(256)) * 8)
    target = workspace["root"] / "binary-out.csv"
    result = run_predict(workspace, "tg", source, target)
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "binary.csv" in one_line_error(result)
    assert not target.exists()


def test_missing_input_file_is_refused(workspace):
    result = run_predict(
        workspace,
        "tg",
        str(workspace["root"] / "absent.csv"),
        str(workspace["root"] / "absent-out.csv"),
    )
    assert "cannot read" in one_line_error(result)


def test_predict_without_a_model_names_the_train_command(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOPROTECT_MODELS_DIR", str(tmp_path / "empty-models"))
    get_settings.cache_clear()
    source = tmp_path / "in.csv"
    TG_INPUT.to_csv(source, index=False)
    result = run_predict(workspace, "tg", str(source), str(tmp_path / "out.csv"))
    assert "cryoprotect train tg" in one_line_error(result)
    assert not (tmp_path / "out.csv").exists()


def test_unknown_target_is_refused(workspace):
    result = run(workspace["url"], "models", "show", "melting-point")
    assert "unknown target 'melting-point'" in one_line_error(result)


def test_models_list_show_and_promote(workspace):
    url = workspace["url"]
    tg, viability = workspace["trained"]["tg"], workspace["trained"]["viability"]
    listed = run(url, "models", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["models"]
    assert {(r["target"], r["version"]) for r in rows} >= {
        ("tg", tg["version"]),
        ("viability", viability["version"]),
    }
    only = json.loads(run(url, "models", "list", "--target", "tg", "--format", "json").stdout)
    assert {r["target"] for r in only["models"]} == {"tg"}
    mae = {r["version"]: r["mae"] for r in rows}
    assert mae[tg["version"]] == pytest.approx(tg["mae"])

    shown = run(url, "models", "show", "tg", "--format", "json")
    assert shown.exit_code == 0, shown.output
    card = json.loads(shown.stdout)
    assert card["target"] == "tg" and card["version"] == tg["version"]
    assert {"data", "validation", "libraries", "featurizer", "estimator"} <= set(card)
    assert len(card["data"]["snapshot_hash"]) == 64
    assert card["validation"]["method"] == "grouped 3-fold CV by compound"
    assert card["estimator"] == {"name": "extra_trees", "params": {"n_estimators": 20}}
    assert card["validation"]["gate"]["thresholds"]["mae"] == 15.0
    assert (
        json.loads(run(url, "models", "show", "tg", tg["version"], "--format", "json").stdout)[
            "version"
        ]
        == tg["version"]
    )

    promoted = run(url, "models", "promote", "tg", tg["version"])
    assert promoted.exit_code == 0, promoted.output
    assert tg["version"] in promoted.stdout
    rows = json.loads(run(url, "models", "list", "--format", "json").stdout)["models"]
    production = {(r["target"], r["version"]) for r in rows if r["production"]}
    assert production == {("tg", tg["version"])}

    unknown = run(url, "models", "promote", "tg", "19990101T000000000000Z")
    assert "19990101T000000000000Z" in one_line_error(unknown)
    missing = run(url, "models", "show", "iri", "19990101T000000000000Z", "--format", "json")
    assert missing.exit_code == 1
    assert "cryoprotect train iri" in json.loads(missing.stdout)["message"]


def test_a_tg_salt_is_predicted_for_its_parent_and_flagged_out_of_domain(workspace):
    source = workspace["root"] / "salt.csv"
    pd.DataFrame({"smiles": ["CCCCCC(=O)[O-].[Na+]", "CCCCCC(=O)O"]}).to_csv(source, index=False)
    out = workspace["root"] / "salt-out.csv"
    result = run_predict(workspace, "tg", source, out)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, keep_default_na=False)
    assert rows["error"].tolist() == ["", ""]
    assert rows["prediction"][0] == pytest.approx(rows["prediction"][1])
    assert not bool(rows["in_domain"][0])


def write_raw(workspace, name: str, text: str) -> Path:
    path = workspace["root"] / name
    path.write_text(text, encoding="utf-8")
    return path


def predict_raw(workspace, target: str, text: str) -> pd.DataFrame:
    source = write_raw(workspace, f"raw-{target}.csv", text)
    out = workspace["root"] / f"raw-{target}-out.csv"
    result = run_predict(workspace, target, source, out)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def test_every_input_row_gets_an_output_row(workspace):
    rows = predict_raw(workspace, "tg", "smiles\nCCO,extra\nCCC\n\nOCC(O)CO\n")
    assert rows["smiles"].tolist() == ["CCO", "CCC", "", "OCC(O)CO"]
    assert rows["error"].tolist() == ["row has 2 fields; the header has 1", "", "empty SMILES", ""]
    assert rows["prediction"][0] == "" and rows["prediction"][1] != ""


def test_one_formulation_written_differently_gets_one_prediction(workspace):
    rows = predict_raw(
        workspace,
        "viability",
        "components\n"
        "sucrose:2 level;glycerol:3 level;isoleucine:0 level\n"
        "sucrose:2 level;glycerol:3 level\n"
        "sucrose:1 level;glycerol:3 level;sucrose:1 level\n"
        "sucrose:20 level;glycerol:30 level\n"
        "sucrose:2 level;glycerol:3 M\n",
    )
    assert rows["prediction"][0] == rows["prediction"][1] == rows["prediction"][2]
    assert rows["in_domain"].tolist()[:4] == ["true", "true", "true", "false"]
    assert "cannot be put on one basis" in rows["error"][4]


def test_iri_concentration_outside_training_is_out_of_domain(workspace):
    rows = predict_raw(
        workspace,
        "iri",
        "smiles,concentration_mM\nOCC(O)CO,22\nOCC(O)CO,5000\nOCC(O)CO,1000000000\n",
    )
    assert rows["error"].tolist()[:2] == ["", ""]
    assert rows["in_domain"].tolist()[:2] == ["true", "false"]
    assert rows["error"][2] == (
        "concentration_mM must be a number of mM above 0 and at most 10000, not '1000000000'"
    )


def test_an_unwritable_output_is_a_one_line_error(workspace):
    source = write_raw(workspace, "ok.csv", "smiles\nCCO\n")
    blocker = write_raw(workspace, "blocker", "a file, not a folder")
    result = run_predict(workspace, "tg", str(source), str(blocker / "out.csv"))
    assert "cannot write" in one_line_error(result)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--n-splits", "1", "--n-splits"), ("--group-by", "family", "--group-by")],
)
def test_invalid_training_options_are_one_line_errors(workspace, option, value, message):
    result = run(workspace["url"], "train", "tg", option, value)
    assert message in one_line_error(result)


def test_tune_then_train_with_the_study(workspace, monkeypatch):
    monkeypatch.setenv("CRYOPROTECT_OPTUNA_STORAGE", f"sqlite:///{workspace['root'] / 'o.db'}")
    params = str(workspace["root"] / "params.yaml")
    tuned = run(
        workspace["url"],
        "tune",
        "viability",
        "--trials",
        "2",
        "--params",
        params,
        "--format",
        "json",
    )
    assert tuned.exit_code == 0, tuned.output
    study = json.loads(tuned.stdout)
    assert study["trials"] == 2 and study["study_name"] == "viability-extra_trees"
    trained = run(
        workspace["url"],
        "train",
        "viability",
        "--n-splits",
        "3",
        "--params",
        params,
        "--study",
        study["study_name"],
        "--format",
        "json",
    )
    assert trained.exit_code == 0, trained.output
    version = json.loads(trained.stdout)["version"]
    card = json.loads(
        run(workspace["url"], "models", "show", "viability", version, "--format", "json").stdout
    )
    assert card["estimator"]["params"] == study["best_params"]


BAR = re.compile(r"(\d+)/(\d+) \[[^\]]*\]")


def bar_counts(text: str, unit: str) -> tuple[int, int]:
    """The last ``done/total`` of a progress bar of ``unit`` in ``text``."""
    found = [m for m in BAR.finditer(text) if unit in m.group(0)]
    assert found, text
    return int(found[-1].group(1)), int(found[-1].group(2))


def test_train_tune_and_explain_show_progress(workspace, monkeypatch):
    """CRYOPROTECT_PROGRESS=always stands for a terminal (CliRunner's stderr is none)."""
    monkeypatch.setenv("CRYOPROTECT_PROGRESS", "always")
    monkeypatch.setenv("CRYOPROTECT_OPTUNA_STORAGE", f"sqlite:///{workspace['root'] / 'p.db'}")
    url, params = workspace["url"], str(workspace["root"] / "params.yaml")
    trained = run(url, "train", "viability", "--n-splits", "3", "--params", params)
    assert trained.exit_code == 0, trained.output
    # formulations: 3 folds, the held-out check, the final fit (no scaffold folds)
    assert "train viability" in trained.stderr and bar_counts(trained.stderr, "fit") == (5, 5)
    tuned = run(url, "tune", "viability", "--trials", "2", "--params", params)
    assert tuned.exit_code == 0, tuned.output
    assert bar_counts(tuned.stderr, "trial") == (2, 2)
    explained = run(url, "explain", "iri", "--rows", "30")
    assert explained.exit_code == 0, explained.output
    assert bar_counts(explained.stderr, "batch") == (2, 2)  # 25 rows a batch

    quiet = run(url, "explain", "iri", "--rows", "30", "--format", "json")
    assert quiet.exit_code == 0 and "batch" not in quiet.stderr, quiet.stderr
    monkeypatch.setenv("CRYOPROTECT_PROGRESS", "auto")
    get_settings.cache_clear()
    quiet = run(url, "tune", "viability", "--trials", "1", "--params", params)
    assert quiet.exit_code == 0 and "trial" not in quiet.stderr, quiet.stderr


def test_a_database_that_fails_the_pipelines_checks_is_not_trained_on(workspace, tmp_path):
    """A made-up orphan synonym (its molecule does not exist) fails the snapshot's check."""
    broken = tmp_path / "broken.db"
    shutil.copy(workspace["root"] / "cryoprotect.db", broken)
    with closing(sqlite3.connect(broken)) as connection, connection:
        connection.execute(
            "INSERT INTO molecule_synonyms (molecule_id, synonym) VALUES (999999, 'nobody')"
        )
    before = sorted((workspace["root"] / "models").rglob("model.json"))
    params = str(workspace["root"] / "params.yaml")
    url = f"sqlite:///{broken}"
    refused = run(url, "train", "viability", "--params", params, "--format", "json")
    assert refused.exit_code == 1
    error = json.loads(refused.stdout)
    assert error["status"] == "error"
    assert error["message"].startswith("not training viability: the database's snapshot")
    assert any("molecule_synonyms" in problem for problem in error["problems"])
    assert "not training viability" in one_line_error(run(url, "train", "viability"))
    assert sorted((workspace["root"] / "models").rglob("model.json")) == before


def test_train_and_promote_keep_registry_and_model_versions_in_step(workspace):
    """Runs last: it changes which tg model is in production."""
    url, models = workspace["url"], workspace["root"] / "models"
    params = str(workspace["root"] / "params.yaml")
    trained = run(
        url, "train", "tg", "--n-splits", "3", "--params", params, "--promote", "--format", "json"
    )
    assert trained.exit_code == 0, trained.output
    version = json.loads(trained.stdout)["version"]
    engine = make_engine(url)
    assert registry.production_version(models, "tg") == version
    assert production_version(engine, "tg") == version

    earlier = workspace["trained"]["tg"]["version"]
    promoted = run(url, "models", "promote", "tg", earlier, "--format", "json")
    assert json.loads(promoted.stdout) == {"target": "tg", "production": earlier}
    assert registry.production_version(models, "tg") == earlier
    assert production_version(engine, "tg") == earlier

    unmigrated = f"sqlite:///{workspace['root'] / 'unmigrated.db'}"
    refused = run(unmigrated, "models", "promote", "tg", version)
    assert "the registry is unchanged" in one_line_error(refused)
    assert registry.production_version(models, "tg") == earlier
    engine.dispose()
