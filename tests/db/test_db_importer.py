"""Importing experiment tables: every bad row named with its field, and nothing half-written.

The measurement values in these tables are made up for the tests; they are not data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cryoprotect.db.importer import ImportValidationError, import_experiments
from cryoprotect.db.schema import Experiment, Mixture, MixtureComponent, Molecule, User
from cryoprotect.db.stats import database_stats
from cryoprotect.records import EXPERIMENT_COLUMNS

CITATION = "made-up test fixture"


def write_table(path: Path, rows: list[dict], columns=EXPERIMENT_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({"citation": CITATION, **row})
    return path


GOOD_ROWS = [
    {
        "record_id": "lab:1",
        "property": "tg",
        "value": "190",
        "unit": "K",
        "name": "glycerol",
        "smiles": "OCC(O)CO",
    },
    {
        "record_id": "lab:2",
        "property": "iri",
        "value": "45.5",
        "unit": "%MGS",
        "smiles": "OC[C@H]1O[C@@H](O)[C@H](O)[C@@H](O)[C@@H]1O",
        "concentration": "22",
        "concentration_unit": "mM",
        "uncertainty": "3.1",
    },
    {
        "record_id": "lab:3",
        "property": "viability",
        "value": "61",
        "unit": "% recovery",
        "components": "glycerol:10 %v/v;CS(C)=O:5 %v/v",
        "cell_type": "Jurkat",
        "cooling_rate_k_per_min": "1",
    },
]


def test_a_valid_table_is_imported(engine, tmp_path):
    path = write_table(tmp_path / "lab.csv", GOOD_ROWS)
    result = import_experiments(engine, path, owner="ada")
    assert (result.experiments_added, result.molecules_added, result.mixtures_added) == (3, 3, 1)
    with Session(engine) as session:
        mixture = session.scalars(select(Mixture)).one()
        units = sorted(
            (c.molecule.canonical_smiles, c.amount, c.unit)
            for c in session.scalars(select(MixtureComponent))
        )
        owner = session.scalars(select(User.username)).one()
        iri = session.scalars(select(Experiment).where(Experiment.property == "iri")).one()
    assert mixture.visibility == "private" and owner == "ada"
    assert units == [("C[S+](C)[O-]", 5.0, "%v/v"), ("OCC(O)CO", 10.0, "%v/v")]
    assert (iri.concentration, iri.concentration_unit, iri.uncertainty) == (22.0, "mM", 3.1)


def test_mixture_names_resolve_through_molecule_names(engine, tmp_path):
    import_experiments(engine, write_table(tmp_path / "a.csv", GOOD_ROWS[:1]), owner="ada")
    row = {**GOOD_ROWS[2], "record_id": "lab:9", "components": "GLYCEROL:3 level"}
    import_experiments(engine, write_table(tmp_path / "b.csv", [row]), owner="ada")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Molecule)) == 1


BAD_ROWS = [
    ({"smiles": "C1CC"}, "smiles"),
    ({"smiles": "OCC(O)CO.[Na+].[Cl-]", "property": "tg"}, "smiles"),
    ({"unit": "degC"}, "unit"),
    ({"property": "tm"}, "property"),
    ({"value": "9000"}, "value"),
    ({"value": "abc"}, "value"),
    ({"value": ""}, "value"),
    ({"citation": ""}, "citation"),
    ({"inchikey": "AAAAAAAAAAAAAA-AAAAAAAAAA-N"}, "inchikey"),
    ({"concentration": "5"}, "concentration_unit"),
    ({"concentration": "5", "concentration_unit": "mg/mL"}, "concentration_unit"),
    ({"uncertainty": "-2"}, "uncertainty"),
    ({"smiles": "", "components": ""}, "smiles"),
    ({"smiles": "", "components": "glycerol:5 mg"}, "components"),
    ({"smiles": "", "components": "unobtainium:5 M"}, "components"),
    ({"smiles": "", "components": "glycerol:5 M;OCC(O)CO:1 M"}, "components"),
]


@pytest.mark.parametrize(("change", "field"), BAD_ROWS)
def test_a_bad_row_is_named_and_nothing_is_written(engine, tmp_path, change, field):
    rows = [GOOD_ROWS[0], {**GOOD_ROWS[0], "record_id": "lab:bad", **change}]
    path = write_table(tmp_path / "lab.csv", rows)
    before = database_stats(engine)
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, path, owner="ada")
    assert [(e.line, e.field) for e in caught.value.errors] == [(3, field)]
    assert str(caught.value.errors[0]).startswith(f"row 3, field '{field}'")
    assert database_stats(engine) == before


def test_every_bad_row_is_reported_at_once(engine, tmp_path):
    rows = [
        {**GOOD_ROWS[0], "record_id": f"lab:{i}", **change}
        for i, (change, _) in enumerate(BAD_ROWS[:5])
    ]
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, write_table(tmp_path / "lab.csv", rows), owner="ada")
    assert [e.line for e in caught.value.errors] == [2, 3, 4, 5, 6]


def test_header_problems(engine, tmp_path):
    path = write_table(tmp_path / "lab.csv", [], columns=("property", "value", "smile"))
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, path, owner="ada")
    assert {(e.line, e.field) for e in caught.value.errors} == {
        (1, "smile"),
        (1, "unit"),
        (1, "citation"),
        (1, "smiles"),
    }


def test_not_a_csv_file(engine, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, path, owner="ada")
    assert caught.value.errors[0].field == "file"


def test_record_ids_repeat_in_file_or_database(engine, tmp_path):
    first = write_table(tmp_path / "a.csv", GOOD_ROWS[:1])
    import_experiments(engine, first, owner="ada")
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, first, owner="ada")
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, "record_id")]
    twice = write_table(tmp_path / "b.csv", [GOOD_ROWS[1], GOOD_ROWS[1]])
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, twice, owner="ada")
    assert [(e.line, e.field) for e in caught.value.errors] == [(3, "record_id")]


def test_a_database_failure_rolls_back_the_whole_import(engine, tmp_path):
    # Widen the range the importer validates against, so that the second row passes
    # validation but breaks the database's CHECK constraint: the first row must not remain.
    from sqlalchemy import update

    from cryoprotect.db.schema import PropertyDef

    with Session(engine) as session, session.begin():
        session.execute(update(PropertyDef).where(PropertyDef.code == "tg").values(max_value=5000))
    rows = [GOOD_ROWS[0], {**GOOD_ROWS[0], "record_id": "lab:x", "value": "4000"}]
    before = database_stats(engine)
    with pytest.raises(Exception, match="(?i)check"):
        import_experiments(engine, write_table(tmp_path / "lab.csv", rows), owner="ada")
    assert database_stats(engine) == before
