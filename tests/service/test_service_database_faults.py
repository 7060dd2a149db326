"""A sick database does not take the service with it.

Three databases that do not work: one that refuses connections (a closed port), one that
does not exist (on the real PostgreSQL server), and one that accepts connections but never
answers (a listening socket nobody reads). In each, the service starts without waiting on
the database, ``/health/ready`` answers within 2 s even under 45 concurrent probes, ``/health``
and ``/metrics`` do not wait, SMILES are still predicted, and a molecule name gets a 503
saying why. When the missing database appears, names resolve without a restart.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from conftest import POSTGRES_URL, REFERENCE_DIR
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.seed import seed
from cryoprotect.service.app import create_app
from live_server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
PROBES = 45


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield f"postgresql+psycopg://nobody@127.0.0.1:{listener.getsockname()[1]}/none"


def _url(kind: str, silent: str) -> str:
    if kind == "refuses":
        return f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    if kind == "missing":
        return make_url(POSTGRES_URL).set(database="cryoprotect_absent_db").render_as_string(False)
    return silent


def _timed(client: TestClient, path: str, **kwargs):
    started = time.perf_counter()
    response = client.request(kwargs.pop("method", "GET"), path, **kwargs)
    return response, time.perf_counter() - started


@pytest.mark.parametrize("kind", ["refuses", "missing", "silent"])
def test_a_broken_database_leaves_the_service_answering(
    kind, service_settings, silent_server, postgres_admin
):
    settings = service_settings.model_copy(
        update={"database_url": _url(kind, silent_server), "database_connect_timeout": 2}
    )
    started = time.perf_counter()
    with TestClient(create_app(settings)) as client:
        start_seconds = time.perf_counter() - started
        time.sleep(3)  # a connection attempt is under way or has failed
        with ThreadPoolExecutor(PROBES + 2) as pool:
            probes = [pool.submit(_timed, client, "/health/ready") for _ in range(PROBES)]
            live = pool.submit(_timed, client, "/health")
            metrics = pool.submit(_timed, client, "/metrics")
            ready = [p.result() for p in probes]
            live, metrics = live.result(), metrics.result()
        smiles, _ = _timed(
            client, "/predict", method="POST", json={"target": "tg", "smiles": "OCCO"}
        )
        name, _ = _timed(
            client, "/predict", method="POST", json={"target": "tg", "smiles": "glycerol"}
        )
    slowest = max(seconds for _, seconds in ready)
    detail = ready[0][0].json()["checks"]["database"]["detail"]
    print(
        f"{kind}: start-up {start_seconds:.1f} s; {PROBES} concurrent /health/ready: slowest "
        f"{slowest:.2f} s; /health {live[1]:.2f} s; /metrics {metrics[1]:.2f} s; {detail!r}"
    )
    assert all(response.status_code == 503 for response, _ in ready)
    assert slowest < 2.0
    assert live[0].status_code == 200 and live[1] < 2.0
    assert metrics[0].status_code == 200 and metrics[1] < 2.0
    assert "cryoprotect_database_up 0.0" in metrics[0].text
    assert ready[0][0].json()["checks"]["database"]["status"] == "fail"
    assert smiles.status_code == 200 and smiles.json()["predictions"][0]["error"] is None
    assert name.status_code == 503 and "names are not loaded" in name.json()["detail"]
    assert name.headers["retry-after"]


def test_names_resolve_once_the_database_appears(service_settings, postgres_admin):
    name = f"cryoprotect_late_{int(time.time() * 1000)}"
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    settings = service_settings.model_copy(update={"database_url": url})
    body = {"target": "tg", "smiles": "glycerol"}
    try:
        with TestClient(create_app(settings)) as client:
            assert client.post("/predict", json=body).status_code == 503
            with postgres_admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            engine = make_engine(url)
            migrations.upgrade(engine)
            seed(engine, REFERENCE_DIR)
            engine.dispose()
            deadline = time.monotonic() + 30
            while client.post("/predict", json=body).status_code != 200:
                assert time.monotonic() < deadline, "names never loaded"
                time.sleep(0.2)
            ready = client.get("/health/ready").json()
        assert ready["checks"]["database"]["status"] == "ok"
    finally:
        with postgres_admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
