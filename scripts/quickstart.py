#!/usr/bin/env python3
"""Set up the project environment and run its main job or its tests.

    python3 scripts/quickstart.py run     # build + seed the database, then `dvc repro`
    python3 scripts/quickstart.py test    # the whole test suite with coverage
    python3 scripts/quickstart.py lint    # ruff lint and format check

Needs only Python 3.11+ and git. The environment lives in `.venv/` at the repository root and
is (re)installed whenever `pyproject.toml` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".quickstart-stamp"
OPTIONAL_SLOW_IMPORTS = ("rfc3987-syntax",)
"""Optional packages that cost seconds at every import of nbformat-based tools."""


def sh(*args: str | Path, **kwargs) -> None:
    """Run a command from the repository root, echoing it; stop on failure."""
    print("+", " ".join(str(a) for a in args), flush=True)
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, check=False, **kwargs)
    if completed.returncode:
        sys.exit(completed.returncode)


def ensure_environment() -> None:
    """Create `.venv` and install the package with its test extras when they are stale."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    sh(BIN / "python", "-m", "pip", "uninstall", "--quiet", "--yes", *OPTIONAL_SLOW_IMPORTS)
    STAMP.write_text(wanted)


def run() -> None:
    """Build and seed the embedded database, then reproduce the pipeline with `dvc repro`."""
    sh(BIN / "cryoprotect", "db", "upgrade")
    sh(BIN / "cryoprotect", "db", "seed")
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    sh(BIN / "dvc", "repro", env=os.environ | {"PATH": path})  # stages call cryoprotect, papermill
    sh(BIN / "dvc", "metrics", "show")


def test(extra: list[str]) -> None:
    """Run the whole test suite (coverage is reported by the pytest configuration)."""
    sh(BIN / "python", "-m", "pytest", *extra)


def lint() -> None:
    """Check the code with ruff: lint rules and formatting."""
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")


def main(argv: list[str]) -> None:
    """Dispatch `run`, `test` or `lint`."""
    commands = {"run": run, "test": lambda: test(argv[1:]), "lint": lint}
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    ensure_environment()
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
