"""Progress of long commands: a bar on a terminal, nothing otherwise or with --format json.

The bar's decision is tested directly (a pseudo-terminal, a plain stream, JSON output, the
``progress`` setting), then through the CLI: ``backup create`` run as a process whose
standard error is a pseudo-terminal, then a pipe; ``backup restore`` and ``health`` with the
setting forcing the bar (CliRunner's streams are no terminal). ``train``, ``tune`` and
``explain`` are covered in test_cli_models.py, on its trained models.
"""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cryoprotect.cli.common import OutputFormat, progress_bar, shows_progress
from cryoprotect.cli.main import app
from cryoprotect.config import get_settings

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"
BAR = re.compile(r"(\d+(?:\.\d+)?k?)/(\d+(?:\.\d+)?k?) \[")
"""A tqdm bar's counts: ``done/total [elapsed<left, rate]``."""


def final_counts(text: str, unit: str) -> tuple[str, str]:
    """Return the last ``done/total`` a bar of ``unit`` drew in ``text``."""
    found = [m for m in BAR.finditer(text) if unit in text[m.end() : m.end() + 40]]
    assert found, text
    return found[-1].group(1), found[-1].group(2)


def drain(primary: int) -> str:
    """Read a pseudo-terminal until its other end is closed, then close it; return the text."""
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # Linux: EIO once every other end is closed and the data read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return b"".join(chunks).decode()


@pytest.fixture(autouse=True)
def fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_terminal_gets_a_bar_with_counts_and_time_left():
    primary, secondary = pty.openpty()
    with os.fdopen(secondary, "w") as terminal:
        assert shows_progress("auto", OutputFormat.table, terminal)
        with progress_bar(None, OutputFormat.table, "train", terminal, "auto") as progress:
            for done in range(1, 4):
                progress(done, 3, "fold")
    text = drain(primary)
    assert "train" in text and final_counts(text, "fold") == ("3", "3")
    assert "<" in text  # elapsed<left


@pytest.mark.parametrize(
    ("mode", "fmt", "shown"),
    [
        ("auto", OutputFormat.table, False),  # not a terminal
        ("always", OutputFormat.table, True),
        ("always", OutputFormat.json, False),
        ("never", OutputFormat.table, False),
    ],
)
def test_the_bar_is_quiet_off_a_terminal_and_with_json(mode, fmt, shown):
    stream = io.StringIO()
    with progress_bar(None, fmt, "tune", stream, mode) as progress:
        assert (progress is not None) is shown
        if progress:
            progress(1, 2, "trial")
            progress(2, 2, "trial")
    assert bool(stream.getvalue()) is shown
    if shown:
        assert final_counts(stream.getvalue(), "trial") == ("2", "2")


def test_a_new_unit_starts_a_new_bar():
    stream = io.StringIO()
    with progress_bar(None, OutputFormat.table, "restore", stream, "always") as progress:
        progress(1, 2, "table")
        progress(2, 2, "table")
        progress(5, 10, "row")
    assert final_counts(stream.getvalue(), "table") == ("2", "2")
    assert final_counts(stream.getvalue(), "row") == ("5", "10")


@pytest.fixture
def database(tmp_path, monkeypatch):
    """A migrated SQLite database and a backup folder, for this test alone."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL", url)
    monkeypatch.setenv("CRYOPROTECT_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setenv("CRYOPROTECT_ROOT_DIR", str(tmp_path))
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return url


def _backup_process(stderr) -> subprocess.Popen:
    environment = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    environment.pop("CRYOPROTECT_PROGRESS", None)
    code = "from cryoprotect.cli.main import app; app()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "backup", "create"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=environment,
    )


def test_backup_create_on_a_terminal_shows_bytes_and_on_a_pipe_nothing(database):
    primary, secondary = pty.openpty()
    process = _backup_process(secondary)
    os.close(secondary)
    text = drain(primary)
    assert process.wait(timeout=120) == 0
    done, total = final_counts(text, "B")
    assert text.count("backup:") >= 1 and done == total and "100%" in text

    piped = _backup_process(subprocess.PIPE)
    out, err = piped.communicate(timeout=120)
    assert piped.returncode == 0, err
    assert b"backup " in out and b"100%" not in err and b"backup:" not in err


def test_restore_and_health_show_progress_when_asked(database, monkeypatch):
    monkeypatch.setenv("CRYOPROTECT_PROGRESS", "always")
    get_settings.cache_clear()
    created = runner.invoke(app, ["backup", "create"])
    assert created.exit_code == 0, created.output
    assert final_counts(created.stderr, "B")[0] == final_counts(created.stderr, "B")[1]

    restored = runner.invoke(app, ["backup", "restore", "--force"])
    assert restored.exit_code == 0, restored.output
    assert "restore:" in restored.stderr and "100%" in restored.stderr
    partial = runner.invoke(app, ["backup", "restore", "--force", "--tables", "molecules,users"])
    assert partial.exit_code == 0, partial.output
    assert final_counts(partial.stderr, "table") == ("2", "2")

    health = runner.invoke(app, ["health"])
    assert health.exit_code == 0, health.output
    assert final_counts(health.stderr, "suite") == ("5", "5")

    quiet = runner.invoke(app, ["health", "--format", "json"])
    assert quiet.exit_code == 0 and "suite" not in quiet.stderr and "%|" not in quiet.stderr
    quiet = runner.invoke(app, ["backup", "create", "--format", "json"])
    assert quiet.exit_code == 0 and "%|" not in quiet.stderr


def test_without_a_terminal_commands_are_quiet(database):
    """The default (auto) under CliRunner, whose standard error is no terminal."""
    created = runner.invoke(app, ["backup", "create"])
    assert created.exit_code == 0 and "%|" not in created.stderr
    health = runner.invoke(app, ["health"])
    assert health.exit_code == 0 and "%|" not in health.stderr
