"""``cryoprotect pipeline export|validate|gate`` through the real CLI, in a project folder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.config import get_settings
from pipeline_workspace import make_workspace

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = make_workspace(tmp_path / "project")
    monkeypatch.chdir(root)
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def test_export_then_validate(project, reference_database):
    exported = runner.invoke(app, ["--database-url", reference_database, "pipeline", "export"])
    assert exported.exit_code == 0, exported.output
    assert "experiments: 1581 rows" in exported.output
    assert (project / "data" / "snapshot" / "manifest.json").is_file()
    checked = runner.invoke(app, ["pipeline", "validate", "--output", "reports/validation.json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads((project / "reports" / "validation.json").read_text())["valid"] is True


def test_validate_fails_naming_the_problem(project, reference_snapshot):
    (project / "data").mkdir()
    target = project / "data" / "snapshot"
    target.mkdir()
    for path in reference_snapshot.iterdir():
        if path.name != "users.parquet":
            (target / path.name).write_bytes(path.read_bytes())
    result = runner.invoke(app, ["pipeline", "validate", "--output", "reports/validation.json"])
    assert result.exit_code == 1
    assert "users.parquet is missing" in result.output
    assert json.loads((project / "reports" / "validation.json").read_text())["valid"] is False


def test_export_reports_an_unreachable_database(project, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(app, ["--database-url", url, "pipeline", "export"])
    assert result.exit_code == 1
    assert "cannot export the database" in result.output
    assert not (project / "data" / "snapshot").exists()


def _metrics(project, **maes):
    for name, mae in maes.items():
        path = project / "metrics" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"mae": mae, "interval_coverage": 0.9}))


def test_gate_passes_and_fails_on_the_thresholds(project):
    _metrics(project, tg=10.0, iri=20.0, viability=2.0)
    passed = runner.invoke(app, ["pipeline", "gate", "--output", "reports/gate.json"])
    assert passed.exit_code == 0, passed.output
    assert "tg: passes its thresholds" in passed.output
    _metrics(project, tg=75.0)
    failed = runner.invoke(app, ["pipeline", "gate", "--output", "reports/gate.json"])
    assert failed.exit_code == 1
    assert "regression gate failed: tg: cross-validated MAE 75.00 > 60.0" in failed.output
    assert json.loads((project / "reports" / "gate.json").read_text())["passed"] is False


def test_gate_needs_a_project_and_valid_params(project, tmp_path, monkeypatch):
    (project / "params.yaml").write_text("targets: {tg: {}}")
    result = runner.invoke(app, ["pipeline", "gate"])
    assert result.exit_code == 1
    assert "targets.tg.estimator" in result.output
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["pipeline", "gate"])
    assert result.exit_code == 1
    assert "no dvc.yaml" in result.output
