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
    """Return the cross-validated metrics of a training run (means and spreads over folds).

    MAE, RMSE and R² per fold (mean and standard deviation), interval coverage, the
    held-out check and, for IRI, precision and recall of the active class.
    """
    card = outcome.model.card
    summary = card["validation"]["summary"]
    keys = [k for k in summary if k.endswith(("_mean", "_std"))]
    holdout = card["validation"]["holdout"] or {}
    return {
        "target": card["target"],
        "unit": card["unit"],
        "rows": card["data"]["rows"],
        "groups": card["data"]["groups"],
        **{key.removesuffix("_mean"): _rounded(summary[key]) for key in sorted(keys)},
        "interval_confidence": card["validation"]["interval_confidence"],
        "interval_coverage": _rounded(card["validation"]["interval_coverage"]),
        "holdout_mae": _rounded(holdout.get("mae")),
    }


def write_metrics(outcome: TrainingOutcome, path: Path) -> dict:
    """Write :func:`target_metrics` of ``outcome`` to ``path`` (JSON) and return them."""
    metrics = target_metrics(outcome)
    write_json(path, metrics)
    return metrics


def write_plot_data(outcome: TrainingOutcome, path: Path) -> None:
    """Write the out-of-fold predictions (measured, predicted, residual, fold) as CSV."""
    columns = ["record_id", "group", "value", "prediction", "residual", "fold"]
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
