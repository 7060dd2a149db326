"""The pipeline parameters (``params.yaml``), validated with pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Thresholds(BaseModel):
    """Limits a model must meet in grouped cross-validation: mean MAE and interval coverage."""

    model_config = ConfigDict(extra="forbid")
    mae: float = Field(gt=0)
    coverage_min: float = Field(default=0.85, ge=0, le=1)
    coverage_max: float = Field(default=0.95, ge=0, le=1)


class TargetParams(BaseModel):
    """How one target is featurized, estimated, gated and tuned."""

    model_config = ConfigDict(extra="forbid")
    featurizer: dict = Field(default_factory=dict)
    estimator: str
    estimator_params: dict = Field(default_factory=dict)
    thresholds: Thresholds
    tuning: dict = Field(default_factory=lambda: {"trials": 20})

    @property
    def trials(self) -> int:
        """Return the number of tuning trials (``tuning.trials``, default 20)."""
        return int(self.tuning.get("trials", 20))


class CVParams(BaseModel):
    """Cross-validation settings."""

    model_config = ConfigDict(extra="forbid")
    n_splits: int = Field(default=5, ge=2)
    group_by: str = Field(default="compound", pattern="^(compound|scaffold)$")


class ExplainParams(BaseModel):
    """SHAP explanations in the pipeline."""

    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=50, ge=1, description="Training rows explained (seeded sample).")


class Objective(BaseModel):
    """What a screen wants of one target's prediction, and how much it counts in the score."""

    model_config = ConfigDict(extra="forbid")
    goal: Literal["maximize", "minimize"]
    weight: float = Field(default=1.0, ge=0)


class FirstPassParams(BaseModel):
    """The cheap first pass of a screen and the share it passes to the full models."""

    model_config = ConfigDict(extra="forbid")
    fraction: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Share of the first-pass molecules the full models predict (1: no first "
        "pass, every molecule screened fully).",
    )
    calibration: int = Field(
        default=2000,
        ge=1,
        description="Distinct lines screened fully first; the first pass's models mimic them.",
    )


class ScreenParams(BaseModel):
    """Screening candidate libraries (``cryoprotect screen``)."""

    model_config = ConfigDict(extra="forbid")
    objectives: dict[Literal["tg", "iri"], Objective] = Field(
        default_factory=lambda: {
            "tg": Objective(goal="maximize"),
            "iri": Objective(goal="minimize"),
        }
    )
    iri_concentration_mM: float = Field(default=22.0, gt=0)
    chunk_size: int = Field(default=2000, ge=1)
    top: int = Field(default=50, ge=1, description="Candidates drawn in the HTML summary.")
    domain_first: bool = Field(
        default=True, description="Rank candidates inside every model's domain first."
    )
    first_pass: FirstPassParams = Field(default_factory=FirstPassParams)


class Params(BaseModel):
    """Everything in ``params.yaml``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    n_jobs: int = Field(default=1, description="Parallel processes for CV folds (-1: all cores).")
    cv: CVParams = Field(default_factory=CVParams)
    holdout_fraction: float = Field(default=0.15, ge=0, lt=1)
    confidence: float = Field(default=0.9, gt=0, lt=1)
    domain_threshold: float = Field(default=0.3, ge=0, le=1)
    max_heavy_atoms: int = Field(
        default=150,
        ge=1,
        description="Molecules with more heavy atoms are refused before featurization "
        "(some descriptors cost seconds for a few hundred atoms).",
    )
    explain: ExplainParams = Field(default_factory=ExplainParams)
    screen: ScreenParams = Field(default_factory=ScreenParams)
    targets: dict[str, TargetParams]


class ParamsError(ValueError):
    """``params.yaml`` is missing or invalid; the message names the field."""


def load_params(path: Path) -> Params:
    """Read and validate ``path``.

    Raises
    ------
    ParamsError
        If the file is missing, not YAML, or a field is invalid.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Params.model_validate(data)
    except FileNotFoundError:
        raise ParamsError(f"{path} not found") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path} is not valid YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise ParamsError(f"{path}: {problems}") from None
