"""Start the real ``cryoprotect serve`` on a free loopback port for a test (shared helper)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")


def free_port() -> int:
    """Return a TCP port on the loopback interface that nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, data: bytes | None = None, timeout: float = 10.0) -> tuple[int, dict, float]:
    """Send a request (POST when ``data``); return the status, the JSON body and seconds."""
    headers = {"content-type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    seconds = time.perf_counter() - started
    return status, json.loads(body) if body else {}, seconds


def wait_until(check, seconds: float, what: str):
    """Return ``check()`` once it is truthy; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def post_raw(base: str, path: str, body: bytes, timeout: float = 60) -> tuple[int, dict]:
    """POST ``body`` and read the answer even if the server answers before reading it all."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    connection.putrequest("POST", path)
    connection.putheader("content-type", "application/json")
    connection.putheader("content-length", str(len(body)))
    connection.endheaders()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for start in range(0, len(body), 65536):
            connection.send(body[start : start + 65536])
    response = connection.getresponse()
    status, data = response.status, response.read()
    connection.close()
    return status, json.loads(data) if data else {}


@contextmanager
def serving(settings, output: Path, *args: str, env: dict | None = None, wait: bool = True):
    """Run ``cryoprotect serve`` for ``settings``, output to ``output``; yield base URL, process."""
    port = free_port()
    variables = (
        os.environ
        | {
            "CRYOPROTECT_ROOT_DIR": str(settings.root_dir),
            "CRYOPROTECT_DATABASE_URL": settings.database_url,
            "CRYOPROTECT_BACKUP_DIR": settings.backup_dir,
            "CRYOPROTECT_SERVICE_WORKERS": str(settings.service_workers),
            "CRYOPROTECT_READY_CHECK_INTERVAL": str(settings.ready_check_interval),
            "CRYOPROTECT_MODELS_DIR": str(settings.resolved_models_dir),
        }
        | (env or {})
    )
    command = [CRYOPROTECT, "serve", "--port", str(port), *args]
    with output.open("w") as sink:
        process = subprocess.Popen(command, env=variables, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        if wait:
            wait_until(lambda: call(f"{base}/health")[0] == 200, 180, "the service to start")
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
