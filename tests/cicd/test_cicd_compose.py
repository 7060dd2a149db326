"""compose.yaml and deploy/compose/: Compose's own validation, secrets, health checks, and the
nginx and Prometheus configurations the stack mounts (checked with nginx -t and promtool).

`docker compose config` needs no Docker engine; the checks that would (starting the stack)
are left to a Docker host.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap

import yaml
from cicd_support import (
    COMPOSE_DIR,
    COMPOSE_FILE,
    REPO,
    app_services,
    compose,
    compose_config,
    load_yaml,
    require_tool,
    run,
)

MONITORING = REPO / "monitoring"
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|DATABASE_URL)", re.I)


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def _secret_targets(service: dict) -> dict[str, str]:
    """Return {secret name: path in the container} for a service's secrets."""
    targets = {}
    for entry in service.get("secrets", []):
        if isinstance(entry, str):
            targets[entry] = f"/run/secrets/{entry}"
        else:
            target = entry.get("target", entry["source"])
            targets[entry["source"]] = (
                target if target.startswith("/") else f"/run/secrets/{target}"
            )
    return targets


MOUNT = re.compile(r"^(?P<source>(?:\$\{[^}]*\}|[^:])+):(?P<target>[^:]+)(?::(?P<mode>[\w,]+))?$")
"""A short-syntax volume, SOURCE:TARGET[:MODE]; SOURCE may hold ${VAR:-default}."""


def _mounts(service: dict) -> dict[str, str]:
    """Return {container path: host source} of a service's volumes (short syntax)."""
    mounts = {}
    for volume in service.get("volumes", []):
        match = MOUNT.match(volume)
        assert match, f"unexpected volume syntax: {volume}"
        mounts[match["target"]] = match["source"]
    return mounts


def test_docker_compose_config_accepts_the_file():
    result = compose_config(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_rejects_a_broken_file(tmp_path):
    """The validator really checks: an unknown key and a wrong depends_on condition fail."""
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        textwrap.dedent(
            """\
            services:
              app:
                image: busybox
                healthcheck:
                  test: ["CMD", "true"]
                  every: 5s
                depends_on:
                  db:
                    condition: service_finished
              db:
                image: busybox
            """
        )
    )
    result = compose_config(broken)
    assert result.returncode != 0
    assert "every" in result.stderr or "condition" in result.stderr, result.stderr


def test_the_whole_stack_is_there():
    services = set(compose()["services"])
    assert {
        "migrate",
        "app-blue",
        "app-green",
        "nginx",
        "postgres",
        "prometheus",
        "alertmanager",
        "grafana",
    } <= services


def test_app_services_are_healthy_production_services_after_migrate():
    document = compose()
    apps = app_services(document)
    assert set(apps) == {"app-blue", "app-green"}
    for name, service in apps.items():
        test = " ".join(service["healthcheck"]["test"])
        assert "/health/ready" in test, name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        environment = _environment(service)
        assert environment["CRYOPROTECT_ENV"] == "production", name
        assert environment["CRYOPROTECT_DATABASE_URL_FILE"] == "/run/secrets/database_url"
        assert "CRYOPROTECT_DATABASE_URL" not in environment
        assert _secret_targets(service) == {"database_url": "/run/secrets/database_url"}
        assert service["command"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
        assert service.get("read_only") is True and "ALL" in service.get("cap_drop", [])
    migrate = document["services"]["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert "healthcheck" not in migrate, "a one-shot job has no health check"
    assert _environment(migrate)["CRYOPROTECT_DATABASE_URL_FILE"] == "/run/secrets/database_url"


def test_every_long_running_service_but_node_exporter_has_a_healthcheck():
    for name, service in compose()["services"].items():
        if name in {"migrate", "node-exporter"}:
            continue
        assert "healthcheck" in service, name


def test_every_secret_is_a_file_under_secrets():
    document = compose()
    for name, secret in document["secrets"].items():
        assert set(secret) == {"file"}, f"{name}: file secrets only"
        assert secret["file"] == f"./secrets/{name}", name
    used = {name for service in document["services"].values() for name in _secret_targets(service)}
    assert used == set(document["secrets"]), "every secret is used, every used secret declared"
    text = COMPOSE_FILE.read_text()
    assert "created by the operator" in text and "never committed" in text


def test_no_plaintext_secret_in_any_environment():
    for name, service in compose()["services"].items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert key.endswith("_FILE"), f"{name}: {key} must name a file, not hold a value"
                assert value.startswith("/run/secrets/"), f"{name}: {key}={value}"
            assert not re.search(r"://[^/\s:@]+:[^@\s]+@", value), (
                f"{name}: {key} holds credentials"
            )


def test_postgres_and_grafana_read_their_passwords_from_secrets():
    services = compose()["services"]
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert _environment(postgres)["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    grafana = _environment(services["grafana"])
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"


def test_alertmanager_secrets_land_where_its_config_reads_them():
    config = load_yaml(MONITORING / "alertmanager" / "alertmanager.yml")["global"]
    wanted = {config["smtp_auth_password_file"], config["slack_api_url_file"]}
    service = compose()["services"]["alertmanager"]
    assert set(_secret_targets(service).values()) == wanted
    mounts = _mounts(service)
    assert (
        mounts["/etc/alertmanager/alertmanager.yml"] == "./monitoring/alertmanager/alertmanager.yml"
    )


def test_prometheus_mounts_monitoring_with_the_compose_files_over_it():
    mounts = _mounts(compose()["services"]["prometheus"])
    assert mounts["/etc/prometheus"] == "./monitoring/prometheus"
    assert mounts["/etc/prometheus/prometheus.yml"] == "./deploy/compose/prometheus.yml"
    assert mounts["/etc/prometheus/targets/cryoprotect.json"] == (
        "./deploy/compose/prometheus-targets.json"
    )
    targets = json.loads((COMPOSE_DIR / "prometheus-targets.json").read_text())
    assert {(t["labels"]["colour"], tuple(t["targets"])) for t in targets} == {
        ("blue", ("app-blue:8000",)),
        ("green", ("app-green:8000",)),
    }


def test_grafana_provisioning_mounts():
    mounts = _mounts(compose()["services"]["grafana"])
    assert mounts["/etc/grafana/provisioning"] == "./monitoring/grafana/provisioning"
    provider = load_yaml(MONITORING / "grafana" / "provisioning" / "dashboards" / "cryoprotect.yml")
    folder = provider["providers"][0]["options"]["path"]
    assert mounts[f"{folder}/cryoprotect-api.json"] == "./monitoring/grafana/cryoprotect-api.json"


def test_mounted_files_exist():
    for name, service in compose()["services"].items():
        for target, source in _mounts(service).items():
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source} -> {target}"


def test_compose_prometheus_config_matches_the_monitoring_one():
    """Same rules, jobs and intervals as monitoring/prometheus/prometheus.yml; other addresses."""
    ours = load_yaml(COMPOSE_DIR / "prometheus.yml")
    theirs = load_yaml(MONITORING / "prometheus" / "prometheus.yml")
    assert ours["global"] == theirs["global"]
    assert ours["rule_files"] == theirs["rule_files"]
    assert [job["job_name"] for job in ours["scrape_configs"]] == [
        job["job_name"] for job in theirs["scrape_configs"]
    ]
    ours_sd = ours["scrape_configs"][0]["file_sd_configs"]
    assert ours_sd == theirs["scrape_configs"][0]["file_sd_configs"]
    (alertmanagers,) = ours["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert "alertmanager" in compose()["services"]


def test_compose_prometheus_config_passes_promtool(tmp_path):
    """Lay the compose files over monitoring/prometheus/ as the container sees it; check it."""
    promtool = require_tool("promtool", "apt-get install prometheus")
    etc = tmp_path / "prometheus"
    shutil.copytree(MONITORING / "prometheus", etc)
    shutil.copy(COMPOSE_DIR / "prometheus.yml", etc / "prometheus.yml")
    shutil.copy(COMPOSE_DIR / "prometheus-targets.json", etc / "targets" / "cryoprotect.json")
    result = run([promtool, "check", "config", str(etc / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_nginx_fronts_the_live_colour():
    service = compose()["services"]["nginx"]
    mounts = _mounts(service)
    assert mounts["/etc/nginx/conf.d/default.conf"] == "./deploy/compose/nginx.conf"
    assert (
        mounts["/etc/nginx/cryoprotect"] == "${CRYOPROTECT_NGINX_LIVE_DIR:-./deploy/compose/nginx}"
    )
    assert {"app-blue", "app-green"} <= set(service["depends_on"])
    upstream = (COMPOSE_DIR / "nginx" / "upstream.conf").read_text()
    servers = re.findall(r"^\s*server\s+(\S+);", upstream, re.M)
    assert servers == ["app-blue:8000"], "exactly one live colour"
    conf = (COMPOSE_DIR / "nginx.conf").read_text()
    assert "include /etc/nginx/cryoprotect/upstream.conf;" in conf
    assert re.search(r"location = /metrics \{\s*deny all;", conf)


def test_nginx_accepts_the_config(tmp_path):
    """nginx -t on the compose site and its live-colour file, as the container reads them."""
    nginx = require_tool("nginx", "apt-get install nginx")
    live = tmp_path / "live"
    live.mkdir()
    # Outside the compose network the service names do not resolve: same syntax, local address.
    upstream = (COMPOSE_DIR / "nginx" / "upstream.conf").read_text()
    (live / "upstream.conf").write_text(re.sub(r"app-(blue|green)", "127.0.0.1", upstream))
    site = (COMPOSE_DIR / "nginx.conf").read_text().replace("/etc/nginx/cryoprotect", str(live))
    (tmp_path / "default.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(
        textwrap.dedent(
            f"""\
            pid {tmp_path}/nginx.pid;
            error_log stderr;
            events {{}}
            http {{
                client_body_temp_path {tmp_path}/body;
                proxy_temp_path {tmp_path}/proxy;
                fastcgi_temp_path {tmp_path}/fastcgi;
                uwsgi_temp_path {tmp_path}/uwsgi;
                scgi_temp_path {tmp_path}/scgi;
                access_log off;
                include {tmp_path}/default.conf;
            }}
            """
        )
    )
    result = run([nginx, "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(main)])
    assert result.returncode == 0, result.stderr


def test_published_ports():
    services = compose()["services"]
    assert services["nginx"]["ports"] == ["${CRYOPROTECT_HTTP_PORT:-8080}:80"]
    for name in ("prometheus", "alertmanager", "grafana"):
        for port in services[name].get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port} only on the host's loopback"
    for name in ("app-blue", "app-green", "postgres", "migrate"):
        assert "ports" not in services[name], f"{name} is reached only through the network"


def test_compose_file_is_plain_yaml_with_anchors_resolved():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert raw["name"] == "cryoprotect"
    assert "x-app" in raw, "shared settings live in one extension field"


def test_scheduled_jobs_share_what_the_colours_read():
    """Backup/prune and health run on a schedule, writing where readiness and /metrics read."""
    document = compose()
    services = document["services"]
    apps = app_services(document)
    for job in ("backup", "health"):
        service = services[f"scheduled-{job}"]
        assert service["command"] == ["jobs", "run", "--only", job]
        assert service["restart"] == "unless-stopped"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["healthcheck"]["test"] == [
            "CMD",
            "cryoprotect",
            "jobs",
            "status",
            "--only",
            job,
        ]
        assert service.get("read_only") is True and "ALL" in service.get("cap_drop", [])
        assert _secret_targets(service) == {"database_url": "/run/secrets/database_url"}
        environment = _environment(service)
        assert environment["CRYOPROTECT_ENV"] == "production"
        assert "ports" not in service
        for app_name, app in apps.items():
            app_env = _environment(app)
            # same database, same store, same reports folder: the colours see every run
            for key in ("CRYOPROTECT_DATABASE_URL_FILE", "CRYOPROTECT_BACKUP_DIR"):
                assert environment[key] == app_env[key], (job, app_name, key)
            assert set(service["volumes"]) == set(app["volumes"]), (job, app_name)
        assert "backups:/app/data/backups" in service["volumes"]
        assert "reports:/app/reports" in service["volumes"]
        hours = environment[f"CRYOPROTECT_SCHEDULE_{job.upper()}_HOURS"]
        assert hours == f"${{CRYOPROTECT_SCHEDULE_{job.upper()}_HOURS:-24}}"
