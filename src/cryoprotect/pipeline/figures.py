"""Figures of model quality, shared by the pipeline notebooks, the report and the dashboards.

Each function returns a matplotlib :class:`~matplotlib.figure.Figure` built without pyplot,
so it saves the same way in scripts whatever the backend; notebooks show it inline after
``%matplotlib inline`` (without it IPython shows only the figure's text).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

PALETTE = "tab10"
"""One qualitative palette for folds everywhere."""
LABEL_LIMIT = 60
"""Longer feature labels are cut (with an ellipsis) so that bar charts stay readable."""


def parity_figure(table: pd.DataFrame, target: str, unit: str, hue: str = "fold") -> Figure:
    """Scatter out-of-fold predicted against measured values, coloured by ``hue``, with y = x.

    ``table`` has columns ``measured``, ``predicted`` and ``hue`` (``fold`` in the plot data
    of training; the dashboards also colour by ``source``).
    """
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    axes = figure.subplots()
    groups = table[hue].astype(str)
    order = [str(k) for k in sorted(table[hue].unique())]
    sns.scatterplot(
        data=table.assign(**{hue: groups}),
        x="measured",
        y="predicted",
        hue=hue,
        hue_order=order,
        palette=PALETTE if len(order) <= 10 else "husl",
        s=18,
        alpha=0.75,
        ax=axes,
    )
    low = float(np.nanmin(table[["measured", "predicted"]].to_numpy()))
    high = float(np.nanmax(table[["measured", "predicted"]].to_numpy()))
    axes.plot([low, high], [low, high], color="0.3", linestyle="--", linewidth=1, label="y = x")
    axes.set(
        xlabel=f"measured {target} ({unit})",
        ylabel=f"predicted {target} ({unit}, out of fold)",
        title=f"{target}: predicted vs measured",
    )
    axes.legend(title=hue, fontsize="small")
    return figure


def residual_figure(table: pd.DataFrame, target: str, unit: str) -> Figure:
    """Residuals (measured - predicted) against predicted values, and their distribution."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    scatter, histogram = figure.subplots(1, 2)
    sns.scatterplot(data=table, x="predicted", y="residual", s=16, alpha=0.7, ax=scatter)
    scatter.axhline(0, color="0.3", linestyle="--", linewidth=1)
    scatter.set(
        xlabel=f"predicted {target} ({unit})",
        ylabel=f"residual ({unit})",
        title=f"{target}: residuals vs predicted",
    )
    sns.histplot(table["residual"], bins=30, kde=True, ax=histogram)
    histogram.set(xlabel=f"residual ({unit})", ylabel="rows", title="residual distribution")
    return figure


def shorten_label(label: str, limit: int = LABEL_LIMIT) -> str:
    """Return ``label`` cut to ``limit`` characters (with an ellipsis) for an axis."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def importance_figure(importance: pd.DataFrame, target: str, unit: str, top: int = 15) -> Figure:
    """Bar chart of the ``top`` features by mean |SHAP| (columns ``label``, ``mean_abs_shap``)."""
    shown = importance.head(top).iloc[::-1]
    labels = [shorten_label(label) for label in shown["label"]]
    figure = Figure(figsize=(9, 0.3 * len(shown) + 1.2), layout="constrained")
    axes = figure.subplots()
    axes.barh(labels, shown["mean_abs_shap"], color=sns.color_palette(PALETTE)[0])
    axes.set(
        xlabel=f"mean |SHAP value| ({unit})",
        title=f"{target}: the {len(shown)} most important features",
    )
    return figure


def tuning_figure(trials: pd.DataFrame, target: str, unit: str) -> Figure:
    """Cross-validated MAE of each tuning trial and the best so far (columns number, value)."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    axes.plot(trials["number"], trials["value"], "o", alpha=0.6, label="trial")
    axes.step(trials["number"], trials["value"].cummin(), where="post", label="best so far")
    axes.set(
        xlabel="trial (0: the parameters in params.yaml)",
        ylabel=f"grouped-CV MAE ({unit})",
        title=f"{target}: tuning history",
    )
    axes.legend()
    return figure


def png_data_uri(figure: Figure) -> str:
    """Return ``figure`` as a PNG ``data:`` URI (for self-contained HTML)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
