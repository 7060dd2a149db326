"""Applicability domain: nearest-neighbour Tanimoto similarity to the training molecules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

_GENERATOR = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def fingerprint(smiles: str):
    """Return the Morgan fingerprint (radius 2, 2048 bits) of ``smiles``; None if unusable."""
    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None or mol.GetNumAtoms() == 0 else _GENERATOR.GetFingerprint(mol)


class TanimotoDomain:
    """A molecule is in the domain when its most similar training molecule reaches a threshold.

    Similarity is the Tanimoto coefficient of Morgan fingerprints (radius 2, 2048 bits).
    """

    def __init__(self, reference: Sequence[str], threshold: float = 0.3) -> None:
        self.reference = sorted(set(reference))
        self.threshold = threshold
        self._fps = [fp for fp in map(fingerprint, self.reference) if fp is not None]

    def similarity(self, smiles: Sequence[str]) -> np.ndarray:
        """Return each molecule's highest similarity to the reference (NaN if unparseable/empty)."""
        out = np.full(len(smiles), np.nan)
        for i, text in enumerate(smiles):
            fp = fingerprint(text)
            if fp is not None and self._fps:
                out[i] = max(DataStructs.BulkTanimotoSimilarity(fp, self._fps))
        return out

    def contains(self, smiles: Sequence[str]) -> np.ndarray:
        """Return whether each molecule lies in the domain."""
        return self.similarity(smiles) >= self.threshold
