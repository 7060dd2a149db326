"""The log shipping examples (Promtail, Filebeat): valid YAML that reads the service's JSON keys.

Neither shipper runs here; these checks only keep the examples in step with the log format.
"""

from __future__ import annotations

from monitoring_support import MONITORING_DIR, load_yaml

LOG_KEYS = {
    "timestamp",
    "level",
    "event",
    "request_id",
    "route",
    "status",
    "latency_ms",
    "error_category",
}


def test_promtail_example_parses_every_key_with_a_json_stage():
    config = load_yaml(MONITORING_DIR / "logging" / "promtail.yml")
    (job,) = config["scrape_configs"]
    stages = {name: spec for stage in job["pipeline_stages"] for name, spec in stage.items()}
    assert set(stages["json"]["expressions"]) == LOG_KEYS
    # Labels stay few and bounded: never the request id or the latency.
    assert set(stages["labels"]) == {"level", "route", "error_category"}
    assert stages["timestamp"]["source"] == "timestamp"
    paths = [target["labels"]["__path__"] for target in job["static_configs"]]
    assert all(path.endswith("/service.log") for path in paths)


def test_filebeat_example_uses_the_ndjson_parser():
    config = load_yaml(MONITORING_DIR / "logging" / "filebeat.yml")
    (source,) = config["filebeat.inputs"]
    assert source["type"] == "filestream"
    (parser,) = source["parsers"]
    assert parser["ndjson"]["target"] == "cryoprotect"
    timestamp = next(p["timestamp"] for p in config["processors"] if "timestamp" in p)
    assert timestamp["field"] == "cryoprotect.timestamp"


def test_examples_say_they_are_examples():
    for name in ("promtail.yml", "filebeat.yml"):
        text = (MONITORING_DIR / "logging" / name).read_text(encoding="utf-8")
        assert text.startswith("# EXAMPLE, not run"), name
