"""Ranking screened candidates: a weighted score and the Pareto front of the objectives.

Each objective is a target's prediction with a goal (maximize or minimize) and a weight. The
score is the weighted sum of the predictions turned into z-scores over the whole library (signs
chosen so that higher is better). The Pareto front is the set of candidates no other candidate
beats on every objective at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def oriented(frame: pd.DataFrame, goals: dict[str, str], column: str = "prediction") -> np.ndarray:
    """Return the objectives as columns where higher is better (``-inf`` for a missing value).

    Each target's value is read from ``<target>_<column>``.
    """
    columns = []
    for target, goal in goals.items():
        values = frame[f"{target}_{column}"].to_numpy(dtype=float)
        values = values if goal == "maximize" else -values
        columns.append(np.where(np.isfinite(values), values, -np.inf))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


Scale = tuple[np.ndarray, np.ndarray]
"""Mean and standard deviation of each oriented objective, in the order of the goals."""


def scale_of(frame: pd.DataFrame, goals: dict[str, str], column: str = "prediction") -> Scale:
    """Return the mean and spread of each oriented objective of ``frame`` (missing ignored)."""
    values = oriented(frame, goals, column)
    values = np.where(np.isfinite(values), values, np.nan)
    return np.nanmean(values, axis=0), np.nanstd(values, axis=0)


def weighted_score(
    frame: pd.DataFrame,
    goals: dict[str, str],
    weights: dict[str, float],
    scale: Scale | None = None,
    column: str = "prediction",
):
    """Return the weighted sum of the objectives' z-scores (NaN where a value is missing).

    The z-scores are taken over ``frame`` itself, or with ``scale`` (:func:`scale_of` of the
    library, e.g. estimated from a sample) when ``frame`` is only part of the library.
    """
    values = oriented(frame, goals, column)
    values = np.where(np.isfinite(values), values, np.nan)
    mean, spread = scale if scale is not None else scale_of(frame, goals, column)
    z = (values - mean) / np.where(spread > 0, spread, 1.0)
    return z @ np.array([weights[t] for t in goals], dtype=float)


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Return which rows of ``values`` (higher is better per column) no other row dominates.

    Two objectives take one sort and a sweep (``n log n``); more objectives compare each row with
    the front found so far.
    """
    n, k = values.shape
    front = np.zeros(n, dtype=bool)
    usable = np.isfinite(values).all(axis=1)
    index = np.flatnonzero(usable)
    if not len(index):
        return front
    if k == 1:
        front[index] = values[index, 0] == values[index, 0].max()
        return front
    if k == 2:
        # by the first objective, best first (ties: best second objective first); a group of
        # equal first objectives is on the front where it beats every earlier second objective
        order = index[np.lexsort((-values[index, 1], -values[index, 0]))]
        best, start = -np.inf, 0
        while start < len(order):
            end = start
            while end < len(order) and values[order[end], 0] == values[order[start], 0]:
                end += 1
            group = order[start:end]
            top = values[group[0], 1]
            if top > best:
                front[group[values[group, 1] == top]] = True
                best = top
            start = end
        return front
    kept: list[int] = []
    for row in index[np.argsort(-values[index].sum(axis=1))]:
        point = values[row]
        if not any((values[j] >= point).all() and (values[j] > point).any() for j in kept):
            kept.append(row)
    front[kept] = True
    return front
