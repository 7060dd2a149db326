"""Metrics change with requests; every log line is JSON carrying the request id."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from cryoprotect.logs import configure_logging


def _samples(client) -> dict[tuple, float]:
    text = client.get("/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_and_prediction_metrics_count_what_happened(client):
    before = _samples(client)
    for _ in range(3):
        client.post("/predict", json={"target": "tg", "smiles": "OCCO"})
    client.post("/predict", json={"target": "tg", "smiles": ""})
    client.get("/no-such-page")
    after = _samples(client)
    version = client.get("/models").json()[0]["version"]
    route = {"method": "POST", "route": "/predict"}

    def grew(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("cryoprotect_http_requests_total", status="200", **route) == 3
    assert grew("cryoprotect_http_requests_total", status="422", **route) == 1
    assert grew("cryoprotect_http_requests_total", method="GET", route="unmatched", status="404")
    assert grew("cryoprotect_http_request_duration_seconds_count", **route) == 4
    assert grew("cryoprotect_predictions_total", target="tg", model_version=version) == 3
    assert _value(after, "cryoprotect_model_loaded", target="tg", model_version=version) == 1
    assert _value(after, "cryoprotect_build_info", version="0.1.0") == 1


def test_state_gauges_and_process_metrics_are_exposed(client):
    client.get("/health/ready")  # runs a query
    samples = _samples(client)
    names = {name for name, _ in samples}
    assert _value(samples, "cryoprotect_database_up") == 1
    assert "cryoprotect_last_health_check_timestamp_seconds" in names
    assert "cryoprotect_last_backup_timestamp_seconds" not in names  # none made yet
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total"} <= names
    assert any(
        name == "cryoprotect_db_query_duration_seconds_count"
        and dict(labels)["operation"] == "select"
        for name, labels in samples
    )
    free = [v for (n, _), v in samples.items() if n == "cryoprotect_disk_free_bytes"]
    total = [v for (n, _), v in samples.items() if n == "cryoprotect_disk_total_bytes"]
    assert free and all(0 < f <= t for f, t in zip(free, total, strict=True))


def test_every_log_line_is_json_with_the_request_id(client, capsys):
    configure_logging("INFO", "json", stream="stdout")
    try:
        capsys.readouterr()
        response = client.post(
            "/predict",
            json={"target": "tg", "smiles": "C1CC(xx"},
            headers={"X-Request-ID": "lab-42"},
        )
        client.post("/predict", json={"target": "tg", "smiles": "OCCO"})
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finally:
        configure_logging("INFO", "console")
    assert response.headers["x-request-id"] == "lab-42"
    first, second = lines
    assert first["request_id"] == "lab-42"
    assert {k: first[k] for k in ("event", "route", "status", "error_category", "level")} == {
        "event": "request",
        "route": "/predict",
        "status": 422,
        "error_category": "validation",
        "level": "info",
    }
    assert first["latency_ms"] > 0 and first["timestamp"].endswith("Z")
    assert second["request_id"] not in ("lab-42", None) and second["error_category"] is None


def test_an_unsafe_request_id_is_replaced(client):
    response = client.get("/health", headers={"X-Request-ID": "bad id\nwith newline"})
    assert response.headers["x-request-id"] != "bad id\nwith newline"
    assert len(response.headers["x-request-id"]) == 32


def test_log_files_rotate_and_keep_the_configured_number(tmp_path):
    import structlog

    path = tmp_path / "logs" / "service.log"
    configure_logging("INFO", "json", file=path, max_bytes=2048, backups=2)
    try:
        log = structlog.get_logger("test")
        for i in range(200):
            log.info("filler", i=i, text="x" * 40)
    finally:
        configure_logging("INFO", "console")
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["service.log", "service.log.1", "service.log.2"]
    for name in files:
        for line in (path.parent / name).read_text().splitlines():
            assert json.loads(line)["event"] == "filler"
    assert path.stat().st_size <= 2048


def test_an_unexpected_error_is_one_json_line_with_its_traceback_and_a_json_500(client, capsys):
    def broken() -> dict:
        raise RuntimeError("made-up fault")

    client.app.add_api_route("/made-up-fault", broken)  # a route added by this test only
    configure_logging("INFO", "json", stream="stdout", everything=True)
    try:
        capsys.readouterr()
        response = client.get("/made-up-fault", headers={"X-Request-ID": "fault-1"})
        lines = capsys.readouterr().out.splitlines()
    finally:
        configure_logging("INFO", "console")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "request_id": "fault-1"}
    records = [json.loads(line) for line in lines]  # every line is JSON
    (error,) = [r for r in records if r["event"] == "unhandled error"]
    assert error["request_id"] == "fault-1" and error["level"] == "error"
    assert "Traceback" in error["exception"] and "made-up fault" in error["exception"]
    assert [r["status"] for r in records if r["event"] == "request"] == [500]
