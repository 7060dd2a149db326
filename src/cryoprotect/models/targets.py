"""The three modelled targets and what each needs as input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetSpec:
    """A predicted property: its subject, inputs and unit (model settings are in params.yaml)."""

    name: str
    subject: str
    """``molecule`` (input column ``smiles``) or ``mixture`` (input column ``components``)."""
    unit: str
    input_columns: tuple[str, ...]
    uses_concentration: bool = False
    active_below: float | None = None
    """For IRI: a compound is 'active' when its %MGS is below this value."""
    optional_input: str | None = None
    """An input column the model uses where it is known (the last feature), e.g. Tg's
    measured melting point; rows without it are predicted by a fit that does not use it."""


TARGETS: dict[str, TargetSpec] = {
    "tg": TargetSpec("tg", "molecule", "K", ("smiles",), optional_input="melting_point_K"),
    "iri": TargetSpec(
        "iri",
        "molecule",
        "%MGS",
        ("smiles", "concentration_mM"),
        uses_concentration=True,
        active_below=50.0,
    ),
    "viability": TargetSpec("viability", "mixture", "% recovery", ("components",)),
}


def target(name: str) -> TargetSpec:
    """Return the spec of target ``name`` or raise ``KeyError`` naming the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown target {name!r}; known: {', '.join(TARGETS)}") from None
