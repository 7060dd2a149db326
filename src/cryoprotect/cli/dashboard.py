"""``cryoprotect dashboard``: serve the model review dashboard with Voila."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import typer

from cryoprotect.cli.common import fail, settings

NOTEBOOK = Path("notebooks") / "dashboard.ipynb"
START_TIMEOUT = 60.0
"""Seconds to wait for Voila to answer before giving up."""


SERVED_FILES = (r"reports/health/data_docs/.*",)
"""Files of the project Voila serves besides the page (under ``/voila/files/``): the health
checks' Data Docs, which the Health tab links to."""


def voila_command(notebook: Path, host: str, port: int, root: Path) -> list[str]:
    """Return the Voila command line that serves ``notebook`` on ``host:port``.

    ``root`` is the project folder: Voila serves :data:`SERVED_FILES` from it.
    """
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--Voila.ip={host}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--show_tracebacks=False",
        f"--Voila.root_dir={root}",
        f"--VoilaConfiguration.file_allowlist={list(SERVED_FILES)!r}",
    ]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "voila/static/", timeout=2):  # noqa: S310 (loopback)
            return True
    except urllib.error.HTTPError:
        return True  # the server answered, if only with an error status
    except OSError:
        return False


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def dashboard(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8866, help="Port to listen on."),
    project_dir: Path = typer.Option(
        None, help="The project whose models and reports to show (default: this checkout)."
    ),
) -> None:
    """Serve the review dashboard (Voila) and print its address; Ctrl-C stops it.

    The page shows the models and reports of the last 'dvc repro' and, from the database
    in force, lab verifications and health. It renders in a browser at the printed address.
    """
    cfg = settings(ctx)
    root = (project_dir or cfg.root_dir).resolve()
    notebook = root / NOTEBOOK
    if not notebook.is_file():
        fail(f"no dashboard notebook at {notebook}")
    env = os.environ | {"CRYOPROTECT_DATABASE_URL": cfg.resolved_database_url}
    server = subprocess.Popen(voila_command(notebook, host, port, root), cwd=root, env=env)  # noqa: S603
    signal.signal(signal.SIGTERM, _interrupt)  # stopping this command stops Voila too
    url = f"http://{host}:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(url):
            if server.poll() is not None:
                fail(f"Voila stopped with status {server.returncode} (is port {port} free?)")
            if time.monotonic() > deadline:
                server.terminate()
                fail(f"Voila did not answer at {url} within {START_TIMEOUT:.0f} s")
            time.sleep(0.2)
        typer.echo(f"CryoProtect dashboard: {url}", err=False)
        sys.stdout.flush()
        server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
    if server.returncode not in (0, -15):
        raise typer.Exit(code=1)
