"""Helpers shared by the security tests."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from sqlalchemy import Engine
from typer.testing import CliRunner

from cryoprotect.cli.main import app


def import_as(eng: Engine, folder: Path, owner: str) -> Result:
    """Run ``cryoprotect import experiments`` on ``eng``'s login for ``owner``.

    The file holds one made-up Tg measurement (lab:1) of a structure outside the reference set.
    """
    table = folder / "lab.csv"
    table.write_text(
        "record_id,property,value,unit,smiles,citation\n"
        "lab:1,tg,200,K,CC(C)(C)CC(O)CO,made-up test fixture\n"
    )
    url = eng.url.render_as_string(hide_password=False)
    arguments = ["--database-url", url, "import", "experiments", str(table), "--owner", owner]
    return CliRunner().invoke(app, arguments)
