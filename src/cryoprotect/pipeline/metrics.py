"""Metrics and plot data that DVC reads, and the regression gate over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cryoprotect.files import write_json
from cryoprotect.models.thresholds import gate
from cryoprotect.params import Params

if TYPE_CHECKING:
    from cryoprotect.models.training import TrainingOutcome

DIGITS = 4
"""Metrics are rounded so that files stay readable and diffs show real changes only."""


def _rounded(value):
    return round(float(value), DIGITS) if value is not None else None


def target_metrics(outcome: TrainingOutcome) -> dict:
    """Return the validated metrics of a training run (means and spreads over folds).

    MAE, RMSE and R² per fold of the grouped CV by compound (mean and standard deviation),
    the MAE of the CV by scaffold and on the held-out compounds side by side, interval
    coverage (overall and per calibration group) and how well interval width ranks error,
    for IRI precision and recall of the active class, and for a model that can use a
    melting point the same MAEs without one.
    """
    card = outcome.model.card
    validation = card.validation
    summary = validation.summary
    keys = [k for k in summary if k.endswith(("_mean", "_std"))]
    metrics = {
        "target": card.target,
        "unit": card.unit,
        "rows": card.data.rows,
        "groups": card.data.groups,
        **{key.removesuffix("_mean"): _rounded(summary[key]) for key in sorted(keys)},
        "scaffold_mae": _rounded(validation.by_scaffold.mae) if validation.by_scaffold else None,
        "scaffold_mae_std": _rounded(validation.by_scaffold.mae_std)
        if validation.by_scaffold
        else None,
        "holdout_mae": _rounded(validation.holdout.mae) if validation.holdout else None,
        "interval_confidence": validation.interval_confidence,
        "interval_coverage": _rounded(validation.interval_coverage),
    }
    if validation.without_melting_point is not None:
        metrics["mae_without_melting_point"] = _rounded(validation.without_melting_point.mae)
    if validation.holdout_without_melting_point is not None:
        metrics["holdout_mae_without_melting_point"] = _rounded(
            validation.holdout_without_melting_point.mae
        )
    if card.uncertainty is not None:
        metrics["interval_width_error_spearman"] = _rounded(card.uncertainty.width_error_spearman)
        for group, figures in card.uncertainty.by_group.items():
            key = group.replace(",", "").replace(" ", "_")
            metrics[f"coverage_{key}"] = _rounded(figures.coverage)
            metrics[f"rows_{key}"] = figures.rows
    return {k: v for k, v in metrics.items() if v is not None}


def write_metrics(outcome: TrainingOutcome, path: Path) -> dict:
    """Write :func:`target_metrics` of ``outcome`` to ``path`` (JSON) and return them."""
    metrics = target_metrics(outcome)
    write_json(path, metrics)
    return metrics


def write_plot_data(outcome: TrainingOutcome, path: Path) -> None:
    """Write the out-of-fold predictions as CSV, with the interval each one got.

    Columns: measured, predicted, residual, fold, and the interval calibrated on the other
    folds (``lower``, ``upper``), the difficulty ``sigma``, the calibration group and the
    domain flag.
    """
    columns = [
        "record_id", "group", "value", "prediction", "residual", "fold", "lower", "upper",
        "sigma", "interval_group", "in_domain",
    ]  # fmt: skip
    table = outcome.oof[columns].rename(columns={"value": "measured", "prediction": "predicted"})
    path.parent.mkdir(parents=True, exist_ok=True)
    table.round(DIGITS).to_csv(path, index=False)


def regression_gate(metrics_files: dict[str, Path], params: Params) -> dict:
    """Check every target's metrics against its thresholds in ``params``.

    Returns
    -------
    dict
        ``passed``; ``failures``, one line per miss naming the target (a missing metrics
        file is a miss); ``targets``, per target the result of
        :func:`~cryoprotect.models.training.gate`.
    """
    results, failures = {}, []
    for name, path in metrics_files.items():
        if not path.is_file():
            failures.append(f"{name}: no metrics at {path}; has the train stage run?")
            continue
        metrics = json.loads(path.read_text())
        thresholds = params.targets[name].thresholds.model_dump()
        results[name] = gate(metrics["mae"], metrics["interval_coverage"], thresholds)
        failures += [f"{name}: {failure}" for failure in results[name]["failures"]]
    return {"passed": not failures, "failures": failures, "targets": results}
