"""A notebook in JupyterLab, as a scientist opens it: the project's kernel runs it without error.

JupyterLab (from the environment) serves a small project (the real notebooks, the reference
snapshot, fast made-up parameters from ``pipeline_workspace``); Playwright drives Debian's
Chromium (``/usr/bin/chromium``) to open ``notebooks/features.ipynb`` on the ``cryoprotect``
kernel that the quick start registers, run all cells, and read the outputs. Jupyter's
configuration, data and runtime folders are temporary, so nothing is written to the home folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from pipeline_workspace import make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
BIN = Path(sys.executable).parent
KERNEL = "cryoprotect"
RUN_TIMEOUT_MS = 240_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _api(base: str, token: str, path: str, body: dict | None = None) -> object:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory) -> dict:
    """The environment of Jupyter processes: every Jupyter folder in a temporary place."""
    home = tmp_path_factory.mktemp("jupyter")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MPLBACKEND"))}
    env |= {
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    return env


def test_project_kernel_is_registered_in_the_environment(jupyter_env):
    listed = subprocess.run(
        [BIN / "jupyter", "kernelspec", "list", "--json"],
        env=jupyter_env,
        capture_output=True,
        text=True,
        check=True,
    )
    specs = json.loads(listed.stdout)["kernelspecs"]
    assert KERNEL in specs, "no cryoprotect kernel: run python3 scripts/quickstart.py test"
    spec = specs[KERNEL]
    assert Path(spec["resource_dir"]).is_relative_to(Path(sys.prefix))
    assert Path(spec["spec"]["argv"][0]).parent == BIN
    assert "cryoprotect" in spec["spec"]["display_name"]


@pytest.fixture(scope="module")
def jupyterlab(reference_snapshot, jupyter_env, tmp_path_factory):
    """JupyterLab serving a small project; yields (base URL, token, project folder)."""
    project = make_workspace(tmp_path_factory.mktemp("lab") / "project", reference_snapshot)
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        str(BIN / "jupyter-lab"),
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={project}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path_factory.getbasetemp() / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, env=jupyter_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, "JupyterLab exited; see jupyterlab.log"
            try:
                _api(base, token, "/api/status")
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start in 90 s"
                time.sleep(0.5)
        yield base, token, project
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_features_notebook_runs_in_jupyterlab_on_the_project_kernel(jupyterlab, tmp_path):
    assert CHROMIUM.is_file(), "Chromium is missing: python3 scripts/quickstart.py test installs it"
    base, token, project = jupyterlab
    path = "notebooks/features.ipynb"
    session = _api(
        base,
        token,
        "/api/sessions",
        {"path": path, "name": "features.ipynb", "type": "notebook", "kernel": {"name": KERNEL}},
    )
    assert session["kernel"]["name"] == KERNEL
    screenshots = Path(os.environ.get("CRYOPROTECT_SCREENSHOT_DIR") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/lab/tree/{path}?token={token}", timeout=RUN_TIMEOUT_MS)
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        notebook.locator(".jp-Cell").first.wait_for(timeout=RUN_TIMEOUT_MS)
        kernel_name = notebook.locator(".jp-KernelName").first
        kernel_name.wait_for(timeout=60_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-KernelName')]"
            ".some(e => e.textContent.includes('cryoprotect'))",
            timeout=60_000,
        )

        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

        code_cells = notebook.locator(".jp-CodeCell")
        count = code_cells.count()
        assert count >= 3
        page.wait_for_function(
            """count => {
                const prompts = [...document.querySelectorAll(
                    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
                const done = p => /\\[\\d+\\]/.test(p.textContent);
                return prompts.length === count && prompts.every(done);
            }""",
            arg=count,
            timeout=RUN_TIMEOUT_MS,
        )
        body = notebook.inner_text()
        page.screenshot(path=str(screenshots / "jupyterlab-features.png"), full_page=True)
        stderr = notebook.locator("[data-mime-type='application/vnd.jupyter.stderr']")
        error_text = stderr.all_inner_texts()
        has_image = notebook.locator(".jp-OutputArea-output img").count()
        has_table = notebook.locator(".jp-OutputArea-output table").count()
        browser.close()

    assert "Traceback" not in body and not error_text, error_text
    assert errors == []
    assert has_image >= 1 and has_table >= 1
    assert (project / "data" / "features" / "tg.parquet").is_file()
    (running,) = [s for s in _api(base, token, "/api/sessions") if s["path"] == path]
    assert running["kernel"]["name"] == KERNEL
