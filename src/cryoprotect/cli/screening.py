"""``cryoprotect screen``: rank a candidate library by predicted Tg and IRI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from cryoprotect.cli.common import (
    FORMAT_OPTION,
    OutputFormat,
    emit,
    fail,
    settings,
    shows_progress,
)
from cryoprotect.params import ParamsError, load_params


def screen(
    ctx: typer.Context,
    library: Path = typer.Option(
        ..., exists=True, dir_okay=False, help="Candidates: .smi, .csv or .parquet (.gz ok)."
    ),
    targets: str = typer.Option("tg,iri", help="Targets to predict, joined by commas."),
    out: Path = typer.Option(..., help="Folder for candidates.parquet, invalid.csv, summary.*."),
    chunk_size: int = typer.Option(None, min=1, help="Molecules per chunk (default: params)."),
    top: int = typer.Option(None, min=1, help="Candidates drawn in summary.html."),
    params_path: Path = typer.Option(None, "--params", help="Parameters (default: params.yaml)."),
    scheduler: str = typer.Option(
        "local",
        help="local (a Dask cluster of --workers processes on this machine), a scheduler "
        "address such as tcp://10.0.0.5:8786, or here (this process, no Dask).",
    ),
    workers: int = typer.Option(
        None, min=1, help="Worker processes of the local cluster (default: the cores)."
    ),
    first_pass: bool = typer.Option(
        True,
        help="Estimate every molecule cheaply first and predict only the most promising "
        "--fraction with the full models (--no-first-pass: every molecule fully).",
    ),
    fraction: float = typer.Option(
        None,
        max=1.0,
        help="Share of the molecules the full models predict (default: params "
        "screen.first_pass.fraction; 1.0 is the same as --no-first-pass).",
    ),
    progress: bool = typer.Option(
        True, help="Show a progress bar with rate and ETA (on a terminal, not with json)."
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Predict every molecule of LIBRARY, rank them, and write the results to OUT.

    Molecules are standardised (salts screened as their parent) and deduplicated by InChIKey;
    invalid lines are listed in invalid.csv, never fatal. The ranking puts candidates inside
    every model's applicability domain first, then orders by the weighted score of the
    objectives in params.yaml (screen.objectives); the Pareto front is marked.

    With the first pass (the default), every molecule is estimated by small models that mimic
    the full ones on cheap features, with the exact applicability domain; the full models then
    predict the most promising --fraction (and a calibration sample). The others keep their
    estimates (columns *_first_pass, stage "first pass") and rank after the fully predicted.
    """
    from cryoprotect.screening.distributed import chunk_runner
    from cryoprotect.screening.library import LibraryFormatError, count_molecules, read_library

    config = settings(ctx)
    try:
        params = load_params(params_path or config.root_dir / "params.yaml")
    except ParamsError as error:
        fail(str(error), fmt)
    chosen = [t.strip() for t in targets.split(",") if t.strip()]
    unknown = [t for t in chosen if t not in params.screen.objectives]
    if not chosen or unknown:
        fail(f"--targets: choose from {', '.join(params.screen.objectives)} (got {targets!r})", fmt)
    goals = {t: params.screen.objectives[t].goal for t in chosen}
    weights = {t: params.screen.objectives[t].weight for t in chosen}
    size = chunk_size or params.screen.chunk_size
    bar_shown = progress and shows_progress(config.progress, fmt, sys.stderr)
    share = fraction if fraction is not None else params.screen.first_pass.fraction
    if share <= 0:
        fail(f"--fraction must be above 0 and at most 1 (got {share})", fmt)
    staged = first_pass and share < 1.0
    try:
        total = count_molecules(library)
        with chunk_runner(scheduler, workers or os.cpu_count() or 1) as cluster:
            # the workers start importing what they need; this process does the same
            from tqdm import tqdm

            from cryoprotect.memory import trim_memory
            from cryoprotect.models import registry
            from cryoprotect.screening.chunks import ChunkScreener
            from cryoprotect.screening.run import screen as run_screen
            from cryoprotect.screening.staged import Stages, first_pass_screener, screen_in_stages

            try:
                models = {t: registry.load(config.resolved_models_dir, t) for t in chosen}
            except registry.ModelNotFoundError as error:
                fail(str(error), fmt)
            trim_memory()  # skops loads through many temporary objects: give their memory back
            screener = ChunkScreener(models, params.screen.iri_concentration_mM, params.confidence)
            with tqdm(
                total=total, unit="mol", disable=not bar_shown, smoothing=0.1, file=sys.stderr
            ) as bar:
                if staged:
                    result = screen_in_stages(
                        read_library(library, size),
                        screener,
                        first_pass_screener(models, params.screen.iri_concentration_mM),
                        goals,
                        weights,
                        Stages(share, params.screen.first_pass.calibration),
                        params.screen.domain_first,
                        runner=cluster.run,
                        progress=bar.update,
                        finished=cluster.release,
                    )
                else:
                    result = run_screen(
                        read_library(library, size),
                        screener,
                        goals,
                        weights,
                        params.screen.domain_first,
                        runner=cluster.run,
                        progress=bar.update,
                        finished=cluster.release,
                    )
    except LibraryFormatError as error:
        fail(str(error), fmt)
    from cryoprotect.screening.report import write_results

    paths = write_results(result, out, goals, top or params.screen.top, f"Screen of {library.name}")
    summary = result.summary() | {"outputs": {k: str(v) for k, v in paths.items()}}
    lines = [
        f"{result.read} molecules read: {len(result.candidates)} candidates, "
        f"{len(result.invalid)} invalid, {result.repeats} repeats, "
        f"{summary['pareto_front']} on the Pareto front "
        f"({summary['molecules_per_second']} molecules/s)",
        *(
            [
                f"first pass: {result.stages['first_pass_estimated']} molecules estimated, "
                f"{result.stages['passed_to_full_models']} passed to the full models "
                f"(+ {result.stages['calibration_sample']} calibration); "
                f"{result.stages['fully_predicted']} fully predicted, "
                f"{result.stages['first_pass_only']} with first-pass estimates only"
            ]
            if result.stages
            else []
        ),
        *(f"{k}: {v}" for k, v in summary["outputs"].items()),
    ]
    emit(summary, fmt, lines)
