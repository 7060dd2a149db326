"""``dvc repro`` of the real dvc.yaml and notebooks in a fresh git + DVC project, its remote, and
its experiments.

The project reads the reference database and uses fast made-up parameters (see
``pipeline_workspace``) and the repository's own ``.dvc/config`` (its default remote is the
folder ``cryoprotect-dvc-storage`` beside the checkout). A cold run builds everything and is
committed and pushed once for the module. Then: a fresh clone pulls models and metrics and finds
nothing to retrain; ``dvc exp run -S`` in that clone reruns only the changed target's stages;
and in the original project a second run only re-exports and a model that misses its threshold
fails the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml
from sqlalchemy import make_url

from conftest import REPO_ROOT
from cryoprotect.db.engine import make_engine
from cryoprotect.db.model_versions import production_version
from cryoprotect.models import registry
from pipeline_workspace import make_workspace

PER_TARGET = ("features", "tune", "train", "explain")
TARGETS = ("tg", "iri", "viability")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


@dataclass
class Project:
    root: Path
    env: dict
    cold_output: str


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


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def reproduced(reference_database, tmp_path_factory) -> Project:
    """A project after a cold ``dvc repro``, committed and pushed to its default remote."""
    root = make_workspace(tmp_path_factory.mktemp("dvc") / "project")
    database = root.parent / "cryoprotect.db"  # a copy: the train stage records its models
    shutil.copy(make_url(reference_database).database, database)
    env = os.environ | GIT_IDENTITY
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CRYOPROTECT_DATABASE_URL": f"sqlite:///{database}",
    }
    env.pop("MPLBACKEND", None)
    _run(root, env, "git", "init", "--quiet")
    _run(root, env, "dvc", "init", "--quiet")
    shutil.copy(REPO_ROOT / ".dvc" / "config", root / ".dvc" / "config")
    cold = _run(root, env, "dvc", "repro")
    _run(root, env, "git", "add", "--all")
    _run(root, env, "git", "commit", "--quiet", "-m", "cold run")
    _run(root, env, "dvc", "push")
    return Project(root, env, cold.stdout)


@pytest.fixture(scope="module")
def pulled_clone(reproduced) -> Path:
    """A fresh git clone of the reproduced project (beside it) after ``dvc pull``."""
    clone = reproduced.root.parent / "clone"
    _run(reproduced.root.parent, reproduced.env, "git", "clone", "--quiet", "project", "clone")
    assert not (clone / "models" / "tg").exists()
    _run(clone, reproduced.env, "dvc", "pull")
    return clone


@pytest.mark.slow
def test_cold_repro_builds_everything(reproduced):
    every = {"export", "validate", "health", "report", "gate"}
    every |= {f"{stage}@{t}" for stage in PER_TARGET for t in TARGETS}
    assert _ran(reproduced.cold_output) == every
    for notebook in (reproduced.root / "reports" / "notebooks").glob("*.ipynb"):
        cells = nbformat.read(notebook, as_version=4).cells
        outputs = [o for c in cells if c.cell_type == "code" for o in c.outputs]
        assert outputs, notebook.name
        assert not [o for o in outputs if o.output_type == "error"], notebook.name
        if notebook.stem.split("-")[0] in {"features", "tune", "train", "explain"}:
            assert any("image/png" in o.get("data", {}) for o in outputs), notebook.name
    metrics = json.loads(
        _run(reproduced.root, reproduced.env, "dvc", "metrics", "show", "--json").stdout
    )
    shown = next(iter(metrics.values()))["data"]
    assert sorted(Path(p).stem for p in shown) == sorted(TARGETS)
    engine = make_engine(reproduced.env["CRYOPROTECT_DATABASE_URL"])
    for target in TARGETS:  # the train stage promotes in the registry and model_versions alike
        promoted = registry.production_version(reproduced.root / "models", target)
        assert promoted is not None
        assert production_version(engine, target) == promoted
    engine.dispose()


@pytest.mark.slow
def test_push_and_pull_restore_models_and_metrics_without_retraining(reproduced, pulled_clone):
    storage = reproduced.root.parent / "cryoprotect-dvc-storage"
    assert (storage / "files" / "md5").is_dir(), "the default remote is the folder beside"
    for folder in ("models", "data/features", "reports/explain"):
        assert _digests(pulled_clone / folder) == _digests(reproduced.root / folder), folder
        assert _digests(pulled_clone / folder), folder
    for target in TARGETS:
        metrics = f"metrics/{target}.json"
        assert (pulled_clone / metrics).read_text() == (reproduced.root / metrics).read_text()

    status = _run(pulled_clone, reproduced.env, "dvc", "status", "--json").stdout
    assert json.loads(status) == {"export": ["always changed"]}
    again = _run(pulled_clone, reproduced.env, "dvc", "repro")
    assert _ran(again.stdout) == {"export"}, "nothing is retrained after a pull"


@pytest.mark.slow
def test_exp_run_with_a_set_parameter_reruns_only_that_target(pulled_clone, reproduced):
    changed = _run(
        pulled_clone,
        reproduced.env,
        "dvc",
        "exp",
        "run",
        "--name",
        "more-trees",
        "-S",
        "targets.viability.estimator_params.n_estimators=12",
    )
    viability = {f"{stage}@viability" for stage in ("tune", "train", "explain")}
    assert viability | {"export", "report"} <= _ran(changed.stdout)
    assert _ran(changed.stdout) <= viability | {"export", "report", "gate"}

    shown = json.loads(_run(pulled_clone, reproduced.env, "dvc", "exp", "show", "--json").stdout)
    experiments = [e for entry in shown for e in entry.get("experiments") or []]
    (experiment,) = [e for e in experiments if e.get("name") == "more-trees"]
    (revision,) = experiment["revs"]
    params = revision["data"]["params"]["params.yaml"]["data"]
    assert params["targets"]["viability"]["estimator_params"]["n_estimators"] == 12
    assert set(revision["data"]["metrics"]) == {f"metrics/{t}.json" for t in TARGETS}


@pytest.mark.slow
def test_second_repro_only_exports_and_a_missed_threshold_fails(reproduced):
    root, env = reproduced.root, reproduced.env
    again = _run(root, env, "dvc", "repro")
    assert _ran(again.stdout) == {"export"}
    status = _run(root, env, "dvc", "status", "--json").stdout
    assert json.loads(status) == {"export": ["always changed"]}

    _set_param(root, ["targets", "tg", "thresholds", "mae"], 0.5)
    failed = _run(root, env, "dvc", "repro", check=False)
    assert failed.returncode != 0
    assert _ran(failed.stdout) == {"export", "report", "gate"}
    assert "regression gate failed: tg: cross-validated MAE" in failed.stdout + failed.stderr
