"""The Prometheus configuration, its rules and their unit tests, checked with promtool.

Besides promtool's own checks: every alert carries the agreed labels and annotations, has a
runbook section, and has unit test cases that expect it to fire and expect it not to fire,
and every expression reads only metrics of the service's metric contract, node_exporter's or
the recording rules'.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from markdown.extensions.toc import slugify
from monitoring_support import (
    PROMETHEUS_CONFIG,
    REPO_ROOT,
    RULE_TESTS_DIR,
    RUNBOOK,
    TARGETS_FILE,
    alert_rules,
    allowed_metric_names,
    explain,
    load_yaml,
    promql_metric_names,
    require_tool,
    rule_files,
    rule_test_files,
    run,
)


@pytest.fixture(scope="module")
def promtool() -> str:
    """Path of promtool (Debian package prometheus); fails when it is missing."""
    return require_tool("promtool", package="prometheus")


def test_prometheus_config_is_valid(promtool):
    completed = run([promtool, "check", "config", "--lint-fatal", str(PROMETHEUS_CONFIG)])
    assert completed.returncode == 0, explain(completed)
    assert f"SUCCESS: {len(rule_files())} rule files found" in completed.stdout


def test_config_scrapes_service_node_exporter_and_sends_to_alertmanager():
    config = load_yaml(PROMETHEUS_CONFIG)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["cryoprotect"]["metrics_path"] == "/metrics"
    assert jobs["cryoprotect"]["file_sd_configs"][0]["files"] == ["targets/cryoprotect.json"]
    assert jobs["node"]["static_configs"][0]["targets"] == ["127.0.0.1:9100"]
    assert config["rule_files"] == ["rules/*.yml"]
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["127.0.0.1:9093"]


def test_service_discovery_gives_blue_and_green_targets(promtool):
    completed = run(
        [
            promtool,
            "check",
            "service-discovery",
            "--timeout=500ms",
            str(PROMETHEUS_CONFIG),
            "cryoprotect",
        ]
    )
    assert completed.returncode == 0, explain(completed)
    targets = {
        (target["labels"]["instance"], target["labels"]["colour"])
        for target in json.loads(completed.stdout)
    }
    assert targets == {("127.0.0.1:8001", "blue"), ("127.0.0.1:8002", "green")}
    assert json.loads(TARGETS_FILE.read_text())  # plain JSON, not empty


def test_rule_files_are_valid(promtool):
    completed = run(
        [promtool, "check", "rules", "--lint=all", "--lint-fatal", *map(str, rule_files())]
    )
    assert completed.returncode == 0, explain(completed)


@pytest.mark.parametrize("test_file", rule_test_files(), ids=lambda path: path.name)
def test_rule_unit_tests_pass(promtool, test_file):
    completed = run([promtool, "test", "rules", str(test_file)])
    assert completed.returncode == 0, explain(completed)
    assert "SUCCESS" in completed.stdout


def test_every_alert_has_severity_team_and_annotations():
    rules = alert_rules()
    assert len(rules) >= 15
    for path, rule in rules:
        where = f"{rule['alert']} in {path.name}"
        assert rule["labels"]["severity"] in {"critical", "warning"}, where
        assert rule["labels"]["team"], where
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), where
        assert annotations["description"].strip(), where
        assert annotations["runbook_url"] == (
            f"docs/operations/runbook.md#{rule['alert'].lower()}"
        ), where


def test_alerts_sharing_a_name_differ_by_severity_only():
    by_name = defaultdict(list)
    for _, rule in alert_rules():
        by_name[rule["alert"]].append(rule)
    for name, rules in by_name.items():
        severities = [rule["labels"]["severity"] for rule in rules]
        assert len(severities) == len(set(severities)), name
        others = [{k: v for k, v in r["labels"].items() if k != "severity"} for r in rules]
        assert all(labels == others[0] for labels in others), name


def test_every_alert_has_a_runbook_section():
    headings = set(re.findall(r"^## (\S+)$", RUNBOOK.read_text(encoding="utf-8"), re.M))
    alert_names = {rule["alert"] for _, rule in alert_rules()}
    assert alert_names <= headings, f"no runbook section for {sorted(alert_names - headings)}"
    assert headings <= alert_names, f"runbook sections without alert: {headings - alert_names}"


def test_every_runbook_url_names_an_anchor_of_the_docs_site():
    """The anchor is the one the documentation site gives the alert's heading."""
    anchors = {slugify(h, "-") for h in re.findall(r"^## (.+)$", RUNBOOK.read_text(), re.M)}
    for path, rule in alert_rules():
        page, anchor = rule["annotations"]["runbook_url"].split("#")
        assert REPO_ROOT / page == RUNBOOK, f"{rule['alert']} in {path.name}"
        assert anchor in anchors, f"{rule['alert']} in {path.name}: no #{anchor} on {page}"


def _unit_test_cases():
    """Yield (test file, rule files it loads, alert_rule_test case) for every alert case."""
    for test_file in rule_test_files():
        spec = load_yaml(test_file)
        loaded = {(RULE_TESTS_DIR / name).resolve() for name in spec["rule_files"]}
        for group in spec["tests"]:
            for case in group.get("alert_rule_test", []):
                yield test_file, loaded, case


def test_every_alert_has_firing_and_quiet_unit_test_cases():
    defined_in = {rule["alert"]: path.resolve() for path, rule in alert_rules()}
    fired = defaultdict(set)  # alertname -> severities expected to fire
    quiet = set()  # alertnames with a case that expects no alert at all
    for test_file, loaded, case in _unit_test_cases():
        name = case["alertname"]
        assert name in defined_in, f"{test_file.name} tests an unknown alert {name}"
        # A case for an alert whose rules are not loaded would pass without testing anything.
        assert defined_in[name] in loaded, f"{test_file.name} does not load the rules of {name}"
        expected = case.get("exp_alerts") or []
        if not expected:
            quiet.add(name)
        for alert in expected:
            fired[name].add(alert["exp_labels"]["severity"])
            assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}
    for _, rule in alert_rules():
        name, severity = rule["alert"], rule["labels"]["severity"]
        assert severity in fired[name], f"no unit test expects {severity} {name} to fire"
        assert name in quiet, f"no unit test expects {name} not to fire"


def test_rule_expressions_read_only_known_metrics():
    allowed = allowed_metric_names()
    for path in rule_files():
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                unknown = promql_metric_names(rule["expr"]) - allowed
                name = rule.get("alert") or rule.get("record")
                assert not unknown, f"{name} in {path.name} reads unknown metrics {unknown}"


def test_metric_name_extraction_sees_through_promql_syntax():
    expr = (
        'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route=~"/x|y"}[5m] offset 1w)))'
        " > 1.5 * on (instance) group_left b and time() - c_seconds > 26 * 3600 unless d"
    )
    assert promql_metric_names(expr) == {"a_bucket", "b", "c_seconds", "d"}
