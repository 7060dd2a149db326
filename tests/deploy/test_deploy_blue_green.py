"""Blue/green deployment for real on loopback: Debian's nginx in front of two service instances.

A client sends predictions through nginx without pause while releases are deployed and rolled
back; every request must succeed. Releases are folders with a ``.venv`` (this checkout's) and
``models/`` (the trained test project's); the broken release has no models, so its readiness
check fails. The database is a copy of the reference SQLite database.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from live_server import free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"


def _release(folder: Path, models: Path | None, project: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / ".venv").symlink_to(REPO / ".venv")
    (folder / "reports").symlink_to(project / "reports")
    if models is not None:
        (folder / "models").symlink_to(models)
    return folder


@dataclass
class Deployment:
    """A deployment root with nginx running in front of it, and the commands to drive it."""

    root: Path
    nginx: list[str]
    front_port: int
    ports: dict[str, int]
    database: Path
    releases: dict[str, Path] = field(default_factory=dict)

    def run(self, script: str, *args: str) -> subprocess.CompletedProcess:
        """Run a deployment script; return its result (the caller checks the exit code)."""
        env = os.environ | {"CRYOPROTECT_DEPLOY_ROOT": str(self.root)}
        return subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def live(self) -> str:
        """Return the colour the deployment state says is live."""
        return (self.root / "state" / "live").read_text().strip()


@pytest.fixture
def deployment(trained_project, reference_database, tmp_path):
    """nginx on a free port before a deployment root whose first colour is not deployed yet."""
    nginx = shutil.which("nginx")
    assert nginx, "nginx is missing: apt-get install nginx"
    root = tmp_path / "srv"
    (root / "nginx").mkdir(parents=True)
    database = tmp_path / "cryoprotect.db"
    shutil.copy(reference_database.removeprefix("sqlite:///"), database)
    ports = {"blue": free_port(), "green": free_port()}
    front = free_port()
    prefix = tmp_path / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    conf = prefix / "nginx.conf"
    site = (REPO / "deploy" / "nginx" / "cryoprotect.conf").read_text()
    site = site.replace("@DEPLOY_ROOT@", str(root)).replace("@LISTEN@", f"127.0.0.1:{front}")
    (prefix / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}daemon on;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n access_log {prefix}/access.log;\n"
        + "".join(
            f" {kind}_temp_path {prefix}/tmp/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f" include {prefix}/site.conf;\n}}\n"
    )
    command = [nginx, "-p", str(prefix), "-c", str(conf)]
    (root / "nginx" / "upstream.conf").write_text(f"server 127.0.0.1:{ports['blue']};\n")
    (root / "deploy.env").write_text(
        "CRYOPROTECT_ENV=staging\n"
        f"CRYOPROTECT_DATABASE_URL=sqlite:///{database}\n"
        f"CRYOPROTECT_BACKUP_DIR={tmp_path / 'backups'}\n"
        f"BLUE_PORT={ports['blue']}\nGREEN_PORT={ports['green']}\nREADY_TIMEOUT=90\n"
        f'NGINX_TEST="{" ".join(command)} -t -q"\n'
        f'NGINX_RELOAD="{" ".join(command)} -s reload"\n'
    )
    subprocess.run(command, check=True)
    made = Deployment(root, command, front, ports, database)
    models = trained_project / "models"
    for name, source in (("v1", models), ("v2", models), ("broken", None)):
        made.releases[name] = _release(tmp_path / "releases" / name, source, trained_project)
    yield made
    subprocess.run([*command, "-s", "quit"], check=False)
    for colour in ("blue", "green"):
        pidfile = root / "run" / f"{colour}.pid"
        if pidfile.exists():
            subprocess.run(["kill", "-TERM", pidfile.read_text().strip()], check=False)


class Client(threading.Thread):
    """Sends predictions through nginx one after another until stopped; counts the outcomes."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stopping = threading.Event()
        self.answered: list[str] = []  # the upstream address of each successful request
        self.times: list[float] = []  # when each of those answers came
        self.failed: list[str] = []

    def run(self) -> None:
        """Send requests until :meth:`stop`."""
        body = json.dumps({"target": "tg", "smiles": "OCC(O)CO"})
        while not self.stopping.is_set():
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request("POST", "/predict", body, {"content-type": "application/json"})
                response = connection.getresponse()
                text = response.read().decode()
                if response.status == 200 and json.loads(text)["predictions"][0]["prediction"]:
                    self.answered.append(response.getheader("x-upstream", ""))
                    self.times.append(time.monotonic())
                else:
                    self.failed.append(f"{response.status} {text[:200]}")
            except OSError as error:
                self.failed.append(repr(error))
            finally:
                connection.close()

    def stop(self) -> None:
        """Stop after the request in flight."""
        self.stopping.set()
        self.join(timeout=60)


def test_deploy_switch_gate_and_rollback_drop_no_request(deployment):
    first = deployment.run("deploy-blue.sh", str(deployment.releases["v1"]))
    assert first.returncode == 0, first.stderr
    assert deployment.live() == "blue"
    client = Client(deployment.front_port)
    client.start()
    try:
        blue, green = (f"127.0.0.1:{deployment.ports[c]}" for c in ("blue", "green"))
        switched = deployment.run("deploy-green.sh", str(deployment.releases["v2"]))
        assert switched.returncode == 0, switched.stderr
        assert deployment.live() == "green"
        after_switch, switched_at = len(client.answered), time.monotonic()
        broken = deployment.run("deploy-blue.sh", str(deployment.releases["broken"]))
        assert broken.returncode == 1
        assert "health gate failed: blue stopped, traffic stays on green" in broken.stderr
        assert '"models":{"status":"fail"' in broken.stderr.replace(" ", "")
        assert deployment.live() == "green"
        after_broken, broken_at = len(client.answered), time.monotonic()
        rolled = deployment.run("rollback.sh")
        assert rolled.returncode == 0, rolled.stderr
        assert "starting blue" in rolled.stderr  # the broken deploy had stopped it
        assert deployment.live() == "blue"
        after_rollback, rolled_at = len(client.answered), time.monotonic()
        time.sleep(3)
    finally:
        client.stop()
    counts = {
        "before the switch": after_switch,
        "during the failed deploy": after_broken - after_switch,
        "after the rollback": len(client.answered) - after_rollback,
    }
    print(f"requests through nginx: {len(client.answered)} ok, {len(client.failed)} failed", counts)
    assert client.failed == []
    assert set(client.answered[:after_switch]) <= {blue, green} and blue in client.answered
    settled = {  # nginx's old workers may still answer for a moment after the reload
        address
        for address, at in zip(client.answered, client.times, strict=True)
        if switched_at + 1 < at < broken_at
    }
    assert settled == {green}
    assert {
        a for a, at in zip(client.answered, client.times, strict=True) if at > rolled_at + 1
    } == {blue}


def test_rollback_can_restore_the_backup_taken_before_the_deploy(deployment):
    assert deployment.run("deploy-blue.sh", str(deployment.releases["v1"])).returncode == 0
    assert deployment.run("deploy-green.sh", str(deployment.releases["v2"])).returncode == 0
    with sqlite3.connect(deployment.database) as connection:
        connection.execute("UPDATE molecules SET name = 'renamed after the deploy' WHERE id = 1")
    rolled = deployment.run("rollback.sh", "--restore-backup")
    assert rolled.returncode == 0, rolled.stderr
    assert deployment.live() == "blue"
    with sqlite3.connect(deployment.database) as connection:
        (name,) = connection.execute("SELECT name FROM molecules WHERE id = 1").fetchone()
    assert name != "renamed after the deploy"


def test_deploying_to_the_live_colour_is_refused(deployment):
    assert deployment.run("deploy-blue.sh", str(deployment.releases["v1"])).returncode == 0
    again = deployment.run("deploy-blue.sh", str(deployment.releases["v2"]))
    assert again.returncode == 1
    assert "blue is live; deploy to green" in again.stderr


def test_a_release_without_environment_or_lock_is_refused(deployment, tmp_path):
    bare = tmp_path / "releases" / "bare"
    bare.mkdir(parents=True)
    refused = deployment.run("deploy-blue.sh", str(bare))
    assert refused.returncode == 1
    assert "has neither .venv/bin/cryoprotect nor requirements/service.txt" in refused.stderr
    assert not (bare / ".venv").exists()
    assert not (deployment.root / "state" / "live").exists()


def test_the_deployment_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: apt-get install shellcheck"
    scripts = ["deploy-lib.sh", "deploy-blue.sh", "deploy-green.sh", "rollback.sh"]
    done = subprocess.run(
        [shellcheck, "-x", *scripts], cwd=SCRIPTS, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout
