"""One request cannot hurt another: failing items, time limits, clients that leave, workers.

The slow request is a real one: a chain of 1,000 carbons (near the largest InChI reads), whose
RDKit descriptors take over a second. The models refuse molecules above their heavy-atom limit
at once, so these tests serve a copy of the test models with that limit lifted. The slow
prediction is stopped by ending its predictor process.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from conftest import wait_for_readings
from cryoprotect.service.app import create_app
from cryoprotect.service.predictions import LoadedModels, check_structures, predict_isolated
from cryoprotect.service.schemas import PredictItem
from live_server import call, serving, wait_until

SLOW = "C" * 1000
SMALL = ["CCCO", "CCCCO", "OCCCO", "CCOCCO", "CC(C)O", "OCC(C)O"]


def _samples(text: str) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def unbounded_settings(service_settings, tmp_path):
    """Service settings on a copy of the test models whose heavy-atom limit is lifted."""
    models = tmp_path / "models"
    shutil.copytree(service_settings.resolved_models_dir, models)
    for meta in models.glob("*/*/model.json"):
        data = json.loads(meta.read_text())
        if "max_heavy_atoms" in data["featurizer"]:
            data["featurizer"]["max_heavy_atoms"] = 100_000
            meta.write_text(json.dumps(data))
    return service_settings.model_copy(update={"models_dir": models})


class FailsOnLargeMolecules:
    """A made-up estimator: the real one, but raising for rows of more than 10 heavy atoms
    (feature 1 of the test models is HeavyAtomCount)."""

    def __init__(self, real) -> None:
        self.real = real

    def predict(self, features):
        if (features[:, 1] > 10).any():
            raise ValueError("made-up failure")
        return self.real.predict(features)


def test_an_item_whose_prediction_raises_fails_alone(trained_project):
    loaded = LoadedModels.load(trained_project / "models")
    loaded.models["tg"].estimator = FailsOnLargeMolecules(loaded.models["tg"].estimator)
    smiles = ["CCO", "OC1C(O)C(O)C(O)C(O)C1OCCCCCC", "OCCO"]
    items = [PredictItem(targets=["tg", "iri"], smiles=s, concentration_mM=5) for s in smiles]
    results = predict_isolated(loaded, items, check_structures(items, lambda n: None), None, 0.9)
    errors = [(r["item"], r["target"], r["error"]) for r in results]
    assert errors == [
        (0, "tg", None),
        (0, "iri", None),
        (1, "tg", "prediction failed: ValueError: made-up failure"),
        (1, "iri", None),
        (2, "tg", None),
        (2, "iri", None),
    ]
    assert results[2]["prediction"] is None and results[0]["prediction"] is not None


@pytest.mark.slow
def test_a_request_over_the_time_limit_gets_504_and_its_work_stops(unbounded_settings):
    settings = unbounded_settings.model_copy(
        update={"prediction_time_limit": 1.0, "service_workers": 2}
    )
    with TestClient(create_app(settings)) as client:
        wait_for_readings(client)
        pool = client.app.state.service.predictors
        before = {w.process.pid for w in pool.workers}
        with ThreadPoolExecutor(8) as threads:
            slow = threads.submit(client.post, "/predict", json={"target": "tg", "smiles": SLOW})
            time.sleep(0.5)
            small = [
                threads.submit(client.post, "/predict", json={"target": "tg", "smiles": s})
                for s in SMALL
            ]
            started = time.perf_counter()
            answers = [f.result() for f in small]
            small_seconds = time.perf_counter() - started
            stopped = slow.result()
        replaced = [w.process for w in pool.workers]
        wait_until(
            lambda: pool.alive() == 2 and {w.process for w in pool.workers} != set(replaced),
            60,
            "the predictor to be replaced",
        )
        metrics = _samples(client.get("/metrics").text)
        after = {w.process.pid for w in pool.workers}
    print(f"six small requests beside the slow one: {small_seconds:.2f} s")
    assert stopped.status_code == 504
    assert "time limit of 1 s" in stopped.json()["detail"] and stopped.json()["request_id"]
    assert all(a.status_code == 200 for a in answers) and small_seconds < 2.0
    (gone,) = before - after
    assert not psutil.pid_exists(gone) or psutil.Process(gone).status() == "zombie"
    assert metrics[("cryoprotect_prediction_requests_stopped_total", (("reason", "time_limit"),))]
    assert metrics[("cryoprotect_predictor_restarts_total", (("reason", "cancelled"),))] == 1


@pytest.mark.slow
def test_a_client_that_leaves_stops_its_work_and_workers_share_the_load(
    unbounded_settings, tmp_path
):
    settings = unbounded_settings.model_copy(update={"service_workers": 2})
    with serving(settings, tmp_path / "out.txt", "--workers", "2") as (base, _):
        host, port = base.removeprefix("http://").split(":")
        body = json.dumps({"target": "tg", "smiles": SLOW}).encode()
        with socket.create_connection((host, int(port))) as leaving:
            leaving.sendall(
                b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            time.sleep(0.3)
        stopped = wait_until(
            lambda: _samples(_metrics(base)).get(
                ("cryoprotect_prediction_requests_stopped_total", (("reason", "disconnected"),))
            ),
            10,
            "the disconnected request to be stopped",
        )
        alive = ("cryoprotect_predictors_alive", ())
        wait_until(lambda: _samples(_metrics(base))[alive] == 2, 60, "the predictor to return")
        smiles = [f"{'C' * n}O" for n in range(1, 33)] + [f"O{'C' * n}O" for n in range(2, 34)]
        batch = {"items": [{"target": "tg", "smiles": s} for s in smiles]}
        status, answer, _ = call(f"{base}/predict", json.dumps(batch).encode(), 60)
        metrics = _samples(_metrics(base))
    assert stopped == 1 and status == 200
    assert [p["input"] for p in answer["predictions"]] == smiles
    per_worker = {
        dict(labels)["worker"]: value
        for (name, labels), value in metrics.items()
        if name == "cryoprotect_predictor_items_total"
    }
    predicted = sum(v for (n, _), v in metrics.items() if n == "cryoprotect_predictions_total")
    print(f"items per predictor process: {per_worker}; predictions counted: {predicted}")
    assert sum(per_worker.values()) == len(smiles) and set(per_worker) == {"0", "1"}
    assert predicted == len(smiles)
    assert metrics[("cryoprotect_predictor_restarts_total", (("reason", "cancelled"),))] == 1


def _metrics(base: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:  # noqa: S310
        return response.read().decode()
