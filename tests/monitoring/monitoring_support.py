"""Paths, the metric contract and helpers shared by the monitoring configuration tests.

The checks run the real tools (promtool, amtool, Alertmanager, shellcheck); a missing tool
fails the test with the Debian package that provides it, as CI installs them.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MONITORING_DIR = REPO_ROOT / "monitoring"
PROMETHEUS_DIR = MONITORING_DIR / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
RULE_TESTS_DIR = PROMETHEUS_DIR / "tests"
TARGETS_FILE = PROMETHEUS_DIR / "targets" / "cryoprotect.json"
ALERTMANAGER_CONFIG = MONITORING_DIR / "alertmanager" / "alertmanager.yml"
DASHBOARD = MONITORING_DIR / "grafana" / "cryoprotect-api.json"
GRAFANA_PROVISIONING = MONITORING_DIR / "grafana" / "provisioning"
RUNBOOK = REPO_ROOT / "docs" / "operations" / "runbook.md"
CHECK_HEALTH = REPO_ROOT / "scripts" / "check-health.sh"

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
SERVICE_METRICS = {
    "cryoprotect_http_requests_total",
    "cryoprotect_http_request_duration_seconds",
    "cryoprotect_http_requests_in_progress",
    "cryoprotect_db_query_duration_seconds",
    "cryoprotect_predictions_total",
    "cryoprotect_prediction_errors_total",
    "cryoprotect_model_loaded",
    "cryoprotect_database_up",
    "cryoprotect_disk_free_bytes",
    "cryoprotect_disk_total_bytes",
    "cryoprotect_last_backup_timestamp_seconds",
    "cryoprotect_last_health_check_timestamp_seconds",
    "cryoprotect_build_info",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "python_info",
}
"""The metrics the prediction service exposes (its metric contract)."""
HISTOGRAMS = {"cryoprotect_http_request_duration_seconds", "cryoprotect_db_query_duration_seconds"}
OTHER_METRICS = {
    "up",
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_readonly",
}
"""Series from Prometheus itself (up) and node_exporter that the rules and dashboard use."""

PROMQL_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
}


def require_tool(*names: str, package: str) -> str:
    """Return the path of the first of ``names`` on PATH, or fail naming the Debian package."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"{names[0]} is missing: apt-get install {package}", pytrace=False)


def run(args: list[str], timeout: float = 60, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a command without a shell, capturing its text output; never raise on exit status."""
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def explain(completed: subprocess.CompletedProcess[str]) -> str:
    """A failure message with the command, its exit status and its output."""
    return (
        f"{' '.join(completed.args)} exited {completed.returncode}\n"
        f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    )


def load_yaml(path: Path) -> dict:
    """Parse one YAML file."""
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def rule_files() -> list[Path]:
    """The Prometheus rule files, sorted."""
    return sorted(RULES_DIR.glob("*.yml"))


def rule_test_files() -> list[Path]:
    """The promtool unit test files, sorted."""
    return sorted(RULE_TESTS_DIR.glob("*.yml"))


@cache
def _rules() -> tuple[tuple[Path, dict], ...]:
    """Every rule of every rule file with the file it is in."""
    return tuple(
        (path, rule)
        for path in rule_files()
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
    )


def alert_rules() -> list[tuple[Path, dict]]:
    """Every alerting rule with the file it is in."""
    return [(path, rule) for path, rule in _rules() if "alert" in rule]


def recording_rule_names() -> set[str]:
    """The names of the series the recording rules write."""
    return {rule["record"] for _, rule in _rules() if "record" in rule}


def alert_labels(alertname: str, severity: str, **extra: str) -> dict[str, str]:
    """The labels an alert of the rules would carry: its static labels plus ``extra``."""
    for _, rule in alert_rules():
        if rule["alert"] == alertname and rule["labels"]["severity"] == severity:
            return {"alertname": alertname, **rule["labels"], **extra}
    raise KeyError(f"no {severity} rule for {alertname}")


def allowed_metric_names() -> set[str]:
    """Every series name an expression may read: the contract, node_exporter, up, recordings."""
    names = set(SERVICE_METRICS) | OTHER_METRICS | recording_rule_names()
    names |= {name + suffix for name in HISTOGRAMS for suffix in HISTOGRAM_SUFFIXES}
    return names


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions and label names excluded)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group()
        called = re.match(r"\s*\(", text[match.end() :])
        if not called and name.lower() not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the time of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
