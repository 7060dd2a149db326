"""``cryoprotect train``, ``predict`` and ``models``: the model life cycle from the shell."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pandas as pd
import typer
from sqlalchemy.exc import OperationalError

from cryoprotect.chem.cache import FeatureCache
from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, engine, fail, settings
from cryoprotect.db.datasets import frame_hash, molecule_names, training_frame
from cryoprotect.models import registry
from cryoprotect.models.predict import UnusableInputError, predict_frame
from cryoprotect.models.targets import TARGETS, target
from cryoprotect.models.training import TrainSettings, train_model

models_app = typer.Typer(help="List, inspect and promote trained models.", no_args_is_help=True)
TARGET_ARGUMENT = typer.Argument(..., help=f"One of: {', '.join(TARGETS)}.")


def _spec(name: str):
    try:
        return target(name)
    except KeyError as error:
        fail(str(error.args[0]))


def _code_version(root: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except OSError:
        return ""
    return result.stdout.strip()


def train(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    n_splits: int = typer.Option(5, help="Folds of the grouped cross-validation."),
    seed: int = typer.Option(0, help="Random seed of folds and estimators."),
    group_by: str = typer.Option("compound", help="compound or scaffold."),
    promote: bool = typer.Option(False, help="Make the new model the production version."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Train and register a model of NAME from the database (without the notebook pipeline)."""
    spec = _spec(name)
    cfg = settings(ctx)
    eng = engine(ctx)
    frame = training_frame(eng, spec.name, spec.subject)
    if len(frame) < n_splits:
        fail(
            f"only {len(frame)} {spec.name} measurements in the database; run "
            "'cryoprotect db seed' or import data first",
            fmt,
        )
    outcome = train_model(
        spec,
        frame,
        TrainSettings(n_splits=n_splits, seed=seed, group_by=group_by),
        cache=FeatureCache(cfg.resolved_cache_dir),
        data_hash=frame_hash(frame),
        code_version=_code_version(cfg.root_dir),
        names=molecule_names(eng),
    )
    path = registry.save(outcome.model, cfg.resolved_models_dir)
    if promote:
        registry.promote(cfg.resolved_models_dir, spec.name, outcome.model.version)
    summary = outcome.cv.summary()
    result = {
        "target": spec.name,
        "version": outcome.model.version,
        "path": str(path),
        "rows": len(outcome.oof),
        "mae": summary["mae_mean"],
        "mae_std": summary["mae_std"],
        "rmse": summary["rmse_mean"],
        "r2": summary["r2_mean"],
        "interval_coverage": outcome.model.card["validation"]["interval_coverage"],
    }
    emit(result, fmt)


def _resolver(ctx: typer.Context, model: registry.TrainedModel):
    names = dict(model.names)
    with contextlib.suppress(OperationalError):  # without a database, the saved names serve
        names |= molecule_names(engine(ctx))
    return lambda name: names.get(name.casefold())


def predict(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    input: Path = typer.Option(..., "--input", help="CSV with the target's input columns."),
    output: Path = typer.Option(..., "--output", help="Where to write the predictions (CSV)."),
    confidence: float = typer.Option(0.9, help="Coverage of the prediction interval."),
    version: str = typer.Option(None, help="Model version (default: production, else newest)."),
) -> None:
    """Predict NAME for every row of --input; bad rows get an error and the others go on."""
    spec = _spec(name)
    if not 0 < confidence < 1:
        fail(f"--confidence must be between 0 and 1, not {confidence}")
    try:
        frame = pd.read_csv(input, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        fail(f"cannot read {input} as CSV: {error}")
    try:
        model = registry.load(settings(ctx).resolved_models_dir, spec.name, version)
    except registry.ModelNotFoundError as error:
        fail(str(error))
    try:
        result = predict_frame(model, frame, _resolver(ctx, model), confidence)
    except UnusableInputError as error:
        fail(str(error))
    output.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(output, index=False)
    failed = int((result["error"] != "").sum())
    typer.echo(f"wrote {len(result)} rows to {output} ({failed} with an error)", err=True)


@models_app.command("list")
def list_models(
    ctx: typer.Context,
    name: str = typer.Option(None, "--target", help="Only this target."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List the registered model versions with their cross-validated MAE."""
    root = settings(ctx).resolved_models_dir
    rows = []
    for spec_name in [name] if name else list(TARGETS):
        production = registry.production_version(root, spec_name)
        for version in registry.versions(root, spec_name):
            card = registry.load(root, spec_name, version).card
            rows.append(
                {
                    "target": spec_name,
                    "version": version,
                    "production": version == production,
                    "mae": card["validation"]["summary"]["mae_mean"],
                }
            )
    emit(
        {"models": rows},
        fmt,
        [
            f"{r['target']:10} {r['version']}  MAE {r['mae']:.2f}"
            + ("  (production)" if r["production"] else "")
            for r in rows
        ],
    )


@models_app.command()
def show(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    version: str = typer.Argument(None, help="Default: production, else newest."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Show a model's card: data, parameters, validation metrics, libraries."""
    try:
        card = registry.load(settings(ctx).resolved_models_dir, _spec(name).name, version).card
    except registry.ModelNotFoundError as error:
        fail(str(error), fmt)
    emit(card, fmt)


@models_app.command("promote")
def promote_model(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    version: str = typer.Argument(..., help="The version to serve."),
) -> None:
    """Make VERSION the production model of NAME."""
    try:
        registry.promote(settings(ctx).resolved_models_dir, _spec(name).name, version)
    except registry.ModelNotFoundError as error:
        fail(str(error))
    typer.echo(f"{name} production model: {version}")
