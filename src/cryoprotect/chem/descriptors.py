"""RDKit descriptor sets, and one molecule's descriptors computed with shared parts once.

RDKit computes each descriptor by its own function; families that share a costly part are
worth computing together: the eight BCUT2D values come from one call (RDKit keeps it on the
molecule) and the four EState index extremes from one list of EState indices (computed here
once instead of four times). A few descriptors cost far more than they tell: :data:`COSTLY`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors
from rdkit.Chem.EState import EStateIndices

ALL_DESCRIPTORS: tuple[str, ...] = tuple(name for name, _ in Descriptors._descList)
FRAGMENT_DESCRIPTORS: tuple[str, ...] = tuple(n for n in ALL_DESCRIPTORS if n.startswith("fr_"))
PHYSCHEM_DESCRIPTORS: tuple[str, ...] = (
    "MolWt", "HeavyAtomCount", "NumHeteroatoms", "NumValenceElectrons", "MolLogP", "MolMR",
    "TPSA", "LabuteASA", "NumHDonors", "NumHAcceptors", "NHOHCount", "NOCount",
    "NumRotatableBonds", "FractionCSP3", "RingCount", "NumAromaticRings", "NumAliphaticRings",
    "NumSaturatedRings", "NumAtomStereoCenters", "NumAmideBonds", "BertzCT", "BalabanJ",
    "HallKierAlpha", "Kappa1", "Kappa2", "Kappa3", "Chi0v", "Chi1v", "Chi2v", "Chi3v",
    "MaxPartialCharge", "MinPartialCharge", "qed",
)  # fmt: skip
COSTLY: tuple[str, ...] = ("qed", "SPS", "Ipc", "AvgIpc")
"""Descriptors whose cost is out of proportion to what they add: ``qed`` (a sixth of all the
descriptors' time) and ``SPS`` are summaries of other descriptors; ``Ipc`` and ``AvgIpc``
grow explosively with the size of the molecule (seconds for a few hundred atoms)."""
DESCRIPTOR_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "physchem": PHYSCHEM_DESCRIPTORS,
    "fragments": FRAGMENT_DESCRIPTORS,
    "physchem+fragments": PHYSCHEM_DESCRIPTORS + FRAGMENT_DESCRIPTORS,
    "all": ALL_DESCRIPTORS,
    "fast": tuple(n for n in ALL_DESCRIPTORS if n not in COSTLY),
}
"""Named descriptor sets: ``fragments`` are RDKit's functional-group counts (``fr_*``);
``fast`` is every RDKit descriptor but the :data:`COSTLY` ones."""

_FUNCTIONS = dict(Descriptors._descList)
_ESTATE_EXTREMES = {
    "MaxEStateIndex": lambda e: max(e),
    "MinEStateIndex": lambda e: min(e),
    "MaxAbsEStateIndex": lambda e: max(abs(x) for x in e),
    "MinAbsEStateIndex": lambda e: min(abs(x) for x in e),
}
"""RDKit's definitions of the four EState index descriptors, applied to one index list."""


def descriptor_row(mol: Chem.Mol, names: Sequence[str]) -> np.ndarray:
    """Return the descriptors ``names`` of ``mol`` as RDKit computes them (NaN where one fails).

    Parameters
    ----------
    mol
        A sanitised RDKit molecule; it is not changed, though RDKit may keep computed parts
        (such as BCUT2D) on it.
    names
        Names from :data:`ALL_DESCRIPTORS`.
    """
    row = np.full(len(names), np.nan)
    estate = None
    for i, name in enumerate(names):
        try:
            if name in _ESTATE_EXTREMES:
                estate = EStateIndices(mol) if estate is None else estate
                row[i] = _ESTATE_EXTREMES[name](estate)
            else:
                row[i] = _FUNCTIONS[name](mol)
        except Exception:  # as RDKit's CalcMolDescriptors: a descriptor that fails is missing
            continue
    return row
