"""The built wheel works outside the checkout, in a new environment holding the service set.

The wheel is built from this checkout, installed with the locked ``service`` requirements
(no workbench: no Jupyter, DVC, Great Expectations, SHAP, Optuna, Dask) into a virtual
environment under a temporary folder, and run from another temporary folder: migrations,
seed, predictions with the models of ``trained_project`` and the HTTP service.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO_ROOT

UV = Path(sys.executable).parent / "uv"


def _run(*args, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _fresh_install(wheel: Path, tmp_path: Path, requirements: str) -> tuple[Path, Path, dict]:
    """Install a locked set and the wheel into a new environment outside the checkout.

    Returns the environment's Python, a working folder and the environment variables to run
    it with (no ``CRYOPROTECT_*`` setting, no ``PYTHONPATH`` of this checkout).
    """
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRYOPROTECT_", "VIRTUAL"))}
    env.pop("PYTHONPATH", None)
    _run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=work, env=env)
    python = venv / "bin" / "python"
    locked = REPO_ROOT / "requirements" / f"{requirements}.txt"
    install = (UV, "pip", "install", "--quiet", "--python", python)
    _run(*install, "--require-hashes", "--no-deps", "-r", locked, cwd=work, env=env)
    _run(*install, "--no-deps", wheel, cwd=work, env=env)
    return python, work, env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(UV, "build", "--wheel", "--out-dir", out, REPO_ROOT, cwd=out, env=dict(os.environ))
    (built,) = out.glob("cryoprotect-*.whl")
    return built


def test_wheel_carries_migrations_reference_data_templates_and_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted((REPO_ROOT / "migrations" / "versions").glob("*.py"))
    assert migrations
    for path in migrations:
        assert f"cryoprotect/_data/migrations/versions/{path.name}" in names, path.name
    assert "cryoprotect/_data/migrations/env.py" in names
    assert "cryoprotect/_data/migrations/script.py.mako" in names
    for path in (REPO_ROOT / "data" / "reference").glob("*.csv"):
        assert f"cryoprotect/_data/data/reference/{path.name}" in names, path.name
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    templates = REPO_ROOT / "src" / "cryoprotect" / "html" / "templates"
    shipped = [p.relative_to(templates).as_posix() for p in templates.rglob("*") if p.is_file()]
    assert "base.html.j2" in shipped and "report.css" in shipped
    for name in shipped:
        assert f"cryoprotect/html/templates/{name}" in names, name
    assert not [n for n in names if "/tests/" in n or n.startswith("notebooks/")]


@pytest.mark.slow
def test_installed_wheel_migrates_seeds_predicts_and_serves(wheel, trained_project, tmp_path):
    python, work, env = _fresh_install(wheel, tmp_path, "service")
    venv = python.parent.parent

    env |= {
        "CRYOPROTECT_DATABASE_URL": f"sqlite:///{work / 'cryoprotect.db'}",
        "CRYOPROTECT_MODELS_DIR": str(trained_project / "models"),
    }
    where = _run(python, "-c", "import cryoprotect; print(cryoprotect.__file__)", cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    page = _run(python, "-c", "from cryoprotect.html import render; print(render('base.html.j2'))",
                cwd=work, env=env)  # fmt: skip
    assert "<main class='cp-report'>" in page.stdout  # the templates load from the install
    absent = _run(
        python,
        "-c",
        "import importlib.util as u; print([m for m in ('shap', 'dvc', 'great_expectations', "
        "'jupyterlab', 'optuna', 'dask', 'numba') if u.find_spec(m)])",
        cwd=work,
        env=env,
    )
    assert absent.stdout.strip() == "[]"

    cli = venv / "bin" / "cryoprotect"
    _run(cli, "db", "upgrade", cwd=work, env=env)
    _run(cli, "db", "seed", cwd=work, env=env)
    stats = json.loads(_run(cli, "db", "stats", "--format", "json", cwd=work, env=env).stdout)
    assert stats["molecules"] > 100 and stats["experiments"]["tg"] > 100

    pd.DataFrame({"smiles": ["OCC(O)CO", "CS(C)=O", "not a molecule"]}).to_csv(
        work / "in.csv", index=False
    )
    _run(cli, "predict", "tg", "--input", "in.csv", "--output", "out.csv", cwd=work, env=env)
    out = pd.read_csv(work / "out.csv")
    assert out["prediction"].iloc[:2].between(100, 400).all()
    assert (out["lower"] <= out["upper"]).iloc[:2].all()
    assert pd.isna(out["prediction"].iloc[2]) and "SMILES" in str(out["error"].iloc[2])

    port = _free_port()
    server = subprocess.Popen(
        [cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", server)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/predict",
            data=json.dumps({"target": "tg", "smiles": "OCC(O)CO"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            (row,) = json.load(response)["predictions"]
        assert row["error"] is None and row["lower"] <= row["prediction"] <= row["upper"]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_operations_set_runs_the_scheduled_health_check(wheel, tmp_path):
    """The jobs' image installs requirements/operations.txt: health runs there, no workbench."""
    python, work, env = _fresh_install(wheel, tmp_path, "operations")
    venv = python.parent.parent
    absent = _run(
        python,
        "-c",
        "import importlib.util as u; print([m for m in ('shap', 'dvc', 'jupyterlab', 'optuna', "
        "'dask', 'matplotlib') if u.find_spec(m)])",
        cwd=work,
        env=env,
    )
    assert absent.stdout.strip() == "[]"

    env |= {
        "CRYOPROTECT_DATABASE_URL": f"sqlite:///{work / 'cryoprotect.db'}",
        "CRYOPROTECT_ROOT_DIR": str(work),
    }
    cli = venv / "bin" / "cryoprotect"
    _run(cli, "db", "upgrade", cwd=work, env=env)
    _run(cli, "db", "seed", cwd=work, env=env)
    _run(cli, "jobs", "run", "--only", "health", "--once", cwd=work, env=env)
    status = json.loads(
        _run(
            cli, "jobs", "status", "--only", "health", "--format", "json", cwd=work, env=env
        ).stdout
    )
    assert status["jobs"]["health"]["status"] == "ok", status
    assert list((work / "reports" / "health").glob("*.json")), "no health report written"
