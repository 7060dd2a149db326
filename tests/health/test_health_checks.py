"""Health checks find each kind of fault injected into a scratch database, on both backends.

The scratch databases hold a few made-up measurements (not data); faults are written with
the database's own safeguards switched off, as a broken import or a manual edit would.
The seeded reference database must pass with no problem at all.
"""

from __future__ import annotations

import json

import pytest
from health_support import scratch_database, unguarded
from sqlalchemy import text
from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.health import expectations
from cryoprotect.health.checks import CRITICAL, Check
from cryoprotect.health.project import write_project
from cryoprotect.health.report import read_history, run_health


@pytest.fixture
def scratch(database_url, tmp_path):
    """A migrated database holding the made-up rows."""
    engine = scratch_database(database_url, tmp_path)
    yield engine
    engine.dispose()


def _id(connection, record_id: str) -> int:
    query = text("SELECT id FROM experiments WHERE record_id = :r")
    return connection.execute(query, {"r": record_id}).scalar_one()


def problems(engine) -> dict:
    report = run_health(engine)
    return {r.name: r for r in report.problems}


def test_a_healthy_seeded_database_passes_without_warnings(seeded_engine):
    report = run_health(seeded_engine)
    assert report.problems == []
    assert report.passed
    assert report.summary()["warnings"] == 0
    assert report.diagnostics["unindexed_foreign_keys"] == []
    assert {q["query"] for q in report.diagnostics["queries"]} >= {"molecule by InChIKey"}
    tables = {t["table"]: t["rows"] for t in report.diagnostics["tables"]}
    assert tables["experiments"] == 1581


def test_an_orphan_component_is_named_with_its_row(scratch):
    with unguarded(scratch) as connection:
        connection.execute(
            text(
                "INSERT INTO mixture_components (id, mixture_id, molecule_id, amount, unit) "
                "VALUES (900, 999999, (SELECT MIN(id) FROM molecules), 1, 'level')"
            )
        )
    found = problems(scratch)
    sqlites_own = {"SQLite foreign_key_check"} if scratch.dialect.name == "sqlite" else set()
    assert set(found) == {"orphan mixture_components.mixture_id"} | sqlites_own
    if sqlites_own:
        assert found["SQLite foreign_key_check"].table == "mixture_components"
        assert found["SQLite foreign_key_check"].message == (
            "mixture_components row 900 points at a missing mixtures row"
        )
    orphan = found["orphan mixture_components.mixture_id"]
    assert (orphan.table, orphan.column, orphan.status) == (
        "mixture_components",
        "mixture_id",
        "fail",
    )
    assert orphan.rows == [{"id": 900, "mixture_id": 999999}]


def test_a_measurement_entered_twice_is_a_warning(scratch):
    with unguarded(scratch) as connection:
        connection.execute(
            text(
                "INSERT INTO experiments (record_id, property, value, unit, molecule_id, "
                "citation, owner_id, visibility) SELECT 't:1 again', property, value, unit, "
                "molecule_id, citation, owner_id, visibility FROM experiments "
                "WHERE record_id = 't:1'"
            )
        )
        first = _id(connection, "t:1")
    report = run_health(scratch)
    [duplicate] = report.problems
    assert (duplicate.name, duplicate.severity) == ("duplicate experiments", "warning")
    assert duplicate.rows == [{"first_id": first, "copies": 2}]
    assert report.passed  # a warning does not fail the check


def test_a_check_that_cannot_run_is_an_error_not_a_pass(scratch, monkeypatch, tmp_path):
    broken = Check(
        "integrity", "broken", "users", "id", CRITICAL, "bad SQL", "SELECT FROM {batch} b"
    )
    write_project(tmp_path / "gx", checks=[broken])
    monkeypatch.setattr(expectations, "project_dir", lambda: tmp_path / "gx")
    report = run_health(scratch)
    [error] = report.problems
    assert (error.name, error.status) == ("broken", "error")
    assert error.message
    assert error.table == "users"
    assert not report.passed


def test_a_missing_table_is_reported_as_errors(scratch):
    with scratch.begin() as connection:
        cascade = " CASCADE" if scratch.dialect.name == "postgresql" else ""  # and policies
        connection.exec_driver_sql(f"DROP TABLE shares{cascade}")
    report = run_health(scratch)
    shares = {r.name: r.status for r in report.problems if r.table == "shares"}
    assert shares["shares columns"] == "error"
    assert shares["orphan shares.owner_id"] == "error"
    assert shares["shares matches the schema"] == "fail"
    assert not report.passed


def test_cli_writes_reports_keeps_history_and_fails_on_critical(scratch, tmp_path):
    runner = CliRunner()
    url = scratch.url.render_as_string(hide_password=False)
    out = tmp_path / "health"
    healthy = runner.invoke(
        app, ["--database-url", url, "health", "--output-dir", str(out), "--format", "json"]
    )
    assert healthy.exit_code == 0, healthy.output
    report = json.loads(healthy.output)
    assert report["summary"]["healthy"] and report["summary"]["checks"] > 90
    assert report["data_docs"] == str(out / "data_docs" / "index.html")
    assert (out / "data_docs" / "index.html").is_file()
    assert (out / "latest.json").is_file()
    page = (out / "latest.html").read_text()
    assert "https://" not in page and "<a href='data_docs/index.html'>" in page
    with unguarded(scratch) as connection:
        connection.execute(text("UPDATE molecules SET canonical_smiles = 'C1CC'"))
    failed = runner.invoke(app, ["--database-url", url, "health", "--output-dir", str(out)])
    assert failed.exit_code == 1
    assert "FAIL [critical] molecules.canonical_smiles parses (molecules.canonical_smiles)" in (
        failed.output
    )
    assert f"Data Docs: {out / 'data_docs' / 'index.html'}" in failed.output
    history = read_history(out)
    assert [h["healthy"] for h in history] == [True, False]
    assert len(list(out.glob("health-*.json"))) >= 1


def test_cli_without_a_gx_project_says_how_to_make_one(scratch, tmp_path, monkeypatch):
    monkeypatch.setattr(expectations, "project_dir", lambda: tmp_path / "nowhere")
    url = scratch.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        app, ["--database-url", url, "health", "--output-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert f"no Great Expectations project at {tmp_path / 'nowhere'}" in result.output
    assert "cryoprotect health suites" in result.output


def test_an_inchikey_stored_twice_is_named(scratch):
    if scratch.dialect.name == "sqlite":
        pytest.skip("SQLite cannot drop a UNIQUE constraint in place; PostgreSQL shows the check")
    with unguarded(scratch) as connection:
        connection.exec_driver_sql(
            "ALTER TABLE molecules DROP CONSTRAINT uq_molecules_owner_id_inchikey"
        )
        connection.exec_driver_sql(
            "INSERT INTO molecules (inchikey, canonical_smiles, formula, molecular_weight, "
            "owner_id, visibility) SELECT inchikey, canonical_smiles, formula, "
            "molecular_weight, owner_id, visibility FROM molecules "
            "WHERE canonical_smiles = 'OCC(O)CO'"
        )
    found = problems(scratch)
    duplicate = found["duplicate molecules.inchikey"]
    assert [(r["inchikey"], r["copies"]) for r in duplicate.rows] == [
        ("PEDCQBHIVMGVHV-UHFFFAOYSA-N", 2)
    ]
    assert (duplicate.table, duplicate.column) == ("molecules", "inchikey")
    assert set(found) == {"duplicate molecules.inchikey", "molecules matches the schema"}
