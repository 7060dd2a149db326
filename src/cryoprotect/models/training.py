"""Train a target's model: grouped cross-validation, final fit, intervals, domain, model card."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version

import numpy as np
import pandas as pd
import structlog
from sklearn.model_selection import GroupShuffleSplit

from cryoprotect.chem.cache import FeatureCache
from cryoprotect.chem.mixtures import common_basis
from cryoprotect.models.conformal import ConformalIntervals
from cryoprotect.models.estimators import build_estimator
from cryoprotect.models.features import feature_matrix
from cryoprotect.models.registry import TrainedModel
from cryoprotect.models.targets import TargetSpec
from cryoprotect.models.thresholds import gate
from cryoprotect.models.validation import (
    CVResult,
    activity_metrics,
    cross_validate,
    regression_metrics,
    scaffold_groups,
)
from cryoprotect.params import Params

log = structlog.get_logger(__name__)
LIBRARIES = ("cryoprotect", "scikit-learn", "rdkit", "scikit-mol", "numpy", "pandas", "skops")


@dataclass
class TrainSettings:
    """How to train: folds, seed, estimator and featurizer (see params.yaml)."""

    n_splits: int = 5
    seed: int = 0
    n_jobs: int = 1
    group_by: str = "compound"
    estimator: str = "extra_trees"
    estimator_params: dict = field(default_factory=dict)
    featurizer: dict = field(default_factory=dict)
    domain_threshold: float = 0.3
    confidence: float = 0.9
    holdout_fraction: float = 0.0
    thresholds: dict = field(default_factory=dict)
    """``mae`` (mean over CV folds), ``coverage_min``/``coverage_max`` (CV interval coverage)."""

    @classmethod
    def from_params(cls, params: Params, target: str) -> TrainSettings:
        """Build the settings of ``target`` from validated ``params.yaml`` contents."""
        own = params.targets[target]
        return cls(
            n_splits=params.cv.n_splits,
            seed=params.seed,
            n_jobs=params.n_jobs,
            group_by=params.cv.group_by,
            estimator=own.estimator,
            estimator_params=dict(own.estimator_params),
            featurizer=dict(own.featurizer),
            domain_threshold=params.domain_threshold,
            confidence=params.confidence,
            holdout_fraction=params.holdout_fraction,
            thresholds=own.thresholds.model_dump(),
        )


@dataclass
class TrainingOutcome:
    """A trained model with its cross-validation and out-of-fold table."""

    model: TrainedModel
    cv: CVResult
    oof: pd.DataFrame


def fold_half_widths(residuals: np.ndarray, fold: np.ndarray, confidence: float) -> np.ndarray:
    """Per row, the conformal half-width calibrated on the residuals of the other folds.

    These are the out-of-fold intervals whose coverage :func:`interval_coverage` measures.
    """
    residuals, fold = np.asarray(residuals, dtype=float), np.asarray(fold)
    widths = np.zeros(len(residuals))
    for k in np.unique(fold):
        inside = fold == k
        widths[inside] = ConformalIntervals(residuals[~inside]).half_width(confidence)
    return widths


def interval_coverage(residuals: np.ndarray, fold: np.ndarray, confidence: float) -> float:
    """Coverage of conformal intervals on each fold, calibrated on the other folds' residuals."""
    widths = fold_half_widths(residuals, fold, confidence)
    return float((np.abs(np.asarray(residuals, dtype=float)) <= widths).mean())


def holdout_split(arrays: TrainingArrays, fraction: float, seed: int):
    """Return row indices ``(kept, held_out)``: a seeded share of the groups is held out."""
    split = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    return next(split.split(arrays.X, arrays.y, arrays.groups))


def tuning_rows(arrays: TrainingArrays, settings: TrainSettings) -> np.ndarray:
    """Return the rows tuning may use: all but the groups training holds out for its check."""
    if settings.holdout_fraction > 0:
        return holdout_split(arrays, settings.holdout_fraction, settings.seed)[0]
    return np.arange(len(arrays.y))


def holdout_check(
    make, arrays: TrainingArrays, fraction: float, seed: int, active_below: float | None
) -> dict:
    """Fit on all but a held-out share of the groups and measure the held-out rows."""
    train, test = holdout_split(arrays, fraction, seed)
    predicted = make().fit(arrays.X[train], arrays.y[train]).predict(arrays.X[test])
    metrics = regression_metrics(arrays.y[test], predicted)
    if active_below is not None:
        metrics |= activity_metrics(arrays.y[test], predicted, active_below)
    return {"rows": int(len(test)), "groups": int(len(set(arrays.groups[test]))), **metrics}


def _groups(spec: TargetSpec, frame: pd.DataFrame, group_by: str) -> np.ndarray:
    if group_by == "scaffold" and spec.subject == "molecule":
        return np.array(scaffold_groups(list(frame["smiles"]), list(frame["group"])))
    if group_by not in {"compound", "scaffold"}:
        raise ValueError(f"group_by must be 'compound' or 'scaffold', not {group_by!r}")
    return frame["group"].astype(str).to_numpy()


def _domain(spec: TargetSpec, frame: pd.DataFrame, threshold: float) -> dict:
    """Describe the training domain: molecules, and the ranges of amounts or concentrations."""
    if spec.subject == "mixture":
        mixtures = list(frame["components"])
        sets = {tuple(sorted(c.smiles for c in m)) for m in mixtures}
        amounts: dict[str, list[float]] = {}
        for mixture in mixtures:
            values, _ = common_basis(mixture)
            for component, value in zip(mixture, values, strict=True):
                low, high = amounts.get(component.smiles, [value, value])
                amounts[component.smiles] = [min(low, value), max(high, value)]
        return {
            "kind": "mixture",
            "threshold": threshold,
            "reference": sorted({c.smiles for m in mixtures for c in m}),
            "units": sorted({common_basis(m)[1] for m in mixtures}),
            "design": list(sets.pop()) if len(sets) == 1 else None,
            "amounts": amounts,
        }
    info = {"kind": "molecule", "threshold": threshold, "reference": sorted(set(frame["smiles"]))}
    if spec.uses_concentration:
        concentration = frame["concentration_mM"].astype(float)
        info["concentration_mM"] = [float(concentration.min()), float(concentration.max())]
    return info


@dataclass
class TrainingArrays:
    """A training table turned into model inputs: rows kept, X, y and CV groups."""

    data: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    feature_names: list[str]
    left_out: int


def training_arrays(
    spec: TargetSpec,
    frame: pd.DataFrame,
    featurizer: dict,
    group_by: str = "compound",
    cache: FeatureCache | None = None,
) -> TrainingArrays:
    """Featurize ``frame``; rows whose inputs cannot be featurized are left out and logged."""
    features = feature_matrix(spec, featurizer, frame, cache)
    keep = features.valid
    if not keep.all():
        log.warning(
            "rows left out of training",
            target=spec.name,
            count=int((~keep).sum()),
            reasons=sorted({e for e in features.errors if e}),
        )
    data = frame.loc[keep].reset_index(drop=True)
    return TrainingArrays(
        data=data,
        X=features.values[keep].filled(np.nan),
        y=data["value"].to_numpy(dtype=float),
        groups=_groups(spec, data, group_by),
        feature_names=list(features.names),
        left_out=int((~keep).sum()),
    )


def train_model(
    spec: TargetSpec,
    arrays: TrainingArrays,
    settings: TrainSettings,
    *,
    data_hash: str = "",
    code_version: str = "",
    names: dict[str, str] | None = None,
) -> TrainingOutcome:
    """Cross-validate, then fit on all rows of ``arrays`` (from :func:`training_arrays`)."""
    featurizer = dict(settings.featurizer)
    data, X, y, groups = arrays.data, arrays.X, arrays.y, arrays.groups
    name, params = settings.estimator, dict(settings.estimator_params)

    def make():
        return build_estimator(name, params, settings.seed)

    cv = cross_validate(
        make, X, y, groups, settings.n_splits, settings.seed, spec.active_below, settings.n_jobs
    )
    summary = cv.summary()
    residuals = y - cv.oof
    coverage = interval_coverage(residuals, cv.fold, settings.confidence)
    holdout = (
        holdout_check(make, arrays, settings.holdout_fraction, settings.seed, spec.active_below)
        if settings.holdout_fraction > 0
        else None
    )
    checked = gate(summary["mae_mean"], coverage, settings.thresholds)
    if not checked["passed"]:
        log.warning("model misses its thresholds", target=spec.name, failures=checked["failures"])
    estimator = make().fit(X, y)
    created = datetime.now(UTC)
    version = created.strftime("%Y%m%dT%H%M%S%fZ")
    card = {
        "target": spec.name,
        "unit": spec.unit,
        "version": version,
        "created": created.isoformat(),
        "code_version": code_version,
        "data": {
            "rows": len(data),
            "groups": int(len(set(groups))),
            "snapshot_hash": data_hash,
            "left_out": arrays.left_out,
        },
        "featurizer": featurizer,
        "estimator": {"name": name, "params": params},
        "validation": {
            "method": f"grouped {settings.n_splits}-fold CV by {settings.group_by}",
            "seed": settings.seed,
            "summary": summary,
            "per_fold": cv.per_fold.reset_index().to_dict("records"),
            "interval_confidence": settings.confidence,
            "interval_coverage": coverage,
            "holdout": holdout,
            "gate": checked,
        },
        "domain": {
            "method": "max Tanimoto similarity (Morgan r=2, 2048 bits) to training",
            "threshold": settings.domain_threshold,
        },
        "libraries": {lib: package_version(lib) for lib in LIBRARIES},
    }
    model = TrainedModel(
        target=spec.name,
        version=version,
        estimator=estimator,
        featurizer=featurizer,
        feature_names=arrays.feature_names,
        residuals=np.abs(residuals),
        domain=_domain(spec, data, settings.domain_threshold),
        names=names or {},
        card=card,
    )
    oof = data.drop(columns=[c for c in ("components",) if c in data]).assign(
        prediction=cv.oof, fold=cv.fold, residual=residuals
    )
    log.info(
        "trained",
        target=spec.name,
        version=version,
        mae_mean=summary["mae_mean"],
        coverage=coverage,
    )
    return TrainingOutcome(model, cv, oof)
