"""``cryoprotect dashboard``: start-up failures give one clear line (serving: browser test)."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from cryoprotect.cli.dashboard import voila_command
from cryoprotect.cli.main import app

runner = CliRunner()


def test_a_project_without_the_dashboard_notebook_is_refused(tmp_path):
    result = runner.invoke(app, ["dashboard", "--project-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"no dashboard notebook at {tmp_path / 'notebooks' / 'dashboard.ipynb'}" in result.output


def test_a_port_in_use_stops_with_a_reason(trained_project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(
            app, ["dashboard", "--project-dir", str(trained_project), "--port", str(port)]
        )
    assert result.exit_code == 1
    assert f"is port {port} free?" in result.output


def test_voila_serves_one_notebook_on_the_address_asked_without_tracebacks(tmp_path):
    command = voila_command(tmp_path / "d.ipynb", "0.0.0.0", 9000, tmp_path)
    assert command[1:4] == ["-m", "voila", str(tmp_path / "d.ipynb")]
    assert {"--Voila.ip=0.0.0.0", "--port=9000", "--show_tracebacks=False"} <= set(command)
    assert f"--Voila.root_dir={tmp_path}" in command
    assert "--VoilaConfiguration.file_allowlist=['reports/health/data_docs/.*']" in command
