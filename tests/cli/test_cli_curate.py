"""``cryoprotect curate`` through the real CLI, on the made-up fixture sources.

The source tables come from ``tests/fixture_sources.py``: invented values, not measurements.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.curation.build import OUTPUT_FILES, curate
from fixture_sources import write_fixture_sources

runner = CliRunner()


def test_curate_writes_the_tables_and_reports_counts(tmp_path):
    source = write_fixture_sources(tmp_path / "sources")
    expected = curate(source).summary()
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["curate", "--source", str(source), "--out", str(out), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["experiments"] == {"tg": 6, "tm": 3, "iri": 5, "viability": 2}
    assert report["molecules"] == 8
    assert report["rejects"] == 26
    assert report["rejects_by_reason"]["same_measurement"] == 6
    assert {p.name for p in out.iterdir()} == set(OUTPUT_FILES)
    assert sorted(report["written"]) == sorted(str(out / name) for name in OUTPUT_FILES)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in report.items() if k != "written"} == summary
    assert summary == expected


def test_curate_table_format(tmp_path):
    source = write_fixture_sources(tmp_path / "sources")
    out = tmp_path / "out"
    result = runner.invoke(app, ["curate", "--source", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "experiments.tg: 6" in result.stdout
    assert "molecules: 8" in result.stdout
    assert "rejects: 26" in result.stdout


def test_curate_nonexistent_source_fails(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["curate", "--source", str(tmp_path / "nowhere"), "--out", str(out)]
    )
    assert result.exit_code != 0
    assert not out.exists()


def test_curate_source_must_be_a_folder(tmp_path):
    a_file = tmp_path / "file.csv"
    a_file.write_text("x\n")
    result = runner.invoke(app, ["curate", "--source", str(a_file), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
