"""What a reviewer judges a target's model by, gathered from the pipeline's files and the database.

Out-of-fold predictions come from ``reports/plots/<target>.csv`` (written by training), with
the conformal interval each got from the other folds, exactly as the coverage in the model
card was measured; where each row comes from (source, name, structure) from the database snapshot
and the feature table; SHAP values from ``reports/explain/``; model cards of every version
from the registry; lab verifications from the live database (:mod:`cryoprotect.db.verifications`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import Engine

from cryoprotect.db.verifications import VERIFICATION_COLUMNS, verification_table
from cryoprotect.models import registry
from cryoprotect.models.card import ModelCard
from cryoprotect.models.explain import Explanation
from cryoprotect.models.feature_table import read_feature_names
from cryoprotect.models.targets import target
from cryoprotect.pipeline.layout import Layout


@dataclass
class TargetReview:
    """Everything the dashboard shows about one target's production model."""

    name: str
    unit: str
    card: ModelCard
    oof: pd.DataFrame
    """Out-of-fold rows: measured, predicted, residual, fold, lower, upper, covered, sigma,
    interval_group, in_domain, source, subject (what was measured, by name) and structure
    (SMILES, or components as text)."""
    importance: pd.DataFrame
    explanation: Explanation | None
    versions: pd.DataFrame
    verifications: pd.DataFrame


def _experiment_sources(layout: Layout) -> pd.DataFrame:
    """Return source and reported name of each experiment in the snapshot, keyed like training."""
    experiments = pd.read_parquet(
        layout.snapshot / "experiments.parquet",
        columns=["id", "record_id", "source", "reported_name"],
    )
    key = experiments["record_id"].fillna("experiment:" + experiments["id"].astype(str))
    return pd.DataFrame(
        {
            "record_id": key,
            "source": experiments["source"].fillna("unknown"),
            "reported_name": experiments["reported_name"],
        }
    )


def _structures(layout: Layout, name: str) -> pd.DataFrame:
    """Return the structure of every training row.

    That is its SMILES, or its mixture in the input format of predictions (``name:amount
    unit`` entries joined by ``;``).
    """
    path = layout.features(name)
    subject_column = "components" if target(name).subject == "mixture" else "smiles"
    table = pq.read_table(path, columns=["record_id", subject_column]).to_pandas()
    if subject_column == "smiles":
        return table.rename(columns={"smiles": "structure"})
    names = read_feature_names(path)
    by_smiles: dict[str, str] = {}
    for alias, smiles in sorted(names.items(), key=lambda item: (len(item[0]), item[0])):
        by_smiles.setdefault(smiles, alias)
    table["structure"] = [
        "; ".join(f"{by_smiles.get(s, s)}:{a:g} {u}" for s, a, u in json.loads(text))
        for text in table.pop("components")
    ]
    return table


def out_of_fold(layout: Layout, name: str) -> pd.DataFrame:
    """Return the out-of-fold predictions of ``name`` with intervals, sources and structures.

    ``lower``/``upper`` are the conformal interval (at the card's confidence) calibrated on
    the other folds; ``covered`` says whether the measured value falls inside.
    """
    table = pd.read_csv(layout.plots(name), dtype={"record_id": str, "group": str})
    table["covered"] = (table["measured"] >= table["lower"]) & (table["measured"] <= table["upper"])
    table = table.merge(_experiment_sources(layout), on="record_id", how="left")
    table = table.merge(_structures(layout, name), on="record_id", how="left")
    table["source"] = table["source"].fillna("unknown")
    table["subject"] = table["reported_name"].fillna(table["structure"])
    return table.drop(columns=["reported_name"])


def version_history(models: Path, name: str) -> pd.DataFrame:
    """One row per saved version of ``name``: when, estimator, CV metrics, production flag."""
    production = registry.production_version(models, name)
    rows = []
    for version in registry.versions(models, name):
        card = registry.read_card(models, name, version)
        summary = card.validation.summary
        rows.append(
            {
                "version": version,
                "created": card.created_label,
                "estimator": card.estimator.name,
                "rows": card.data.rows,
                "mae": summary["mae_mean"],
                "mae_std": summary["mae_std"],
                "rmse": summary["rmse_mean"],
                "r2": summary["r2_mean"],
                "coverage": card.validation.interval_coverage,
                "production": version == production,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "version",
            "created",
            "estimator",
            "rows",
            "mae",
            "mae_std",
            "rmse",
            "r2",
            "coverage",
            "production",
        ],
    )


def load_review(layout: Layout, name: str, engine: Engine | None = None) -> TargetReview:
    """Gather the review of ``name``'s production model.

    Without an ``engine`` (or without the SHAP values file) the verifications (explanation)
    are empty.

    Raises
    ------
    cryoprotect.models.registry.ModelNotFoundError
        If no model of ``name`` has been trained.
    FileNotFoundError
        If the pipeline's outputs for ``name`` are missing (``dvc repro`` makes them).
    """
    card = registry.read_card(layout.models, name)
    shap_file = layout.shap_values(name)
    return TargetReview(
        name=name,
        unit=card.unit,
        card=card,
        oof=out_of_fold(layout, name),
        importance=pd.read_csv(layout.explanation(name)),
        explanation=Explanation.load(shap_file) if shap_file.is_file() else None,
        versions=version_history(layout.models, name),
        verifications=verification_table(engine, name)
        if engine is not None
        else pd.DataFrame(columns=VERIFICATION_COLUMNS),
    )


def worst_compounds(oof: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """Return the ``count`` compounds (or formulations) predicted worst out of fold, worst first.

    Each is represented by its worst row, with ``measurements``, how many rows it has.
    """
    ranked = oof.assign(
        abs_error=oof["residual"].abs(),
        measurements=oof.groupby("group")["group"].transform("size"),
    )
    worst = ranked.sort_values("abs_error", ascending=False, kind="stable")
    return (
        worst.drop_duplicates("group").head(count).drop(columns="abs_error").reset_index(drop=True)
    )
