"""Validation of experiment tables: every problem found, with its row and field.

Validation runs over the whole file first and collects every problem with its row (the line
of the CSV file where the row starts, the header being line 1) and field, so that nothing is
written from a file that has any. The rules are the database's own: the vocabulary
(:mod:`cryoprotect.vocabulary`), the properties table, and the column lengths of the schema.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Column, select
from sqlalchemy.orm import Session

from cryoprotect.chem.structures import InvalidStructureError, Structure, standardize
from cryoprotect.db.identity import molecules_by_name
from cryoprotect.db.schema import Experiment, Mixture, Molecule, PropertyDef
from cryoprotect.records import EXPERIMENT_COLUMNS, REQUIRED_COLUMNS, parse_components
from cryoprotect.vocabulary import AMOUNT_MAXIMA, AMOUNT_UNITS

FIRST_DATA_LINE = 2


@dataclass(frozen=True)
class RowError:
    """One problem of an input file: where (line and field) and what."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.line}, field '{self.field}': {self.message}"


class ImportValidationError(ValueError):
    """The input has problems; nothing was written. ``errors`` lists each one."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s): " + "; ".join(map(str, errors[:5])))


@dataclass
class ValidComponent:
    """A mixture component of a valid row: a known molecule id or a new structure."""

    molecule: Structure | int
    amount: float
    unit: str


@dataclass
class ValidRecord:
    """A valid row: its line, cleaned values, and its structure or components."""

    line: int
    values: dict
    structure: Structure | None = None
    components: list[ValidComponent] = field(default_factory=list)


def read_table(path: Path) -> pd.DataFrame:
    """Read an experiment CSV as text columns, or raise :class:`ImportValidationError`.

    The frame's index (named ``line``) holds the line each row starts on. A row with more or
    fewer fields than the header, a repeated column name or an empty file is refused; blank
    lines are skipped.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _read_rows(csv.reader(handle, strict=True))
    except (csv.Error, UnicodeDecodeError) as error:
        raise ImportValidationError(
            [RowError(1, "file", f"not a readable CSV file: {error}")]
        ) from None


def _read_rows(reader) -> pd.DataFrame:
    header = next(reader, None)
    if not header:
        raise ImportValidationError([RowError(1, "file", "empty: a header line is required")])
    errors = [
        RowError(1, name, "column named twice")
        for position, name in enumerate(header)
        if name in header[:position]
    ]
    rows, lines = [], []
    start = reader.line_num + 1
    for fields in reader:
        if fields and len(fields) != len(header):
            where = f"(beyond '{header[-1]}')" if len(fields) > len(header) else header[len(fields)]
            errors.append(
                RowError(
                    start,
                    where,
                    f"{len(fields)} fields, but the header names {len(header)} columns "
                    "(quote a value that holds a comma)",
                )
            )
        elif fields:
            rows.append(fields)
            lines.append(start)
        start = reader.line_num + 1
    if errors:
        raise ImportValidationError(errors)
    return pd.DataFrame(rows, columns=header, index=pd.Index(lines, name="line"), dtype=str)


def check_header(columns: Iterable[str]) -> None:
    """Raise :class:`ImportValidationError` if ``columns`` are not an experiment table's."""
    columns = list(columns)
    errors = [
        RowError(1, c, "unknown column (see docs/data.md for the format)")
        for c in columns
        if c not in EXPERIMENT_COLUMNS
    ]
    errors += [
        RowError(1, c, "required column missing") for c in REQUIRED_COLUMNS if c not in columns
    ]
    if "smiles" not in columns and "components" not in columns:
        errors.append(RowError(1, "smiles", "a 'smiles' or 'components' column is required"))
    if errors:
        raise ImportValidationError(errors)


FIELD_COLUMNS: dict[str, tuple[Column, ...]] = {
    "name": (
        Experiment.__table__.c.reported_name,
        Molecule.__table__.c.name,
        Mixture.__table__.c.name,
    ),
    **{
        name: (Experiment.__table__.c[name],)
        for name in EXPERIMENT_COLUMNS
        if name in Experiment.__table__.c
    },
}
"""The database columns each field of the file is written to."""


def field_lengths() -> dict[str, int]:
    """Return the most characters each field may hold: its shortest database column."""
    lengths = {}
    for name, columns in FIELD_COLUMNS.items():
        limits = [c.type.length for c in columns if getattr(c.type, "length", None)]
        if limits:
            lengths[name] = min(limits)
    return lengths


def _text_errors(line: int, values: dict[str, str], lengths: dict[str, int]) -> list[RowError]:
    """Return the problems of the raw text: NUL characters and values too long to store.

    A SMILES is left to the reading of structures, which names any character that is not
    printable ASCII (NUL included) as everywhere else.
    """
    errors = []
    for name, text in values.items():
        if "\x00" in text and name != "smiles":
            errors.append(
                RowError(
                    line,
                    name,
                    f"holds a NUL character (at position {text.index(chr(0)) + 1}), "
                    "which no text column can store",
                )
            )
        elif name in lengths and len(text) > lengths[name]:
            errors.append(
                RowError(
                    line,
                    name,
                    f"{len(text)} characters, longer than the {lengths[name]} the database holds",
                )
            )
    return errors


def _float(text: str, line: int, name: str, errors: list[RowError]) -> float | None:
    """Parse an optional finite number; record an error for text that is not one."""
    text = text.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        errors.append(RowError(line, name, f"{text!r} is not a number"))
        return None
    if not math.isfinite(number):
        errors.append(RowError(line, name, f"{text!r} is not a finite number"))
        return None
    return number


class _Validator:
    """Checks rows against the properties and molecules in the database."""

    def __init__(self, session: Session, owner_id: int) -> None:
        self.properties = {p.code: p for p in session.scalars(select(PropertyDef))}
        self.session, self.owner_id = session, owner_id
        self._names: dict[str, list[int]] = {}
        self._file_names: dict[str, Structure] = {}
        self._lengths = field_lengths()

    def row(self, line: int, raw: dict[str, str]) -> tuple[ValidRecord, list[RowError]]:
        values = {c: (raw.get(c) or "").strip() for c in EXPERIMENT_COLUMNS}
        errors = _text_errors(line, values, self._lengths)
        record = ValidRecord(line, values)
        prop = self.properties.get(values["property"])
        if prop is None:
            known = ", ".join(sorted(self.properties))
            errors.append(
                RowError(
                    line, "property", f"unknown property {values['property']!r} (known: {known})"
                )
            )
        value = _float(values["value"], line, "value", errors)
        if value is None and not any(e.field == "value" for e in errors):
            errors.append(RowError(line, "value", "required"))
        if prop is not None:
            if values["unit"] != prop.unit:
                errors.append(
                    RowError(
                        line,
                        "unit",
                        f"unit {values['unit']!r} is not allowed "
                        f"for {prop.code}; use {prop.unit!r}",
                    )
                )
            if value is not None and not prop.min_value <= value <= prop.max_value:
                errors.append(
                    RowError(
                        line,
                        "value",
                        f"{value:g} {prop.unit} is outside the "
                        f"range of {prop.code} [{prop.min_value:g}, "
                        f"{prop.max_value:g}]",
                    )
                )
        for name in ("uncertainty", "concentration", "cooling_rate_k_per_min"):
            number = _float(values[name], line, name, errors)
            if number is not None and (
                number < 0 or (name == "cooling_rate_k_per_min" and number == 0)
            ):
                errors.append(RowError(line, name, f"{number:g} must be positive"))
            values[name] = number
        values["value"] = value
        if (values["concentration"] is None) != (not values["concentration_unit"]):
            errors.append(
                RowError(
                    line, "concentration_unit", "concentration and concentration_unit go together"
                )
            )
        elif values["concentration_unit"] and values["concentration_unit"] not in AMOUNT_UNITS:
            errors.append(
                RowError(
                    line,
                    "concentration_unit",
                    f"unknown unit {values['concentration_unit']!r} (allowed: "
                    f"{', '.join(AMOUNT_UNITS)})",
                )
            )
        elif values["concentration"] is not None:
            most = AMOUNT_MAXIMA.get(values["concentration_unit"], math.inf)
            if values["concentration"] > most:
                errors.append(
                    RowError(
                        line,
                        "concentration",
                        f"{values['concentration']:g} {values['concentration_unit']} is more "
                        f"than the whole ({most:g} {values['concentration_unit']})",
                    )
                )
        if not values["citation"]:
            errors.append(
                RowError(
                    line, "citation", "required: the paper, data set or lab notebook of the value"
                )
            )
        in_solution = prop.in_solution if prop is not None else True
        if bool(values["smiles"]) == bool(values["components"]):
            errors.append(
                RowError(
                    line,
                    "smiles",
                    "give exactly one of 'smiles' (a molecule) or 'components' (a mixture)",
                )
            )
        elif values["smiles"]:
            self._structure(record, in_solution, errors)
        else:
            self._components(record, errors)
        return record, errors

    def _structure(self, record: ValidRecord, in_solution: bool, errors: list[RowError]) -> None:
        values = record.values
        try:
            record.structure = standardize(values["smiles"], strip_counterions=in_solution)
        except InvalidStructureError as error:
            errors.append(RowError(record.line, "smiles", str(error)))
            return
        if values["name"]:
            self._file_names.setdefault(values["name"].casefold(), record.structure)
        if values["inchikey"] and values["inchikey"] != record.structure.inchikey:
            errors.append(
                RowError(
                    record.line,
                    "inchikey",
                    f"{values['inchikey']} disagrees with the SMILES ({record.structure.inchikey})",
                )
            )

    def _components(self, record: ValidRecord, errors: list[RowError]) -> None:
        try:
            entries = parse_components(record.values["components"])
        except ValueError as error:
            errors.append(RowError(record.line, "components", str(error)))
            return
        for entry in entries:
            matches = self._by_name(entry.identifier)
            if len(matches) > 1:
                errors.append(
                    RowError(
                        record.line,
                        "components",
                        f"name {entry.identifier!r} is ambiguous ({len(matches)} molecules)",
                    )
                )
                continue
            if matches:
                record.components.append(ValidComponent(matches[0], entry.amount, entry.unit))
                continue
            if entry.identifier.casefold() in self._file_names:
                structure = self._file_names[entry.identifier.casefold()]
                record.components.append(ValidComponent(structure, entry.amount, entry.unit))
                continue
            try:
                structure = standardize(entry.identifier, strip_counterions=True)
            except InvalidStructureError:
                errors.append(
                    RowError(
                        record.line,
                        "components",
                        f"{entry.identifier!r} is neither a known molecule name nor a valid SMILES",
                    )
                )
                continue
            record.components.append(ValidComponent(structure, entry.amount, entry.unit))
        molecules = [
            c.molecule if isinstance(c.molecule, int) else c.molecule.inchikey
            for c in record.components
        ]
        if len(set(molecules)) != len(molecules):
            errors.append(RowError(record.line, "components", "a molecule is listed twice"))

    def _by_name(self, name: str) -> list[int]:
        key = name.casefold()
        if key not in self._names:
            self._names[key] = molecules_by_name(self.session, name, self.owner_id)
        return self._names[key]


def validate(
    session: Session, frame: pd.DataFrame, on_existing: str, owner_id: int
) -> list[ValidRecord]:
    """Validate every row of ``frame``, to be owned by ``owner_id``.

    Molecule names resolve among the molecules the owner may see. ``on_existing`` is
    ``"error"`` (a ``record_id`` the owner already has is a problem) or ``"skip"`` (such rows
    are left out, which makes seeding idempotent).

    Raises
    ------
    ImportValidationError
        Listing every problem, each with its line and field.
    """
    check_header(frame.columns)
    validator = _Validator(session, owner_id)
    errors: list[RowError] = []
    records: list[ValidRecord] = []
    seen: dict[str, int] = {}
    for offset, raw in enumerate(frame.to_dict("records")):
        line = frame.index[offset] if frame.index.name == "line" else FIRST_DATA_LINE + offset
        record, row_errors = validator.row(int(line), raw)
        record_id = record.values["record_id"]
        if record_id:
            if record_id in seen:
                row_errors.append(
                    RowError(
                        record.line, "record_id", f"{record_id!r} repeats row {seen[record_id]}"
                    )
                )
            seen.setdefault(record_id, record.line)
        errors += row_errors
        records.append(record)
    if errors:
        raise ImportValidationError(errors)
    existing = _existing_record_ids(session, list(seen), owner_id)
    if existing and on_existing == "error":
        raise ImportValidationError(
            [
                RowError(
                    r.line, "record_id", f"{r.values['record_id']!r} is already in the database"
                )
                for r in records
                if r.values["record_id"] in existing
            ]
        )
    return [r for r in records if r.values["record_id"] not in existing]


def _existing_record_ids(session: Session, record_ids: list[str], owner_id: int) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(record_ids), 500):
        chunk = record_ids[start : start + 500]
        found |= set(
            session.scalars(
                select(Experiment.record_id).where(
                    Experiment.owner_id == owner_id, Experiment.record_id.in_(chunk)
                )
            )
        )
    return found
