"""Request and response bodies of the prediction service (they make the OpenAPI document).

The rules between fields (``target`` or ``targets``; which subject each target needs) are
written twice from one table, :data:`NEEDS`: as a ``oneOf`` in the JSON schema, so clients and
fuzzers see them, and in :meth:`PredictItem._complete`, which enforces them. Numbers are
strict (``true`` or ``"50"`` is not a number) and finite, with physical upper bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cryoprotect.chem.structures import MAX_SMILES_LENGTH
from cryoprotect.vocabulary import AMOUNT_UNITS

Target = Literal["tg", "iri", "viability"]
TARGET_NAMES: tuple[str, ...] = ("tg", "iri", "viability")
NEEDS: dict[str, tuple[str, ...]] = {
    "tg": ("smiles",),
    "iri": ("smiles", "concentration_mM"),
    "viability": ("components",),
}
"""The fields each target needs besides ``target``/``targets``."""
MAX_BATCH = 1000
"""Most items one ``POST /predict`` may carry."""
MAX_CONCENTRATION_MM = 100_000.0
"""Largest concentration accepted (100 M: above any solution's)."""
AMOUNT_LIMITS: dict[str, float] = {"%v/v": 100.0, "mole fraction": 1.0}
"""Largest amount per unit; other units take up to :data:`MAX_AMOUNT`."""
MAX_AMOUNT = 100_000.0
MOLECULE_FORMAT = "molecule"
"""OpenAPI ``format`` of a molecule field: a SMILES or a known molecule name."""

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _optional(**extra) -> Callable[[dict], None]:
    """Return a field schema editor: drop ``default: null`` and add ``extra``.

    The field may be left out, but not be null.
    """

    def edit(schema: dict) -> None:
        schema.pop("default", None)
        schema.update(extra)

    return edit


def _amount_rules() -> list[dict]:
    """Return the ``oneOf`` branches that bound a component's amount by its unit."""
    others = [u for u in AMOUNT_UNITS if u not in AMOUNT_LIMITS]
    branches = [
        {"properties": {"unit": {"const": unit}, "amount": {"maximum": limit}}}
        for unit, limit in AMOUNT_LIMITS.items()
    ]
    return [*branches, {"properties": {"unit": {"enum": others}}}]


class Component(BaseModel):
    """One component of a formulation; the amount's upper bound depends on its unit."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"oneOf": _amount_rules()})

    molecule: str = Field(
        min_length=1,
        max_length=MAX_SMILES_LENGTH,
        description="A SMILES or a known molecule name.",
        json_schema_extra={"format": MOLECULE_FORMAT},
    )
    amount: float = Field(ge=0, le=MAX_AMOUNT, description="Amount in ``unit``.")
    unit: Literal[AMOUNT_UNITS] = Field(description="Unit of the amount.")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _within_unit(self) -> Component:
        limit = AMOUNT_LIMITS.get(self.unit)
        if limit is not None and self.amount > limit:
            raise ValueError(f"an amount in {self.unit} is at most {limit:g}")
        return self


def _wanted_rules() -> list[dict]:
    """Return one ``oneOf`` branch per way of asking: each single target, each set of targets.

    ``targets`` of a set S must be a permutation of S (exactly ``len(S)`` distinct items
    drawn from S); the branch requires the fields every target of S needs.
    """
    branches = []
    for name in TARGET_NAMES:
        branches.append(
            {
                "properties": {"target": {"const": name}, "targets": False},
                "required": ["target", *NEEDS[name]],
            }
        )
    for size in range(1, len(TARGET_NAMES) + 1):
        for chosen in combinations(TARGET_NAMES, size):
            needed = sorted({field for name in chosen for field in NEEDS[name]})
            branches.append(
                {
                    "properties": {
                        "target": False,
                        "targets": {
                            "items": {"enum": list(chosen)},
                            "minItems": size,
                            "maxItems": size,
                        },
                    },
                    "required": ["targets", *needed],
                }
            )
    return branches


class PredictItem(BaseModel):
    """One subject and the targets to predict for it.

    Give ``target`` (one) or ``targets`` (several, each once). Tg and IRI take a molecule
    (``smiles``, a SMILES or a known name); IRI also takes its concentration in mM.
    Viability takes a formulation (``components``). Fields a target does not need are
    checked but not used.
    """

    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={
            "oneOf": _wanted_rules(),
            "examples": [
                {"target": "tg", "smiles": "OCC(O)CO"},
                {"targets": ["tg", "iri"], "smiles": "glycerol", "concentration_mM": 50},
                {
                    "target": "viability",
                    "components": [{"molecule": "CS(C)=O", "amount": 10, "unit": "%v/v"}],
                },
            ],
        },
    )

    # Not nullable: an explicit null is refused, as the schema says (absent is the default).
    target: Target = Field(  # type: ignore[assignment]
        default=None,
        description="One target (or use ``targets``).",
        json_schema_extra=_optional(),
    )
    targets: list[Target] = Field(  # type: ignore[assignment]
        default=None,
        min_length=1,
        max_length=len(TARGET_NAMES),
        description="Several targets, each once.",
        json_schema_extra=_optional(uniqueItems=True),
    )
    smiles: str = Field(  # type: ignore[assignment]
        default=None,
        min_length=1,
        max_length=MAX_SMILES_LENGTH,
        description="Molecule for tg and iri: a SMILES or a known name.",
        json_schema_extra=_optional(format=MOLECULE_FORMAT),
    )
    concentration_mM: float = Field(  # type: ignore[assignment]
        default=None,
        gt=0,
        le=MAX_CONCENTRATION_MM,
        description="Concentration of the molecule for iri, in mM.",
        json_schema_extra=_optional(),
    )
    components: list[Component] = Field(  # type: ignore[assignment]
        default=None,
        min_length=1,
        max_length=20,
        description="Formulation for viability.",
        json_schema_extra=_optional(),
    )

    @field_validator("smiles")
    @classmethod
    def _smiles_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: give a SMILES such as OCC(O)CO, or a name")
        return value

    @model_validator(mode="after")
    def _complete(self) -> PredictItem:
        if (self.target is None) == (self.targets is None):
            raise ValueError("give exactly one of 'target' or 'targets'")
        wanted = self.wanted()
        if len(set(wanted)) != len(wanted):
            raise ValueError("'targets' lists a target twice")
        for name in wanted:
            missing = [f for f in NEEDS[name] if getattr(self, f) is None]
            if missing:
                raise ValueError(f"{name} needs {' and '.join(repr(f) for f in missing)}")
        return self

    def wanted(self) -> list[str]:
        """Return the targets asked for, in the order given."""
        return [self.target] if self.target is not None else list(self.targets or [])


class BatchRequest(BaseModel):
    """Several items predicted in one request."""

    model_config = STRICT

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
    prediction_id: int | None = Field(
        default=None,
        description="Id of the recorded prediction when the request acts for a user, else null.",
    )


class PredictResponse(BaseModel):
    """All predictions of a request."""

    request_id: str
    confidence: float = Field(description="Coverage the intervals were calibrated for.")
    predictions: list[Prediction]
    recorded_for: str | None = Field(
        default=None,
        description="The user the predictions were recorded for, or null (not recorded).",
    )


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
    """One readiness check: its status, why, and how old the reading is."""

    status: Literal["ok", "warn", "fail"]
    detail: str
    age_seconds: float | None = Field(
        default=None, description="Seconds since the reading was taken in the background."
    )


class Readiness(BaseModel):
    """Whether the service can serve: ``fail`` if any check fails, ``degraded`` on warnings."""

    status: Literal["ok", "degraded", "fail"]
    checks: dict[str, Check]


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["ok"]
    version: str


class FailedCheck(BaseModel):
    """A database health check that did not pass."""

    name: str | None
    table: str | None = None
    column: str | None = None
    severity: str | None = None
    status: str | None = None
    message: str | None = None


class DatabaseHealth(BaseModel):
    """The newest health report (``cryoprotect health``) about the service's own database."""

    status: Literal["ok", "warn", "fail", "unknown"]
    database: str
    detail: str | None = None
    created: str | None = None
    age_seconds: float | None = None
    summary: dict | None = None
    failed_checks: list[FailedCheck] = []


class Problem(BaseModel):
    """One reason a request was refused."""

    type: str = Field(description="Kind of problem, e.g. missing, float_type, structure.")
    loc: list[str | int] = Field(description="Where: 'body' then the path to the field.")
    msg: str
    excerpt: str | None = Field(
        default=None, description="The start of the refused value, as JSON (bounded)."
    )


class ValidationProblems(BaseModel):
    """Why a request was refused (HTTP 422)."""

    detail: list[Problem]


class Failure(BaseModel):
    """Why a request could not be answered (HTTP 4xx or 5xx), with the request id."""

    detail: str
    request_id: str | None = None
