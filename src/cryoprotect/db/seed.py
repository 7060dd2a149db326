"""Seed the database with the curated reference data (idempotent: a rerun adds nothing)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from cryoprotect.chem.structures import Structure
from cryoprotect.db.access import SERVICE_ROLE, user_session
from cryoprotect.db.importer import ImportResult, get_or_create_user, import_frame
from cryoprotect.db.schema import Molecule, MoleculeSynonym
from cryoprotect.db.validation import read_table
from cryoprotect.records import SYNONYM_SEPARATOR
from cryoprotect.vocabulary import PROPERTIES, REFERENCE_USER


def _seed_molecules(session, frame: pd.DataFrame, owner_id: int) -> int:
    """Add the curated molecules (with their synonyms) that are not in the database yet."""
    known = set(session.scalars(select(Molecule.inchikey).where(Molecule.owner_id == owner_id)))
    added = 0
    for row in frame.itertuples():
        if row.inchikey in known:
            continue
        structure = Structure(
            row.canonical_smiles, row.inchikey, row.formula, float(row.molecular_weight)
        )
        session.add(
            Molecule(
                inchikey=structure.inchikey,
                canonical_smiles=structure.canonical_smiles,
                name=row.name or None,
                formula=structure.formula,
                molecular_weight=structure.molecular_weight,
                owner_id=owner_id,
                visibility="public",
                synonyms=[
                    MoleculeSynonym(synonym=s)
                    for s in filter(None, row.synonyms.split(SYNONYM_SEPARATOR))
                ],
            )
        )
        added += 1
    session.flush()
    return added


def seed(engine: Engine, reference_dir: Path) -> ImportResult:
    """Load ``molecules.csv`` and ``experiments_<property>.csv`` from ``reference_dir``.

    Everything is owned by the system user ``reference`` and public. Rows already present
    (by InChIKey, or by ``record_id``) are skipped, so seeding twice adds nothing. The whole
    seed is one transaction, run as the service role (seeding is an admin task).
    """
    with user_session(engine, None, SERVICE_ROLE) as session:
        owner = get_or_create_user(session, REFERENCE_USER, kind="system")
        molecules = pd.read_csv(reference_dir / "molecules.csv", dtype=str, keep_default_na=False)
        total = ImportResult(molecules_added=_seed_molecules(session, molecules, owner.id))
        for code in PROPERTIES:
            frame = read_table(reference_dir / f"experiments_{code}.csv")
            result = import_frame(
                session, frame, owner=owner, visibility="public", on_existing="skip"
            )
            total.experiments_added += result.experiments_added
            total.experiments_skipped += result.experiments_skipped
            total.molecules_added += result.molecules_added
            total.mixtures_added += result.mixtures_added
        return total
