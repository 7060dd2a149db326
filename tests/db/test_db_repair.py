"""Repairing rows that point at missing rows (SQLite with foreign keys off, as other tools write).

The orphaned rows are made up for the tests.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import REFERENCE_DIR
from cryoprotect.cli.main import app
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.repair import repair
from cryoprotect.db.seed import seed

runner = CliRunner()


@pytest.fixture
def damaged(tmp_path):
    """A seeded SQLite file into which orphans were written with foreign keys off."""
    path = tmp_path / "damaged.db"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    seed(engine, REFERENCE_DIR)
    engine.dispose()
    with sqlite3.connect(path) as raw:  # foreign keys are off by default in sqlite3
        raw.executescript(
            """
            INSERT INTO model_versions (id, property, version) VALUES (50, 'tg', 'made-up');
            INSERT INTO predictions (id, model_version_id, molecule_id, value, owner_id)
                VALUES (60, 50, 99999, 1.0, 1);
            INSERT INTO lab_verifications (id, experiment_id, prediction_id, verifier_id)
                VALUES (70, 1, 60, 1), (71, 99999, NULL, 1), (72, 1, 99998, 1);
            INSERT INTO mixture_components (id, mixture_id, molecule_id, amount, unit)
                VALUES (8000, 99999, 1, 1, 'level');
            """
        )
    return path


def _ids(engine, sql: str) -> list:
    with engine.connect() as connection:
        return list(connection.execute(text(sql)).scalars())


def test_orphans_are_repaired_by_each_keys_rule_until_none_is_left(damaged):
    engine = make_engine(f"sqlite:///{damaged}")
    with engine.begin() as connection:
        actions = {(a.relation, a.action): a.ids for a in repair(connection)}
    assert actions == {
        ("predictions.molecule_id -> molecules.id", "deleted"): [60],
        ("lab_verifications.experiment_id -> experiments.id", "deleted"): [71],
        ("mixture_components.mixture_id -> mixtures.id", "deleted"): [8000],
        ("lab_verifications.prediction_id -> predictions.id", "set null"): [72],
    }
    assert _ids(engine, "SELECT id FROM predictions") == []
    # 70 pointed at prediction 60: deleting it cleared the reference by the database's rule
    assert _ids(engine, "SELECT prediction_id FROM lab_verifications") == [None, None]
    assert _ids(engine, "SELECT id FROM mixture_components WHERE id = 8000") == []
    with engine.begin() as connection:
        assert repair(connection) == []


def test_a_dry_run_changes_nothing_and_cli_reports(damaged):
    url = f"sqlite:///{damaged}"
    result = runner.invoke(app, ["--database-url", url, "db", "repair", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would delete: predictions.molecule_id -> molecules.id: 1 rows (ids 60)" in result.output
    assert _ids(make_engine(url), "SELECT id FROM predictions") == [60]
    fixed = runner.invoke(app, ["--database-url", url, "db", "repair", "--format", "json"])
    assert fixed.exit_code == 0
    assert {a["action"] for a in json.loads(fixed.output)["actions"]} == {"deleted", "set null"}


def test_restrict_orphans_are_reported_and_stop_the_migration(damaged):
    engine = make_engine(f"sqlite:///{damaged}")
    migrations.downgrade(engine, "0002")
    engine.dispose()
    with sqlite3.connect(damaged) as raw:
        raw.execute(
            "INSERT INTO experiments (id, property, value, unit, molecule_id, citation, owner_id) "
            "VALUES (5000, 'tg', 200, 'K', 99999, 'made up', 1)"
        )
    with pytest.raises(RuntimeError, match="experiments.molecule_id -> molecules.id"):
        migrations.upgrade(make_engine(f"sqlite:///{damaged}"))
    result = runner.invoke(app, ["--database-url", f"sqlite:///{damaged}", "db", "repair"])
    assert result.exit_code == 1
    assert "reported: experiments.molecule_id -> molecules.id: 1 rows (ids 5000)" in result.output
