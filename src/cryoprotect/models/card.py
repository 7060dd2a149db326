"""The model card: what a trained model is, what it learnt from and how good it is.

Built once by training (:func:`~cryoprotect.models.training.train_model`), saved as
``card.json`` beside the model and read everywhere (registry, CLI, service, pipeline report,
dashboard) through :class:`ModelCard`. Cards of earlier versions, written before some
fields existed, still read: those fields are empty.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSummary(_Part):
    """The training data: rows and groups used, rows left out, the snapshot they came from."""

    rows: int
    groups: int
    snapshot_hash: str = ""
    left_out: int = 0
    rows_with_melting_point: int | None = None
    """Training rows with a measured melting point (targets that can use one)."""


class EstimatorInfo(_Part):
    """The estimator's registry name and parameters (see :mod:`~cryoprotect.models.estimators`)."""

    name: str
    params: dict = Field(default_factory=dict)


class CVFigures(_Part):
    """A grouped cross-validation's figures: per-fold means, spreads and pooled values."""

    method: str
    summary: dict[str, float]
    per_fold: list[dict] = Field(default_factory=list)

    @property
    def mae(self) -> float:
        """Mean MAE over the folds."""
        return self.summary["mae_mean"]

    @property
    def mae_std(self) -> float:
        """Standard deviation of the MAE over the folds."""
        return self.summary["mae_std"]


class HoldoutFigures(_Part):
    """Figures on groups held out of training (never tuned on)."""

    rows: int
    groups: int
    mae: float
    rmse: float
    r2: float
    active_precision: float | None = None
    active_recall: float | None = None
    active_fraction: float | None = None


class GroupCoverage(_Part):
    """Interval coverage and mean width over the out-of-fold rows of one group."""

    rows: int
    coverage: float
    mean_width: float


class UncertaintyReport(_Part):
    """How the intervals are made and how they behaved out of fold."""

    method: str
    difficulty: str
    coverage: float
    mean_width: float
    rows: int
    by_group: dict[str, GroupCoverage]
    width_error_spearman: float
    """Spearman correlation of interval width with absolute error (0: widths say nothing)."""
    pooled_groups: list[str] = Field(default_factory=list)
    """Groups with too few calibration rows, whose intervals use all rows' scores."""


class Gate(_Part):
    """The thresholds of params.yaml and whether the model meets them."""

    passed: bool
    failures: list[str] = Field(default_factory=list)
    thresholds: dict = Field(default_factory=dict)


class Validation(_Part):
    """Grouped cross-validation by compound, by scaffold, the held-out check and the gate."""

    method: str
    seed: int
    summary: dict[str, float]
    per_fold: list[dict] = Field(default_factory=list)
    interval_confidence: float
    interval_coverage: float
    holdout: HoldoutFigures | None = None
    gate: Gate
    by_scaffold: CVFigures | None = None
    """The same cross-validation with whole Murcko scaffolds held out: new chemistry."""
    without_melting_point: CVFigures | None = None
    """For a model that can use a melting point: every row predicted without one."""
    holdout_without_melting_point: HoldoutFigures | None = None

    @property
    def mae(self) -> float:
        """Mean MAE over the folds of the grouped cross-validation."""
        return self.summary["mae_mean"]


class DomainInfo(_Part):
    """How the applicability domain is decided."""

    method: str
    threshold: float


class ModelCard(_Part):
    """Everything known about one trained model version (``card.json``)."""

    target: str
    unit: str
    version: str
    created: str
    code_version: str = ""
    data: DataSummary
    featurizer: dict
    estimator: EstimatorInfo
    validation: Validation
    uncertainty: UncertaintyReport | None = None
    domain: DomainInfo
    libraries: dict[str, str] = Field(default_factory=dict)

    @property
    def created_label(self) -> str:
        """The training time as ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
        return self.created[:19].replace("T", " ")

    def to_json_dict(self) -> dict:
        """Return the card as JSON-ready data (what ``card.json`` holds)."""
        return self.model_dump(mode="json", exclude_none=True)
