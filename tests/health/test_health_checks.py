"""Health checks find each kind of fault injected into a scratch database, on both backends.

The scratch databases hold a few made-up measurements (not data); faults are written with
the database's own safeguards switched off, as a broken import or a manual edit would.
The seeded reference database must pass with no problem at all.
"""

from __future__ import annotations

import csv
import json
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.db.engine import make_engine
from cryoprotect.db.importer import import_experiments
from cryoprotect.db.migrations import upgrade
from cryoprotect.health import expectations
from cryoprotect.health.checks import CRITICAL, Check
from cryoprotect.health.project import write_project
from cryoprotect.health.report import read_history, run_health
from cryoprotect.records import EXPERIMENT_COLUMNS

MADE_UP_ROWS = [
    {"record_id": "t:1", "property": "tg", "value": "190", "unit": "K", "smiles": "OCC(O)CO"},
    {"record_id": "t:2", "property": "tg", "value": "340", "unit": "K", "smiles": "OCC(O)C(O)CO"},
    {
        "record_id": "t:3",
        "property": "iri",
        "value": "45",
        "unit": "%MGS",
        "smiles": "NCC(=O)O",
        "concentration": "22",
        "concentration_unit": "mM",
    },
    {
        "record_id": "t:4",
        "property": "viability",
        "value": "61",
        "unit": "% recovery",
        "components": "OCC(O)CO:10 %v/v;CS(C)=O:5 %v/v",
    },
]


@pytest.fixture
def scratch(database_url, tmp_path):
    """A migrated database holding the made-up rows."""
    path = tmp_path / "rows.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(EXPERIMENT_COLUMNS))
        writer.writeheader()
        writer.writerows({"citation": "made-up test fixture", **row} for row in MADE_UP_ROWS)
    engine = make_engine(database_url)
    upgrade(engine)
    import_experiments(engine, path, owner="ada")
    yield engine
    engine.dispose()


@contextmanager
def unguarded(engine):
    """A transaction with foreign keys (and on SQLite, CHECK constraints) not enforced."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql("PRAGMA ignore_check_constraints=ON")
        else:
            connection.exec_driver_sql("SET session_replication_role = replica")
        connection.commit()  # the settings hold for the session
        with connection.begin():
            yield connection


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
    assert tables["experiments"] == 1053


def test_an_orphan_component_is_named_with_its_row(scratch):
    with unguarded(scratch) as connection:
        connection.execute(
            text(
                "INSERT INTO mixture_components (id, mixture_id, molecule_id, amount, unit) "
                "VALUES (900, 999999, (SELECT MIN(id) FROM molecules), 1, 'level')"
            )
        )
    found = problems(scratch)
    assert set(found) == {"orphan mixture_components.mixture_id"}
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
    assert "https://" not in (out / "latest.html").read_text()
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
