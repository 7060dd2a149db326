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
    ({"property": "density"}, "property"),
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


ONE_RULE_SET = [
    ({"smiles": "", "components": "glycerol:150 %v/v"}, "components", "more than the whole"),
    ({"smiles": "", "components": "glycerol:250 %w/v"}, "components", "more than the whole"),
    ({"smiles": "", "components": "glycerol:1.2 mole fraction"}, "components", "the whole"),
    (
        {"concentration": "150", "concentration_unit": "%v/v", "property": "iri", "unit": "%MGS"},
        "concentration",
        "more than the whole",
    ),
    ({"source": "s" * 101}, "source", "101 characters, longer than the 100"),
    ({"name": "n" * 301}, "name", "longer than the 300"),
    ({"record_id": "r" * 101}, "record_id", "longer than the 100"),
    ({"assay": "a" * 201}, "assay", "longer than the 200"),
    ({"notes": "before\x00after"}, "notes", "NUL character (at position 7)"),
    ({"citation": "\x00"}, "citation", "NUL character"),
]


@pytest.mark.parametrize(("change", "field", "message"), ONE_RULE_SET)
def test_what_the_database_or_health_refuses_the_importer_refuses(
    engine, tmp_path, change, field, message
):
    rows = [GOOD_ROWS[0], {**GOOD_ROWS[0], "record_id": "lab:bad", **change}]
    before = database_stats(engine)
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, write_table(tmp_path / "lab.csv", rows), owner="ada")
    [error] = [e for e in caught.value.errors if e.field == field]
    assert error.line == 3
    assert message in error.message
    assert database_stats(engine) == before


@pytest.mark.parametrize(
    ("smiles", "position"),
    [
        ("OCC(O)CO junk", "whitespace at character 9"),
        ("OCC (O)CO", "whitespace at character 4"),
        ("OCC(O)C\tO", "whitespace at character 8"),
        ("OCC(O)CO\x07", "'\\x07' at character 9"),
        ("OCC(O)CO\u00e9", "'\\xe9' at character 9"),
    ],
)
def test_junk_around_a_smiles_is_refused_with_row_and_field(engine, tmp_path, smiles, position):
    rows = [GOOD_ROWS[0], {**GOOD_ROWS[0], "record_id": "lab:bad", "smiles": smiles}]
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, write_table(tmp_path / "lab.csv", rows), owner="ada")
    [error] = caught.value.errors
    assert (error.line, error.field) == (3, "smiles")
    assert position in error.message
    assert database_stats(engine)["experiments"] == {"tg": 0, "tm": 0, "iri": 0, "viability": 0}


def test_junk_after_a_component_smiles_is_refused(engine, tmp_path):
    row = {**GOOD_ROWS[2], "components": "OCC(O)CO junk:10 %v/v;CS(C)=O:5 %v/v"}
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, write_table(tmp_path / "lab.csv", [row]), owner="ada")
    [error] = caught.value.errors
    assert (error.line, error.field) == (2, "components")
    assert "'OCC(O)CO junk' is neither a known molecule name nor a valid SMILES" in error.message


def test_a_row_with_an_extra_or_a_missing_field_is_named(engine, tmp_path):
    path = write_table(tmp_path / "lab.csv", GOOD_ROWS)
    lines = path.read_text().splitlines()
    lines[1] += ",surplus"
    lines[3] = lines[3].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, path, owner="ada")
    extra, short = caught.value.errors
    assert (extra.line, extra.field) == (2, "(beyond 'notes')")
    assert extra.message.startswith("21 fields, but the header names 20 columns")
    assert (short.line, short.field) == (4, "notes")
    assert short.message.startswith("19 fields, but the header names 20 columns")
    assert database_stats(engine)["users"] == 0


def test_rows_are_numbered_by_the_line_they_start_on(engine, tmp_path):
    rows = [
        {**GOOD_ROWS[0], "notes": "first line\nsecond line"},
        {**GOOD_ROWS[0], "record_id": "lab:bad", "value": "abc"},
    ]
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, write_table(tmp_path / "lab.csv", rows), owner="ada")
    assert [(e.line, e.field) for e in caught.value.errors] == [(4, "value")]


def test_a_header_only_file_writes_nothing_not_even_its_owner(engine, tmp_path):
    result = import_experiments(engine, write_table(tmp_path / "lab.csv", []), owner="newcomer")
    assert result.experiments_added == 0
    assert database_stats(engine)["users"] == 0


def test_an_owner_the_database_cannot_store_is_refused(engine, tmp_path):
    path = write_table(tmp_path / "lab.csv", GOOD_ROWS)
    with pytest.raises(ValueError, match="1 to 64 characters"):
        import_experiments(engine, path, owner="o" * 65)
    assert database_stats(engine)["users"] == 0


def test_a_repeated_row_without_record_id_is_refused(engine, tmp_path):
    row = {**GOOD_ROWS[0], "record_id": ""}
    rows = [row, {**GOOD_ROWS[1], "record_id": ""}, row]
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, write_table(tmp_path / "lab.csv", rows), owner="ada")
    [error] = caught.value.errors
    assert (error.line, error.field) == (4, "record_id")
    assert "repeats the measurement of row 2" in error.message
    assert database_stats(engine)["users"] == 0


def test_importing_a_file_without_record_ids_twice_does_not_double_it(engine, tmp_path):
    rows = [{**row, "record_id": ""} for row in GOOD_ROWS]
    path = write_table(tmp_path / "lab.csv", rows)
    assert import_experiments(engine, path, owner="ada").experiments_added == 3
    after_first = database_stats(engine)
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, path, owner="ada")
    assert [(e.line, e.field) for e in caught.value.errors] == [
        (2, "record_id"),
        (3, "record_id"),
        (4, "record_id"),
    ]
    assert all("already in the database" in e.message for e in caught.value.errors)
    assert database_stats(engine) == after_first
    # another user's identical measurement is theirs, not a repeat
    assert import_experiments(engine, path, owner="bob").experiments_added == 3
