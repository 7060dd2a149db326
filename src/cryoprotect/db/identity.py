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
from cryoprotect.db.schema import Mixture, MixtureComponent, Molecule, MoleculeSynonym
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


def mixture_of(
    session: Session,
    parts: list[tuple[int, float, str]],
    owner_id: int,
    name: str | None = None,
    visibility: str = "private",
) -> tuple[int, bool]:
    """Return the id of ``owner_id``'s mixture of ``parts``, adding it if new (flushed).

    ``parts`` are ``(molecule_id, amount, unit)``; their order does not matter. Returns the
    id and whether the mixture was added. A new mixture is written private first (a public
    mixture's components are fixed), then given ``visibility``.
    """
    ordered = sorted(parts)
    key = ";".join(f"{mid}:{amount!r} {unit}" for mid, amount, unit in ordered)
    found = session.scalar(
        select(Mixture.id).where(Mixture.owner_id == owner_id, Mixture.composition_key == key)
    )
    if found is not None:
        return found, False
    mixture = Mixture(
        name=name or None,
        composition_key=key,
        owner_id=owner_id,
        visibility="private",
        components=[MixtureComponent(molecule_id=m, amount=a, unit=u) for m, a, u in ordered],
    )
    session.add(mixture)
    session.flush()
    if visibility != "private":
        mixture.visibility = visibility
        session.flush()
    return mixture.id, True
