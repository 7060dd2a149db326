"""Readers of the published source tables, each turning one file into experiment records.

A reader returns :class:`SourceRows`: records in the experiment column format (see
:mod:`cryoprotect.records`) with their raw SMILES still unstandardised, and the rows it
rejected with a reason. Every record keeps its citation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DOLMEN = "DOLMEN data set, Nat. Commun. 2024"
DOLMEN_DOI = "10.1038/s41467-024-52266-w"


@dataclass
class SourceRows:
    """What one source file yields: records to curate and rows rejected with a reason."""

    records: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)

    def reject(
        self, source: str, row: int, name: str, smiles: str, reason: str, detail: str = ""
    ) -> None:
        """Record that data row ``row`` of ``source`` was dropped: a reason code and detail."""
        self.rejects.append(
            {
                "source": source,
                "source_row": row,
                "name": name,
                "smiles": smiles,
                "reason": reason,
                "detail": detail,
            }
        )


@dataclass(frozen=True)
class Source:
    """A published source file and the reader that curates it."""

    key: str
    filename: str
    property: str
    reader: Callable[[Source, pd.DataFrame], SourceRows]
    citation: str
    doi: str = ""
    read_options: dict = field(default_factory=dict)

    def read(self, directory: Path) -> SourceRows:
        """Read this source's file from ``directory`` and curate its rows."""
        frame = pd.read_csv(
            directory / self.filename, dtype=str, keep_default_na=False, **self.read_options
        )
        return self.reader(self, frame)

    def record(self, row: int, **values: object) -> dict:
        """Return a record of this source for data row ``row`` (1-based)."""
        return {
            "record_id": f"{self.key}:{row}",
            "property": self.property,
            "source": self.key,
            "citation": self.citation,
            "doi": self.doi,
            **values,
        }


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_koop(source: Source, frame: pd.DataFrame) -> SourceRows:
    """Curate the Koop et al. 2011 Tg table."""
    out = SourceRows()
    for row, item in enumerate(frame.to_dict("records"), start=1):
        name, smiles, tg = item["Species"].strip(), item["SMILES"].strip(), item["Tg (K)"].strip()
        if _number(tg) is None:
            out.reject(source.key, row, name, smiles, "missing_value", f"Tg {tg!r}")
        else:
            out.records.append(
                source.record(row, name=name, smiles=smiles, value=float(tg), unit="K")
            )
    return out


def _kelvin_reader(
    name_column: str, value_column: str, label: str, reference_column: str = ""
) -> Callable[[Source, pd.DataFrame], SourceRows]:
    """Return a reader of one temperature per row (a Tg, or the Tm a Tg table reports beside it).

    Empty rows, rows without a SMILES and rows without a number are rejected with the reason
    (``label`` names the value in the message); the value's reference, where the table names
    one, is kept per row.
    """

    def read(source: Source, frame: pd.DataFrame) -> SourceRows:
        out = SourceRows()
        for row, item in enumerate(frame.to_dict("records"), start=1):
            name, smiles = item[name_column].strip(), item["SMILES"].strip()
            value = item[value_column].strip()
            if not any(str(v).strip() for v in item.values()):
                out.reject(source.key, row, name, smiles, "empty_row")
            elif not smiles:
                out.reject(source.key, row, name, smiles, "missing_smiles")
            elif _number(value) is None:
                out.reject(source.key, row, name, smiles, "missing_value", f"{label} {value!r}")
            else:
                reference = item[reference_column].strip() if reference_column else ""
                out.records.append(
                    source.record(
                        row,
                        name=name,
                        smiles=smiles,
                        value=float(value),
                        unit="K",
                        reference=reference,
                    )
                )
        return out

    return read


def _dolmen_reader(medium: str, assay: str = "", error_column: str = "") -> Callable:
    def read(source: Source, frame: pd.DataFrame) -> SourceRows:
        out = SourceRows()
        for row, item in enumerate(frame.to_dict("records"), start=1):
            name, smiles = item["Name"].strip(), item["SMILES"].strip()
            concentration = item["Concentration (mM)"].strip()
            value = _number(item["Exp. % MGS"].strip())
            if _number(concentration) is None:
                out.reject(source.key, row, name, smiles, "concentration_unreported", concentration)
            elif value is None:
                out.reject(source.key, row, name, smiles, "missing_value", "%MGS")
            else:
                uncertainty = _number(item[error_column].strip()) if error_column else None
                out.records.append(
                    source.record(
                        row,
                        name=name,
                        smiles=smiles,
                        value=value,
                        unit="%MGS",
                        uncertainty=uncertainty,
                        concentration=float(concentration),
                        concentration_unit="mM",
                        medium=medium,
                        assay=assay,
                        notes="uncertainty is the SD of 3 repeats"
                        if uncertainty is not None
                        else "",
                    )
                )
        return out

    return read


VIABILITY_COMPONENTS = {
    "sucrose_level": ("sucrose", "sucrose"),
    "glycerol_level": ("glycerol", "glycerol"),
    "isoleucine_level": ("isoleucine", "l-isoleucine"),
}
"""Design columns of the Pi et al. 2018 table: (the source's component name, the curated
molecule name it resolves to). The source reports L-isoleucine as 'isoleucine'."""


def read_pi2018(source: Source, frame: pd.DataFrame) -> SourceRows:
    """Curate the Pi et al. 2018 Jurkat recovery table (coded design levels 0-5)."""
    out = SourceRows()
    for row, item in enumerate(frame.to_dict("records"), start=1):
        value = _number(item["recovery_percent"].strip())
        levels = {col: _number(item[col].strip()) for col in VIABILITY_COMPONENTS}
        if value is None or any(v is None for v in levels.values()):
            out.reject(source.key, row, "", "", "missing_value", "recovery or design level")
            continue
        components = ";".join(
            f"{VIABILITY_COMPONENTS[col][1]}:{level:g} level" for col, level in levels.items()
        )
        label = " + ".join(
            f"{VIABILITY_COMPONENTS[col][0]} L{level:g}" for col, level in levels.items()
        )
        out.records.append(
            source.record(
                row,
                name=label,
                components=components,
                value=value,
                unit="% recovery",
                assay="post-thaw recovery",
                cell_type="Jurkat",
                cooling_rate_k_per_min=1.0,
                notes="amounts are coded design levels 0-5; the level-to-concentration map is "
                "in the source paper",
            )
        )
    return out


SOURCES: tuple[Source, ...] = (
    Source(
        "armeli2023",
        "tg_armeli2023.csv",
        "tg",
        _kelvin_reader("Name", "Tg / K", "Tg", "Reference(Tg)"),
        "Armeli, Peters & Koop, ACS Omega 2023, 8, 12298 (data: Zenodo)",
        "10.5281/zenodo.7319485",
        {"sep": ";"},
    ),
    Source(
        "koop2011",
        "tg_koop2011.csv",
        "tg",
        read_koop,
        "Koop, Bookhold, Shiraiwa & Pöschl, Phys. Chem. Chem. Phys. 2011, 13, 19238 (as "
        "compiled by Galeazzo & Shiraiwa, Environ. Sci.: Atmos. 2022, 2, 362)",
    ),
    Source(
        "armeli2023_tm",
        "tg_armeli2023.csv",
        "tm",
        _kelvin_reader("Name", "Tm / K", "Tm", "Reference(Tm)"),
        "Armeli, Peters & Koop, ACS Omega 2023, 8, 12298 (data: Zenodo)",
        "10.5281/zenodo.7319485",
        {"sep": ";"},
    ),
    Source(
        "koop2011_tm",
        "tg_koop2011.csv",
        "tm",
        _kelvin_reader("Species", "Tm_exp (K)", "Tm"),
        "Koop, Bookhold, Shiraiwa & Pöschl, Phys. Chem. Chem. Phys. 2011, 13, 19238 (as "
        "compiled by Galeazzo & Shiraiwa, Environ. Sci.: Atmos. 2022, 2, 362)",
    ),
    Source(
        "dolmen_amino",
        "iri_dolmen_amino.csv",
        "iri",
        _dolmen_reader("10 mM NaCl", "splat cooling", "Exp. error"),
        DOLMEN,
        DOLMEN_DOI,
    ),
    Source(
        "dolmen_glyco",
        "iri_dolmen_glyco.csv",
        "iri",
        _dolmen_reader("PBS"),
        f"Briard et al., Sci. Rep. 2016, 6, 26403 (compiled in the {DOLMEN})",
        DOLMEN_DOI,
    ),
    Source(
        "dolmen_glyco2",
        "iri_dolmen_glyco2.csv",
        "iri",
        _dolmen_reader(""),
        "Ben laboratory studies (Tam et al. 2008; Jackman et al. 2007; Balcerzak et al. "
        "2012, 2013; Capicciotti et al. 2012, 2016; Trant et al. 2013; Briard et al. 2016) "
        f"compiled in the {DOLMEN}",
        DOLMEN_DOI,
    ),
    Source(
        "pi2018",
        "viability_pi2018_jurkat.csv",
        "viability",
        read_pi2018,
        "Pi, Yu, Petersen & Hubel, Sci. Rep. 2018, 8, 16223",
        "10.1038/s41598-018-34638-7",
    ),
)
