"""The Grafana dashboard and provisioning files: structure, coverage and valid PromQL.

Every panel query and variable query is made concrete (template variables replaced by values)
and handed to ``promtool check rules`` as a recording rule, which parses it as PromQL.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from monitoring_support import (
    DASHBOARD,
    GRAFANA_PROVISIONING,
    allowed_metric_names,
    explain,
    load_yaml,
    promql_metric_names,
    require_tool,
    run,
)

DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
VARIABLE_VALUES = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "6h",
    "colour": "blue|green",
    "instance": "127.0.0.1:8001|127.0.0.1:8002",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


@pytest.fixture(scope="module")
def promtool() -> str:
    """Path of promtool (Debian package prometheus); fails when it is missing."""
    return require_tool("promtool", package="prometheus")


@pytest.fixture(scope="module")
def dashboard() -> dict:
    """The dashboard JSON."""
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def concrete(query: str) -> str:
    """The query with every template variable replaced by a concrete value."""

    def value(match: re.Match) -> str:
        name = next(group for group in match.groups() if group)
        if name not in VARIABLE_VALUES:
            raise AssertionError(f"unknown template variable ${name} in {query}")
        return VARIABLE_VALUES[name]

    return VARIABLE.sub(value, query)


def queries(dashboard: dict) -> dict[str, str]:
    """Every PromQL query of the dashboard, concrete, by a name saying where it comes from."""
    found = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            found[f"panel_{panel['id']}_{target['refId']}"] = concrete(target["expr"])
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["definition"])
            assert match, f"variable {variable['name']}: expected label_values(selector, label)"
            found[f"variable_{variable['name']}"] = concrete(match.group(1))
    return found


def test_dashboard_header(dashboard):
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["uid"] == "cryoprotect-api"
    assert dashboard["title"]
    assert dashboard["id"] is None


def test_template_variables(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    for name in ("colour", "instance"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"] == DATASOURCE
        assert variables[name]["includeAll"] and variables[name]["multi"]
        assert variables[name]["allValue"] == ".*"


def test_panels_have_unique_ids_a_datasource_and_targets(dashboard):
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels:
        assert panel["title"], panel["id"]
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']} has no targets"
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_panels_fit_the_grid_without_overlapping(dashboard):
    cells = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_queries_select_by_job_colour_and_instance(dashboard):
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for selector in re.findall(r"\{[^{}]*\}", target["expr"]):
                assert 'job="cryoprotect"' in selector, panel["title"]
                assert 'colour=~"$colour"' in selector, panel["title"]
                assert 'instance=~"$instance"' in selector, panel["title"]


def test_dashboard_shows_what_the_service_reports(dashboard):
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    titles = {panel["title"] for panel in dashboard["panels"]}
    for needed in (
        "sum by (route) (rate(cryoprotect_http_requests_total",
        'status=~"5.."',
        "histogram_quantile(0.5, sum by (le) (rate(cryoprotect_http_request_duration_seconds",
        "histogram_quantile(0.9, sum by (le) (rate(cryoprotect_http_request_duration_seconds",
        "histogram_quantile(0.99, sum by (le) (rate(cryoprotect_http_request_duration_seconds",
        "sum by (target, model_version) (rate(cryoprotect_predictions_total",
        "cryoprotect_model_loaded",
        "histogram_quantile(0.95, sum by (operation, le) (rate(cryoprotect_db_query_duration",
        "rate(process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "cryoprotect_disk_free_bytes",
        "time() - cryoprotect_last_backup_timestamp_seconds",
        "time() - cryoprotect_last_health_check_timestamp_seconds",
    ):
        assert needed in exprs, needed
    assert {"Request rate by route", "Error ratio", "Model load status"} <= titles


def test_queries_read_only_known_metrics(dashboard):
    allowed = allowed_metric_names()
    for name, query in queries(dashboard).items():
        unknown = promql_metric_names(query) - allowed
        assert not unknown, f"{name} reads unknown metrics {unknown}"


def test_queries_are_valid_promql(promtool, dashboard, tmp_path):
    rules = [
        {"record": f"dashboard:{name}", "expr": query} for name, query in queries(dashboard).items()
    ]
    assert len(rules) >= 20
    rules_file = tmp_path / "dashboard-queries.yml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8"
    )
    completed = run([promtool, "check", "rules", str(rules_file)])
    assert completed.returncode == 0, explain(completed)
    assert f"SUCCESS: {len(rules)} rules found" in completed.stdout


def test_concrete_replaces_every_variable_form():
    query = 'rate(x{a=~"$colour",b=~"${instance}",c="[[colour]]"}[$__rate_interval])'
    assert concrete(query) == (
        'rate(x{a=~"blue|green",b=~"127.0.0.1:8001|127.0.0.1:8002",c="blue|green"}[5m])'
    )
    with pytest.raises(AssertionError, match="unknown template variable"):
        concrete("x[$unknown]")


def test_provisioning_files():
    datasources = load_yaml(GRAFANA_PROVISIONING / "datasources" / "prometheus.yml")
    assert datasources["apiVersion"] == 1
    (prometheus,) = datasources["datasources"]
    assert prometheus["type"] == "prometheus"
    assert prometheus["isDefault"] is True
    providers = load_yaml(GRAFANA_PROVISIONING / "dashboards" / "cryoprotect.yml")
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
