"""The service records predictions for the user a request acts for, on SQLite and PostgreSQL.

The service trusts the header ``X-Forwarded-User`` (as an authenticating proxy would set
it); the database is new per test, with the made-up users alice and bob. The Tg and IRI
models of the trained test project are registered in it; viability's is left unregistered.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cryoprotect.config import Settings
from cryoprotect.db.access import SERVICE_ROLE, user_session
from cryoprotect.db.model_versions import record_model_version
from cryoprotect.db.schema import Prediction
from cryoprotect.models import registry
from cryoprotect.service.app import create_app

HEADER = "X-Forwarded-User"
GLYCEROL = "OCC(O)CO"
VIABILITY = {
    "target": "viability",
    "components": [{"molecule": "glycerol", "amount": 10, "unit": "%v/v"}],
}


@pytest.fixture
def recording(two_users, trained_project, tmp_path):
    """A started service trusting ``X-Forwarded-User``, on ``two_users``' database."""
    engine, ids = two_users
    for name in ("tg", "iri"):
        version = registry.production_version(trained_project / "models", name)
        record_model_version(engine, name, version, "models", "made-up-hash", {})
    settings = Settings(
        root_dir=trained_project,
        database_url=engine.url.render_as_string(hide_password=False),
        backup_dir=str(tmp_path / "backups"),
        service_workers=1,
        ready_check_interval=0.2,
        service_user_header=HEADER,
    )
    with TestClient(create_app(settings)) as client:
        yield client, engine, ids


def _predictions(engine) -> int:
    with user_session(engine, None, SERVICE_ROLE) as session:
        return session.scalar(select(func.count()).select_from(Prediction))


def test_a_request_acting_for_a_user_is_recorded_for_that_user(recording):
    client, engine, ids = recording
    body = {"targets": ["tg", "iri"], "smiles": "glycerol", "concentration_mM": 50}
    answer = client.post("/predict", json=body, headers={HEADER: "alice"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded_for"] == "alice"
    tg, iri = answer.json()["predictions"]
    with user_session(engine, ids["alice"]) as session:
        rows = {p.id: p for p in session.scalars(select(Prediction))}
    assert set(rows) == {tg["prediction_id"], iri["prediction_id"]}
    recorded = rows[iri["prediction_id"]]
    assert recorded.owner_id == ids["alice"] and recorded.value == iri["prediction"]
    assert (recorded.lower, recorded.upper, recorded.in_domain) == (
        iri["lower"],
        iri["upper"],
        iri["in_domain"],
    )
    assert recorded.inputs == {"smiles": "glycerol", "concentration_mM": 50}
    assert recorded.concentration == 50 and recorded.confidence == 0.9
    with user_session(engine, ids["bob"]) as session:
        assert session.scalars(select(Prediction.id)).all() == []

    plain = client.post("/predict", json={"target": "tg", "smiles": GLYCEROL}).json()
    assert plain["recorded_for"] is None and plain["predictions"][0]["prediction_id"] is None
    assert _predictions(engine) == 2

    unknown = client.post(
        "/predict", json={"target": "tg", "smiles": GLYCEROL}, headers={HEADER: "mallory"}
    )
    assert unknown.status_code == 403 and "no user 'mallory'" in unknown.json()["detail"]
    both = {"items": [{"target": "tg", "smiles": GLYCEROL}, VIABILITY]}
    unregistered = client.post("/predict", json=both, headers={HEADER: "bob"})
    assert unregistered.status_code == 409, unregistered.text
    assert "viability" in unregistered.json()["detail"]
    assert _predictions(engine) == 2  # neither request recorded anything


def test_without_the_setting_the_header_is_ignored(client):
    answer = client.post(
        "/predict", json={"target": "tg", "smiles": GLYCEROL}, headers={HEADER: "alice"}
    )
    assert answer.status_code == 200
    assert answer.json()["recorded_for"] is None
