"""Parse and standardise molecular structures with RDKit.

Identity in CryoProtect is the standard InChIKey of the standardised structure; stereochemistry
is kept, because stereoisomers can differ in activity (for example in ice recrystallization
inhibition).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem, RDLogger
from rdkit.Chem import Descriptors, rdMolDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")


class InvalidStructureError(ValueError):
    """A structure that cannot be used.

    ``kind`` names the reason for counting (``empty``, ``unparseable``, ``multiple_fragments``,
    ``no_heavy_atoms``, ``no_inchikey``); the message gives the detail.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Structure:
    """A standardised molecule: what the ``molecules`` table stores."""

    canonical_smiles: str
    inchikey: str
    formula: str
    molecular_weight: float


@lru_cache(maxsize=65536)
def standardize(smiles: str, *, strip_counterions: bool = False) -> Structure:
    """Parse ``smiles``, standardise it and return its identity.

    Results are cached per input (repeated measurements of one compound are standardised
    once). Standardisation is RDKit's ``rdMolStandardize.Cleanup`` (sanitise, normalise functional
    groups such as nitro, reionise); stereochemistry and isotopes are kept. A step that would
    leave a structure RDKit cannot read back (mesoionic rings) is not applied. With
    ``strip_counterions`` the fragments without carbon (inorganic counterions such as Na+ or
    Cl-, and water) are removed and the parent is neutralised where it can be, which suits
    properties measured in solution; organic fragments are never dropped, so an organic
    co-solvent or second compound still makes the input a mixture.

    Parameters
    ----------
    smiles
        A SMILES string of a single compound.
    strip_counterions
        Remove inorganic fragments (counterions, water) and neutralise.

    Returns
    -------
    Structure
        Canonical isomeric SMILES, standard InChIKey, Hill formula and average molecular weight.

    Raises
    ------
    InvalidStructureError
        If the SMILES is empty or cannot be parsed, still has more than one fragment (a salt,
        hydrate or mixture, which belongs in a mixture instead), has only hydrogen atoms, or
        has no InChIKey.
    """
    text = (smiles or "").strip()
    if not text:
        raise InvalidStructureError("empty", "empty SMILES")
    parsed = parse_smiles(text)
    mol = _if_valid(rdMolStandardize.Cleanup(parsed), parsed)
    if strip_counterions:
        parent = _without_inorganic_fragments(mol)
        mol = _if_valid(rdMolStandardize.Uncharger().uncharge(parent), parent)
    fragments = Chem.GetMolFrags(mol)
    if len(fragments) != 1:
        raise InvalidStructureError(
            "multiple_fragments",
            f"SMILES {text!r} has {len(fragments)} fragments (salt, hydrate or mixture); "
            "record a mixture of its components instead",
        )
    if not mol.GetNumHeavyAtoms():
        raise InvalidStructureError(
            "no_heavy_atoms", f"SMILES {text!r} has no atom but hydrogen; no descriptor fits it"
        )
    inchikey = Chem.MolToInchiKey(mol)
    if not inchikey:
        raise InvalidStructureError("no_inchikey", f"no InChIKey for SMILES {text!r}")
    return Structure(
        canonical_smiles=Chem.MolToSmiles(mol),
        inchikey=inchikey,
        formula=rdMolDescriptors.CalcMolFormula(mol),
        molecular_weight=round(Descriptors.MolWt(mol), 4),
    )


def _if_valid(standardised: Chem.Mol, before: Chem.Mol) -> Chem.Mol:
    """Return ``standardised`` if RDKit can kekulize it, else ``before``.

    Normalising or neutralising a mesoionic ring (a sydnone, say) can leave a structure that
    cannot be kekulized, whose SMILES RDKit cannot read back; such a step is not applied.
    """
    try:
        Chem.Kekulize(Chem.Mol(standardised))
    except Chem.KekulizeException:
        return before
    return standardised


def _without_inorganic_fragments(mol: Chem.Mol) -> Chem.Mol:
    """Return ``mol`` without its carbon-free fragments (if any organic fragment remains)."""
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    organic = [f for f in fragments if any(a.GetAtomicNum() == 6 for a in f.GetAtoms())]
    if not organic or len(organic) == len(fragments):
        return mol
    parent = organic[0]
    for fragment in organic[1:]:
        parent = Chem.CombineMols(parent, fragment)
    return parent


def is_organic(smiles: str) -> bool:
    """Return whether ``smiles`` has a carbon atom.

    Raises
    ------
    InvalidStructureError
        If RDKit cannot parse ``smiles``.
    """
    return any(atom.GetAtomicNum() == 6 for atom in parse_smiles(smiles).GetAtoms())


def parse_smiles(smiles: str) -> Chem.Mol:
    """Return RDKit's molecule of ``smiles``, as written (not standardised).

    Raises
    ------
    InvalidStructureError
        If RDKit cannot parse ``smiles``.
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InvalidStructureError("unparseable", f"RDKit cannot parse SMILES {smiles!r}")
    return mol
