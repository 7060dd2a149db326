"""Small made-up source tables for curation tests, in the layout of the real published files.

Every value here (glass transition temperatures, melting points, %MGS, recoveries,
references) is INVENTED
for the tests; none of it is a measurement and none may be used as data. Only the file
names, column headers and structures mirror the real sources that
:data:`cryoprotect.curation.sources.SOURCES` reads.

Imported as ``from fixture_sources import write_fixture_sources``: ``tests`` is on
``sys.path`` through ``pythonpath = ["tests"]`` in ``pyproject.toml``.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Mapping
from pathlib import Path

ARMELI_HEADER = [
    "Name",
    "Formula",
    "#CH3",
    "#CH2",
    "#CH",
    "#C",
    "#OH",
    "#C-O-C",
    "#O=C",
    "DBA",
    "#N",
    "#Hal",
    "O:C",
    "M / g/mol",
    "Tm / K",
    "Tg / K",
    "Tg/Tm",
    "Reference(Tm)",
    "Reference(Tg)",
    "SMILES",
    "Figure",
]
KOOP_HEADER = ["Species", "SMILES", "Tg (K)", "Tm_exp (K)"]
AMINO_HEADER = ["Name", "SMILES", "Concentration (mM)", "Exp. % MGS", "Exp. error", "Set"]
GLYCO_HEADER = ["Name", "SMILES", "Concentration (mM)", "Exp. % MGS"]
PI_HEADER = ["sucrose_level", "glycerol_level", "isoleucine_level", "recovery_percent"]

GLYCEROL = "OCC(O)CO"
SUCROSE = "OCC1OC(OC2(CO)OC(CO)C(O)C2O)C(O)C(O)C1O"
GLUCOSE = "OCC1OC(O)C(O)C(O)C1O"
L_ISOLEUCINE = "CC[C@H](C)[C@H](N)C(=O)O"
L_ALANINE = "C[C@H](N)C(=O)O"
PHENYL_GLUCOSIDE = "OC[C@H]1O[C@@H](Oc2ccccc2)[C@H](O)[C@@H](O)[C@@H]1O"
SODIUM_HEXANOATE = "CCCCCC(=O)[O-].[Na+]"
HEXANOIC_ACID = "CCCCCC(=O)O"


def armeli_row(
    name: str, smiles: str, tg: str, reference: str, tm: str = "", tm_reference: str = ""
) -> dict[str, str]:
    """An Armeli row: every column present, the ones the readers ignore left empty."""
    row = dict.fromkeys(ARMELI_HEADER, "")
    row.update(
        {
            "Name": name,
            "SMILES": smiles,
            "Tg / K": tg,
            "Reference(Tg)": reference,
            "Tm / K": tm,
            "Reference(Tm)": tm_reference,
        }
    )
    return row


# Row numbers (1-based data rows, as in record_id "<source>:<row>") are given in comments;
# the tests refer to them.
FIXTURE_ROWS: dict[str, list[dict[str, str]]] = {
    "tg_armeli2023.csv": [
        # melting points (Tm): rows 1 and 2 kept; 4 and 5 repeat row 1's (same_measurement)
        armeli_row("glycerol", GLYCEROL, "190.0", "refGlyA", "290.0", "refTmGly"),  # 1 kept
        armeli_row("sucrose", SUCROSE, "340.0", "refSucA", "460.0", "refTmSuc"),  # 2 kept
        armeli_row("glucose", GLUCOSE, "300.0", "refGluA"),  # 3 kept; no Tm: missing_value
        # 4: exact repeat: same_measurement
        armeli_row("glycerol", GLYCEROL, "190.0", "refGlyA", "290.0", "refTmGly"),
        armeli_row("glycerol", GLYCEROL, "193.0", "refGlyB", "290.0", "refTmGly"),  # 5 kept
        dict.fromkeys(ARMELI_HEADER, ""),  # 6 empty_row
        armeli_row("mystery", "", "250.0", "refX"),  # 7 missing_smiles
        armeli_row("ethanol", "CCO", "", "refEt"),  # 8 missing_value
        dict.fromkeys(ARMELI_HEADER, ""),  # 9 empty_row
    ],
    "tg_koop2011.csv": [
        {"Species": "NH4HSO4", "SMILES": "O=S(=O)([O-])O.[NH4+]", "Tg (K)": "220.0"},  # 1
        # 2: glycerol spelled differently, within 0.5 K of armeli2023:1 -> same_measurement
        # (its Tm too, of armeli2023_tm:1)
        {
            "Species": "propane-1,2,3-triol",
            "SMILES": "C(O)C(CO)O",
            "Tg (K)": "190.4",
            "Tm_exp (K)": "290.2",
        },
        # 3: glucose 3 K away from armeli2023:3 -> kept
        {"Species": "Glucose", "SMILES": GLUCOSE, "Tg (K)": "303.0"},
        # 4: a hydrate -> multiple_fragments
        {"Species": "Glucose hydrate", "SMILES": "O." + GLUCOSE, "Tg (K)": "260.0"},
        # 5 kept, Tm too
        {"Species": "Ethylene glycol", "SMILES": "OCCO", "Tg (K)": "150.0", "Tm_exp (K)": "260.0"},
        {"Species": "Broken", "SMILES": "C1CC(", "Tg (K)": "200.0"},  # 6 unparseable
        {"Species": "Unmeasured", "SMILES": "CCCO", "Tg (K)": "n/a"},  # 7 missing_value
    ],
    "iri_dolmen_amino.csv": [
        {
            "Name": "l-isoleucine",
            "SMILES": L_ISOLEUCINE,
            "Concentration (mM)": "20",
            "Exp. % MGS": "60.0",
            "Exp. error": "5.0",
            "Set": "train/test",
        },
        {
            "Name": "l-alanine",
            "SMILES": L_ALANINE,
            "Concentration (mM)": "20",
            "Exp. % MGS": "55.0",
            "Exp. error": "",
            "Set": "train/test",
        },
    ],
    "iri_dolmen_glyco.csv": [
        {
            "Name": "phenyl beta-d-glucopyranoside",
            "SMILES": PHENYL_GLUCOSIDE,
            "Concentration (mM)": "22.0",
            "Exp. % MGS": "40.0",
        },
    ],
    "iri_dolmen_glyco2.csv": [
        # 1: the same compilation as dolmen_glyco:1 ("22" vs "22.0") -> same_measurement
        {
            "Name": "phenyl beta-d-glucopyranoside",
            "SMILES": PHENYL_GLUCOSIDE,
            "Concentration (mM)": "22",
            "Exp. % MGS": "40.0",
        },
        # 2: a sodium salt -> kept as its neutral parent, note names the salt form
        {
            "Name": "sodium hexanoate",
            "SMILES": SODIUM_HEXANOATE,
            "Concentration (mM)": "22",
            "Exp. % MGS": "70.0",
        },
        # 3: concentration not reported -> concentration_unreported
        {
            "Name": "phenyl beta-d-glucopyranoside",
            "SMILES": PHENYL_GLUCOSIDE,
            "Concentration (mM)": "Unreported",
            "Exp. % MGS": "35.0",
        },
        # 4: same structure at another concentration -> kept
        {
            "Name": "phenyl beta-d-glucopyranoside",
            "SMILES": PHENYL_GLUCOSIDE,
            "Concentration (mM)": "11",
            "Exp. % MGS": "65.0",
        },
    ],
    "viability_pi2018_jurkat.csv": [
        {
            "sucrose_level": "0",
            "glycerol_level": "0",
            "isoleucine_level": "0",
            "recovery_percent": "12.5",
        },  # 1
        {
            "sucrose_level": "1",
            "glycerol_level": "2",
            "isoleucine_level": "3",
            "recovery_percent": "45.25",
        },  # 2
        {
            "sucrose_level": "5",
            "glycerol_level": "0",
            "isoleucine_level": "1",
            "recovery_percent": "",
        },  # 3 missing_value
    ],
}

HEADERS: dict[str, list[str]] = {
    "tg_armeli2023.csv": ARMELI_HEADER,
    "tg_koop2011.csv": KOOP_HEADER,
    "iri_dolmen_amino.csv": AMINO_HEADER,
    "iri_dolmen_glyco.csv": GLYCO_HEADER,
    "iri_dolmen_glyco2.csv": GLYCO_HEADER,
    "viability_pi2018_jurkat.csv": PI_HEADER,
}

DELIMITERS: dict[str, str] = {"tg_armeli2023.csv": ";"}


def fixture_rows() -> dict[str, list[dict[str, str]]]:
    """A deep copy of :data:`FIXTURE_ROWS`, safe to modify."""
    return copy.deepcopy(FIXTURE_ROWS)


def write_fixture_sources(
    directory: Path, rows: Mapping[str, list[dict[str, str]]] | None = None
) -> Path:
    """Write the six source files into ``directory`` and return it.

    ``rows`` replaces the data rows of the files it names (default: :data:`FIXTURE_ROWS`).
    """
    tables = {**FIXTURE_ROWS, **(rows or {})}
    directory.mkdir(parents=True, exist_ok=True)
    for filename, header in HEADERS.items():
        with (directory / filename).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(
                handle,
                fieldnames=header,
                delimiter=DELIMITERS.get(filename, ","),
                restval="",
                lineterminator="\n",
            )
            writer.writeheader()
            writer.writerows(tables[filename])
    return directory
