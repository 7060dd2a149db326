"""The dashboard's figures: what they draw, their titles, units and legends.

The tables here are made up for the tests; they are not measurements.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryoprotect.dashboard.figures import (
    COVERED,
    MISSED,
    beeswarm_figure,
    interval_figure,
    verification_figure,
    versions_figure,
)
from cryoprotect.models.explain import Explanation
from cryoprotect.pipeline.figures import parity_figure

RNG = np.random.default_rng(0)
EXPLANATION = Explanation(
    values=np.array([[3.0, -0.1, 0.5], [-2.0, 0.2, -0.4], [1.0, 0.0, 0.3]]),
    base_value=200.0,
    data=np.array([[1.0, 5.0, np.nan], [0.0, 6.0, 2.0], [0.5, 7.0, 3.0]]),
    feature_names=["f_big", "f_small", "f_mid"],
    labels=["big feature", "small feature", "middle feature"],
)
OOF = pd.DataFrame(
    {
        "measured": [100.0, 150.0, 200.0, 260.0],
        "predicted": [110.0, 140.0, 205.0, 230.0],
        "lower": [90.0, 120.0, 185.0, 210.0],
        "upper": [130.0, 160.0, 225.0, 250.0],
        "covered": [True, True, True, False],
        "fold": [0, 1, 0, 1],
        "source": ["paper A", "paper B", "paper A", "paper A"],
    }
)


def test_beeswarm_orders_features_by_importance_with_a_value_colour_bar():
    figure = beeswarm_figure(EXPLANATION, "tg", "K", top=2)
    axes, bar = figure.axes
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels == ["middle feature", "big feature"]  # most important drawn on top
    assert axes.get_xlabel() == "SHAP value: effect on predicted tg (K)"
    assert "3 rows" in axes.get_title()
    assert bar.get_ylabel() == "feature value"
    assert sum(len(c.get_offsets()) for c in axes.collections) == 6


def test_interval_figure_reports_measured_coverage_and_colours_misses():
    figure = interval_figure(OOF, "tg", "K", 0.9)
    axes = figure.axes[0]
    assert "measured coverage 75.0% (nominal 90%)" in axes.get_title()
    assert axes.get_ylabel() == "tg (K)"
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert "measured, inside (3)" in legend and "measured, outside (1)" in legend
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in axes.collections[1:]}
    assert colours == {tuple(np.round(COVERED, 3)), tuple(np.round(MISSED, 3))}


def test_parity_can_colour_by_source():
    axes = parity_figure(OOF, "tg", "K", hue="source").axes[0]
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert axes.get_legend().get_title().get_text() == "source"
    assert {"paper A", "paper B"} <= set(legend)


def test_versions_figure_marks_the_production_version():
    versions = pd.DataFrame(
        {
            "version": ["20260101T000000000000Z", "20260201T000000000000Z"],
            "mae": [15.0, 14.0],
            "mae_std": [1.0, 1.5],
            "coverage": [0.88, 0.91],
            "production": [False, True],
        }
    )
    error_axes, coverage_axes = versions_figure(versions, "tg", "K").axes
    assert error_axes.get_ylabel() == "CV MAE (K)"
    ticks = [t.get_text() for t in error_axes.get_xticklabels()]
    assert ticks[1].endswith("(production)") and "production" not in ticks[0]
    assert coverage_axes.lines[0].get_ydata().tolist() == pytest.approx([0.88, 0.91])


def test_verification_figure_separates_confirmed_intervals_from_misses():
    table = pd.DataFrame(
        {
            "measured": [190.0, 250.0, np.nan],
            "predicted": [185.0, 200.0, 180.0],
            "lower": [175.0, 190.0, 170.0],
            "upper": [195.0, 210.0, 190.0],
        }
    )
    axes = verification_figure(table, "tg", "K").axes[0]
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert "measured inside the interval (1)" in legend
    assert "measured outside the interval (1)" in legend
    assert axes.get_xlabel() == "measured in the lab, tg (K)"
