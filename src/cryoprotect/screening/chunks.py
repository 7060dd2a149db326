"""Screening one chunk of a library: standardise each molecule, predict every target.

Each molecule is featurized once for all targets: a feature set two models share (such as the
same RDKit descriptors) is computed once. A model's optional input (Tg's measured melting
point) is unknown for a library's molecules, so the model's fit without it predicts them.

The work on a chunk depends on nothing but the chunk and the models, so chunks can run in any
order, in this process or on other machines; repeats across chunks are dropped afterwards
(:mod:`cryoprotect.screening.run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from cryoprotect.chem.featurizers import MoleculeFeaturizer, featurize_together
from cryoprotect.models.domain import TanimotoDomain
from cryoprotect.models.estimators import OptionalLastFeature
from cryoprotect.models.features import (
    molecule_featurizer,
    with_concentration,
    with_optional_input,
)
from cryoprotect.models.predict import model_domain, predict_featurized
from cryoprotect.models.registry import TrainedModel
from cryoprotect.models.targets import TARGETS
from cryoprotect.screening.prepare import Deduplicator


@dataclass
class ChunkResult:
    """What one chunk gave: candidates with predictions, unusable lines, molecules read."""

    candidates: pd.DataFrame
    invalid: pd.DataFrame
    read: int


@dataclass
class ChunkScreener:
    """Predicts ``models`` (molecule targets) for library chunks; IRI at ``concentration_mM``.

    A model with an optional input keeps only its fit without it (a library never gives the
    input), so the screener is smaller to send to workers and to hold in each.
    """

    models: dict[str, TrainedModel]
    concentration_mM: float
    confidence: float = 0.9
    domains: dict[str, TanimotoDomain] = field(init=False, repr=False)
    featurizers: list[MoleculeFeaturizer] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in self.models:
            if TARGETS[name].subject != "molecule":
                raise ValueError(f"{name} is predicted for mixtures; screening takes molecules")
        self.models = {name: _without_optional_input(model) for name, model in self.models.items()}
        self.domains = {name: model_domain(model) for name, model in self.models.items()}
        self.featurizers = [molecule_featurizer(m.featurizer) for m in self.models.values()]

    def __call__(self, chunk: pd.DataFrame) -> ChunkResult:
        """Return the chunk's candidates (with predictions) and its unusable lines.

        Repeats within the chunk are already dropped; repeats across chunks are not.
        """
        prepared = Deduplicator().prepare(chunk)
        candidates = prepared.molecules
        molecules = pd.DataFrame({"smiles": candidates["smiles"]})
        shared = featurize_together(self.featurizers, molecules["smiles"])
        for (name, model), features in zip(self.models.items(), shared, strict=True):
            inputs = molecules
            spec = TARGETS[name]
            if spec.optional_input is not None:  # a library gives no measurement: unknown
                features = with_optional_input(features, spec.optional_input, None)
            if spec.uses_concentration:
                inputs = molecules.assign(concentration_mM=self.concentration_mM)
                features = with_concentration(features, inputs["concentration_mM"])
            out = predict_featurized(
                model, self.domains[name], inputs, features, confidence=self.confidence
            )
            candidates[f"{name}_prediction"] = out["prediction"].to_numpy()
            candidates[f"{name}_lower"] = out["lower"].to_numpy()
            candidates[f"{name}_upper"] = out["upper"].to_numpy()
            candidates[f"{name}_in_domain"] = out["in_domain"].to_numpy()
            candidates[f"{name}_error"] = out["error"].to_numpy()
        return ChunkResult(candidates, prepared.invalid, len(chunk))


def _without_optional_input(model: TrainedModel) -> TrainedModel:
    """Return ``model`` predicting as if its optional input were never known."""
    if isinstance(model.estimator, OptionalLastFeature):
        return replace(model, estimator=model.estimator.without_feature())
    return model
