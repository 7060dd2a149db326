"""The layers are import contracts (import-linter) that really check, and the README draws them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import cryoprotect

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
PACKAGE = Path(cryoprotect.__file__).parent
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _contracts() -> dict[str, dict]:
    """Return the import contracts of pyproject.toml by id."""
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def _lint_imports(source_root: Path) -> subprocess.CompletedProcess:
    """Run lint-imports with the project's contracts on the package found in ``source_root``."""
    path = os.pathsep.join(filter(None, [str(source_root), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(PYPROJECT)],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_every_import_contract():
    result = _lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in _contracts().values():
        assert f"{contract['name']} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "code", "contract_id", "arrow"),
    [
        pytest.param(
            "chem/structures.py",
            "import cryoprotect.cli\n",
            "layers",
            "cryoprotect.chem.structures -> cryoprotect.cli",
            id="upward-import",
        ),
        pytest.param(
            "models/registry.py",
            "def _database():\n    from cryoprotect.db import engine\n\n    return engine\n",
            "db-models",
            "cryoprotect.models.registry -> cryoprotect.db.engine",
            id="models-import-db-inside-a-function",
        ),
        pytest.param(
            "service/readiness.py",
            "def _app():\n    from cryoprotect.service.app import create_app\n\n"
            "    return create_app\n",
            "no-cycles",
            ".readiness -> .app",
            id="cycle-in-service",
        ),
        pytest.param(
            "dashboard/review.py",
            "from cryoprotect.db.schema import Molecule\n",
            "faces-ask-db",
            "cryoprotect.dashboard.review -> cryoprotect.db.schema",
            id="dashboard-query",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, code, contract_id, arrow):
    copy = tmp_path / "cryoprotect"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + "\n\n" + code)
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{_contracts()[contract_id]['name']} BROKEN" in result.stdout, result.stdout
    assert arrow in result.stdout, result.stdout


def _readme_layers() -> list[set[str]]:
    """Return the layers drawn in the fenced block of the README's Layout section, top first."""
    readme = (REPO / "README.md").read_text()
    section = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section, "README.md has no '## Layout' section"
    block = re.search(r"^```\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the Layout section has no fenced block"
    return [{name.strip() for name in line.split("|")} for line in block.group(1).splitlines()]


def test_the_readme_draws_the_layers_of_the_contract():
    layers = [
        {name.strip().strip("()") for name in line.split("|")}  # "(name)": optional layer
        for line in _contracts()["layers"]["layers"]
    ]
    assert _readme_layers() == layers
