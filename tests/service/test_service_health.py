"""Health endpoints: liveness, readiness with its checks, and the database health summary."""

from __future__ import annotations

import copy
import json
import time

from fastapi.testclient import TestClient

from conftest import wait_for_readings
from cryoprotect.backup.operations import create_backup
from cryoprotect.backup.store import BackupStore
from cryoprotect.db.engine import make_engine
from cryoprotect.service.app import create_app


def test_liveness(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_ready_without_a_backup_is_degraded_but_serving(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    statuses = {name: check["status"] for name, check in body["checks"].items()}
    assert statuses == {
        "database": "ok",
        "models": "ok",
        "disk": "ok",
        "backup_storage": "ok",
        "last_backup": "warn",
        "last_health_check": "ok",
    }
    assert body["checks"]["last_backup"]["detail"] == "no backup yet"


def test_ready_is_ok_with_a_fresh_backup(service_settings):
    store = BackupStore(service_settings.resolved_backup_dir)
    create_backup(make_engine(service_settings.resolved_database_url), store)
    with TestClient(create_app(service_settings)) as started:
        wait_for_readings(started)
        body = started.get("/health/ready").json()
    assert body["status"] == "ok", body


def test_stale_reports_warn_with_their_age(service_settings, tmp_path):
    latest = service_settings.root_dir / "reports" / "health" / "latest.json"
    settings = service_settings.model_copy(update={"ready_max_health_age_hours": 0.001})
    time.sleep(4)  # older than 3.6 s
    with TestClient(create_app(settings)) as started:
        wait_for_readings(started)
        check = started.get("/health/ready").json()["checks"]["last_health_check"]
    assert latest.is_file()
    assert check["status"] == "warn" and "limit 0.001 h" in check["detail"]


def test_an_unreachable_database_fails_readiness(service_settings, tmp_path):
    closed_port = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    settings = service_settings.model_copy(update={"database_url": closed_port})
    with TestClient(create_app(settings)) as started:
        wait_for_readings(started)
        response = started.get("/health/ready")
        metrics = started.get("/metrics").text
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["checks"]["database"]["status"] == "fail"
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert "cryoprotect_database_up 0.0" in metrics


def test_missing_models_fail_readiness_and_predictions_say_why(service_settings, tmp_path):
    settings = service_settings.model_copy(update={"models_dir": tmp_path / "empty-models"})
    with TestClient(create_app(settings)) as started:
        wait_for_readings(started)
        ready = started.get("/health/ready")
        result = started.post("/predict", json={"target": "tg", "smiles": "OCCO"})
        metrics = started.get("/metrics").text
    assert ready.status_code == 503 and ready.json()["checks"]["models"]["status"] == "fail"
    (prediction,) = result.json()["predictions"]
    assert prediction["prediction"] is None
    assert "train one with 'cryoprotect train tg'" in prediction["error"]
    assert 'cryoprotect_model_loaded{model_version="none",target="tg"} 0.0' in metrics
    assert 'cryoprotect_prediction_errors_total{category="no_model",target="tg"} 1.0' in metrics


def test_an_unwritable_backup_store_warns(service_settings, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    settings = service_settings.model_copy(update={"backup_dir": str(blocked / "backups")})
    with TestClient(create_app(settings)) as started:
        wait_for_readings(started)
        body = started.get("/health/ready").json()
    assert body["checks"]["backup_storage"]["status"] == "warn"
    assert "cannot write backups" in body["checks"]["backup_storage"]["detail"]


def test_health_db_summarises_the_latest_report(client):
    body = client.get("/health/db").json()
    assert body["status"] == "ok"
    assert body["summary"]["checks"] > 10 and body["failed_checks"] == []
    assert 0 <= body["age_seconds"] < 3600


def _write_report(folder, name: str, report: dict) -> None:
    (folder / name).write_text(json.dumps(report))


def test_health_db_lists_failed_checks_and_answers_503_on_a_critical_one(service_settings):
    folder = service_settings.root_dir / "reports" / "health"
    real = json.loads((folder / "latest.json").read_text())
    # A made-up failing report about the service's own database, written as the newest.
    failing = copy.deepcopy(real)
    failing["summary"] |= {"created": "2999-01-01T00:00:00+00:00", "healthy": False}
    failing["checks"][0] |= {"status": "fail", "severity": "critical", "message": "made up"}
    failing["checks"][1] |= {"status": "error", "severity": "warning", "message": "made up too"}
    _write_report(folder, "health-29990101T000000Z.json", failing)
    # A newer healthy report about another database, in the same folder: not ours.
    other = copy.deepcopy(real)
    other["summary"] |= {"database": "postgresql+psycopg://x:***@elsewhere/db"}
    _write_report(folder, "latest.json", other)
    try:
        with TestClient(create_app(service_settings)) as started:
            wait_for_readings(started)
            response = started.get("/health/db")
    finally:
        _write_report(folder, "latest.json", real)
        (folder / "health-29990101T000000Z.json").unlink()
    body = response.json()
    assert response.status_code == 503 and body["status"] == "fail"
    assert body["database"] == real["summary"]["database"]
    assert [(c["status"], c["severity"]) for c in body["failed_checks"]] == [
        ("fail", "critical"),
        ("error", "warning"),
    ]
    assert body["failed_checks"][0]["name"] == real["checks"][0]["name"]


def test_health_db_is_unknown_without_a_report_about_this_database(service_settings, tmp_path):
    settings = service_settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'other.db'}"}
    )
    with TestClient(create_app(settings)) as started:
        wait_for_readings(started)
        response = started.get("/health/db")
        ready = started.get("/health/ready").json()
    assert response.status_code == 200 and response.json()["status"] == "unknown"
    assert ready["checks"]["last_health_check"]["detail"] == "no health check yet"
