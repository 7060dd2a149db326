"""The pipeline's summary report: one self-contained HTML page over every target."""

from __future__ import annotations

import html
import json

import pandas as pd

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

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
.pass { color: #17663a; font-weight: bold; } .fail { color: #a4161a; font-weight: bold; }
img { max-width: 100%; }
"""
SUMMARY_COLUMNS = [
    "rows", "groups", "mae", "mae_std", "scaffold_mae", "holdout_mae", "rmse", "r2",
    "interval_coverage", "interval_width_error_spearman",
]  # fmt: skip


def metrics_table(layout: Layout, targets: list[str]) -> pd.DataFrame:
    """Return one row of cross-validated metrics per target (from the metrics files)."""
    rows = [json.loads(layout.metrics(name).read_text()) for name in targets]
    return pd.DataFrame(rows).set_index("target")


def _section(layout: Layout, name: str, unit: str) -> str:
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
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td class='text'>{html.escape(str(v))}</td></tr>"
        for k, v in facts.items()
    )
    figures = [
        parity_figure(plot, name, unit),
        residual_figure(plot, name, unit),
        importance_figure(importance, name, unit),
    ]
    images = "".join(f"<img alt='{name} figure' src='{png_data_uri(f)}'>" for f in figures)
    heading = f"<h2 id='{name}'>{html.escape(name)} ({html.escape(unit)})</h2>"
    return f"{heading}<table>{rows}</table>{images}"


def build_report(layout: Layout, params: Params, targets: list[str]) -> str:
    """Write ``reports/index.html`` for ``targets`` and return its HTML.

    The page holds the metrics table with each target's result against its thresholds,
    then per target the model card facts, predicted-vs-measured and residual figures, and
    the SHAP feature importance.
    """
    table = metrics_table(layout, targets)
    gate = regression_gate({name: layout.metrics(name) for name in targets}, params)
    verdicts = {
        name: "<span class='pass'>pass</span>"
        if result["passed"]
        else "<span class='fail'>fail: " + html.escape("; ".join(result["failures"])) + "</span>"
        for name, result in gate["targets"].items()
    }
    summary = (
        table.reindex(columns=SUMMARY_COLUMNS)
        .assign(unit=table["unit"], thresholds=[verdicts.get(name, "") for name in table.index])
        .reset_index()
    )
    sections = "".join(_section(layout, name, table.loc[name, "unit"]) for name in targets)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>CryoProtect model report</title><style>{STYLE}</style></head><body>"
        "<h1>CryoProtect model report</h1>"
        "<p>Grouped cross-validation by compound: means over folds (<code>_std</code>: "
        "spread across folds); <code>scaffold_mae</code>: the same with whole Murcko "
        "scaffolds held out (new chemistry); <code>holdout_mae</code>: compounds never "
        "tuned or trained on. Interval coverage: share of out-of-fold values inside their "
        "conformal interval; <code>interval_width_error_spearman</code>: how well an "
        "interval's width ranks the error.</p>"
        f"{summary.to_html(index=False, escape=False, float_format=lambda v: f'{v:.3f}')}"
        f"{sections}"
        "</body></html>\n"
    )
    path = layout.reports / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return page
