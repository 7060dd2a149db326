"""Which molecule row a user's data points at when several owners hold the same structure.

Molecules are unique per owner (migration 0004): the public reference set, and each user's
private rows, may each hold one row per InChIKey. A user's new data points at a molecule the
user may see (their own, a public one, or one shared with them), preferring their own copy,
then the oldest row.
"""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cryoprotect.chem.structures import Structure
from cryoprotect.db.schema import Molecule, MoleculeSynonym
from cryoprotect.db.visibility import visible


def _preferred_first(owner_id: int):
    return (case((Molecule.owner_id == owner_id, 0), else_=1), Molecule.id)


def molecule_by_inchikey(session: Session, inchikey: str, owner_id: int) -> int | None:
    """Return the id of the molecule ``owner_id`` should use for ``inchikey``, or ``None``."""
    return session.scalar(
        select(Molecule.id)
        .where(Molecule.inchikey == inchikey, visible(Molecule, owner_id))
        .order_by(*_preferred_first(owner_id))
        .limit(1)
    )


def molecules_by_name(session: Session, name: str, owner_id: int) -> list[int]:
    """Return one molecule id per distinct structure named ``name`` (name or synonym).

    Case is ignored. More than one id means the name is ambiguous for this user.
    """
    key = name.casefold()
    named = select(MoleculeSynonym.molecule_id).where(func.lower(MoleculeSynonym.synonym) == key)
    rows = session.execute(
        select(Molecule.id, Molecule.inchikey)
        .where(
            visible(Molecule, owner_id),
            (func.lower(Molecule.name) == key) | Molecule.id.in_(named),
        )
        .order_by(*_preferred_first(owner_id))
    )
    chosen: dict[str, int] = {}
    for molecule_id, inchikey in rows:
        chosen.setdefault(inchikey, molecule_id)
    return sorted(chosen.values())


def add_molecule(
    session: Session, structure: Structure, name: str | None, owner_id: int, visibility: str
) -> int:
    """Add ``structure`` as a molecule of ``owner_id`` and return its id (flushed)."""
    molecule = Molecule(
        inchikey=structure.inchikey,
        canonical_smiles=structure.canonical_smiles,
        name=name or None,
        formula=structure.formula,
        molecular_weight=structure.molecular_weight,
        owner_id=owner_id,
        visibility=visibility,
    )
    session.add(molecule)
    session.flush()
    return molecule.id
