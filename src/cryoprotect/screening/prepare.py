"""Standardising library molecules and dropping repeats, chunk by chunk.

A salt or hydrate is screened as its parent compound. A structure RDKit cannot read, or that
standardisation rejects, is set aside with its line and the reason; a molecule whose InChIKey
was seen earlier in the library (in any chunk) is counted and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cryoprotect.chem.structures import InvalidStructureError, standardize


@dataclass
class PreparedChunk:
    """The usable, first-seen molecules of a chunk and the lines that could not be used."""

    molecules: pd.DataFrame
    """``line``, ``name``, ``input_smiles``, ``smiles`` (standardised), ``inchikey``."""
    invalid: pd.DataFrame
    """``line``, ``input_smiles``, ``reason``."""
    repeats: int


class Deduplicator:
    """Remembers the InChIKeys seen so far (about 100 bytes each: 10 million fit in 1 GB)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def prepare(self, chunk: pd.DataFrame) -> PreparedChunk:
        """Standardise ``chunk`` (from :func:`~cryoprotect.screening.library.read_library`)."""
        kept: list[tuple] = []
        invalid: list[tuple] = []
        repeats = 0
        for line, text, name in chunk[["line", "smiles", "name"]].itertuples(index=False):
            if not text:
                invalid.append((line, text, "empty SMILES"))
                continue
            try:
                structure = standardize(text, strip_counterions=True)
            except InvalidStructureError as error:
                invalid.append((line, text, str(error)))
                continue
            if structure.inchikey in self.seen:
                repeats += 1
                continue
            self.seen.add(structure.inchikey)
            kept.append((line, name, text, structure.canonical_smiles, structure.inchikey))
        return PreparedChunk(
            pd.DataFrame(kept, columns=["line", "name", "input_smiles", "smiles", "inchikey"]),
            pd.DataFrame(invalid, columns=["line", "input_smiles", "reason"]),
            repeats,
        )
