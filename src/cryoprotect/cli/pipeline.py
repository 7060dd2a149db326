"""``cryoprotect pipeline``: the pipeline stages that are not notebooks (export, validate, gate).

They run in the project folder (the one holding ``dvc.yaml``), as DVC runs them.
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, engine, fail
from cryoprotect.db.snapshot import check_snapshot, export_snapshot
from cryoprotect.files import write_json
from cryoprotect.models.targets import TARGETS
from cryoprotect.params import ParamsError, load_params
from cryoprotect.pipeline.layout import Layout, find_project
from cryoprotect.pipeline.metrics import regression_gate

app = typer.Typer(help="Pipeline stages run by dvc.yaml.", no_args_is_help=True)


def _layout() -> Layout:
    """Return the layout of the project the command runs in (the folder with dvc.yaml)."""
    try:
        return Layout(find_project())
    except FileNotFoundError as error:
        fail(str(error))


@app.command()
def export(
    ctx: typer.Context,
    out: Path = typer.Option(None, help="Snapshot folder (default: data/snapshot)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Snapshot the database's tables to Parquet files for the pipeline."""
    folder = out or _layout().snapshot
    try:
        manifest = export_snapshot(engine(ctx), folder)
    except SQLAlchemyError as error:
        fail(f"cannot export the database: {error.__class__.__name__}: {error}", fmt)
    emit(
        {"folder": str(folder), **manifest},
        fmt,
        [f"snapshot at {folder} (schema {manifest['schema_revision']})"]
        + [f"  {table}: {rows} rows" for table, rows in manifest["tables"].items()],
    )


@app.command()
def validate(
    snapshot: Path = typer.Option(None, help="Snapshot folder (default: data/snapshot)."),
    output: Path = typer.Option(None, help="Write the result as JSON here."),
) -> None:
    """Check a snapshot's tables, columns, schema revision, value ranges, units and references."""
    folder = snapshot or _layout().snapshot
    problems = check_snapshot(folder)
    if output:
        write_json(output, {"snapshot": str(folder), "valid": not problems, "problems": problems})
    if problems:
        fail(f"snapshot {folder} is not valid: " + "; ".join(problems))
    typer.echo(f"snapshot {folder} is valid")


@app.command()
def gate(
    params_path: Path = typer.Option(None, "--params", help="Default: params.yaml."),
    output: Path = typer.Option(None, help="Write the result as JSON here."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Fail when a model's metrics miss the thresholds in params.yaml (the regression gate)."""
    layout = _layout()
    try:
        params = load_params(params_path or layout.params)
    except ParamsError as error:
        fail(str(error), fmt)
    targets = [name for name in TARGETS if name in params.targets]
    result = regression_gate({name: layout.metrics(name) for name in targets}, params)
    if output:
        write_json(output, result)
    if not result["passed"]:
        fail("regression gate failed: " + "; ".join(result["failures"]), fmt, **result)
    emit(result, fmt, [f"{name}: passes its thresholds" for name in result["targets"]])
