"""Build the curated reference tables from the published sources, deterministically.

Steps: read every source (:mod:`cryoprotect.curation.sources`), standardise each structure,
reject what cannot be used (with the reason), drop measurements that a preferred source
already holds, resolve mixture components by name, and write

* ``experiments_<property>.csv`` in the experiment column format,
* ``molecules.csv`` (one row per InChIKey with its names as synonyms),
* ``rejects.csv`` (every dropped row with its reason) and ``summary.json`` (the counts).

Same input, byte-identical output.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import structlog

from cryoprotect.chem.structures import InvalidStructureError, is_organic, standardize
from cryoprotect.curation.sources import SOURCES, VIABILITY_COMPONENTS, Source, SourceRows
from cryoprotect.records import (
    EXPERIMENT_COLUMNS,
    MOLECULE_COLUMNS,
    SYNONYM_SEPARATOR,
    format_components,
    parse_components,
)
from cryoprotect.vocabulary import PROPERTIES

log = structlog.get_logger(__name__)

SAME_MEASUREMENT_TOLERANCE = {"tg": 0.5, "tm": 0.5, "iri": 0.05, "viability": 0.0}
"""Two records of one structure (at one concentration) from different sources whose values
differ by at most this much are taken as the same literature measurement; the record of the
source listed first in :data:`~cryoprotect.curation.sources.SOURCES` is kept."""

REJECT_COLUMNS = ("source", "source_row", "name", "smiles", "reason", "detail")


class CurationError(RuntimeError):
    """The sources cannot be curated consistently (for example an ambiguous component name)."""


@dataclass
class CuratedData:
    """The curated tables, as data frames ready to be written."""

    experiments: dict[str, pd.DataFrame]
    molecules: pd.DataFrame
    rejects: pd.DataFrame

    def summary(self) -> dict:
        """Return the counts: records per property and source, molecules, rejects by reason."""
        return {
            "experiments": {p: len(f) for p, f in self.experiments.items()},
            "experiments_by_source": {
                p: dict(sorted(Counter(f["source"]).items())) for p, f in self.experiments.items()
            },
            "molecules": len(self.molecules),
            "rejects": len(self.rejects),
            "rejects_by_reason": dict(sorted(Counter(self.rejects["reason"]).items())),
        }


def curate(source_dir: Path) -> CuratedData:
    """Curate every source under ``source_dir`` into :class:`CuratedData`."""
    records: list[dict] = []
    rejects: list[dict] = []
    for source in SOURCES:
        rows = source.read(source_dir)
        log.info(
            "source read", source=source.key, records=len(rows.records), rejected=len(rows.rejects)
        )
        kept = _standardise(source, rows)
        records.extend(kept.records)
        rejects.extend(rows.rejects)
    names = _names_by_inchikey(records)
    records = _drop_repeated_measurements(records, rejects)
    molecules = _molecule_table(records, names)
    _resolve_components(records, molecules)
    experiments = {
        code: _frame([r for r in records if r["property"] == code], EXPERIMENT_COLUMNS)
        for code in PROPERTIES
    }
    order = {s.key: i for i, s in enumerate(SOURCES)}
    rejects.sort(key=lambda r: (order[r["source"]], int(r["source_row"])))
    return CuratedData(experiments, molecules, _frame(rejects, REJECT_COLUMNS))


def _standardise(source: Source, rows: SourceRows) -> SourceRows:
    """Standardise the SMILES of ``rows.records`` in place; move unusable ones to rejects.

    Counterions are stripped only for properties measured in solution; a salt or hydrate of
    a property of the pure compound (Tg) is rejected.
    """
    strip = PROPERTIES[source.property].in_solution
    kept = []
    for record in rows.records:
        smiles = record.get("smiles", "")
        row = int(record["record_id"].rsplit(":", 1)[1])
        if not smiles:
            if record.get("components"):
                kept.append(record)
            else:
                rows.reject(source.key, row, record["name"], "", "missing_smiles")
            continue
        try:
            if not is_organic(smiles):
                rows.reject(source.key, row, record["name"], smiles, "inorganic", "no carbon")
                continue
            structure = standardize(smiles, strip_counterions=strip)
        except InvalidStructureError as error:
            rows.reject(source.key, row, record["name"], smiles, error.kind, str(error))
            continue
        if strip and "." in smiles:
            record["notes"] = "; ".join(
                filter(None, [record.get("notes"), f"parent of the salt form {smiles}"])
            )
        record.update(
            smiles=structure.canonical_smiles,
            inchikey=structure.inchikey,
            _structure=structure,
            _given_smiles=smiles,
            _salt_form=strip and "." in smiles,
        )
        kept.append(record)
    rows.records = kept
    return rows


def _names_by_inchikey(records: list[dict]) -> dict[str, list[str]]:
    """Every reported name of each structure, case-insensitively distinct.

    Names are in first-seen order, except that names of salt forms come last, so that the
    parent's own name (when one is reported) becomes the molecule's name.
    """
    names: dict[str, list[str]] = {}
    for record in sorted(records, key=lambda r: bool(r.get("_salt_form"))):
        if record.get("inchikey") and record["name"]:
            seen = names.setdefault(record["inchikey"], [])
            if record["name"].casefold() not in {n.casefold() for n in seen}:
                seen.append(record["name"])
    return names


def _subject_key(record: dict) -> tuple:
    return (
        record["property"],
        record.get("inchikey") or record.get("components"),
        record.get("concentration"),
    )


def _drop_repeated_measurements(records: list[dict], rejects: list[dict]) -> list[dict]:
    """Drop exact repeats within a source and measurements a preferred source already has."""
    kept: list[dict] = []
    by_subject: dict[tuple, list[dict]] = {}
    for record in records:
        tolerance = SAME_MEASUREMENT_TOLERANCE[record["property"]]
        earlier = by_subject.setdefault(_subject_key(record), [])
        match = next(
            (
                e
                for e in earlier
                if (
                    e["source"] != record["source"]
                    and abs(e["value"] - record["value"]) <= tolerance
                )
                or (
                    e["source"] == record["source"]
                    and e["value"] == record["value"]
                    and e.get("reference", "") == record.get("reference", "")
                )
            ),
            None,
        )
        if match is None:
            earlier.append(record)
            kept.append(record)
        else:
            source, row = record["record_id"].rsplit(":", 1)
            rejects.append(
                {
                    "source": source,
                    "source_row": int(row),
                    "name": record["name"],
                    "smiles": record.get("_given_smiles", ""),
                    "reason": "same_measurement",
                    "detail": f"as {match['record_id']} ({record['value']:g} vs "
                    f"{match['value']:g})",
                }
            )
    return kept


def _molecule_table(records: list[dict], names: dict[str, list[str]]) -> pd.DataFrame:
    structures: dict[str, object] = {}
    for record in records:
        if record.get("inchikey"):
            structure = structures.setdefault(record["inchikey"], record["_structure"])
            record["smiles"] = structure.canonical_smiles
    aliases = {
        curated: source_name
        for source_name, curated in VIABILITY_COMPONENTS.values()
        if source_name != curated
    }
    rows = []
    for inchikey in sorted(structures):
        structure = structures[inchikey]
        primary, *others = names.get(inchikey) or [""]
        others += [aliases[n] for n in (primary, *others) if n in aliases]
        rows.append(
            {
                "inchikey": inchikey,
                "canonical_smiles": structure.canonical_smiles,
                "name": primary,
                "synonyms": SYNONYM_SEPARATOR.join(
                    sorted(set(others), key=lambda n: (n.casefold(), n))
                ),
                "formula": structure.formula,
                "molecular_weight": structure.molecular_weight,
            }
        )
    return _frame(rows, MOLECULE_COLUMNS)


def _resolve_components(records: list[dict], molecules: pd.DataFrame) -> None:
    """Check that every component name resolves to exactly one curated molecule."""
    index: dict[str, set[str]] = {}
    for row in molecules.itertuples():
        for name in [row.name, *filter(None, row.synonyms.split(SYNONYM_SEPARATOR))]:
            index.setdefault(name.casefold(), set()).add(row.inchikey)
    for record in records:
        if not record.get("components"):
            continue
        entries = parse_components(record["components"])
        for entry in entries:
            found = index.get(entry.identifier.casefold(), set())
            if len(found) != 1:
                raise CurationError(
                    f"{record['record_id']}: component {entry.identifier!r} matches "
                    f"{len(found)} curated molecules ({', '.join(sorted(found)) or 'none'})"
                )
        record["components"] = format_components(entries)


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns))
    return frame


def _tables(data: CuratedData) -> dict[str, pd.DataFrame]:
    tables = {f"experiments_{p}.csv": f for p, f in data.experiments.items()}
    return tables | {"molecules.csv": data.molecules, "rejects.csv": data.rejects}


OUTPUT_FILES: tuple[str, ...] = (
    *(f"experiments_{p}.csv" for p in PROPERTIES),
    "molecules.csv",
    "rejects.csv",
    "summary.json",
)
"""The files :func:`write` produces."""


def write(data: CuratedData, out_dir: Path) -> list[Path]:
    """Write the curated tables (:data:`OUTPUT_FILES`) to ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, frame in _tables(data).items():
        path = out_dir / filename
        frame.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    summary = out_dir / "summary.json"
    summary.write_text(json.dumps(data.summary(), indent=2) + "\n", encoding="utf-8")
    written.append(summary)
    return written
