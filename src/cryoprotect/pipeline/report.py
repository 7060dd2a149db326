"""The pipeline's summary report: one self-contained HTML page over every target."""

from __future__ import annotations

import json

import pandas as pd

from cryoprotect.html import render
from cryoprotect.models import registry
from cryoprotect.params import Params
from cryoprotect.pipeline.figures import (
    importance_figure,
    parity_figure,
    png_data_uri,
    residual_figure,
)
from cryoprotect.pipeline.layout import Layout
from cryoprotect.pipeline.metrics import regression_gate

SUMMARY_COLUMNS = [
    "rows", "groups", "mae", "mae_std", "scaffold_mae", "holdout_mae", "rmse", "r2",
    "interval_coverage", "interval_width_error_spearman",
]  # fmt: skip


def metrics_table(layout: Layout, targets: list[str]) -> pd.DataFrame:
    """Return one row of cross-validated metrics per target (from the metrics files)."""
    rows = [json.loads(layout.metrics(name).read_text()) for name in targets]
    return pd.DataFrame(rows).set_index("target")


def _section(layout: Layout, name: str, unit: str) -> dict:
    """Return one target's part of the page: model card facts and its figures as PNG."""
    card = registry.read_card(layout.models, name)
    plot = pd.read_csv(layout.plots(name))
    importance = pd.read_csv(layout.explanation(name))
    estimator = card.estimator
    facts = {
        "model version": card.version,
        "estimator": f"{estimator.name} {json.dumps(estimator.params, sort_keys=True)}",
        "featurizer": json.dumps(card.featurizer, sort_keys=True),
        "validation": card.validation.method,
        "training rows (left out)": f"{card.data.rows} ({card.data.left_out})",
        "code version": card.code_version or "unknown",
    }
    if card.uncertainty is not None:
        facts["intervals"] = card.uncertainty.method
        facts |= {
            f"coverage, {group}": f"{figures.coverage:.1%} of {figures.rows} rows"
            for group, figures in card.uncertainty.by_group.items()
        }
    figures = {
        "parity": parity_figure(plot, name, unit),
        "residuals": residual_figure(plot, name, unit),
        "shap-bar": importance_figure(importance, name, unit),
    }
    return {
        "name": name,
        "unit": unit,
        "facts": list(facts.items()),
        "figures": {kind: png_data_uri(figure) for kind, figure in figures.items()},
    }


def build_report(layout: Layout, params: Params, targets: list[str]) -> str:
    """Write ``reports/index.html`` for ``targets`` and return its HTML.

    The page holds the metrics table with each target's result against its thresholds,
    then per target the model card facts, predicted-vs-measured and residual figures, and
    the SHAP feature importance.
    """
    table = metrics_table(layout, targets)
    gate = regression_gate({name: layout.metrics(name) for name in targets}, params)
    summary = table.reindex(columns=SUMMARY_COLUMNS).assign(unit=table["unit"]).reset_index()
    page = render(
        "pipeline_report.html.j2",
        columns=SUMMARY_COLUMNS,
        summary=summary.to_dict("records"),
        gate=gate["targets"],
        sections=[_section(layout, name, table.loc[name, "unit"]) for name in targets],
    )
    path = layout.reports / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return page
