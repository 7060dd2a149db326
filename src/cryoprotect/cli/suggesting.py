"""``cryoprotect suggest``: propose the next compounds to measure and record them as planned."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, engine, fail, settings
from cryoprotect.params import ParamsError, load_params


def suggest(
    ctx: typer.Context,
    target: str = typer.Option(..., help="tg or iri."),
    n: int = typer.Option(10, "--n", min=1, help="How many compounds to propose."),
    pool: Path = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Candidates (.smi, .csv, .parquet, e.g. a screen's candidates.parquet); default: "
        "the database's molecules without a measurement of the target.",
    ),
    owner: str = typer.Option(None, help="Who will verify them (default: the OS user)."),
    kappa: float = typer.Option(
        1.0, min=0, help="Weight of uncertainty (interval width) against predicted benefit."
    ),
    min_distance: float = typer.Option(
        0.4, min=0, max=1, help="Smallest Tanimoto distance between two proposals."
    ),
    dry_run: bool = typer.Option(False, help="Only print the proposals; record nothing."),
    params_path: Path = typer.Option(None, "--params", help="Parameters (default: params.yaml)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Propose compounds whose measurement would teach the model most, and plan them.

    Each proposal is recorded (unless --dry-run) as the model's prediction (with its inputs,
    interval and confidence) and a planned lab verification owned by --owner; once the lab
    has measured it, `cryoprotect verification add PREDICTION_ID --record-id ID` attaches the
    measurement and the dashboard sets the result beside the prediction.
    """
    from cryoprotect.db.suggestions import record_suggestions, unmeasured_molecules
    from cryoprotect.models import registry
    from cryoprotect.screening.suggest import propose

    config = settings(ctx)
    try:
        params = load_params(params_path or config.root_dir / "params.yaml")
    except ParamsError as error:
        fail(str(error), fmt)
    if target not in params.screen.objectives:
        fail(f"--target: choose from {', '.join(params.screen.objectives)}", fmt)
    try:
        model = registry.load(config.resolved_models_dir, target)
    except registry.ModelNotFoundError as error:
        fail(str(error), fmt)
    who = owner or getpass.getuser()
    eng = engine(ctx)
    candidates = _pool_file(pool) if pool else unmeasured_molecules(eng, target, who)
    if candidates.empty:
        fail("no candidate to propose: every molecule has a measurement or a plan", fmt)
    concentration = params.screen.iri_concentration_mM if target == "iri" else None
    proposals = propose(
        model,
        candidates,
        params.screen.objectives[target].goal,
        n,
        kappa,
        min_distance,
        concentration,
        params.confidence,
    )
    planned = (
        []
        if dry_run
        else record_suggestions(
            eng, who, target, model.version, proposals, concentration, params.confidence
        )
    )
    rows = [
        {
            "rank": rank,
            "name": row.name or "",
            "smiles": row.smiles,
            "prediction": round(row.prediction, 2),
            "lower": round(row.lower, 2),
            "upper": round(row.upper, 2),
            "in_domain": bool(row.in_domain),
            "novelty": round(row.novelty, 3),
            "score": round(row.score, 3),
            "prediction_id": planned[rank - 1].prediction_id if planned else None,
            "verification_id": planned[rank - 1].verification_id if planned else None,
        }
        for rank, row in enumerate(proposals.itertuples(index=False), start=1)
    ]
    lines = [
        f"{r['rank']:>3}. {r['name'] or r['smiles']}: {r['prediction']} [{r['lower']}, "
        f"{r['upper']}] {'' if r['in_domain'] else '(out of domain) '}novelty {r['novelty']}"
        for r in rows
    ]
    note = "not recorded (--dry-run)" if dry_run else f"recorded as planned for {who}"
    emit({"target": target, "model_version": model.version, "proposals": rows}, fmt,
         [*lines, f"{len(rows)} proposals {note} (model {model.version})"])  # fmt: skip


def _pool_file(path: Path):
    """Read a candidate file into ``smiles``, ``inchikey``, ``name`` (standardised, unique)."""
    import pandas as pd

    from cryoprotect.screening.library import read_library
    from cryoprotect.screening.prepare import Deduplicator

    dedup = Deduplicator()
    parts = [dedup.prepare(chunk).molecules for chunk in read_library(path)]
    return pd.concat(parts, ignore_index=True)[["smiles", "inchikey", "name"]]
