"""The Great Expectations project in gx/: generated from the schema, stored, run as GX runs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from conftest import REPO_ROOT
from cryoprotect.cli.main import app
from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import upgrade
from cryoprotect.db.schema import Base
from cryoprotect.health import expectations
from cryoprotect.health.checks import sql_checks
from cryoprotect.health.project import (
    DATABASE_CHECKPOINT,
    differences,
    project_dir,
    write_project,
)
from cryoprotect.health.report import run_health

runner = CliRunner()


def _suite(name: str) -> dict:
    return json.loads((project_dir() / "expectations" / f"{name}.json").read_text())


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_stored_suites_are_what_the_schema_generates():
    assert project_dir() == REPO_ROOT / "gx"
    assert differences(project_dir()) == [], "run 'cryoprotect health suites' and commit gx/"


def test_every_foreign_key_and_check_constraint_has_its_expectation():
    for table in Base.metadata.sorted_tables:
        checks = {e["meta"]["check"] for e in _suite(table.name)["expectations"]}
        for key in table.foreign_key_constraints:
            columns = "+".join(e.parent.name for e in key.elements)
            assert f"orphan {table.name}.{columns}" in checks
        rules = [c for c in table.constraints if type(c).__name__ == "CheckConstraint"]
        assert sum(c.startswith(f"{table.name} rule ck_") for c in checks) == len(rules)
        assert f"{table.name} columns" in checks


def test_a_schema_change_shows_as_stale_until_regenerated(tmp_path):
    folder = tmp_path / "gx"
    shutil.copytree(project_dir(), folder)
    (folder / "expectations" / "retired.json").write_text("{}")
    fewer = [c for c in sql_checks() if c.name != "mixtures have components"]
    stale = differences(folder, fewer)
    assert stale == ["expectations/mixtures.json", "expectations/retired.json"]
    failed = runner.invoke(app, ["health", "suites", "--check", "--project", str(folder)])
    assert failed.exit_code == 1
    assert "expectations/retired.json" in failed.output
    assert write_project(folder, fewer) == stale
    assert differences(folder, fewer) == []
    assert not (folder / "expectations" / "retired.json").exists()
    written = runner.invoke(app, ["health", "suites", "--project", str(folder), "--format", "json"])
    assert written.exit_code == 0, written.output
    assert json.loads(written.output)["changed"] == ["expectations/mixtures.json"]
    checked = runner.invoke(app, ["health", "suites", "--check", "--project", str(folder)])
    assert checked.exit_code == 0 and "matches the schema" in checked.output


def test_a_health_run_only_reads_the_project_and_keeps_the_newest_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(expectations, "KEEP_RUNS", 1)
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(engine)
    before = _digests(project_dir())
    for _ in range(2):
        report = run_health(engine, tmp_path / "health")
        assert report.passed
    assert _digests(project_dir()) == before
    results = list((tmp_path / "health" / "validations").rglob("*.json"))
    assert len(results) == len(Base.metadata.sorted_tables) + 1  # and the RDKit suite
    assert {p.parent.parent.name for p in results} == {"cryoprotect health"}
    pages = list((tmp_path / "health" / "data_docs" / "validations").rglob("*.html"))
    assert {p.parent.name for p in pages} == {p.parent.name for p in results}
    index = (tmp_path / "health" / "data_docs" / "index.html").read_text()
    assert index.count("cryoprotect health") >= len(results)


def test_ge_users_run_the_checkpoint_and_build_data_docs_as_usual(tmp_path, monkeypatch):
    import great_expectations as gx

    shutil.copytree(project_dir(), tmp_path / "gx")
    database = tmp_path / "empty.db"
    upgrade(make_engine(f"sqlite:///{database}"))
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL", f"sqlite:///{database}")
    context = gx.get_context(mode="file", project_root_dir=str(tmp_path))
    assert sorted(s.name for s in context.suites.all())[:2] == ["experiments", "lab_verifications"]
    result = context.checkpoints.get(DATABASE_CHECKPOINT).run()
    assert result.success
    assert len(result.run_results) == len(Base.metadata.sorted_tables)
    context.build_data_docs()
    assert (tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").is_file()
