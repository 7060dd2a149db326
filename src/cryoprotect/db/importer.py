"""Import experiment tables (a lab's measurements, or the curated reference data), all or nothing.

Rows are validated first (:mod:`cryoprotect.db.validation`); only a file without problems
is written, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cryoprotect.chem.structures import Structure
from cryoprotect.db.access import SERVICE_ROLE, bind, user_session
from cryoprotect.db.identity import add_molecule, mixture_of, molecule_by_inchikey
from cryoprotect.db.schema import (
    SAME_MEASUREMENT,
    Experiment,
    User,
)
from cryoprotect.db.validation import (
    ImportValidationError,
    RowError,
    ValidRecord,
    check_header,
    read_table,
    validate,
)
from cryoprotect.vocabulary import VISIBILITIES

__all__ = [
    "ImportResult",
    "ImportValidationError",
    "RowError",
    "import_experiments",
    "import_frame",
    "get_or_create_user",
]


@dataclass
class ImportResult:
    """What an import added and what it skipped as already present."""

    experiments_added: int = 0
    experiments_skipped: int = 0
    molecules_added: int = 0
    mixtures_added: int = 0


def get_or_create_user(session: Session, username: str, kind: str = "person") -> User:
    """Return the user called ``username``, creating it if needed."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, kind=kind)
        session.add(user)
        session.flush()
    return user


class _Writer:
    """Writes validated records, creating molecules and mixtures as needed."""

    def __init__(self, session: Session, owner: User, visibility: str, on_existing: str) -> None:
        self.session, self.owner, self.visibility = session, owner, visibility
        self.on_existing = on_existing
        self.result = ImportResult()
        self.errors: list[RowError] = []
        self._molecules: dict[str, int] = {}
        self._written: dict[tuple, int] = {}  # measurement -> line, for rows without record_id

    def molecule_id(self, structure: Structure, name: str | None) -> int:
        if structure.inchikey not in self._molecules:
            found = molecule_by_inchikey(self.session, structure.inchikey, self.owner.id)
            if found is None:
                found = add_molecule(self.session, structure, name, self.owner.id, self.visibility)
                self.result.molecules_added += 1
            self._molecules[structure.inchikey] = found
        return self._molecules[structure.inchikey]

    def mixture_id(self, record: ValidRecord) -> int:
        parts = [
            (
                c.molecule if isinstance(c.molecule, int) else self.molecule_id(c.molecule, None),
                c.amount,
                c.unit,
            )
            for c in record.components
        ]
        found, added = mixture_of(
            self.session, parts, self.owner.id, record.values["name"], self.visibility
        )
        self.result.mixtures_added += added
        return found

    def experiment(self, record: ValidRecord) -> None:
        v = record.values
        subject = (
            {"molecule_id": self.molecule_id(record.structure, v["name"])}
            if record.structure is not None
            else {"mixture_id": self.mixture_id(record)}
        )
        row = {
            "record_id": v["record_id"] or None,
            "property": v["property"],
            "value": v["value"],
            "unit": v["unit"],
            "uncertainty": v["uncertainty"],
            "reported_name": v["name"] or None,
            "concentration": v["concentration"],
            "concentration_unit": v["concentration_unit"] or None,
            "assay": v["assay"] or None,
            "cell_type": v["cell_type"] or None,
            "cooling_rate_k_per_min": v["cooling_rate_k_per_min"],
            "medium": v["medium"] or None,
            "source": v["source"] or None,
            "reference": v["reference"] or None,
            "citation": v["citation"],
            "doi": v["doi"] or None,
            "notes": v["notes"] or None,
            "owner_id": self.owner.id,
            "visibility": self.visibility,
            "molecule_id": None,
            "mixture_id": None,
            **subject,
        }
        if row["record_id"] is None and self._repeated(record.line, row):
            return
        self.session.add(Experiment(**row))
        self.result.experiments_added += 1

    def _repeated(self, line: int, row: dict) -> bool:
        """Whether ``row`` (without a record_id) repeats a measurement; record the problem."""
        key = tuple(row[c] for c in SAME_MEASUREMENT)
        if key in self._written:
            self.errors.append(
                RowError(
                    line,
                    "record_id",
                    f"repeats the measurement of row {self._written[key]}; give each its own "
                    "record_id if both were measured",
                )
            )
            return True
        self._written[key] = line
        same = [getattr(Experiment, c).is_not_distinct_from(row[c]) for c in SAME_MEASUREMENT]
        found = self.session.scalar(select(Experiment.id).where(*same).limit(1))
        if found is None:
            return False
        if self.on_existing == "skip":
            self.result.experiments_skipped += 1
        else:
            self.errors.append(
                RowError(
                    line,
                    "record_id",
                    f"the same measurement is already in the database (experiment {found}); "
                    "give it its own record_id if it was measured again",
                )
            )
        return True


def import_frame(
    session: Session,
    frame: pd.DataFrame,
    *,
    owner: User,
    visibility: str = "private",
    on_existing: str = "error",
) -> ImportResult:
    """Validate and add the experiments of ``frame`` for ``owner`` in the caller's transaction.

    New molecules and mixtures are ``owner``'s; known structures are reused when ``owner``
    may see them (see :mod:`cryoprotect.db.identity`). A row without a ``record_id`` that
    repeats a measurement (:data:`~cryoprotect.db.schema.SAME_MEASUREMENT`) of an earlier row
    is a problem; one that repeats a measurement ``owner`` already has is a problem too, or
    skipped with ``on_existing="skip"``.

    Raises
    ------
    ImportValidationError
        If any row has a problem; the caller's transaction must then be rolled back (rows
        found repeated while writing leave the others pending in the session).
    """
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
    records = validate(session, frame, on_existing, owner.id)
    writer = _Writer(session, owner, visibility, on_existing)
    for record in records:
        writer.experiment(record)
    if writer.errors:
        raise ImportValidationError(writer.errors)
    writer.result.experiments_skipped += len(frame) - len(records)
    session.flush()
    return writer.result


def import_experiments(
    engine: Engine, path: Path, *, owner: str, visibility: str = "private"
) -> ImportResult:
    """Import the experiment CSV at ``path`` for the user ``owner``, all rows or none.

    One transaction: the service role registers ``owner`` if new, then the import acts for
    that user (:func:`cryoprotect.db.access.bind`), so the access rules (Row Level Security
    on PostgreSQL) judge every row written; a refusal raises
    :class:`~cryoprotect.db.visibility.AccessDenied`. A file without rows writes nothing.

    Raises
    ------
    ImportValidationError
        If the file has any problem; then nothing has been written.
    ValueError
        If ``owner`` or ``visibility`` cannot be stored.
    """
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
    longest = User.__table__.c.username.type.length
    if not owner or len(owner) > longest or "\x00" in owner:
        raise ValueError(f"an owner's username has 1 to {longest} characters, not {owner!r}")
    frame = read_table(path)
    if frame.empty:
        check_header(frame.columns)
        return ImportResult()
    with user_session(engine, None, SERVICE_ROLE) as session:
        user = get_or_create_user(session, owner)
        bind(session, user.id)
        return import_frame(session, frame, owner=user, visibility=visibility)
