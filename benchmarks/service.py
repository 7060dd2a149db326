"""Latency and throughput of ``POST /predict``, warm and cold, at 1 and 2 predictor workers.

    .venv/bin/python benchmarks/service.py [--workers 1 2] [--clients 20] [--count 500]

Needs a trained project (``dvc repro``). For each worker count it starts the real
``cryoprotect serve --workers N`` on a free port and sends single-molecule Tg requests for
real molecules (the PubChem identifier table of the ``chemicals`` package), each scenario
with molecules of its own, so a cold molecule is never one the server has seen:

- ``health``: ``GET /health``, the floor of the web stack (one client, then 20);
- ``warm``: molecules asked for once before, answered from the result cache;
- ``cold``: molecules never seen (featurization, the models, the domain check);

each sequentially (one client, ``--count`` requests: p50/p99) and with ``--clients``
concurrent clients (``--count`` requests in all). Then the stall test: one batch of
:data:`STALL_BATCH` new molecules and, 0.5 s later, ``--clients`` small cold molecules at once:
the small ones' p50/p99 and the batch's time.

Clients are Python threads on the same two cores, so figures are noisy under other load:
each line also gives the ratio of its p50 to the health floor's measured the same way.
Prints one JSON line per scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from real_molecules import real_smiles

ROOT = Path(__file__).resolve().parents[1]
CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")
TIME_LIMIT = 30.0
"""The server's time limit in this benchmark (seconds)."""
STALL_BATCH = 1000
"""Molecules in the stall test's large batch (the most one request may hold)."""
LOCAL = threading.local()


def free_port() -> int:
    """Return a loopback TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(base: str, smiles: str | list[str] | None) -> tuple[int, float]:
    """Send ``GET /health`` (no smiles), one prediction or a batch; return status, seconds."""
    if smiles is None:
        built = urllib.request.Request(f"{base}/health")
    else:
        if isinstance(smiles, list):
            body = json.dumps({"items": [{"target": "tg", "smiles": s} for s in smiles]}).encode()
        else:
            body = json.dumps({"target": "tg", "smiles": smiles}).encode()
        built = urllib.request.Request(
            f"{base}/predict", body, {"content-type": "application/json"}
        )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(built, timeout=120) as response:  # noqa: S310 (loopback)
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def measure(base: str, inputs: list[str | None], clients: int) -> dict:
    """Send every input once, ``clients`` at a time; return counts and latency figures."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(lambda s: request(base, s), inputs))
    seconds = time.perf_counter() - started
    latencies = sorted(t * 1000 for _, t in done)
    return {
        "requests": len(done),
        "clients": clients,
        "requests_per_second": round(len(done) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
        "max_ms": round(latencies[-1], 1),
        "non200": sum(status != 200 for status, _ in done),
    }


def stall(base: str, batch: list[str], small: list[str], clients: int) -> dict:
    """One batch of new molecules, then ``clients`` small cold ones at once: their figures."""
    with ThreadPoolExecutor(1) as one:
        big = one.submit(request, base, batch)
        time.sleep(0.5)
        figures = measure(base, small[:clients], clients)
        status, seconds = big.result()
    return {**figures, "batch_status": status, "batch_seconds": round(seconds, 2)}


def distinct_molecules(count: int) -> list[str]:
    """Return ``count`` distinct real SMILES, in the table's order."""
    found = list(dict.fromkeys(real_smiles(int(count * 1.2) + 100)))
    if len(found) < count:
        raise SystemExit(f"only {len(found)} distinct molecules in the table")
    return found[:count]


def serve(workers: int) -> tuple[str, subprocess.Popen]:
    """Start ``cryoprotect serve --workers N``; return its address once it answers."""
    port = free_port()
    env = os.environ | {"CRYOPROTECT_LOG_LEVEL": "WARNING"}
    command = [CRYOPROTECT, "serve", "--port", str(port), "--workers", str(workers)]
    command += ["--time-limit", str(TIME_LIMIT)]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if request(base, None)[0] == 200:
                return base, server
        except OSError:
            time.sleep(0.25)
    server.kill()
    raise SystemExit("the service did not start")


def run(workers: int, molecules: list[str], count: int, clients: int) -> None:
    """Run every scenario against a fresh server with ``workers`` predictor processes."""
    warm, cold_one, cold_many, small = (molecules[i * count : (i + 1) * count] for i in range(4))
    batch = molecules[4 * count : 4 * count + STALL_BATCH]
    base, server = serve(workers)
    try:
        measure(base, warm, clients)  # now known: the warm scenarios hit the cache
        scenarios = {
            "health": lambda: measure(base, [None] * count, 1),
            "health_concurrent": lambda: measure(base, [None] * count, clients),
            "warm": lambda: measure(base, warm, 1),
            "warm_concurrent": lambda: measure(base, warm, clients),
            "cold": lambda: measure(base, cold_one, 1),
            "cold_concurrent": lambda: measure(base, cold_many, clients),
            "stall": lambda: stall(base, batch, small, clients),
        }
        floor = {}
        for name, scenario in scenarios.items():
            figures = scenario()
            floor.setdefault(figures["clients"], figures["p50_ms"])
            ratio = round(figures["p50_ms"] / floor[figures["clients"]], 2)
            line = {"workers": workers, "scenario": name, **figures, "p50_ratio_to_health": ratio}
            print(json.dumps(line), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def main() -> None:
    """Measure each worker count asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    molecules = distinct_molecules(4 * args.count + STALL_BATCH)
    for workers in args.workers:
        run(workers, molecules, args.count, args.clients)


if __name__ == "__main__":
    main()
