"""Parse and standardise molecular structures with RDKit.

Identity in CryoProtect is the standard InChIKey of the standardised structure; stereochemistry
is kept, because stereoisomers can differ in activity (for example in ice recrystallization
inhibition).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem, rdBase
from rdkit.Chem import Descriptors, rdMolDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize


@contextmanager
def rdkit_quiet() -> Iterator[None]:
    """Keep RDKit from logging inside the ``with`` block, and only there.

    Reading a person's text makes RDKit log parse errors and standardisation notes; CryoProtect
    reports those as :class:`InvalidStructureError` reasons instead. Logging is blocked for the
    block's duration (``rdBase.BlockLogs``, process-wide while it lasts) and then set back to
    what it was, so a caller's own RDKit logging is left as the caller set it.
    """
    with rdBase.BlockLogs():
        yield


class InvalidStructureError(ValueError):
    """A structure that cannot be used.

    ``kind`` names the reason for counting (``empty``, ``malformed``, ``unparseable``,
    ``multiple_fragments``, ``no_heavy_atoms``, ``no_inchikey``); the message gives the detail.
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
    text = check_smiles_text(smiles)
    parsed = parse_smiles(text)
    with rdkit_quiet():
        mol = _if_valid(rdMolStandardize.Cleanup(parsed), parsed)
        if strip_counterions:
            parent = _without_inorganic_fragments(mol)
            mol = _if_valid(rdMolStandardize.Uncharger().uncharge(parent), parent)
        inchikey = Chem.MolToInchiKey(mol)
    fragments = Chem.GetMolFrags(mol)
    if len(fragments) != 1:
        raise InvalidStructureError(
            "multiple_fragments",
            f"SMILES {excerpt(text)} has {len(fragments)} fragments (salt, hydrate or mixture); "
            "record a mixture of its components instead",
        )
    if not mol.GetNumHeavyAtoms():
        raise InvalidStructureError(
            "no_heavy_atoms",
            f"SMILES {excerpt(text)} has no atom but hydrogen; no descriptor fits it",
        )
    if not inchikey:
        raise InvalidStructureError("no_inchikey", f"no InChIKey for SMILES {excerpt(text)}")
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


MAX_SMILES_LENGTH = 4000
"""Longest SMILES text accepted (characters); a longer text is refused before RDKit reads it."""
EXCERPT_LENGTH = 60
"""Characters of a refused text quoted in its error message."""


def excerpt(text: str) -> str:
    """Return ``text`` quoted for an error message, shortened to :data:`EXCERPT_LENGTH`."""
    shown = text if len(text) <= EXCERPT_LENGTH else f"{text[:EXCERPT_LENGTH]}..."
    return ascii(shown)


def check_smiles_text(smiles: str) -> str:
    """Return ``smiles`` without surrounding whitespace if it can only be one SMILES.

    RDKit reads text after a space as the molecule's name and stops at some other characters,
    so ``"C CO"`` would be methane and ``"OCC(O)CO junk"`` glycerol. A SMILES is printable
    ASCII without spaces: anything else is refused here, with the position and the character.

    Raises
    ------
    InvalidStructureError
        ``empty`` for an empty text; ``malformed`` for a text longer than
        :data:`MAX_SMILES_LENGTH`, with whitespace inside, or with a character that is not
        printable ASCII (control characters, other scripts, emoji, lone surrogates).
    """
    text = smiles.strip() if isinstance(smiles, str) else ""
    if not text:
        raise InvalidStructureError("empty", "empty SMILES")
    if len(text) > MAX_SMILES_LENGTH:
        raise InvalidStructureError(
            "malformed",
            f"SMILES of {len(text)} characters is longer than the {MAX_SMILES_LENGTH} accepted",
        )
    for position, character in enumerate(text, start=1):
        if character.isspace():
            raise InvalidStructureError(
                "malformed",
                f"SMILES {excerpt(text)} has whitespace at character {position}; "
                "a SMILES has no spaces (text after one is not part of the structure)",
            )
        if not " " < character <= "~":
            raise InvalidStructureError(
                "malformed",
                f"SMILES {excerpt(text)} has the character {ascii(character)} at character "
                f"{position}; a SMILES is printable ASCII",
            )
    return text


def parse_smiles(smiles: str) -> Chem.Mol:
    """Return RDKit's molecule of ``smiles``, as written (not standardised).

    This is the one way CryoProtect reads a structure a person or a file gave: the text is
    checked by :func:`check_smiles_text` first, so trailing text, inner whitespace or control
    characters are refused instead of read as a different molecule.

    Raises
    ------
    InvalidStructureError
        If the text is not a single SMILES (:func:`check_smiles_text`) or RDKit cannot parse it.
    """
    text = check_smiles_text(smiles)
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(text)
    if mol is None:
        raise InvalidStructureError("unparseable", f"RDKit cannot parse SMILES {excerpt(text)}")
    return mol
