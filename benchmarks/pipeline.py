"""Time the pipeline: a cold ``dvc repro``, a no-op rerun, and a change to one target.

    .venv/bin/python benchmarks/pipeline.py [--database-url URL] [--keep]

Clones the committed project into a temporary folder (empty feature cache, no outputs),
points it at the database (default: the project's embedded SQLite file, which
``python3 scripts/quickstart.py run`` builds) and runs, with the project's params.yaml:

1. ``dvc repro`` cold (target: at most 10 minutes on a 2-core machine);
2. ``dvc repro`` again (target: at most 5 s; only the always-running export stage runs),
   with ``dvc status`` timed alongside as the floor of any DVC command;
3. ``dvc repro`` after changing one viability parameter (target: only viability's stages and
   the report and gate over all targets rerun).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(args: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    """Run ``args`` in ``cwd``; return the wall time and the output, stopping on failure."""
    start = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout


def stages_run(output: str) -> list[str]:
    """Return the stages a ``dvc repro`` output says it ran."""
    return re.findall(r"Running stage '([^']+)'", output)


def main() -> None:
    """Clone, run the three measurements and print them (also as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'data' / 'cryoprotect.db'}")
    parser.add_argument("--keep", action="store_true", help="Keep the cloned project.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cryoprotect-bench-"))
    project = work / "project"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(project)], check=True)
    env = os.environ | {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "CRYOPROTECT_DATABASE_URL": args.database_url,
    }
    figures = {}
    figures["cold_repro_s"], cold = timed([str(BIN / "dvc"), "repro"], project, env)
    figures["cold_stages"] = len(stages_run(cold))
    figures["noop_repro_s"], noop = timed([str(BIN / "dvc"), "repro"], project, env)
    figures["noop_stages_run"] = stages_run(noop)
    figures["dvc_status_s"], _ = timed([str(BIN / "dvc"), "status"], project, env)

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["targets"]["viability"]["estimator_params"]["nu"] = 1.5
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    figures["one_target_repro_s"], changed = timed([str(BIN / "dvc"), "repro"], project, env)
    figures["one_target_stages_run"] = stages_run(changed)
    figures["noop_over_cold"] = figures["noop_repro_s"] / figures["cold_repro_s"]

    cold, noop = figures["cold_repro_s"], figures["noop_repro_s"]
    print(f"cold dvc repro:        {cold:8.1f} s ({figures['cold_stages']} stages)")
    print(f"no-op dvc repro:       {noop:8.1f} s (ran {figures['noop_stages_run']})")
    print(f"dvc status (floor):    {figures['dvc_status_s']:8.1f} s")
    print(
        f"one viability param:   {figures['one_target_repro_s']:8.1f} s "
        f"(ran {figures['one_target_stages_run']})"
    )
    print(json.dumps(figures))
    if args.keep:
        print(f"kept {project}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
