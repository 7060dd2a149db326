"""Request and response bodies of the prediction service (they make the OpenAPI document)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cryoprotect.vocabulary import AMOUNT_UNITS

Target = Literal["tg", "iri", "viability"]
MAX_BATCH = 1000
"""Most items one ``POST /predict`` may carry."""


class Component(BaseModel):
    """One component of a formulation."""

    model_config = ConfigDict(extra="forbid")

    molecule: str = Field(
        min_length=1, max_length=1000, description="A SMILES or a known molecule name."
    )
    amount: float = Field(ge=0, description="Amount in ``unit``.")
    unit: Literal[AMOUNT_UNITS] = Field(description="Unit of the amount.")  # type: ignore[valid-type]

    @field_validator("molecule")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class PredictItem(BaseModel):
    """One subject and the targets to predict for it.

    Tg and IRI take a molecule (``smiles``, a SMILES or a known name); IRI also takes its
    concentration in mM. Viability takes a formulation (``components``).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"target": "tg", "smiles": "OCC(O)CO"},
                {"targets": ["tg", "iri"], "smiles": "glycerol", "concentration_mM": 50},
                {
                    "target": "viability",
                    "components": [
                        {"molecule": "CS(C)=O", "amount": 10, "unit": "%v/v"},
                    ],
                },
            ]
        },
    )

    target: Target | None = Field(default=None, description="One target (or use ``targets``).")
    targets: list[Target] | None = Field(
        default=None, min_length=1, max_length=3, description="Several targets."
    )
    smiles: str | None = Field(
        default=None, max_length=1000, description="Molecule for tg and iri: SMILES or name."
    )
    concentration_mM: float | None = Field(
        default=None, gt=0, description="Concentration of the molecule for iri, in mM."
    )
    components: list[Component] | None = Field(
        default=None, min_length=1, max_length=20, description="Formulation for viability."
    )

    @field_validator("smiles")
    @classmethod
    def _smiles_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty: give a SMILES such as OCC(O)CO, or a name")
        return value.strip() if value is not None else None

    @field_validator("concentration_mM")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _complete(self) -> PredictItem:
        if (self.target is None) == (self.targets is None):
            raise ValueError("give exactly one of 'target' or 'targets'")
        wanted = self.wanted()
        if len(set(wanted)) != len(wanted):
            raise ValueError("'targets' lists a target twice")
        if {"tg", "iri"} & set(wanted) and self.smiles is None:
            raise ValueError("tg and iri need 'smiles'")
        if "iri" in wanted and self.concentration_mM is None:
            raise ValueError("iri needs 'concentration_mM'")
        if "viability" in wanted and self.components is None:
            raise ValueError("viability needs 'components'")
        return self

    def wanted(self) -> list[str]:
        """Return the targets asked for, in the order given."""
        return [self.target] if self.target is not None else list(self.targets or [])


class BatchRequest(BaseModel):
    """Several items predicted in one request."""

    model_config = ConfigDict(extra="forbid")

    items: list[PredictItem] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    """The prediction of one target for one item."""

    item: int = Field(description="Index of the item in the request (0 for a single item).")
    target: Target
    input: str = Field(description="The subject as given.")
    prediction: float | None = Field(description="Predicted value in ``unit``.")
    lower: float | None = Field(description="Lower end of the prediction interval.")
    upper: float | None = Field(description="Upper end of the prediction interval.")
    unit: str
    in_domain: bool | None = Field(
        description="Whether the subject resembles the training data (applicability domain)."
    )
    model_version: str | None
    error: str | None = Field(description="Why this prediction could not be made, or null.")


class PredictResponse(BaseModel):
    """All predictions of a request."""

    request_id: str
    confidence: float = Field(description="Coverage the intervals were calibrated for.")
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    """The model serving one target."""

    target: Target
    loaded: bool
    version: str | None
    unit: str
    trained: str | None = None
    metrics: dict | None = None
    versions: list[str] = []
    error: str | None = None


class Check(BaseModel):
    """One readiness check."""

    status: Literal["ok", "warn", "fail"]
    detail: str


class Readiness(BaseModel):
    """Whether the service can serve: ``fail`` if any check fails, ``degraded`` on warnings."""

    status: Literal["ok", "degraded", "fail"]
    checks: dict[str, Check]
