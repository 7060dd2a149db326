"""``cryoprotect verification add`` and ``compare`` on real SQLite and PostgreSQL.

The predictions and measurements are made up (users alice and bob of ``two_users``).
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.db.predictions import record_predictions
from verification_fixtures import made_up_prediction

runner = CliRunner()
MEASURED = (
    "record_id,property,value,unit,smiles,citation\n"
    "lab:7,tg,187.5,K,CC(C)(C)CC(O)CO,made-up test fixture\n"
)


def test_a_measurement_verifies_a_recorded_prediction(two_users, tmp_path):
    engine, _ = two_users
    (prediction,) = record_predictions(
        engine, "alice", [made_up_prediction("CC(C)(C)CC(O)CO", value=170.0)]
    )
    url = engine.url.render_as_string(hide_password=False)
    base = ["--database-url", url]
    table = tmp_path / "lab.csv"
    table.write_text(MEASURED)
    imported = runner.invoke(app, [*base, "import", "experiments", str(table), "--owner", "alice"])
    assert imported.exit_code == 0, imported.output
    add = [*base, "verification", "add", str(prediction), "--record-id", "lab:7"]
    refused = runner.invoke(app, [*add, "--owner", "bob", "--format", "json"])
    assert refused.exit_code == 1 and "bob has no prediction" in refused.stdout
    added = runner.invoke(app, [*add, "--owner", "alice", "--status", "refuted"])
    assert added.exit_code == 0, added.output
    shown = runner.invoke(app, [*base, "verification", "compare", "tg", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert (report["verified"], report["inside"]) == (1, 0)
    (row,) = report["verifications"]
    assert (row["measured"], row["predicted"], row["inside"], row["prediction_id"]) == (
        187.5,
        170.0,
        False,
        prediction,
    )
