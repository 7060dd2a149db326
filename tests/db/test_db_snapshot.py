"""Database snapshots for the pipeline: export, reload and check, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy.exc import OperationalError

from cryoprotect.db.datasets import molecule_names, training_frame
from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import head_revision
from cryoprotect.db.snapshot import (
    EXCLUDED_COLUMNS,
    SNAPSHOT_TABLES,
    SnapshotError,
    check_snapshot,
    export_snapshot,
    load_snapshot,
)


@pytest.fixture(scope="module")
def snapshot(seeded_engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("snapshot") / "snapshot"
    manifest = export_snapshot(seeded_engine, folder)
    return folder, manifest


def test_export_writes_every_table_without_audit_columns(seeded_engine, snapshot):
    folder, manifest = snapshot
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{t}.parquet" for t in SNAPSHOT_TABLES] + ["manifest.json"]
    )
    assert manifest["schema_revision"] == head_revision(seeded_engine)
    experiments = pq.read_table(folder / "experiments.parquet")
    assert experiments.num_rows == manifest["tables"]["experiments"] == 1581
    assert not EXCLUDED_COLUMNS & set(experiments.schema.names)
    assert experiments.column("id").to_pylist() == sorted(experiments.column("id").to_pylist())
    assert json.loads((folder / "manifest.json").read_text()) == manifest


def test_export_of_an_unchanged_database_is_byte_identical(seeded_engine, snapshot, tmp_path):
    folder, _ = snapshot
    again = tmp_path / "again"
    export_snapshot(seeded_engine, again)
    for path in folder.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_loaded_snapshot_gives_the_same_training_tables(seeded_engine, snapshot):
    loaded = load_snapshot(snapshot[0])
    for name, subject in [("tg", "molecule"), ("iri", "molecule"), ("viability", "mixture")]:
        expected = training_frame(seeded_engine, name, subject)
        actual = training_frame(loaded, name, subject)
        pd.testing.assert_frame_equal(actual.astype(str), expected.astype(str))
    assert molecule_names(loaded) == molecule_names(seeded_engine)


def test_a_valid_snapshot_has_no_problems(snapshot):
    assert check_snapshot(snapshot[0]) == []


def _copy(folder, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for path in folder.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def _rewrite(folder, table, change):
    path = folder / f"{table}.parquet"
    frame = pq.read_table(path).to_pandas()
    changed = change(frame)
    frame = frame if changed is None else changed
    pq.write_table(pq.read_table(path).from_pandas(frame, preserve_index=False), path)


def test_check_names_the_row_and_constraint_of_an_out_of_range_value(snapshot, tmp_path):
    folder = _copy(snapshot[0], tmp_path)

    def tg_at_5000_kelvin(frame):
        frame.loc[frame["property"] == "tg", "value"] = 5000.0

    _rewrite(folder, "experiments", tg_at_5000_kelvin)
    [problem] = check_snapshot(folder)
    assert problem.startswith("experiments row ")
    assert "CHECK constraint failed" in problem
    with pytest.raises(SnapshotError, match="experiments row"):
        load_snapshot(folder)


def test_check_finds_a_dangling_reference(snapshot, tmp_path):
    folder = _copy(snapshot[0], tmp_path)

    def unknown_molecule(frame):
        frame.loc[0, "molecule_id"] = 999_999

    _rewrite(folder, "mixture_components", unknown_molecule)
    [problem] = check_snapshot(folder)
    assert "mixture_components row 1" in problem
    assert "FOREIGN KEY" in problem


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "molecules.parquet").unlink(), "molecules.parquet is missing"),
        (lambda f: (f / "manifest.json").write_text("{"), "cannot be read"),
        (
            lambda f: _rewrite(f, "experiments", lambda x: x.drop(columns="value")),
            "experiments: columns differ (missing ['value']",
        ),
        (
            lambda f: _rewrite(f, "users", lambda x: x.drop(index=x.index)),
            "users: 0 rows, the manifest lists 1",
        ),
    ],
)
def test_check_reports_missing_and_changed_files(snapshot, tmp_path, damage, message):
    folder = _copy(snapshot[0], tmp_path)
    damage(folder)
    problems = check_snapshot(folder)
    assert any(message in p for p in problems), problems


def test_check_reports_an_old_schema_revision(snapshot, tmp_path):
    folder = _copy(snapshot[0], tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"schema_revision": None}))
    assert "cryoprotect db upgrade" in check_snapshot(folder)[0]


def test_a_failed_export_leaves_the_previous_snapshot(snapshot, tmp_path):
    folder = _copy(snapshot[0], tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(OperationalError):
        export_snapshot(empty, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "empty.db"]
