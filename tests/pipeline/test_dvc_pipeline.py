"""``dvc repro`` of the real dvc.yaml and notebooks in a fresh git + DVC project.

The project reads the reference database and uses fast made-up parameters (see
``pipeline_workspace``). One test walks the life cycle: a cold run builds everything, a second
run only re-exports, a changed parameter of one target reruns only that target's stages (and
the report, and the gate when the metrics moved), and a model that misses its threshold fails
the run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from pipeline_workspace import make_workspace

PER_TARGET = ("features", "tune", "train", "explain")


def _run(root: Path, env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, cwd=root, env=env, capture_output=True, text=True, check=False, timeout=900
    )
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def _set_param(root: Path, path: list[str], value) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    node = params
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.slow
def test_dvc_repro_builds_everything_then_only_what_changed(reference_database, tmp_path):
    root = make_workspace(tmp_path / "project")
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CRYOPROTECT_DATABASE_URL": reference_database,
    }
    env.pop("MPLBACKEND", None)
    _run(root, env, "git", "init", "--quiet")
    _run(root, env, "dvc", "init", "--quiet")
    _run(root, env, "dvc", "config", "core.analytics", "false")

    cold = _run(root, env, "dvc", "repro")
    targets = ("tg", "iri", "viability")
    every = {"export", "validate", "health", "report", "gate"}
    every |= {f"{stage}@{t}" for stage in PER_TARGET for t in targets}
    assert _ran(cold.stdout) == every
    for notebook in (root / "reports" / "notebooks").glob("*.ipynb"):
        cells = nbformat.read(notebook, as_version=4).cells
        outputs = [o for c in cells if c.cell_type == "code" for o in c.outputs]
        assert outputs, notebook.name
        assert not [o for o in outputs if o.output_type == "error"], notebook.name
    metrics = json.loads(_run(root, env, "dvc", "metrics", "show", "--json").stdout)
    shown = next(iter(metrics.values()))["data"]
    assert sorted(Path(p).stem for p in shown) == sorted(targets)

    again = _run(root, env, "dvc", "repro")
    assert _ran(again.stdout) == {"export"}
    status = _run(root, env, "dvc", "status", "--json").stdout
    assert json.loads(status) == {"export": ["always changed"]}

    _set_param(root, ["targets", "viability", "estimator_params", "n_estimators"], 12)
    changed = _run(root, env, "dvc", "repro")
    viability = {f"{stage}@viability" for stage in ("tune", "train", "explain")}
    assert viability | {"export", "report"} <= _ran(changed.stdout)
    assert _ran(changed.stdout) <= viability | {"export", "report", "gate"}

    _set_param(root, ["targets", "tg", "thresholds", "mae"], 0.5)
    failed = _run(root, env, "dvc", "repro", check=False)
    assert failed.returncode != 0
    assert _ran(failed.stdout) == {"export", "report", "gate"}
    assert "regression gate failed: tg: cross-validated MAE" in failed.stdout + failed.stderr
