"""Latency and throughput of ``POST /predict`` under 20 concurrent clients, on loopback.

    .venv/bin/python benchmarks/service.py [--seconds 15] [--connections 20]

Needs a trained project (``dvc repro``). Starts the real ``cryoprotect serve`` (one
process) on a free port and drives it with ``wrk`` (Debian package ``wrk``: a C load
generator, so the clients cost little of the two cores), each scenario for ``--seconds``:

- ``health``: ``GET /health``, the floor of the web stack (routing, middleware, metrics, JSON);
- ``warm``: single-molecule Tg requests cycling through 500 real molecules (the PubChem
  identifier table of the ``chemicals`` package) already asked for once, so answered from
  the result cache: the case of clients asking about known compounds;
- ``cold``: single-molecule Tg requests for molecules never seen before (featurization with
  217 RDKit descriptors and MACCS keys, the SVR + extra-trees ensemble, the domain check).

Prints one JSON line per scenario (requests, requests/s, p50/p90/p99/max latency in ms,
non-2xx responses and socket errors) and the ratio of each p50 to the health floor's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from real_molecules import real_smiles

ROOT = Path(__file__).resolve().parents[1]
CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")
SCRIPT = """
local bodies, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
function request()
  i = i % #bodies + 1
  if bodies[i] == "GET" then return wrk.format("GET", "/health") end
  return wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, '
    .. '"max_ms": %.3f, "non2xx": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def free_port() -> int:
    """Return a loopback TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(base: str, body: dict) -> dict:
    """POST ``body`` to ``base``/predict and return the JSON answer."""
    request = urllib.request.Request(
        f"{base}/predict", json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def run_wrk(base: str, lines: list[str], seconds: float, connections: int, work: Path) -> dict:
    """Drive ``base`` with wrk sending ``lines`` (request bodies, or "GET") in turn."""
    bodies = work / f"bodies-{len(lines)}-{time.monotonic_ns()}.txt"
    bodies.write_text("\n".join(lines) + "\n")
    script = work / "predict.lua"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
            "--",
            str(bodies),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["requests_per_second"] = round(result["requests"] / result["seconds"], 1)
    return result


def main() -> None:
    """Run the three scenarios against one service process and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"CRYOPROTECT_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [CRYOPROTECT, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.25)
        known = real_smiles(500)
        unseen = real_smiles(int(args.seconds * 400), skip=500)
        post(base, {"items": [{"target": "tg", "smiles": s} for s in known]})  # warm the cache
        scenarios = {
            "health": ["GET"],
            "warm": [json.dumps({"target": "tg", "smiles": s}) for s in known],
            "cold": [json.dumps({"target": "tg", "smiles": s}) for s in unseen],
        }
        results = {}
        with tempfile.TemporaryDirectory() as folder:
            for name, lines in scenarios.items():
                results[name] = run_wrk(base, lines, args.seconds, args.connections, Path(folder))
                print(json.dumps({"scenario": name, **results[name]}), flush=True)
        floor = results["health"]["p50_ms"]
        ratios = {k: round(v["p50_ms"] / floor, 2) for k, v in results.items() if k != "health"}
        print(json.dumps({"p50_ratio_to_health": ratios, "connections": args.connections}))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
