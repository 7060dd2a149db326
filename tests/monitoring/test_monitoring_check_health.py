"""scripts/check-health.sh: shellcheck-clean, and its output and exit status against a real server.

A small HTTP server in a thread on a free loopback port answers as the service's health
endpoints would; the first path segment picks the behaviour (ok, failing, degraded, ...), so
that ``--url http://127.0.0.1:PORT/<behaviour>`` probes ``/<behaviour>/health[/ready]``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from monitoring_support import CHECK_HEALTH, explain, free_port, require_tool, run

READY_OK = {"status": "ok", "checks": {"database": {"status": "ok"}, "models": {"status": "ok"}}}
READY_FAIL = {
    "status": "fail",
    "checks": {"database": {"status": "fail", "detail": "connection refused"}, "models": "ok"},
}
READY_DEGRADED = {
    "status": "degraded",
    "checks": {"database": {"status": "ok"}, "last_backup": {"status": "warn", "detail": "30 h"}},
}
RESPONSES = {
    "/ok/health": (200, json.dumps({"status": "ok"})),
    "/ok/health/ready": (200, json.dumps(READY_OK)),
    "/failing/health": (503, json.dumps({"status": "fail"})),
    "/failing/health/ready": (503, json.dumps(READY_FAIL)),
    "/degraded/health": (200, json.dumps({"status": "fail"})),
    "/degraded/health/ready": (200, json.dumps(READY_DEGRADED)),
    "/html/health": (200, "<html>maintenance</html>"),
    "/broken/health": (500, "Internal Server Error"),
}
"""Path -> (HTTP status, body) of the fake service; /slow/health answers after 2 seconds."""


@pytest.fixture(scope="module")
def shellcheck() -> str:
    """Path of shellcheck (Debian package shellcheck); fails when it is missing."""
    return require_tool("shellcheck", package="shellcheck")


@pytest.fixture(scope="module")
def curl() -> str:
    """Path of curl, which the script calls (Debian package curl); fails when missing."""
    return require_tool("curl", package="curl")


class FakeHealthHandler(BaseHTTPRequestHandler):
    """Answers GET requests from RESPONSES; anything else is a 404."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        """Send the canned response of the path."""
        if self.path == "/slow/health":
            time.sleep(2)
            status, body = 200, json.dumps({"status": "ok"})
        else:
            status, body = RESPONSES.get(self.path, (404, json.dumps({"detail": "Not Found"})))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    """Base URL of the fake service, running in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHealthHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def check_health(*args: str):
    """Run the script with ``args`` (and no proxy settings), returning the completed process."""
    environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return run(["bash", str(CHECK_HEALTH), *args], timeout=30, env=environment)


def single_line(completed) -> str:
    """The one line the script printed, checked to be exactly one."""
    lines = completed.stdout.splitlines()
    assert len(lines) == 1, explain(completed)
    return lines[0]


def test_shellcheck_clean(shellcheck):
    completed = run([shellcheck, "--severity=style", str(CHECK_HEALTH)])
    assert completed.returncode == 0, explain(completed)


def test_strict_mode_and_executable():
    text = CHECK_HEALTH.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(CHECK_HEALTH, os.X_OK)


def test_healthy_liveness(curl, service_url):
    completed = check_health("--url", f"{service_url}/ok")
    assert completed.returncode == 0, explain(completed)
    line = single_line(completed)
    assert re.fullmatch(rf"OK {re.escape(service_url)}/ok/health 200 \d+(\.\d+)?", line), line


def test_healthy_readiness_and_trailing_slash(curl, service_url):
    completed = check_health("--url", f"{service_url}/ok/", "--ready", "--timeout", "3")
    assert completed.returncode == 0, explain(completed)
    assert single_line(completed).startswith(f"OK {service_url}/ok/health/ready 200 ")


def test_readiness_503_names_the_failed_checks(curl, service_url):
    completed = check_health(f"--url={service_url}/failing", "--ready")
    assert completed.returncode == 1, explain(completed)
    assert single_line(completed) == (
        f"FAIL {service_url}/failing/health/ready HTTP 503, status fail, "
        "checks not ok: database=fail"
    )


def test_degraded_readiness_is_unhealthy(curl, service_url):
    completed = check_health("--url", f"{service_url}/degraded", "--ready")
    assert completed.returncode == 1, explain(completed)
    assert single_line(completed) == (
        f"FAIL {service_url}/degraded/health/ready HTTP 200, status degraded, "
        "checks not ok: last_backup=warn"
    )


def test_liveness_503(curl, service_url):
    completed = check_health("--url", f"{service_url}/failing")
    assert completed.returncode == 1, explain(completed)
    assert single_line(completed) == f"FAIL {service_url}/failing/health HTTP 503, status fail"


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("degraded", "HTTP 200, status fail"),
        ("html", "HTTP 200, status <no JSON object>"),
        ("broken", "HTTP 500, status <no JSON object>"),
        ("missing", "HTTP 404, status <no status field>"),
    ],
)
def test_unhealthy_answers(curl, service_url, behaviour, reason):
    completed = check_health("--url", f"{service_url}/{behaviour}")
    assert completed.returncode == 1, explain(completed)
    assert single_line(completed) == f"FAIL {service_url}/{behaviour}/health {reason}"


def test_closed_port_is_unreachable(curl):
    url = f"http://127.0.0.1:{free_port()}"
    completed = check_health("--url", url)
    assert completed.returncode == 2, explain(completed)
    assert single_line(completed) == f"FAIL {url}/health unreachable: connection refused"


def test_slow_answer_times_out(curl, service_url):
    started = time.monotonic()
    completed = check_health("--url", f"{service_url}/slow", "--timeout", "0.5")
    assert completed.returncode == 2, explain(completed)
    assert single_line(completed) == (
        f"FAIL {service_url}/slow/health unreachable: timed out after 0.5s"
    )
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["--url"],
        ["--url", "ftp://127.0.0.1"],
        ["--url", "127.0.0.1:8000"],
        ["--timeout", "soon"],
        ["--timeout", "0"],
        ["--timeout"],
    ],
)
def test_usage_errors(args):
    completed = check_health(*args)
    assert completed.returncode == 2, explain(completed)
    assert completed.stdout == ""
    assert completed.stderr.strip()


def test_help():
    completed = check_health("--help")
    assert completed.returncode == 0, explain(completed)
    assert completed.stdout.startswith("usage: check-health.sh [--url URL]")
