"""Asked for ``--format json``, every command fails with a JSON document, never only a traceback."""

from __future__ import annotations

import json

import pytest
import typer

from cryoprotect.cli.main import app, run
from cryoprotect.config import get_settings


def _commands_with_format(command=None, path=()) -> list[tuple[str, ...]]:
    command = command or typer.main.get_command(app)
    found = []
    if any("--format" in getattr(p, "opts", ()) for p in command.params):
        found.append(path)
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _commands_with_format(sub, (*path, name))
    return found


COMMANDS = _commands_with_format()


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        run(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def _error(out: str) -> dict:
    document = json.loads(out)
    assert document["status"] == "error"
    return document


def test_most_commands_take_format():
    """The walk finds the commands with ``--format`` (so the usage-error test covers them)."""
    assert len(COMMANDS) >= 20
    assert ("db", "stats") in COMMANDS and ("backup", "list") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_usage_errors_are_json(capsys, path):
    """An unknown option is a JSON error naming it, with the parser's exit status 2."""
    code, out, _ = _run(capsys, *path, "--format", "json", "--no-such-option")
    assert code == 2
    assert "--no-such-option" in _error(out)["message"]


def test_a_commands_own_failure_is_json_without_passing_the_format(capsys, tmp_path):
    """``health`` reports an unmigrated database through ``fail`` as JSON on standard output."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, out, err = _run(capsys, "--database-url", url, "health", "--format", "json")
    assert code == 1
    assert "cannot check the database" in _error(out)["message"]
    assert not err.strip().startswith("error:")


def test_unexpected_exceptions_are_json_with_the_traceback_on_stderr(capsys, tmp_path):
    """A database error no command catches is a JSON document; the traceback goes to stderr."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, out, err = _run(capsys, "--database-url", url, "db", "stats", "--format", "json")
    assert code == 1
    assert _error(out)["message"].startswith("OperationalError")
    assert "Traceback" in err


def test_settings_errors_are_json(capsys, monkeypatch):
    """Unusable settings fail before any command runs: JSON too, exit status 2."""
    monkeypatch.setenv("CRYOPROTECT_LOG_LEVEL", "LOUD")
    get_settings.cache_clear()
    try:
        code, out, _ = _run(capsys, "db", "stats", "--format=json")
    finally:
        get_settings.cache_clear()
    assert code == 2
    assert "settings cannot be used" in _error(out)["message"]


def test_without_json_errors_stay_one_line_on_stderr(capsys, tmp_path):
    """The table format keeps the short ``error:`` line on standard error, nothing on stdout."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, out, err = _run(capsys, "--database-url", url, "health")
    assert code == 1
    assert out == ""
    assert err.startswith("error: cannot check the database")


def test_a_json_request_does_not_outlive_its_invocation(capsys, tmp_path):
    """After ``--format json``, the next invocation in the same process fails in plain text."""
    from typer.testing import CliRunner

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    _error(_run(capsys, "--database-url", url, "health", "--format", "json")[1])
    _error(_run(capsys, "--database-url", url, "--no-such-option", "--format", "json")[1])
    runner = CliRunner()
    assert _error(runner.invoke(app, ["--database-url", url, "health", "--format", "json"]).stdout)
    absent = str(tmp_path / "absent.csv")
    plain = runner.invoke(app, ["predict", "tg", "--input", absent, "--output", absent])
    assert plain.exit_code == 1
    assert plain.stdout.strip() == "" and "cannot read" in plain.stderr
