"""Training tables and name lookups read from the database for the science layer."""

from __future__ import annotations

import hashlib
import statistics

import pandas as pd
from sqlalchemy import Engine, select, true
from sqlalchemy.orm import Session, selectinload

from cryoprotect.chem.mixtures import Component
from cryoprotect.db.schema import Experiment, Mixture, Molecule, MoleculeSynonym

CONCENTRATION_TO_MM = {"mM": 1.0, "M": 1000.0}


def training_frame(engine: Engine, property_code: str, subject: str) -> pd.DataFrame:
    """Return the measurements of ``property_code`` as a training table.

    Molecule subjects give columns ``group`` (the InChIKey's first block, the skeleton: stereo
    and isotope variants of one compound stay in one cross-validation fold), ``key``,
    ``smiles``, ``value``, ``concentration_mM``, ``melting_point_K`` (the median of the
    molecule's measured melting points, by InChIKey; empty when none is known) and
    ``record_id``; mixture subjects give
    ``group`` (composition key), ``components`` (list of :class:`Component`), ``value`` and
    ``record_id``.
    Measurements at a concentration in a unit without a molar conversion are left out.
    """
    with Session(engine) as session:
        if subject == "mixture":
            query = (
                select(Experiment, Mixture)
                .join(Mixture, Experiment.mixture_id == Mixture.id)
                .where(Experiment.property == property_code)
                .options(selectinload(Mixture.components))
                .order_by(Experiment.id)
            )
            rows = [
                {
                    "group": f"{mixture.owner_id}:{mixture.composition_key}",
                    "components": [
                        Component(c.molecule.canonical_smiles, c.amount, c.unit)
                        for c in sorted(mixture.components, key=lambda c: c.molecule_id)
                    ],
                    "value": experiment.value,
                    "record_id": experiment.record_id or f"experiment:{experiment.id}",
                }
                for experiment, mixture in session.execute(query)
            ]
            return pd.DataFrame(rows, columns=["group", "components", "value", "record_id"])
        query = (
            select(Experiment, Molecule)
            .join(Molecule, Experiment.molecule_id == Molecule.id)
            .where(Experiment.property == property_code)
            .order_by(Experiment.id)
        )
        melting = _melting_points(session)
        rows = []
        for experiment, molecule in session.execute(query):
            factor = CONCENTRATION_TO_MM.get(experiment.concentration_unit or "")
            if experiment.concentration is not None and factor is None:
                continue
            rows.append(
                {
                    "group": molecule.inchikey[:14],
                    "key": molecule.inchikey,
                    "smiles": molecule.canonical_smiles,
                    "value": experiment.value,
                    "concentration_mM": experiment.concentration * factor
                    if experiment.concentration is not None
                    else None,
                    "melting_point_K": melting.get(molecule.inchikey),
                    "record_id": experiment.record_id or f"experiment:{experiment.id}",
                }
            )
        columns = [
            "group",
            "key",
            "smiles",
            "value",
            "concentration_mM",
            "melting_point_K",
            "record_id",
        ]
        return pd.DataFrame(rows, columns=columns)


def _melting_points(session: Session, public_only: bool = False) -> dict[str, float]:
    """Map each InChIKey to the median of its measured melting points (K)."""
    query = (
        select(Molecule.inchikey, Experiment.value)
        .join(Molecule, Experiment.molecule_id == Molecule.id)
        .where(Experiment.property == "tm")
    )
    if public_only:
        query = query.where(Experiment.visibility == "public")
    values: dict[str, list[float]] = {}
    for inchikey, value in session.execute(query):
        values.setdefault(inchikey, []).append(value)
    return {key: float(statistics.median(found)) for key, found in values.items()}


def measured_melting_points(engine: Engine, public_only: bool = False) -> dict[str, float]:
    """Map each InChIKey to the median of its melting points measured in the database (K).

    With ``public_only``, only public measurements count (for anonymous callers).
    """
    with Session(engine) as session:
        return _melting_points(session, public_only)


def frame_hash(frame: pd.DataFrame) -> str:
    """Return a SHA-256 of a training table's content (its rows as text, in order)."""
    text = frame.astype(str).to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def molecule_names(engine: Engine, public_only: bool = False) -> dict[str, str]:
    """Map every molecule name and synonym (case-folded) to its canonical SMILES.

    A name shared by several structures is left out, since it does not identify one. With
    ``public_only``, private molecules' names are left out too (for anonymous callers).
    """
    pairs: dict[str, set[str]] = {}
    scope = Molecule.visibility == "public" if public_only else true()
    with Session(engine) as session:
        molecules = select(Molecule.name, Molecule.canonical_smiles).where(scope)
        for name, smiles in session.execute(molecules):
            if name:
                pairs.setdefault(name.casefold(), set()).add(smiles)
        synonyms = (
            select(MoleculeSynonym.synonym, Molecule.canonical_smiles).join(Molecule).where(scope)
        )
        for name, smiles in session.execute(synonyms):
            pairs.setdefault(name.casefold(), set()).add(smiles)
    return {name: next(iter(s)) for name, s in pairs.items() if len(s) == 1}
