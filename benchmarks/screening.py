"""Screening throughput and memory against the floor of the cost, in the same run.

    .venv/bin/python benchmarks/screening.py [--molecules 20000] [--distinct N] [--workers 2]

Needs a trained project (``dvc repro``). The library is the PubChem identifier table of the
``chemicals`` package (single-fragment, parseable SMILES: about 56,000 distinct structures),
its first ``--distinct`` structures (default: all) repeated to reach ``--molecules`` lines.
Repeated lines are dropped before any work, as in any library, and count as screened lines;
``--distinct`` equal to ``--molecules`` measures the rate on distinct molecules alone.
Measures:

- the floor: plain RDKit SMILES parsing plus a Morgan fingerprint per line, on one core;
- ``cryoprotect screen --targets tg,iri`` on a local Dask cluster of ``--workers`` processes
  (the whole command: reading, standardising, featurizing, both models, ranking, writing);
- peak resident memory of the command and all its worker processes (sampled every 0.2 s).

Prints one JSON line with molecules per second for both, their ratio, the peak memory and the
time 1,000,000 lines would take at the measured rate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator
from real_molecules import real_smiles

ROOT = Path(__file__).resolve().parents[1]
CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")


def library_lines(count: int, distinct: int | None) -> list[str]:
    """Return ``count`` SMILES lines: the table's first ``distinct`` usable SMILES, repeated."""
    unique = real_smiles(min(count, distinct or count))
    return [unique[i % len(unique)] for i in range(count)]


def floor_rate(lines: list[str]) -> float:
    """Return lines per second for RDKit parsing plus a Morgan fingerprint (one core)."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    started = time.perf_counter()
    for smiles in lines:
        generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(smiles))
    return len(lines) / (time.perf_counter() - started)


def peak_memory(process: subprocess.Popen, peak: list[int]) -> None:
    """Record the largest summed RSS of ``process`` and its children until it exits."""
    parent = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            total = parent.memory_info().rss + sum(
                child.memory_info().rss for child in parent.children(recursive=True)
            )
        except psutil.Error:
            continue
        peak[0] = max(peak[0], total)
        time.sleep(0.2)


def main() -> None:
    """Measure the floor and the screen, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=20_000)
    parser.add_argument("--distinct", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    lines = library_lines(args.molecules, args.distinct)
    floor = floor_rate(lines)
    with tempfile.TemporaryDirectory() as folder:
        library = Path(folder) / "library.smi"
        library.write_text("\n".join(lines) + "\n")
        command = [
            CRYOPROTECT, "screen", "--library", str(library), "--targets", "tg,iri",
            "--out", str(Path(folder) / "out"), "--workers", str(args.workers),
            "--no-progress", "--format", "json",
        ]  # fmt: skip
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        peak = [0]
        watcher = threading.Thread(target=peak_memory, args=(process, peak), daemon=True)
        watcher.start()
        output, _ = process.communicate()
        seconds = time.perf_counter() - started
        if process.returncode:
            raise SystemExit(f"screen failed with exit code {process.returncode}")
    summary = json.loads(output)
    rate = args.molecules / seconds
    print(
        json.dumps(
            {
                "lines": args.molecules,
                "distinct_lines": len(set(lines)),
                "candidates": summary["candidates"],
                "workers": args.workers,
                "screen_seconds": round(seconds, 1),
                "screen_molecules_per_second": round(rate, 1),
                "floor_molecules_per_second": round(floor, 1),
                "floor_to_screen_ratio": round(floor / rate, 1),
                "peak_memory_mb": round(peak[0] / 2**20),
                "minutes_for_1M_at_this_rate": round(1_000_000 / rate / 60, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
