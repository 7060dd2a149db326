"""The Alertmanager configuration: amtool's checks, routing, on-call shifts and inhibition.

Routing is checked with ``amtool config routes test``. Inhibition is checked against a real
Alertmanager on a free loopback port, started on a copy of the configuration whose receivers
have no integrations, so that nothing is ever sent anywhere.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from monitoring_support import (
    ALERTMANAGER_CONFIG,
    alert_labels,
    explain,
    free_port,
    load_yaml,
    require_tool,
    run,
)

CRITICAL_RECEIVERS = ["escalation", "oncall-primary", "oncall-secondary", "email-critical"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def amtool() -> str:
    """Path of amtool (Debian package prometheus-alertmanager); fails when it is missing."""
    return require_tool("amtool", package="prometheus-alertmanager")


@pytest.fixture(scope="module")
def alertmanager() -> str:
    """Path of the Alertmanager server (Debian: prometheus-alertmanager); fails when missing."""
    return require_tool(
        "prometheus-alertmanager", "alertmanager", package="prometheus-alertmanager"
    )


def test_config_is_valid(amtool):
    completed = run([amtool, "check-config", str(ALERTMANAGER_CONFIG)])
    assert completed.returncode == 0, explain(completed)
    assert "SUCCESS" in completed.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical"], CRITICAL_RECEIVERS),
        (
            ["alertname=CryoprotectDown", "severity=critical", "team=cryoprotect"],
            CRITICAL_RECEIVERS,
        ),
        (["severity=warning"], ["slack-alerts"]),
        (["alertname=NodeCpuHigh", "severity=warning"], ["slack-alerts"]),
        (["severity=info"], ["slack-alerts"]),
        (["alertname=SomethingWithoutSeverity"], ["slack-alerts"]),
    ],
)
def test_routes(amtool, labels, receivers):
    completed = run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"--verify.receivers={','.join(receivers)}",
            *labels,
        ]
    )
    assert completed.returncode == 0, explain(completed)
    assert completed.stdout.strip() == ",".join(receivers)


def test_secrets_are_read_from_files():
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert config["global"]["smtp_auth_password_file"].startswith("/etc/alertmanager/secrets/")
    assert config["global"]["slack_api_url_file"].startswith("/etc/alertmanager/secrets/")
    for forbidden in ("smtp_auth_password:", "slack_api_url:", "api_url:", "hooks.slack.com"):
        assert forbidden not in text


def _minutes(clock: str) -> int:
    """Minutes since midnight of an "HH:MM" time."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _days(spec: str) -> list[str]:
    """The weekdays of a "monday:friday" range or a single "saturday"."""
    first, _, last = spec.partition(":")
    return WEEKDAYS[WEEKDAYS.index(first) : WEEKDAYS.index(last or first) + 1]


def _active(interval_names: list[str], intervals: dict, day: str, minute: int) -> bool:
    """Whether one of the named time intervals covers ``minute`` of ``day``."""
    for name in interval_names:
        for spec in intervals[name]:
            days = [d for entry in spec.get("weekdays", WEEKDAYS) for d in _days(entry)]
            ranges = spec.get("times") or [{"start_time": "00:00", "end_time": "24:00"}]
            in_time = any(
                _minutes(r["start_time"]) <= minute < _minutes(r["end_time"]) for r in ranges
            )
            if day in days and in_time:
                return True
    return False


def test_exactly_one_on_call_person_at_every_moment_of_the_week():
    config = load_yaml(ALERTMANAGER_CONFIG)
    intervals = {entry["name"]: entry["time_intervals"] for entry in config["time_intervals"]}
    locations = {spec.get("location") for specs in intervals.values() for spec in specs}
    assert len(locations) == 1, "all shifts must be in one time zone"
    critical = next(r for r in config["route"]["routes"] if r["receiver"] == "email-critical")
    shifts = {r["receiver"]: r["active_time_intervals"] for r in critical["routes"][:2]}
    assert set(shifts) == {"oncall-primary", "oncall-secondary"}
    assert shifts["oncall-primary"] == ["business-hours"]
    for day in WEEKDAYS:
        for minute in range(0, 24 * 60, 15):
            on_call = [
                who for who, names in shifts.items() if _active(names, intervals, day, minute)
            ]
            assert len(on_call) == 1, f"{day} {minute // 60:02d}:{minute % 60:02d}: {on_call}"


def test_escalation_waits_before_notifying():
    config = load_yaml(ALERTMANAGER_CONFIG)
    first = config["route"]["routes"][0]
    assert first["receiver"] == "escalation"
    assert first["matchers"] == ['severity="critical"']
    assert first["continue"] is True
    assert first["group_wait"] == "30m"


@pytest.fixture(scope="module")
def alertmanager_url(alertmanager, tmp_path_factory) -> Iterator[str]:
    """A real Alertmanager on a free loopback port with the routes and inhibition rules."""
    config = load_yaml(ALERTMANAGER_CONFIG)
    config["receivers"] = [{"name": receiver["name"]} for receiver in config["receivers"]]
    workdir: Path = tmp_path_factory.mktemp("alertmanager")
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = workdir / "alertmanager.log"
    log = log_file.open("w")
    process = subprocess.Popen(
        [
            alertmanager,
            f"--config.file={config_file}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with NO_PROXY.open(f"{url}/-/ready", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Alertmanager did not start:\n{log_file.read_text()}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _post_alerts(url: str, alerts: list[dict[str, str]]) -> None:
    """Send firing alerts with these label sets to the Alertmanager API."""
    body = json.dumps([{"labels": labels} for labels in alerts]).encode()
    request = urllib.request.Request(
        f"{url}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}
    )
    with NO_PROXY.open(request, timeout=5) as response:
        assert response.status == 200


def _alerts(url: str) -> dict[tuple[str, str, str], dict]:
    """The Alertmanager's alerts by (alertname, severity, instance)."""
    with NO_PROXY.open(f"{url}/api/v2/alerts", timeout=5) as response:
        alerts = json.load(response)
    return {
        (a["labels"]["alertname"], a["labels"]["severity"], a["labels"].get("instance", "")): a
        for a in alerts
    }


def test_inhibition_rules(alertmanager_url):
    blue = {"job": "cryoprotect", "instance": "127.0.0.1:8001", "colour": "blue"}
    green = {"job": "cryoprotect", "instance": "127.0.0.1:8002", "colour": "green"}
    disk = {"path": "/var/lib/cryoprotect"}
    _post_alerts(
        alertmanager_url,
        [
            alert_labels("CryoprotectDown", "critical", **blue),
            alert_labels("CryoprotectHighLatency", "warning", **blue),
            alert_labels("CryoprotectLatencyDegraded", "warning", **blue),
            alert_labels("CryoprotectHighErrorRatio", "warning", **blue),
            alert_labels("CryoprotectHighLatency", "warning", **green),
            alert_labels("CryoprotectDatabaseDown", "critical", **green),
            alert_labels("CryoprotectBackupTooOld", "warning", **blue),
            alert_labels("CryoprotectHealthCheckStale", "warning", **blue),
            alert_labels("CryoprotectModelNotLoaded", "critical", target="tg", **green),
            alert_labels("CryoprotectDiskSpaceLow", "critical", **green, **disk),
            alert_labels("CryoprotectDiskSpaceLow", "warning", **green, **disk),
            alert_labels("CryoprotectDiskSpaceLow", "warning", **blue, **disk),
        ],
    )
    alerts = _alerts(alertmanager_url)

    def inhibitors(name, severity, instance):
        """Names of the alerts that inhibit this one."""
        by_fingerprint = {a["fingerprint"]: key[0] for key, a in alerts.items()}
        status = alerts[(name, severity, instance)]["status"]
        assert (status["state"] == "suppressed") == bool(status["inhibitedBy"])
        return {by_fingerprint[f] for f in status["inhibitedBy"]}

    b, g = blue["instance"], green["instance"]
    # The down instance's latency and error alerts, not the other instance's.
    assert inhibitors("CryoprotectHighLatency", "warning", b) == {"CryoprotectDown"}
    assert inhibitors("CryoprotectLatencyDegraded", "warning", b) == {"CryoprotectDown"}
    assert inhibitors("CryoprotectHighErrorRatio", "warning", b) == {"CryoprotectDown"}
    assert inhibitors("CryoprotectHighLatency", "warning", g) == set()
    # Without the database (shared by both colours), backups and health checks cannot run.
    assert inhibitors("CryoprotectBackupTooOld", "warning", b) == {"CryoprotectDatabaseDown"}
    assert inhibitors("CryoprotectHealthCheckStale", "warning", b) == {"CryoprotectDatabaseDown"}
    assert inhibitors("CryoprotectModelNotLoaded", "critical", g) == set()
    # A critical alert hides its own warning on the same instance only.
    assert inhibitors("CryoprotectDiskSpaceLow", "warning", g) == {"CryoprotectDiskSpaceLow"}
    assert inhibitors("CryoprotectDiskSpaceLow", "warning", b) == set()
    assert inhibitors("CryoprotectDiskSpaceLow", "critical", g) == set()
    assert inhibitors("CryoprotectDown", "critical", b) == set()

    receivers = [r["name"] for r in alerts[("CryoprotectDown", "critical", b)]["receivers"]]
    assert receivers == CRITICAL_RECEIVERS
    receivers = [r["name"] for r in alerts[("CryoprotectHighLatency", "warning", g)]["receivers"]]
    assert receivers == ["slack-alerts"]
