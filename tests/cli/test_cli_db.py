"""The ``cryoprotect db`` and ``cryoprotect import`` commands, run through the real CLI.

Measurement values written here are made up for the tests.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cryoprotect.cli.main import app

runner = CliRunner()


def run(url: str, *args: str):
    return runner.invoke(app, ["--database-url", url, *args])


@pytest.fixture
def migrated_url(database_url):
    assert run(database_url, "db", "upgrade").exit_code == 0
    return database_url


def test_upgrade_seed_stats_and_idempotent_seed(migrated_url):
    first = run(migrated_url, "db", "seed", "--format", "json")
    assert first.exit_code == 0, first.output
    stats = run(migrated_url, "db", "stats", "--format", "json")
    counts = json.loads(stats.output)
    assert set(counts) == {"molecules", "mixtures", "experiments", "lab_verifications", "users"}
    assert set(counts["experiments"]) == {"tg", "tm", "iri", "viability"}
    assert all(n > 0 for n in counts["experiments"].values())
    again = json.loads(run(migrated_url, "db", "seed", "--format", "json").output)
    assert again["experiments_added"] == 0
    assert json.loads(run(migrated_url, "db", "stats", "--format", "json").output) == counts


def test_current_reports_head(migrated_url):
    out = json.loads(run(migrated_url, "db", "current", "--format", "json").output)
    assert out["current"] == out["head"] is not None


def test_seed_refuses_an_unmigrated_database(tmp_path):
    result = run(f"sqlite:///{tmp_path / 'empty.db'}", "db", "seed")
    assert result.exit_code == 1
    assert "cryoprotect db upgrade" in result.output


def test_import_reports_bad_rows_and_writes_nothing(migrated_url, tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text(
        "property,value,unit,smiles,citation\n"
        "tg,190,K,OCC(O)CO,made-up fixture\n"
        "tg,190,degC,OCC(O)CO,made-up fixture\n"
        "tg,180,K,C1CC,made-up fixture\n"
    )
    result = run(migrated_url, "import", "experiments", str(path), "--owner", "ada")
    assert result.exit_code == 1
    assert "row 3, field 'unit'" in result.output
    assert "row 4, field 'smiles'" in result.output
    assert "nothing was imported" in result.output
    counts = json.loads(run(migrated_url, "db", "stats", "--format", "json").output)
    assert counts["experiments"]["tg"] == 0 and counts["users"] == 0


def test_import_json_output(migrated_url, tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text("property,value,unit,smiles,citation\ntg,190,K,OCC(O)CO,made-up fixture\n")
    result = run(
        migrated_url, "import", "experiments", str(path), "--owner", "ada", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["experiments_added"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("property,value,unit,smiles,citation\ntg,-4,K,OCC(O)CO,x\n")
    result = run(migrated_url, "import", "experiments", str(bad), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["errors"] == [
        {"line": 2, "field": "value", "message": "-4 K is outside the range of tg [30, 800]"}
    ]


def test_import_of_a_header_only_file_or_a_bad_option_writes_nothing(migrated_url, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("property,value,unit,smiles,citation\n")
    result = run(
        migrated_url, "import", "experiments", str(path), "--owner", "ada", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["experiments_added"] == 0
    path.write_text("property,value,unit,smiles,citation\ntg,190,K,OCC(O)CO,made-up fixture\n")
    bogus = run(migrated_url, "import", "experiments", str(path), "--visibility", "everyone")
    assert bogus.exit_code == 1
    assert "visibility must be one of" in bogus.output and "Traceback" not in bogus.output
    counts = json.loads(run(migrated_url, "db", "stats", "--format", "json").output)
    assert counts["users"] == 0 and counts["experiments"]["tg"] == 0


def test_every_command_has_help():
    for command in (
        ["db"],
        ["db", "upgrade"],
        ["db", "seed"],
        ["db", "stats"],
        ["import"],
        ["import", "experiments"],
        ["curate"],
        ["health"],
        ["health", "suites"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, command
