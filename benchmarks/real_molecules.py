"""Real molecules for the benchmarks: the PubChem identifier table of the ``chemicals`` package."""

from __future__ import annotations

from importlib.resources import files

from rdkit import Chem, rdBase


def real_smiles(count: int, skip: int = 0) -> list[str]:
    """Return ``count`` parseable single-fragment SMILES of the table, after the first ``skip``."""
    table = files("chemicals") / "Identifiers" / "chemical identifiers pubchem large.tsv"
    out: list[str] = []
    seen = 0
    with table.open(encoding="utf-8") as handle:
        for line in handle:
            smiles = line.split("\t")[4]
            if "." in smiles or Chem.MolFromSmiles(smiles) is None:
                continue
            seen += 1
            if seen > skip:
                out.append(smiles)
                if len(out) == count:
                    break
    return out


SUBSTITUENTS = (
    "C", "O", "N", "F", "Cl", "CC", "CO", "OC", "NC", "CCC", "CCO", "OCC", "C(=O)", "OC(=O)",
    "C(F)(F)F", "N(C)C", "C#C", "S", "c1ccccc1", "C1CC1",
)  # fmt: skip
"""Groups written before a structure's SMILES to make :func:`derived_smiles`' lines."""


def derived_smiles(count: int) -> list[str]:
    """Return ``count`` distinct SMILES lines made up from the table's structures.

    Each line is a group of :data:`SUBSTITUENTS` written before one of the table's SMILES
    (bonded to its first atom): a made-up molecule for measuring throughput and memory at
    sizes the table cannot give (about a million lines at most), never a measurement. Lines
    RDKit cannot read (an atom past its valence) are skipped; a few are the same molecule as
    another line written differently.
    """
    table = real_smiles(60_000)
    out: list[str] = []
    seen: set[str] = set()
    with rdBase.BlockLogs():
        for group in ("", *SUBSTITUENTS):
            for smiles in table:
                line = group + smiles
                if line in seen or (group and Chem.MolFromSmiles(line) is None):
                    continue
                seen.add(line)
                out.append(line)
                if len(out) == count:
                    return out
    return out
