"""Figures of the review dashboard beyond those the pipeline report shares.

Like :mod:`cryoprotect.pipeline.figures`, each returns a matplotlib Figure built without
pyplot, with units on the axes, a title and a legend where colours carry meaning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from cryoprotect.models.explain import Explanation
from cryoprotect.pipeline.figures import PALETTE, shorten_label

COVERED, MISSED = sns.color_palette(PALETTE)[2], sns.color_palette(PALETTE)[3]
"""Inside the interval: green; outside: red (the same in every figure)."""
BEESWARM_MAP = "coolwarm"


def beeswarm_figure(explanation: Explanation, target: str, unit: str, top: int = 12) -> Figure:
    """SHAP beeswarm: per feature (most important on top) one dot per explained row.

    A dot's position is the row's SHAP value; its colour the feature's value in that row,
    from low (blue) to high (red) within the feature.
    """
    values = np.asarray(explanation.values)
    data = np.asarray(explanation.data, dtype=float)
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:top]
    figure = Figure(figsize=(9, 0.42 * len(order) + 1.4), layout="constrained")
    axes = figure.subplots()
    colours = colormaps[BEESWARM_MAP]
    jitter = np.random.default_rng(0)
    for position, column in enumerate(order[::-1]):
        feature = data[:, column]
        finite = np.isfinite(feature)
        low, high = (np.nanmin(feature), np.nanmax(feature)) if finite.any() else (0.0, 0.0)
        scaled = (feature - low) / (high - low) if high > low else np.full(len(feature), 0.5)
        scaled = np.where(finite, scaled, 0.5)
        offsets = jitter.uniform(-0.3, 0.3, len(feature))
        axes.scatter(values[:, column], position + offsets, c=colours(scaled), s=12, alpha=0.8)
    axes.set_yticks(range(len(order)), [shorten_label(explanation.labels[c]) for c in order[::-1]])
    axes.axvline(0, color="0.3", linewidth=0.8)
    axes.set(
        xlabel=f"SHAP value: effect on predicted {target} ({unit})",
        title=f"{target}: how each feature moves the prediction ({len(values)} rows)",
    )
    scale = ScalarMappable(norm=Normalize(0, 1), cmap=colours)
    bar = figure.colorbar(scale, ax=axes, ticks=[0, 1], shrink=0.6, pad=0.01)
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value")
    return figure


def interval_figure(oof: pd.DataFrame, target: str, unit: str, confidence: float) -> Figure:
    """Out-of-fold intervals, rows sorted by prediction, with the measured value of each row.

    The band is the conformal interval; measured values inside it are green, outside red.
    The title gives the measured coverage against the nominal confidence.
    """
    table = oof.sort_values("predicted", kind="stable").reset_index(drop=True)
    rank = np.arange(len(table))
    covered = table["covered"].to_numpy(dtype=bool)
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots()
    axes.fill_between(
        rank,
        table["lower"],
        table["upper"],
        color="0.82",
        step="mid",
        label=f"{confidence:.0%} interval",
    )
    axes.plot(rank, table["predicted"], color="0.35", linewidth=1, label="predicted")
    for inside, colour, label in ((True, COVERED, "inside"), (False, MISSED, "outside")):
        chosen = covered == inside
        axes.scatter(
            rank[chosen],
            table["measured"][chosen],
            s=10,
            color=colour,
            label=f"measured, {label} ({int(chosen.sum())})",
            zorder=3,
        )
    axes.set(
        xlabel="rows, sorted by predicted value",
        ylabel=f"{target} ({unit})",
        title=(
            f"{target}: out-of-fold intervals, measured coverage {covered.mean():.1%} "
            f"(nominal {confidence:.0%})"
        ),
    )
    axes.legend(fontsize="small", loc="upper left")
    return figure


def versions_figure(versions: pd.DataFrame, target: str, unit: str) -> Figure:
    """Cross-validated MAE (mean ± spread over folds) and interval coverage of each version."""
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    error_axes, coverage_axes = figure.subplots(1, 2)
    labels = [
        v[:15] + ("\n(production)" if p else "")
        for v, p in zip(versions["version"], versions["production"], strict=True)
    ]
    position = np.arange(len(versions))
    colour = sns.color_palette(PALETTE)[0]
    error_axes.errorbar(
        position, versions["mae"], yerr=versions["mae_std"], fmt="o-", color=colour, capsize=4
    )
    error_axes.set(ylabel=f"CV MAE ({unit})", title=f"{target}: error by model version")
    coverage_axes.plot(position, versions["coverage"], "o-", color=colour)
    coverage_axes.set(ylabel="interval coverage", title="interval coverage by version")
    for axes in (error_axes, coverage_axes):
        axes.set_xticks(position, labels, fontsize="small", rotation=20)
        axes.set_xlim(-0.5, len(versions) - 0.5)
    return figure


def verification_figure(verifications: pd.DataFrame, target: str, unit: str) -> Figure:
    """Lab-measured against predicted values, with each prediction's interval, and y = x."""
    table = verifications.dropna(subset=["measured", "predicted"])
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    axes = figure.subplots()
    lower = (table["predicted"] - table["lower"]).fillna(0).clip(lower=0)
    upper = (table["upper"] - table["predicted"]).fillna(0).clip(lower=0)
    inside = (table["measured"] >= table["lower"]) & (table["measured"] <= table["upper"])
    for chosen, colour, label in ((inside, COVERED, "inside"), (~inside, MISSED, "outside")):
        axes.errorbar(
            table["measured"][chosen],
            table["predicted"][chosen],
            yerr=[lower[chosen], upper[chosen]],
            fmt="o",
            color=colour,
            capsize=3,
            label=f"measured {label} the interval ({int(chosen.sum())})",
        )
    values = table[["measured", "predicted"]].to_numpy(dtype=float)
    if values.size:
        low, high = float(values.min()), float(values.max())
        axes.plot([low, high], [low, high], color="0.3", linestyle="--", linewidth=1, label="y = x")
    axes.set(
        xlabel=f"measured in the lab, {target} ({unit})",
        ylabel=f"predicted {target} ({unit})",
        title=f"{target}: lab verifications",
    )
    axes.legend(fontsize="small")
    return figure
