"""Controlled vocabularies and property definitions shared by the schema, imports and checks.

The migrations copy these values (a migration is a frozen snapshot); a test checks that the
migrated database agrees with this module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PropertyDefinition:
    """A measurable property: its code, unit and the range a value must lie in."""

    code: str
    name: str
    unit: str
    min_value: float
    max_value: float
    description: str
    in_solution: bool
    """Measured in solution: counterions and solvents of a salt form do not change identity."""


PROPERTIES: dict[str, PropertyDefinition] = {
    p.code: p
    for p in (
        PropertyDefinition(
            "tg",
            "glass transition temperature",
            "K",
            30.0,
            800.0,
            "Glass transition temperature of the pure compound, in kelvin.",
            in_solution=False,
        ),
        PropertyDefinition(
            "tm",
            "melting point",
            "K",
            30.0,
            1000.0,
            "Melting point of the pure compound, in kelvin (an optional input of the Tg "
            "model: Tg/Tm is about 0.7 for many organic glass formers).",
            in_solution=False,
        ),
        PropertyDefinition(
            "iri",
            "ice recrystallization inhibition",
            "%MGS",
            0.0,
            300.0,
            "Mean ice grain size relative to a control, in percent (lower is more active; "
            "100 means no effect).",
            in_solution=True,
        ),
        PropertyDefinition(
            "viability",
            "post-thaw cell viability",
            "% recovery",
            0.0,
            150.0,
            "Post-thaw recovery of cells, in percent of the cells frozen (counting error "
            "can put it slightly above 100).",
            in_solution=True,
        ),
    )
}

AMOUNT_UNITS: tuple[str, ...] = ("mM", "M", "molal", "%w/v", "%v/v", "mole fraction", "level")
"""Units of a mixture component's amount or of an experiment's concentration.
``level`` is a coded level of a designed experiment, whose concentration is in the source."""

AMOUNT_MAXIMA: dict[str, float] = {"mole fraction": 1.0, "%v/v": 100.0, "%w/v": 100.0}
"""The largest amount (or concentration) a unit allows: these units are shares of the whole.
The importer, the database's CHECK constraints and the health checks all read them here."""

VISIBILITIES: tuple[str, ...] = ("private", "public")
VERIFICATION_STATUSES: tuple[str, ...] = (
    "planned",
    "in_progress",
    "confirmed",
    "refuted",
    "inconclusive",
)
MODEL_STAGES: tuple[str, ...] = ("candidate", "production", "archived")
SHARE_PERMISSIONS: tuple[str, ...] = ("read", "write")
USER_KINDS: tuple[str, ...] = ("person", "system")

REFERENCE_USER = "reference"
"""The system user that owns the curated literature data."""
