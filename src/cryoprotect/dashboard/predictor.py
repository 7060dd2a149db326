"""Predictions of all three targets for one molecule and one formulation, as the dashboard asks.

A molecule (SMILES or a known name) gets Tg and IRI at a chosen concentration; a formulation
(``name-or-SMILES:amount unit`` entries joined by ``;``) gets viability. Models are loaded
once, on the first request. Input a model cannot use becomes a message in its row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cryoprotect.chem.structures import InvalidStructureError, standardize
from cryoprotect.models import registry
from cryoprotect.models.predict import predict_frame
from cryoprotect.models.targets import TARGETS

RESULT_COLUMNS = [
    "target",
    "input",
    "prediction",
    "lower",
    "upper",
    "unit",
    "in_domain",
    "model_version",
    "message",
]


class Predictor:
    """Predict every target from the production models under ``models``.

    ``resolve`` maps a molecule name (case-folded) to its SMILES, or returns ``None``.
    """

    def __init__(
        self,
        models: Path,
        resolve: Callable[[str], str | None] = lambda name: None,
        confidence: float = 0.9,
    ) -> None:
        self.models = Path(models)
        self.resolve = resolve
        self.confidence = confidence
        self._loaded: dict[str, registry.TrainedModel] = {}

    def molecule_smiles(self, text: str) -> str:
        """Return the SMILES of a molecule given by name or SMILES.

        Raises
        ------
        ValueError
            If ``text`` is empty, or neither a known name nor a SMILES RDKit can read.
        """
        text = text.strip()
        if not text:
            raise ValueError("enter a molecule: a SMILES such as OCC(O)CO, or a name")
        smiles = self.resolve(text.casefold()) or text
        try:
            standardize(smiles, strip_counterions=True)
        except InvalidStructureError as error:
            raise ValueError(
                f"{text!r} is neither a known molecule name nor a valid SMILES: {error}"
            ) from None
        return smiles

    def _model(self, name: str) -> registry.TrainedModel:
        if name not in self._loaded:
            self._loaded[name] = registry.load(self.models, name)
        return self._loaded[name]

    def _row(self, name: str, label: str, frame: pd.DataFrame) -> dict:
        spec = TARGETS[name]
        row = {"target": name, "input": label, "unit": spec.unit}
        try:
            model = self._model(name)
        except registry.ModelNotFoundError as error:
            return row | {"message": str(error)}
        result = predict_frame(model, frame, self.resolve, self.confidence).iloc[0]
        return row | {
            "prediction": result["prediction"],
            "lower": result["lower"],
            "upper": result["upper"],
            "in_domain": result["in_domain"] == "true" if not result["error"] else None,
            "model_version": model.version,
            "message": result["error"],
        }

    def predict(
        self, molecule: str, concentration_mM: float | None, formulation: str
    ) -> pd.DataFrame:
        """Predict Tg and IRI of ``molecule`` and viability of ``formulation``.

        Either input may be blank (its targets are then skipped); IRI needs
        ``concentration_mM``. Returns one row per target predicted, in
        :data:`RESULT_COLUMNS`.

        Raises
        ------
        ValueError
            If both inputs are blank or the molecule cannot be read (the message says why).
        """
        rows = []
        if molecule.strip():
            smiles = self.molecule_smiles(molecule)
            rows.append(self._row("tg", molecule.strip(), pd.DataFrame({"smiles": [smiles]})))
            if concentration_mM is None or not concentration_mM > 0:
                rows.append(
                    {
                        "target": "iri",
                        "input": molecule.strip(),
                        "unit": TARGETS["iri"].unit,
                        "message": "IRI needs a concentration above 0 mM",
                    }
                )
            else:
                frame = pd.DataFrame({"smiles": [smiles], "concentration_mM": [concentration_mM]})
                label = f"{molecule.strip()} at {concentration_mM:g} mM"
                rows.append(self._row("iri", label, frame))
        if formulation.strip():
            frame = pd.DataFrame({"components": [formulation.strip()]})
            rows.append(self._row("viability", formulation.strip(), frame))
        if not rows:
            raise ValueError("enter a molecule, a formulation, or both")
        return pd.DataFrame(rows, columns=RESULT_COLUMNS)
