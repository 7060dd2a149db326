"""The real server: ``cryoprotect serve`` under uvicorn, scraped by a real Prometheus.

Prometheus is Debian's ``prometheus`` package (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from live_server import free_port, wait_until

pytestmark = pytest.mark.slow
CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")


def _get(url: str, data: bytes | None = None, timeout: float = 5.0) -> dict:
    headers = {"content-type": "application/json"} if data else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


@pytest.fixture
def server(service_settings, tmp_path):
    """``cryoprotect serve`` on a free loopback port; yields its base URL and log file."""
    port = free_port()
    log_file = tmp_path / "logs" / "service.log"
    env = os.environ | {
        "CRYOPROTECT_ROOT_DIR": str(service_settings.root_dir),
        "CRYOPROTECT_DATABASE_URL": service_settings.database_url,
        "CRYOPROTECT_BACKUP_DIR": service_settings.backup_dir,
        "CRYOPROTECT_LOG_FILE": str(log_file),
    }
    command = [CRYOPROTECT, "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _get(f"{base}/health")["status"] == "ok", 60, "the service to start")
        yield base, process, log_file
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


def test_serve_answers_logs_to_its_file_and_stops_on_sigterm(server):
    base, process, log_file = server
    body = json.dumps({"target": "tg", "smiles": "OCC(O)CO"}).encode()
    result = _get(f"{base}/predict", data=body)
    assert result["predictions"][0]["error"] is None
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises it when done
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    requests = [line for line in lines if line["event"] == "request"]
    assert (
        requests[-1]["route"] == "/predict" and requests[-1]["request_id"] == result["request_id"]
    )
    assert any(line["event"] == "service ready" for line in lines)
    output = process.stdout.read()
    assert "Application shutdown complete" in output  # graceful: requests finished first
    assert all(json.loads(line) for line in output.splitlines() if line.startswith("{"))


def test_serve_refuses_a_port_in_use(service_settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = os.environ | {"CRYOPROTECT_ROOT_DIR": str(service_settings.root_dir)}
        done = subprocess.run(
            [CRYOPROTECT, "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr + done.stdout


def test_a_real_prometheus_scrapes_the_service(server, tmp_path):
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is missing: apt-get install prometheus"
    base, _, _ = server
    target = urllib.parse.urlsplit(base).netloc
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: cryoprotect\n"
        f"    static_configs: [{{targets: ['{target}'], labels: {{colour: blue}}}}]\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api/v1/query?query="
    try:
        body = json.dumps({"target": "tg", "smiles": "OCC(O)CO"}).encode()
        for _ in range(3):
            _get(f"{base}/predict", data=body)

        def predictions():
            query = urllib.parse.quote('sum(cryoprotect_predictions_total{job="cryoprotect"})')
            result = _get(api + query)["data"]["result"]
            return result and float(result[0]["value"][1]) >= 3 and result

        wait_until(predictions, 60, "Prometheus to scrape the prediction count")
        up = _get(api + urllib.parse.quote('up{job="cryoprotect",colour="blue"}'))
        assert up["data"]["result"][0]["value"][1] == "1"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_check_health_script_reads_the_real_service(server):
    base, _, _ = server
    script = Path(__file__).parents[2] / "scripts" / "check-health.sh"
    live = subprocess.run(
        ["bash", str(script), "--url", base], capture_output=True, text=True, timeout=30
    )
    assert live.returncode == 0, live.stdout + live.stderr
    assert live.stdout.startswith(f"OK {base}/health 200")
    ready = subprocess.run(
        ["bash", str(script), "--url", base, "--ready"], capture_output=True, text=True, timeout=30
    )
    assert ready.returncode == 1  # no backup yet: degraded
    assert ready.stdout.startswith(f"FAIL {base}/health/ready")
