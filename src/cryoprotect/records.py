"""The column format of experiment tables: the curated reference data and lab imports alike."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cryoprotect.vocabulary import AMOUNT_MAXIMA, AMOUNT_UNITS

EXPERIMENT_COLUMNS: tuple[str, ...] = (
    "record_id",
    "property",
    "value",
    "unit",
    "uncertainty",
    "name",
    "smiles",
    "inchikey",
    "components",
    "concentration",
    "concentration_unit",
    "assay",
    "cell_type",
    "cooling_rate_k_per_min",
    "medium",
    "source",
    "reference",
    "citation",
    "doi",
    "notes",
)
"""Columns of an experiment table, in order. ``smiles`` (a molecule) or ``components`` (a
mixture, ``name-or-SMILES:amount unit`` entries joined by ``;``) names the subject."""

REQUIRED_COLUMNS: tuple[str, ...] = ("property", "value", "unit", "citation")

MOLECULE_COLUMNS: tuple[str, ...] = (
    "inchikey",
    "canonical_smiles",
    "name",
    "synonyms",
    "formula",
    "molecular_weight",
)
"""Columns of the curated molecule table; ``synonyms`` are joined by ``|``."""

SYNONYM_SEPARATOR = "|"

COMPONENT_SEPARATOR = ";"


@dataclass(frozen=True)
class ComponentEntry:
    """One entry of a ``components`` field: a name or SMILES with its amount and unit."""

    identifier: str
    amount: float
    unit: str

    def __str__(self) -> str:
        amount = str(int(self.amount)) if self.amount.is_integer() else repr(self.amount)
        return f"{self.identifier}:{amount} {self.unit}"


def parse_components(text: str) -> list[ComponentEntry]:
    """Parse ``"sucrose:2 level;CS(C)=O:10 %v/v"`` into component entries.

    Parameters
    ----------
    text
        Entries ``name-or-SMILES:amount unit`` joined by ``;``.

    Returns
    -------
    list of ComponentEntry
        In the order written.

    Raises
    ------
    ValueError
        If an entry lacks the ``:``, its amount is not a number, its unit is not one of
        :data:`cryoprotect.vocabulary.AMOUNT_UNITS`, its amount exceeds the unit's maximum
        (:data:`cryoprotect.vocabulary.AMOUNT_MAXIMA`), or the text holds no entry.
    """
    entries = []
    for raw in (text or "").split(COMPONENT_SEPARATOR):
        part = raw.strip()
        if not part:
            continue
        identifier, sep, quantity = part.rpartition(":")
        if not sep or not identifier.strip():
            raise ValueError(f"component {part!r} is not written as 'name-or-SMILES:amount unit'")
        amount_text, _, unit = quantity.strip().partition(" ")
        try:
            amount = float(amount_text)
        except ValueError:
            raise ValueError(
                f"component {part!r}: amount {amount_text!r} is not a number"
            ) from None
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"component {part!r}: amount must be a finite number >= 0")
        unit = unit.strip()
        if unit not in AMOUNT_UNITS:
            raise ValueError(
                f"component {part!r}: unit {unit!r} is not one of {', '.join(AMOUNT_UNITS)}"
            )
        if amount > AMOUNT_MAXIMA.get(unit, math.inf):
            raise ValueError(
                f"component {part!r}: {amount:g} {unit} is more than the whole "
                f"({AMOUNT_MAXIMA[unit]:g} {unit})"
            )
        entries.append(ComponentEntry(identifier.strip(), amount, unit))
    if not entries:
        raise ValueError("no components given")
    return entries


def format_components(entries: list[ComponentEntry]) -> str:
    """Write component entries back in the ``components`` format."""
    return COMPONENT_SEPARATOR.join(str(e) for e in entries)
