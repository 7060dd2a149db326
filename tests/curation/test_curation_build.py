"""The curation of the published source tables, run on small made-up source files.

The fixture tables (``tests/fixture_sources.py``) are INVENTED test fixtures, not
measurements: their Tg, %MGS and recovery values and their references are made up to
exercise each curation rule. Only the file names, column headers and structures follow the
real sources.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cryoprotect.chem.structures import standardize
from cryoprotect.curation.build import (
    OUTPUT_FILES,
    REJECT_COLUMNS,
    CuratedData,
    CurationError,
    curate,
    write,
)
from cryoprotect.curation.sources import SOURCES
from cryoprotect.records import EXPERIMENT_COLUMNS, MOLECULE_COLUMNS
from cryoprotect.vocabulary import PROPERTIES
from fixture_sources import (
    GLYCEROL,
    HEXANOIC_ACID,
    L_ISOLEUCINE,
    SODIUM_HEXANOATE,
    SUCROSE,
    fixture_rows,
    write_fixture_sources,
)


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory):
    return write_fixture_sources(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="module")
def data(source_dir) -> CuratedData:
    return curate(source_dir)


def reject(data: CuratedData, source: str, row: int) -> dict:
    found = data.rejects[(data.rejects.source == source) & (data.rejects.source_row == row)]
    assert len(found) == 1, f"{source}:{row} is not rejected exactly once"
    return found.iloc[0].to_dict()


def kept_ids(data: CuratedData, prop: str) -> list[str]:
    return list(data.experiments[prop].record_id)


def experiment(data: CuratedData, record_id: str) -> dict:
    frame = pd.concat(data.experiments.values())
    found = frame[frame.record_id == record_id]
    assert len(found) == 1, f"{record_id} is not kept exactly once"
    return found.iloc[0].to_dict()


def test_fixture_has_every_source_file(source_dir):
    assert {s.filename for s in SOURCES} == {p.name for p in source_dir.iterdir()}


def test_kept_records(data):
    assert kept_ids(data, "tg") == [
        "armeli2023:1",
        "armeli2023:2",
        "armeli2023:3",
        "armeli2023:5",
        "koop2011:3",
        "koop2011:5",
    ]
    assert kept_ids(data, "iri") == [
        "dolmen_amino:1",
        "dolmen_amino:2",
        "dolmen_glyco:1",
        "dolmen_glyco2:2",
        "dolmen_glyco2:4",
    ]
    assert kept_ids(data, "viability") == ["pi2018:1", "pi2018:2"]


def test_every_source_row_is_kept_or_rejected_once(data):
    kept = {tuple(r.rsplit(":", 1)) for f in data.experiments.values() for r in f.record_id}
    rejected = set(zip(data.rejects.source, data.rejects.source_row.astype(str), strict=True))
    assert len(rejected) == len(data.rejects)
    assert not kept & rejected
    expected = {
        (s.key, str(row)) for s in SOURCES for row in range(1, len(fixture_rows()[s.filename]) + 1)
    }
    assert kept | rejected == expected


def test_cross_source_duplicate_within_tolerance_is_rejected(data):
    # koop2011:2 is glycerol in another spelling, 0.4 K from armeli2023:1.
    row = reject(data, "koop2011", 2)
    assert row["reason"] == "same_measurement"
    assert "armeli2023:1" in row["detail"]
    assert "koop2011:2" not in kept_ids(data, "tg")


def test_cross_source_repeat_a_few_kelvin_away_is_kept(data):
    # koop2011:3 is glucose 3 K from armeli2023:3: another measurement, both kept.
    glucose = experiment(data, "koop2011:3")
    assert glucose["value"] == 303.0
    assert glucose["inchikey"] == experiment(data, "armeli2023:3")["inchikey"]


def test_within_source_exact_repeat_is_rejected_but_other_reference_kept(data):
    row = reject(data, "armeli2023", 4)
    assert row["reason"] == "same_measurement"
    assert "armeli2023:1" in row["detail"]
    other_lab = experiment(data, "armeli2023:5")
    assert (other_lab["value"], other_lab["reference"]) == (193.0, "refGlyB")


def test_glyco2_row_equal_to_glyco_row_is_rejected(data):
    row = reject(data, "dolmen_glyco2", 1)
    assert row["reason"] == "same_measurement"
    assert "dolmen_glyco:1" in row["detail"]


def test_same_structure_at_another_concentration_is_kept(data):
    first, other = experiment(data, "dolmen_glyco:1"), experiment(data, "dolmen_glyco2:4")
    assert first["inchikey"] == other["inchikey"]
    assert (first["concentration"], other["concentration"]) == (22.0, 11.0)


def test_near_duplicate_iri_within_tolerance_rejected_outside_kept(tmp_path):
    rows = fixture_rows()
    base = rows["iri_dolmen_glyco2.csv"][0]
    rows["iri_dolmen_glyco2.csv"] = [
        dict(base, **{"Exp. % MGS": "40.04"}),  # 0.04 from dolmen_glyco:1
        dict(base, **{"Exp. % MGS": "40.5"}),  # 0.5 away: another measurement
    ]
    data = curate(write_fixture_sources(tmp_path, rows))
    assert reject(data, "dolmen_glyco2", 1)["reason"] == "same_measurement"
    assert "dolmen_glyco2:2" in kept_ids(data, "iri")


def test_unreported_concentration_is_rejected(data):
    row = reject(data, "dolmen_glyco2", 3)
    assert row["reason"] == "concentration_unreported"
    assert row["detail"] == "Unreported"


def test_inorganic_koop_row_is_rejected(data):
    row = reject(data, "koop2011", 1)
    assert (row["name"], row["reason"]) == ("NH4HSO4", "inorganic")


def test_tg_hydrate_is_rejected_as_multiple_fragments(data):
    row = reject(data, "koop2011", 4)
    assert row["reason"] == "multiple_fragments"
    assert row["smiles"] == "O.OCC1OC(O)C(O)C(O)C1O"


def test_unparseable_smiles_is_rejected(data):
    assert reject(data, "koop2011", 6)["reason"] == "unparseable"


def test_missing_values_and_smiles_are_rejected(data):
    assert reject(data, "armeli2023", 7)["reason"] == "missing_smiles"
    assert reject(data, "armeli2023", 8)["reason"] == "missing_value"
    assert reject(data, "koop2011", 7)["reason"] == "missing_value"
    assert reject(data, "pi2018", 3)["reason"] == "missing_value"


def test_empty_armeli_rows_are_rejected(data):
    assert reject(data, "armeli2023", 6)["reason"] == "empty_row"
    assert reject(data, "armeli2023", 9)["reason"] == "empty_row"


def test_iri_salt_is_kept_as_its_neutral_parent(data):
    record = experiment(data, "dolmen_glyco2:2")
    parent = standardize(HEXANOIC_ACID)
    assert record["smiles"] == parent.canonical_smiles == "CCCCCC(=O)O"
    assert record["inchikey"] == parent.inchikey
    assert "salt form" in record["notes"]
    assert SODIUM_HEXANOATE in record["notes"]


def test_neutral_iri_rows_get_no_salt_note(data):
    for record_id in ("dolmen_amino:1", "dolmen_glyco:1"):
        assert "salt form" not in (experiment(data, record_id)["notes"] or "")


def test_kept_structures_are_standardised(data):
    for prop in ("tg", "iri"):
        for record in data.experiments[prop].to_dict("records"):
            structure = standardize(record["smiles"])
            assert structure.canonical_smiles == record["smiles"]
            assert structure.inchikey == record["inchikey"]


def test_viability_components_resolve_to_curated_molecule_names(data):
    frame = data.experiments["viability"]
    assert list(frame.components) == [
        "sucrose:0 level;glycerol:0 level;l-isoleucine:0 level",
        "sucrose:1 level;glycerol:2 level;l-isoleucine:3 level",
    ]
    names = set(data.molecules.name)
    assert {"sucrose", "glycerol", "l-isoleucine"} <= names
    assert frame.smiles.isna().all() and frame.inchikey.isna().all()
    assert set(frame.unit) == {"% recovery"}
    assert set(frame.cell_type) == {"Jurkat"}


def test_missing_component_molecule_raises(tmp_path):
    rows = fixture_rows()
    rows["tg_armeli2023.csv"] = [r for r in rows["tg_armeli2023.csv"] if r["SMILES"] != GLYCEROL]
    rows["tg_koop2011.csv"] = [
        r for r in rows["tg_koop2011.csv"] if r["Species"] != "propane-1,2,3-triol"
    ]
    with pytest.raises(CurationError, match=r"pi2018:1: component 'glycerol' matches 0"):
        curate(write_fixture_sources(tmp_path, rows))


def test_missing_isoleucine_raises(tmp_path):
    rows = fixture_rows()
    rows["iri_dolmen_amino.csv"] = [
        r for r in rows["iri_dolmen_amino.csv"] if r["SMILES"] != L_ISOLEUCINE
    ]
    with pytest.raises(CurationError, match="'l-isoleucine' matches 0"):
        curate(write_fixture_sources(tmp_path, rows))


def test_ambiguous_component_name_raises(tmp_path):
    rows = fixture_rows()
    # A second structure called "Sucrose" (stereo-specified): two molecules carry the name.
    rows["tg_koop2011.csv"].append(
        {
            "Species": "Sucrose",
            "SMILES": "OC[C@H]1O[C@H](O[C@]2(CO)O[C@H](CO)[C@@H](O)[C@@H]2O)"
            "[C@H](O)[C@@H](O)[C@@H]1O",
            "Tg (K)": "335.0",
        }
    )
    assert standardize(rows["tg_koop2011.csv"][-1]["SMILES"]).inchikey != (
        standardize(SUCROSE).inchikey
    )
    with pytest.raises(CurationError, match="'sucrose' matches 2 curated molecules"):
        curate(write_fixture_sources(tmp_path, rows))


def test_every_kept_record_has_citation_property_and_unit(data):
    for prop, frame in data.experiments.items():
        assert list(frame.columns) == list(EXPERIMENT_COLUMNS)
        assert (frame.property == prop).all()
        assert (frame.unit == PROPERTIES[prop].unit).all()
        for record in frame.to_dict("records"):
            assert record["citation"] and record["citation"].strip()
            source = next(s for s in SOURCES if s.key == record["source"])
            assert record["citation"] == source.citation
            assert record["record_id"].startswith(f"{source.key}:")
            assert PROPERTIES[prop].min_value <= record["value"] <= PROPERTIES[prop].max_value


def test_molecules_one_row_per_inchikey_with_synonyms(data):
    molecules = data.molecules
    assert list(molecules.columns) == list(MOLECULE_COLUMNS)
    assert molecules.inchikey.is_unique
    assert list(molecules.inchikey) == sorted(molecules.inchikey)
    kept = {k for p in ("tg", "iri") for k in data.experiments[p].inchikey}
    assert set(molecules.inchikey) == kept
    by_name = molecules.set_index("name")
    assert by_name.loc["l-isoleucine", "synonyms"] == "isoleucine"
    assert by_name.loc["l-isoleucine", "inchikey"] == standardize(L_ISOLEUCINE).inchikey
    # The rejected koop row's name for glycerol is still a synonym; "Glucose" is the same
    # name as "glucose" up to case, so it is not repeated.
    assert by_name.loc["glycerol", "synonyms"] == "propane-1,2,3-triol"
    assert by_name.loc["glucose", "synonyms"] == ""
    assert by_name.loc["glycerol", "formula"] == "C3H8O3"
    assert by_name.loc["glycerol", "molecular_weight"] == pytest.approx(92.094)


def test_rejects_table_is_ordered_by_source_then_row(data):
    assert list(data.rejects.columns) == list(REJECT_COLUMNS)
    order = {s.key: i for i, s in enumerate(SOURCES)}
    keys = [
        (order[s], int(r))
        for s, r in zip(data.rejects.source, data.rejects.source_row, strict=True)
    ]
    assert keys == sorted(keys)


def test_summary_counts(data):
    assert data.summary() == {
        "experiments": {"tg": 6, "tm": 3, "iri": 5, "viability": 2},
        "experiments_by_source": {
            "tg": {"armeli2023": 4, "koop2011": 2},
            "tm": {"armeli2023_tm": 2, "koop2011_tm": 1},
            "iri": {"dolmen_amino": 2, "dolmen_glyco": 1, "dolmen_glyco2": 2},
            "viability": {"pi2018": 2},
        },
        "molecules": 8,
        "rejects": 26,
        "rejects_by_reason": {
            "concentration_unreported": 1,
            "empty_row": 4,
            "inorganic": 1,
            "missing_smiles": 2,
            "missing_value": 10,
            "multiple_fragments": 1,
            "same_measurement": 6,
            "unparseable": 1,
        },
    }


def test_melting_points_are_curated_from_the_tg_tables_with_their_references(data):
    assert kept_ids(data, "tm") == ["armeli2023_tm:1", "armeli2023_tm:2", "koop2011_tm:5"]
    glycerol = experiment(data, "armeli2023_tm:1")
    assert (glycerol["value"], glycerol["unit"], glycerol["reference"]) == (290.0, "K", "refTmGly")
    assert reject(data, "armeli2023_tm", 5)["reason"] == "same_measurement"
    assert reject(data, "koop2011_tm", 2)["reason"] == "same_measurement"  # 0.2 K away
    assert reject(data, "armeli2023_tm", 3)["reason"] == "missing_value"


def test_write_produces_the_tables(data, tmp_path):
    written = write(data, tmp_path / "out")
    assert {p.name for p in written} == set(OUTPUT_FILES)
    assert {p.name for p in (tmp_path / "out").iterdir()} == set(OUTPUT_FILES)
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == data.summary()
    back = pd.read_csv(tmp_path / "out" / "experiments_tg.csv", keep_default_na=False)
    assert list(back.columns) == list(EXPERIMENT_COLUMNS)
    assert list(back.record_id) == kept_ids(data, "tg")
    assert (back.citation != "").all()


def test_curation_is_deterministic(source_dir, tmp_path):
    first = write(curate(source_dir), tmp_path / "first")
    second = write(curate(source_dir), tmp_path / "second")
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_rows_without_smiles_in_any_molecule_source_are_rejected(tmp_path):
    rows = fixture_rows()
    koop = rows["tg_koop2011.csv"][0]
    glyco2 = rows["iri_dolmen_glyco2.csv"][0]
    rows["tg_koop2011.csv"] = [dict(koop, SMILES="")]
    rows["iri_dolmen_glyco2.csv"] = [dict(glyco2, SMILES=""), dict(glyco2, SMILES="")]
    data = curate(write_fixture_sources(tmp_path, rows))
    assert reject(data, "koop2011", 1)["reason"] == "missing_smiles"
    assert reject(data, "dolmen_glyco2", 1)["reason"] == "missing_smiles"
    assert reject(data, "dolmen_glyco2", 2)["reason"] == "missing_smiles"
    assert not any(
        f["smiles"].eq("").any() for p, f in data.experiments.items() if p != "viability"
    )
