"""Active learning: which compounds to measure next.

A candidate is worth measuring when its predicted value is good (the target's goal in
``screen.objectives``) and when the model knows little about it. The model's uncertainty
about a molecule is the width of its conformal interval, which follows how hard that
molecule is (:mod:`cryoprotect.models.conformal`: wider out of the applicability domain and
where the trees disagree). The acquisition score is the z-score of the oriented prediction
plus ``kappa`` times the z-score of the interval width (an upper-confidence-bound rule);
the novelty (one minus the highest Tanimoto similarity to the training molecules) is shown
beside it. Picks are then kept diverse: going
down the scores, a candidate is taken only if its Tanimoto distance to every pick so far is
at least ``min_distance``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rdkit import DataStructs

from cryoprotect.models.domain import TanimotoDomain, fingerprint
from cryoprotect.models.predict import model_domain, predict_frame
from cryoprotect.models.registry import TrainedModel
from cryoprotect.models.targets import TARGETS


def _z(values: np.ndarray) -> np.ndarray:
    spread = np.nanstd(values)
    return (values - np.nanmean(values)) / (spread if spread > 0 else 1.0)


def acquisition(prediction: np.ndarray, width: np.ndarray, goal: str, kappa: float):
    """Return the benefit z-score plus ``kappa`` times the interval-width z-score."""
    benefit = prediction if goal == "maximize" else -prediction
    return _z(benefit) + kappa * _z(width)


def diverse_top(smiles: list[str], scores: np.ndarray, n: int, min_distance: float) -> list[int]:
    """Return up to ``n`` indices of diverse candidates, best score first.

    Each is at least ``min_distance`` (Tanimoto distance) from every index chosen before it;
    unscored (NaN) candidates are never chosen.
    """
    chosen: list[int] = []
    prints: list = []
    for index in np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable"):
        if len(chosen) == n or not np.isfinite(scores[index]):
            break
        current = fingerprint(smiles[index])  # the domain's, so distances mean the same
        if current is None:
            continue
        if prints and max(DataStructs.BulkTanimotoSimilarity(current, prints)) > 1 - min_distance:
            continue
        chosen.append(int(index))
        prints.append(current)
    return chosen


def propose(
    model: TrainedModel,
    pool: pd.DataFrame,
    goal: str,
    n: int,
    kappa: float = 1.0,
    min_distance: float = 0.4,
    concentration_mM: float | None = None,
    confidence: float = 0.9,
) -> pd.DataFrame:
    """Return the ``n`` proposals from ``pool`` (``smiles``, ``inchikey``, ``name``), best first.

    Adds ``prediction``, ``lower``, ``upper``, ``width``, ``in_domain``, ``novelty`` and
    ``score``.
    """
    spec = TARGETS[model.target]
    frame = pd.DataFrame({"smiles": pool["smiles"].to_numpy()})
    if spec.uses_concentration:
        frame["concentration_mM"] = concentration_mM
    domain: TanimotoDomain = model_domain(model)
    out = predict_frame(model, frame, confidence=confidence, domain=domain)
    scored = pool.reset_index(drop=True).copy()
    scored["prediction"] = out["prediction"].to_numpy(dtype=float)
    scored["lower"] = out["lower"].to_numpy(dtype=float)
    scored["upper"] = out["upper"].to_numpy(dtype=float)
    scored["width"] = scored["upper"] - scored["lower"]
    scored["in_domain"] = (out["in_domain"] == "true").to_numpy()
    scored["novelty"] = 1.0 - domain.similarity(list(scored["smiles"]))
    scored["score"] = acquisition(
        scored["prediction"].to_numpy(), scored["width"].to_numpy(), goal, kappa
    )
    chosen = diverse_top(list(scored["smiles"]), scored["score"].to_numpy(), n, min_distance)
    return scored.iloc[chosen].reset_index(drop=True)
