"""Figures of model quality: units on axes, titles, legends. The plotted values are made up."""

from __future__ import annotations

import pandas as pd

from cryoprotect.pipeline.figures import (
    importance_figure,
    parity_figure,
    png_data_uri,
    residual_figure,
    tuning_figure,
)

PLOT = pd.DataFrame(
    {
        "measured": [200.0, 250.0, 300.0, 310.0],
        "predicted": [210.0, 240.0, 305.0, 300.0],
        "residual": [-10.0, 10.0, -5.0, 10.0],
        "fold": [0, 1, 0, 1],
    }
)


def test_parity_figure_has_units_identity_line_and_fold_legend():
    axes = parity_figure(PLOT, "tg", "K").axes[0]
    assert axes.get_xlabel() == "measured tg (K)"
    assert axes.get_ylabel() == "predicted tg (K, out of fold)"
    assert "y = x" in [line.get_label() for line in axes.get_lines()]
    assert axes.get_legend().get_title().get_text() == "fold"


def test_residual_figure_has_scatter_and_distribution():
    scatter, histogram = residual_figure(PLOT, "iri", "%MGS").axes
    assert scatter.get_ylabel() == "residual (%MGS)"
    assert histogram.get_xlabel() == "residual (%MGS)"


def test_importance_and_tuning_figures():
    importance = pd.DataFrame({"label": ["a", "b", "c"], "mean_abs_shap": [3.0, 2.0, 1.0]})
    bars = importance_figure(importance, "tg", "K", top=2).axes[0]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["b", "a"]
    assert bars.get_title() == "tg: the 2 most important features"
    trials = pd.DataFrame({"number": [0, 1, 2], "value": [5.0, 6.0, 4.0]})
    history = tuning_figure(trials, "tg", "K").axes[0]
    assert list(history.get_lines()[1].get_ydata()) == [5.0, 5.0, 4.0]
    assert png_data_uri(parity_figure(PLOT, "tg", "K")).startswith("data:image/png;base64,iVBOR")


def test_long_feature_labels_are_shortened():
    importance = pd.DataFrame({"label": ["x" * 80], "mean_abs_shap": [1.0]})
    [label] = importance_figure(importance, "tg", "K").axes[0].get_yticklabels()
    assert label.get_text() == "x" * 59 + "…"
