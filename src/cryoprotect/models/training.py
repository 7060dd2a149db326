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
from cryoprotect.models.card import (
    CVFigures,
    DataSummary,
    DomainInfo,
    EstimatorInfo,
    Gate,
    HoldoutFigures,
    ModelCard,
    UncertaintyReport,
    Validation,
)
from cryoprotect.models.conformal import (
    Calibration,
    ConformalIntervals,
    coverage_report,
    cross_conformal,
    group_label,
)
from cryoprotect.models.domain import TanimotoDomain
from cryoprotect.models.estimators import OptionalLastFeature, build_estimator
from cryoprotect.models.features import feature_matrix
from cryoprotect.models.registry import TrainedModel
from cryoprotect.models.targets import TargetSpec
from cryoprotect.models.thresholds import gate
from cryoprotect.models.validation import (
    CVResult,
    activity_metrics,
    cross_validate,
    fold_metrics,
    regression_metrics,
    scaffold_groups,
    summarize,
)
from cryoprotect.params import Params
from cryoprotect.progress import Progress, offset, report

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
            featurizer={**own.featurizer, "max_heavy_atoms": params.max_heavy_atoms},
            domain_threshold=params.domain_threshold,
            confidence=params.confidence,
            holdout_fraction=params.holdout_fraction,
            thresholds=own.thresholds.model_dump(),
        )


@dataclass
class TrainingOutcome:
    """A trained model with its cross-validation and out-of-fold table.

    The out-of-fold table holds the training rows with ``prediction``, ``fold``,
    ``residual``, ``sigma`` (difficulty), ``lower``/``upper`` (the interval calibrated on the
    other folds), ``interval_group`` and ``in_domain`` (relative to the other folds).
    """

    model: TrainedModel
    cv: CVResult
    oof: pd.DataFrame


def holdout_split(arrays: TrainingArrays, fraction: float, seed: int):
    """Return row indices ``(kept, held_out)``: a seeded share of the groups is held out."""
    split = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    return next(split.split(arrays.X, arrays.y, arrays.groups))


def tuning_rows(arrays: TrainingArrays, settings: TrainSettings) -> np.ndarray:
    """Return the rows tuning may use: all but the groups training holds out for its check."""
    if settings.holdout_fraction > 0:
        return holdout_split(arrays, settings.holdout_fraction, settings.seed)[0]
    return np.arange(len(arrays.y))


def _figures(y: np.ndarray, predicted: np.ndarray, groups, active_below: float | None) -> dict:
    metrics = regression_metrics(y, predicted)
    if active_below is not None:
        metrics |= activity_metrics(y, predicted, active_below)
    return {"rows": int(len(y)), "groups": int(len(set(groups))), **metrics}


def holdout_check(
    make, arrays: TrainingArrays, fraction: float, seed: int, active_below: float | None
) -> tuple[HoldoutFigures, HoldoutFigures | None]:
    """Fit on all but a held-out share of the groups and measure the held-out rows.

    Returns the figures of the model as used, and for a model with an optional last input
    (:class:`OptionalLastFeature`) also those of every held-out row predicted without it.
    """
    train, test = holdout_split(arrays, fraction, seed)
    fitted = make().fit(arrays.X[train], arrays.y[train])
    y, groups = arrays.y[test], arrays.groups[test]
    used = HoldoutFigures(**_figures(y, fitted.predict(arrays.X[test]), groups, active_below))
    if not isinstance(fitted, OptionalLastFeature):
        return used, None
    without = fitted.without_.predict(arrays.X[test][:, :-1])
    return used, HoldoutFigures(**_figures(y, without, groups, active_below))


def out_of_fold_domain(spec: TargetSpec, frame: pd.DataFrame, fold: np.ndarray, threshold: float):
    """Return whether each row is in the domain of the other folds' molecules.

    Mixtures (designed formulations) count as in the domain of their design.
    """
    if spec.subject != "molecule":
        return np.ones(len(frame), dtype=bool)
    smiles = frame["smiles"].astype(str).to_numpy()
    inside = np.zeros(len(frame), dtype=bool)
    for k in np.unique(fold):
        rows = fold == k
        inside[rows] = TanimotoDomain(list(smiles[~rows]), threshold).contains(list(smiles[rows]))
    return inside


@dataclass
class _CalibrationRows:
    """The calibration rows of a cross-validation and the training row each belongs to."""

    calibration: Calibration
    predictions: np.ndarray
    measured: np.ndarray
    fold: np.ndarray
    row: np.ndarray


def _calibration_rows(y: np.ndarray, cv: CVResult, inside: np.ndarray) -> _CalibrationRows:
    """Out-of-fold predictions as calibration rows, grouped by domain (and optional input).

    A model with an optional input adds each row predicted with it a second time, predicted
    without it, so the group of predictions made without the input is calibrated on all rows.
    """
    rows = np.arange(len(y))
    if cv.uses_feature is None:
        groups = [group_label(i) for i in inside]
        predictions, sigmas = cv.oof, cv.sigma
    else:
        used = np.flatnonzero(cv.uses_feature)
        rows = np.concatenate([used, rows])
        predictions = np.concatenate([cv.oof[used], cv.oof_without])
        sigmas = np.concatenate([cv.sigma[used], cv.sigma_without])
        groups = [group_label(inside[r], True) for r in used]
        groups += [group_label(i, False) for i in inside]
    calibration = Calibration.from_out_of_fold(y[rows] - predictions, sigmas, groups)
    return _CalibrationRows(calibration, predictions, y[rows], cv.fold[rows], rows)


def _uncertainty(spec: TargetSpec, cv: CVResult, y, inside, confidence: float):
    """Calibrate the intervals and measure them fold by fold.

    Returns the calibration, the uncertainty report, and per training row the interval of
    the prediction it got out of fold, with its group.
    """
    rows = _calibration_rows(y, cv, inside)
    lower, upper = cross_conformal(rows.calibration, rows.predictions, rows.fold, confidence)
    report = coverage_report(rows.measured, lower, upper, rows.predictions, rows.calibration.groups)
    difficulty = (
        "posterior standard deviation of the Gaussian process"
        if spec.subject == "mixture"
        else "standard deviation of the trees' predictions"
    )
    uncertainty = UncertaintyReport(
        method="normalised Mondrian conformal regression (crepes) on grouped out-of-fold "
        "residuals, one calibration per group; coverage measured fold by fold",
        difficulty=difficulty,
        pooled_groups=ConformalIntervals(rows.calibration).pooled_groups(),
        **report,
    )
    # each training row's own out-of-fold prediction: with the optional input where it was used
    index = np.arange(len(y))
    if cv.uses_feature is not None:
        used = np.flatnonzero(cv.uses_feature)
        index = len(used) + index
        index[used] = np.arange(len(used))
    per_row = pd.DataFrame(
        {
            "sigma": rows.calibration.sigmas[index],
            "lower": lower[index],
            "upper": upper[index],
            "interval_group": rows.calibration.groups[index],
        }
    )
    return rows.calibration, uncertainty, per_row


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


def _cv_figures(method: str, y, predicted, fold, active_below) -> CVFigures:
    per_fold, overall = fold_metrics(y, predicted, fold, active_below)
    return CVFigures(
        method=method,
        summary=summarize(per_fold, overall),
        per_fold=per_fold.reset_index().to_dict("records"),
    )


def scaffold_check(
    spec: TargetSpec,
    make,
    arrays: TrainingArrays,
    settings: TrainSettings,
    progress: Progress | None = None,
) -> CVFigures | None:
    """Cross-validate with whole Murcko scaffolds held out (molecules only): new chemistry."""
    if spec.subject != "molecule":
        return None
    groups = np.array(scaffold_groups(list(arrays.data["smiles"]), list(arrays.data["group"])))
    cv = cross_validate(
        make,
        arrays.X,
        arrays.y,
        groups,
        settings.n_splits,
        settings.seed,
        spec.active_below,
        settings.n_jobs,
        progress,
    )
    return _cv_figures(
        f"grouped {settings.n_splits}-fold CV by scaffold", arrays.y, cv.oof, cv.fold,
        spec.active_below,
    )  # fmt: skip


def _as_fits(progress: Progress | None) -> Progress | None:
    """Report the folds of a cross-validation as fits of training."""
    if progress is None:
        return None
    return lambda done, total, _unit: progress(done, total, "fit")


def train_model(
    spec: TargetSpec,
    arrays: TrainingArrays,
    settings: TrainSettings,
    *,
    data_hash: str = "",
    code_version: str = "",
    names: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> TrainingOutcome:
    """Cross-validate, calibrate the intervals, then fit on all rows of ``arrays``.

    ``arrays`` come from :func:`training_arrays`. The card (:class:`ModelCard`) records the
    grouped cross-validation (by compound, and by scaffold unless the folds are scaffolds
    already), the held-out check, the intervals' coverage per group, and for a target with
    an optional input the same figures without it. ``progress`` hears of each fit done
    (unit ``fit``): every fold of each cross-validation, the held-out check, the final fit.
    """
    featurizer = dict(settings.featurizer)
    data, X, y, groups = arrays.data, arrays.X, arrays.y, arrays.groups
    name, params = settings.estimator, dict(settings.estimator_params)
    optional = spec.optional_input is not None

    def make():
        return build_estimator(name, params, settings.seed, optional_last_feature=optional)

    method = f"grouped {settings.n_splits}-fold CV by {settings.group_by}"
    by_scaffold = settings.group_by == "compound" and spec.subject == "molecule"
    k = settings.n_splits
    held = int(settings.holdout_fraction > 0)
    fits = k * (2 if by_scaffold else 1) + held + 1
    fit_progress = _as_fits(progress)
    cv = cross_validate(
        make,
        X,
        y,
        groups,
        settings.n_splits,
        settings.seed,
        spec.active_below,
        settings.n_jobs,
        offset(fit_progress, 0, fits),
    )
    summary = cv.summary()
    inside = out_of_fold_domain(spec, data, cv.fold, settings.domain_threshold)
    calibration, uncertainty, intervals = _uncertainty(spec, cv, y, inside, settings.confidence)
    coverage = float(((y >= intervals["lower"]) & (y <= intervals["upper"])).mean())
    holdout, holdout_without = (
        holdout_check(make, arrays, settings.holdout_fraction, settings.seed, spec.active_below)
        if settings.holdout_fraction > 0
        else (None, None)
    )
    report(progress, k + held, fits, "fit")
    checked = gate(summary["mae_mean"], coverage, settings.thresholds)
    if not checked["passed"]:
        log.warning("model misses its thresholds", target=spec.name, failures=checked["failures"])
    estimator = make().fit(X, y)
    report(progress, k + held + 1, fits, "fit")
    created = datetime.now(UTC)
    version = created.strftime("%Y%m%dT%H%M%S%fZ")
    card = ModelCard(
        target=spec.name,
        unit=spec.unit,
        version=version,
        created=created.isoformat(),
        code_version=code_version,
        data=DataSummary(
            rows=len(data),
            groups=int(len(set(groups))),
            snapshot_hash=data_hash,
            left_out=arrays.left_out,
            rows_with_melting_point=int(np.isfinite(X[:, -1]).sum()) if optional else None,
        ),
        featurizer=featurizer,
        estimator=EstimatorInfo(name=name, params=params),
        validation=Validation(
            method=method,
            seed=settings.seed,
            summary=summary,
            per_fold=cv.per_fold.reset_index().to_dict("records"),
            interval_confidence=settings.confidence,
            interval_coverage=coverage,
            holdout=holdout,
            gate=Gate(**checked),
            by_scaffold=scaffold_check(
                spec, make, arrays, settings, offset(fit_progress, k + held + 1, fits)
            )
            if settings.group_by == "compound"
            else None,
            without_melting_point=_cv_figures(
                f"{method}, every row without its melting point",
                y,
                cv.oof_without,
                cv.fold,
                spec.active_below,
            )  # fmt: skip
            if optional
            else None,
            holdout_without_melting_point=holdout_without,
        ),
        uncertainty=uncertainty,
        domain=DomainInfo(
            method="max Tanimoto similarity (Morgan r=2, 2048 bits) to training",
            threshold=settings.domain_threshold,
        ),
        libraries={lib: package_version(lib) for lib in LIBRARIES},
    )
    model = TrainedModel(
        target=spec.name,
        version=version,
        estimator=estimator,
        featurizer=featurizer,
        feature_names=arrays.feature_names,
        calibration=calibration,
        domain=_domain(spec, data, settings.domain_threshold),
        names=names or {},
        card=card,
    )
    oof = pd.concat(
        [
            data.drop(columns=[c for c in ("components",) if c in data]).assign(
                prediction=cv.oof, fold=cv.fold, residual=y - cv.oof, in_domain=inside
            ),
            intervals,
        ],
        axis=1,
    )
    log.info(
        "trained",
        target=spec.name,
        version=version,
        mae_mean=summary["mae_mean"],
        coverage=coverage,
        width_error_spearman=uncertainty.width_error_spearman,
    )
    return TrainingOutcome(model, cv, oof)
