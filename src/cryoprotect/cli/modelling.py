"""``cryoprotect train``, ``predict`` and ``models``: the model life cycle from the shell."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from cryoprotect.cli.common import (
    FORMAT_OPTION,
    OutputFormat,
    emit,
    engine,
    fail,
    progress_bar,
    settings,
)
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.models.targets import TARGETS, target
from cryoprotect.params import CVParams, ParamsError, load_params

if TYPE_CHECKING:
    from cryoprotect.models.registry import TrainedModel

# The scientific libraries (scikit-learn, SHAP, skops, Optuna, RDKit) are imported by the
# commands that use them, so that every other command starts fast.

models_app = typer.Typer(help="List, inspect and promote trained models.", no_args_is_help=True)
TARGET_ARGUMENT = typer.Argument(..., help=f"One of: {', '.join(TARGETS)}.")


def _spec(name: str):
    try:
        return target(name)
    except KeyError as error:
        fail(str(error.args[0]))


PARAMS_OPTION = typer.Option(None, "--params", help="Parameters file (default: params.yaml).")


def _settings(ctx: typer.Context, name: str, params_path: Path | None, **overrides):
    from cryoprotect.models.training import TrainSettings

    path = params_path or settings(ctx).root_dir / "params.yaml"
    try:
        params = load_params(path)
    except ParamsError as error:
        fail(str(error))
    if name not in params.targets:
        fail(f"{path} has no parameters for target {name!r}")
    given = {k: v for k, v in overrides.items() if v is not None}
    cv = {k: given.pop(k) for k in ("n_splits", "group_by") if k in given}
    try:
        params = params.model_copy(update={"cv": CVParams(**{**params.cv.model_dump(), **cv})})
    except ValidationError as error:
        fail(
            "; ".join(
                f"--{e['loc'][0]}".replace("_", "-") + f": {e['msg']}" for e in error.errors()
            )
        )
    chosen = TrainSettings.from_params(params, name)
    for key, value in given.items():
        setattr(chosen, key, value)
    return chosen, params.targets[name]


def train(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    n_splits: int = typer.Option(None, help="Folds of the grouped CV (default: params)."),
    seed: int = typer.Option(None, help="Random seed of folds and estimators (default: params)."),
    group_by: str = typer.Option(None, help="compound or scaffold (default: params)."),
    promote: bool = typer.Option(False, help="Make the new model the production version."),
    study: str = typer.Option(None, help="Use the best parameters of this Optuna study."),
    params_path: Path = PARAMS_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Train and register a model of NAME from the database, the way the pipeline does.

    The database is snapshotted, the snapshot validated and the database's health checks
    run (the pipeline's export, validate and health stages; a critical failure stops here),
    the snapshot featurized, and the model trained, saved in the registry and recorded in
    the database's model_versions. --promote makes it the production model in both.
    Settings come from params.yaml; the model card records the cross-validated results
    against the thresholds there, and a model that misses them is reported as failing.
    """
    from cryoprotect.models.tuning import best_of_study
    from cryoprotect.pipeline.checked_snapshot import SnapshotRefused, export_checked_snapshot
    from cryoprotect.pipeline.layout import Layout
    from cryoprotect.pipeline.lifecycle import train_and_register
    from cryoprotect.pipeline.steps import write_features
    from cryoprotect.provenance import git_commit

    spec = _spec(name)
    cfg = settings(ctx)
    chosen, _ = _settings(
        ctx, spec.name, params_path, n_splits=n_splits, seed=seed, group_by=group_by
    )
    if study:
        chosen.estimator, chosen.estimator_params = best_of_study(
            cfg.resolved_optuna_storage, study
        )
    eng = engine(ctx)
    with tempfile.TemporaryDirectory(prefix="cryoprotect-train-") as scratch:
        layout = Layout(
            Path(scratch), models_dir=cfg.resolved_models_dir, cache_dir=cfg.resolved_cache_dir
        )
        try:
            export_checked_snapshot(eng, layout.snapshot)
        except SnapshotRefused as error:
            fail(f"not training {spec.name}: {error}", fmt, problems=error.problems)
        except SQLAlchemyError as error:
            fail(f"cannot read the database: {_first_line(error)}", fmt)
        try:
            write_features(layout, spec.name, chosen)
        except ValueError as error:
            fail(f"{error}; run 'cryoprotect db seed' or import data first", fmt)
        try:
            with progress_bar(ctx, fmt, f"train {spec.name}") as progress:
                outcome = train_and_register(
                    layout,
                    spec.name,
                    chosen,
                    engine=eng,
                    promote=promote,
                    code_version=git_commit(cfg.root_dir),
                    progress=progress,
                )
        except (SQLAlchemyError, AccessDenied) as error:
            fail(
                f"cannot record the model in the database (nothing registered): "
                f"{_first_line(error)}",
                fmt,
            )
    version = outcome.model.version
    summary = outcome.cv.summary()
    result = {
        "gate": outcome.model.card.validation.gate.model_dump(),
        "target": spec.name,
        "version": version,
        "path": str(cfg.resolved_models_dir / spec.name / version),
        "rows": len(outcome.oof),
        "mae": summary["mae_mean"],
        "mae_std": summary["mae_std"],
        "rmse": summary["rmse_mean"],
        "r2": summary["r2_mean"],
        "interval_coverage": outcome.model.card.validation.interval_coverage,
    }
    emit(result, fmt)


def _first_line(error: Exception) -> str:
    """Return a database error as one line: its class and the driver's first line."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{error.__class__.__name__}: {reason[0] if reason else ''}"


def _frame(eng, spec, n_splits: int, fmt: OutputFormat):
    from cryoprotect.db.datasets import training_frame

    frame = training_frame(eng, spec.name, spec.subject)
    if len(frame) < n_splits:
        fail(
            f"only {len(frame)} {spec.name} measurements in the database; run "
            "'cryoprotect db seed' or import data first",
            fmt,
        )
    return frame


def tune(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    trials: int = typer.Option(None, help="Trials to add to the study (default: params)."),
    estimator: str = typer.Option(None, help="Estimator to tune (default: params)."),
    study: str = typer.Option(None, help="Study name (default: <target>-<estimator>)."),
    params_path: Path = PARAMS_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Tune NAME's estimator with Optuna; the study persists in CRYOPROTECT_OPTUNA_STORAGE.

    The groups that ``train`` holds out for its threshold check are left out of tuning.

    Several workers (on several machines, with a PostgreSQL storage URL) may run the same
    study at once; each adds its trials. Train with the result: ``train NAME --study STUDY``.
    """
    from cryoprotect.chem.cache import FeatureCache
    from cryoprotect.models.training import training_arrays, tuning_rows
    from cryoprotect.models.tuning import tune as run_study

    spec = _spec(name)
    cfg = settings(ctx)
    chosen, own = _settings(ctx, spec.name, params_path, estimator=estimator)
    frame = _frame(engine(ctx), spec, chosen.n_splits, fmt)
    cache = FeatureCache(cfg.resolved_cache_dir)
    arrays = training_arrays(spec, frame, chosen.featurizer, chosen.group_by, cache)
    rows = tuning_rows(arrays, chosen)
    with progress_bar(ctx, fmt, f"tune {spec.name}") as progress:
        result = run_study(
            arrays.X[rows],
            arrays.y[rows],
            arrays.groups[rows],
            estimator=chosen.estimator,
            n_trials=trials or own.trials,
            n_splits=chosen.n_splits,
            seed=chosen.seed,
            storage=cfg.resolved_optuna_storage,
            study_name=study or f"{spec.name}-{chosen.estimator}",
            baseline=chosen.estimator_params if chosen.estimator == own.estimator else None,
            n_jobs=chosen.n_jobs,
            optional_last_feature=spec.optional_input is not None,
            progress=progress,
        )
    emit(vars(result), fmt)


def _resolver(ctx: typer.Context, model: TrainedModel):
    from cryoprotect.db.datasets import molecule_names

    names = dict(model.names)
    with contextlib.suppress(OperationalError):  # without a database, the saved names serve
        names |= molecule_names(engine(ctx))
    return lambda name: names.get(name.casefold())


def _melting_points(ctx: typer.Context):
    """Return a lookup of the melting points measured in the database (none without one)."""
    from cryoprotect.db.datasets import measured_melting_points

    known: dict[str, float] = {}
    with contextlib.suppress(OperationalError):
        known = measured_melting_points(engine(ctx))
    return known.get


def predict(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    input: Path = typer.Option(..., "--input", help="CSV with the target's input columns."),
    output: Path = typer.Option(..., "--output", help="Where to write the predictions (CSV)."),
    confidence: float = typer.Option(0.9, help="Coverage of the prediction interval."),
    version: str = typer.Option(None, help="Model version (default: production, else newest)."),
    record: bool = typer.Option(
        False,
        "--record",
        help="Also write each prediction to the database, owned by --owner, and add its id "
        "as a prediction_id column.",
    ),
    owner: str = typer.Option(
        None, help="With --record: the user the predictions belong to (default: the OS user)."
    ),
) -> None:
    """Predict NAME for every row of --input; bad rows get an error and the others go on.

    With --record every predicted row is also written to the database's predictions table
    (model version, inputs, interval, confidence), owned by --owner, all rows or none; rows
    with an error are not recorded (their prediction_id is empty).
    """
    from cryoprotect.models import registry
    from cryoprotect.models.predict import UnusableInputError, predict_frame, read_input

    spec = _spec(name)
    if not 0 < confidence < 1:
        fail(f"--confidence must be between 0 and 1, not {confidence}")
    try:
        frame, problems = read_input(input)
    except UnusableInputError as error:
        fail(str(error))
    try:
        model = registry.load(settings(ctx).resolved_models_dir, spec.name, version)
    except (registry.ModelNotFoundError, ValueError) as error:
        fail(str(error))
    resolve = _resolver(ctx, model)
    try:
        result = predict_frame(
            model,
            frame,
            resolve,
            confidence,
            problems,
            melting_point=_melting_points(ctx) if spec.optional_input else lambda key: None,
        )
    except UnusableInputError as error:
        fail(str(error))
    if record:
        result = _recorded(ctx, spec, result, confidence, resolve, owner)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(output, index=False)
    except OSError as error:
        fail(f"cannot write {output}: {error}")
    failed = int((result["error"] != "").sum())
    typer.echo(f"wrote {len(result)} rows to {output} ({failed} with an error)", err=True)


def _recorded(ctx: typer.Context, spec, result, confidence: float, resolve, owner: str | None):
    """Write ``result``'s predictions for ``owner`` and add their ids as ``prediction_id``."""
    import getpass

    import pandas as pd

    from cryoprotect.db.predictions import record_predictions, rows_from_frame

    columns = [*spec.input_columns, *([spec.optional_input] if spec.optional_input else [])]
    rows = rows_from_frame(result, spec.name, confidence, columns, resolve)
    try:
        ids = record_predictions(engine(ctx), owner or getpass.getuser(), rows)
    except AccessDenied as error:
        fail(f"refused by the access rules; nothing was recorded or written: {error}")
    except OperationalError as error:
        fail(f"cannot record in the database; nothing was written: {_first_line(error)}")
    result = result.copy()
    result["prediction_id"] = pd.array(ids, dtype="Int64")
    return result


def explain(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    rows: int = typer.Option(100, help="Training rows to explain (a seeded random sample)."),
    output: Path = typer.Option(None, help="Write the SHAP importance table (CSV) here."),
    version: str = typer.Option(None, help="Model version (default: production, else newest)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Explain NAME's model with SHAP: mean |SHAP| per feature, with readable names."""
    from cryoprotect.chem.cache import FeatureCache
    from cryoprotect.models import registry
    from cryoprotect.models.explain import explain_sample
    from cryoprotect.models.training import training_arrays

    spec = _spec(name)
    cfg = settings(ctx)
    try:
        model = registry.load(cfg.resolved_models_dir, spec.name, version)
    except registry.ModelNotFoundError as error:
        fail(str(error), fmt)
    frame = _frame(engine(ctx), spec, 2, fmt)
    arrays = training_arrays(
        spec, frame, model.featurizer, cache=FeatureCache(cfg.resolved_cache_dir)
    )
    with progress_bar(ctx, fmt, f"explain {spec.name}") as progress:
        table = explain_sample(model, arrays, rows, progress=progress).importance()
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(output, index=False)
    top = table.head(15)
    emit(
        {"target": spec.name, "version": model.version, "top": top.to_dict("records")},
        fmt,
        [f"{r.mean_abs_shap:10.3f}  {r.label}" for r in top.itertuples()],
    )


@models_app.command("list")
def list_models(
    ctx: typer.Context,
    name: str = typer.Option(None, "--target", help="Only this target."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List the registered model versions with their cross-validated MAE."""
    from cryoprotect.models import registry

    root = settings(ctx).resolved_models_dir
    rows = []
    for spec_name in [name] if name else list(TARGETS):
        production = registry.production_version(root, spec_name)
        for version in registry.versions(root, spec_name):
            card = registry.read_card(root, spec_name, version)
            rows.append(
                {
                    "target": spec_name,
                    "version": version,
                    "production": version == production,
                    "mae": card.validation.mae,
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
    from cryoprotect.models import registry

    try:
        card = registry.read_card(settings(ctx).resolved_models_dir, _spec(name).name, version)
    except registry.ModelNotFoundError as error:
        fail(str(error), fmt)
    emit(card.to_json_dict(), fmt)


@models_app.command("promote")
def promote_model(
    ctx: typer.Context,
    name: str = TARGET_ARGUMENT,
    version: str = typer.Argument(..., help="The version to serve."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Make VERSION the production model of NAME, in the registry and the database together.

    A version the database does not know yet (trained against another database) is recorded
    from its model card. If the database cannot be written, the registry is left unchanged.
    """
    from cryoprotect.models import registry
    from cryoprotect.pipeline.lifecycle import promote_version

    spec = _spec(name)
    try:
        promote_version(settings(ctx).resolved_models_dir, spec.name, version, engine(ctx))
    except registry.ModelNotFoundError as error:
        fail(str(error), fmt)
    except (SQLAlchemyError, AccessDenied) as error:
        fail(
            f"cannot record the promotion in the database, so the registry is unchanged "
            f"(is it migrated? 'cryoprotect db upgrade'): {_first_line(error)}",
            fmt,
        )
    emit(
        {"target": spec.name, "production": version},
        fmt,
        [f"{spec.name} production model: {version}"],
    )
