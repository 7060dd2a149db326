"""The three modelled targets and what each needs as input."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TargetSpec:
    """A predicted property: its subject, inputs, unit and default model settings."""

    name: str
    subject: str
    """``molecule`` (input column ``smiles``) or ``mixture`` (input column ``components``)."""
    unit: str
    input_columns: tuple[str, ...]
    uses_concentration: bool = False
    featurizer: dict = field(default_factory=dict)
    estimator: str = "extra_trees"
    estimator_params: dict = field(default_factory=dict)
    active_below: float | None = None
    """For IRI: a compound is 'active' when its %MGS is below this value."""


TARGETS: dict[str, TargetSpec] = {
    "tg": TargetSpec(
        "tg", "molecule", "K", ("smiles",),
        featurizer={"descriptors": "all", "morgan_size": 0, "maccs": True},
        estimator="svr_extra_trees",
        estimator_params={"C": 300.0, "epsilon": 1.0, "max_features": 0.5},
    ),
    "iri": TargetSpec(
        "iri", "molecule", "%MGS", ("smiles", "concentration_mM"), uses_concentration=True,
        featurizer={"descriptors": "all", "morgan_size": 1024, "maccs": False},
        estimator="random_forest",
        estimator_params={"n_estimators": 500, "min_samples_leaf": 1, "max_features": 0.9},
        active_below=50.0,
    ),
    "viability": TargetSpec(
        "viability",
        "mixture",
        "% recovery",
        ("components",),
        featurizer={"descriptors": "none", "morgan_size": 0, "pooled": False, "slots": 3},
        estimator="gaussian_process",
        estimator_params={"nu": 2.5},
    ),
}  # fmt: skip


def target(name: str) -> TargetSpec:
    """Return the spec of target ``name`` or raise ``KeyError`` naming the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown target {name!r}; known: {', '.join(TARGETS)}") from None
