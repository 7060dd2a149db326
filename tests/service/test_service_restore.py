"""While a restore holds the database the service answers 503 naming it, readiness too
(within a few of its restore checks, made every second in the background)."""

from __future__ import annotations

import shutil
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from cryoprotect.backup import postgres_backend, sqlite_backend
from cryoprotect.db.engine import make_engine
from cryoprotect.service.app import create_app
from cryoprotect.service.context import RESTORE_CHECK_SECONDS

BACKUP = "20261201T101500000000Z"
REQUEST = {"target": "tg", "smiles": "OCC(O)CO"}


def _polled(ask, done):
    """Return ``ask()`` once ``done`` holds for it, or its last answer after a few of the
    service's restore checks (made every RESTORE_CHECK_SECONDS in the background)."""
    deadline = time.monotonic() + 10 * RESTORE_CHECK_SECONDS
    while not done(answer := ask()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return answer


def _answers(client: TestClient) -> tuple[int, int]:
    predicted = client.post("/predict", json=REQUEST).status_code
    return predicted, client.get("/health/ready").status_code


def _check_held(client: TestClient, held) -> None:
    assert _polled(lambda: _answers(client), lambda a: a == (200, 200)) == (200, 200)
    with held:
        answer = _polled(
            lambda: client.post("/predict", json=REQUEST), lambda a: a.status_code == 503
        )
        assert answer.status_code == 503
        assert answer.json()["detail"].startswith(f"restore of backup {BACKUP} in progress")
        ready = client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "fail"
        database = ready.json()["checks"]["database"]
        assert database["status"] == "fail"
        assert database["detail"].startswith(f"restore of backup {BACKUP} in progress")
    assert _polled(lambda: _answers(client), lambda a: a == (200, 200)) == (200, 200)


def test_a_restore_of_the_sqlite_database_makes_the_service_answer_503(
    service_settings, reference_database, tmp_path
):
    copy = tmp_path / "lab.db"  # the reference database is shared: hold a copy of it
    shutil.copy(make_url(reference_database).database, copy)
    settings = service_settings.model_copy(update={"database_url": f"sqlite:///{copy}"})
    engine = make_engine(settings.resolved_database_url)
    with TestClient(create_app(settings)) as client:
        _check_held(client, sqlite_backend.hold(engine, BACKUP))
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_restore_of_the_postgresql_database_makes_the_service_answer_503(
    service_settings, engine
):
    own = make_engine(engine.url.render_as_string(hide_password=False))
    with TestClient(create_app(service_settings, engine=own)) as client:
        _check_held(client, postgres_backend.hold(engine, BACKUP))
