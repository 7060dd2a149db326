"""Real molecules for the benchmarks: the PubChem identifier table of the ``chemicals`` package."""

from __future__ import annotations

from importlib.resources import files

from rdkit import Chem


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
