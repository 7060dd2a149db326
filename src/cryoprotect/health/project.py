"""The health checks as a Great Expectations project: suites, validation definitions, checkpoints.

The project lives in ``gx/`` at the repository root (a copy travels inside the package), laid
out as Great Expectations 1.x file contexts are: ``great_expectations.yml`` (data sources and
stores), ``expectations/`` (one suite per table, and one for the RDKit checks of molecules),
``validation_definitions/`` and ``checkpoints/`` (``database`` and ``molecules_rdkit``). Its
files are generated from the checks (:mod:`cryoprotect.health.checks`), hence from the schema
and the vocabulary, by :func:`write_project` (``cryoprotect health suites``), with ids derived
from the names so that regenerating an unchanged schema changes nothing.

The database URL comes from the environment variable ``CRYOPROTECT_DATABASE_URL`` (as for
every cryoprotect command), or from the runner. Run by hand, the project keeps validation
results and Data Docs under ``gx/uncommitted/`` as GX projects do; ``cryoprotect health``
only reads the project and points both stores at its report folder instead. The
checkpoints have no Data Docs action: GX's ``UpdateDataDocsAction`` rebuilds the site index
once per validation (a dozen times a run, ten seconds); the runner builds the site once for
all of a run's results instead.
"""

from __future__ import annotations

import json
import uuid
from importlib.metadata import version
from pathlib import Path

import yaml

from cryoprotect.db.schema import Base
from cryoprotect.files import write_text_atomically
from cryoprotect.health.checks import CRITICAL, MOLECULE_FLAGS, Check, CheckInfo, sql_checks

DATABASE_CHECKPOINT = "database"
MOLECULES_CHECKPOINT = "molecules_rdkit"
DATABASE_URL_VARIABLE = "CRYOPROTECT_DATABASE_URL"
WHOLE_TABLE = "whole table"
MOLECULES_ASSET = "molecules"
RESULTS_DIR = "uncommitted/validations/"
DOCS_DIR = "uncommitted/data_docs/local_site/"
GENERATED_FOLDERS = ("expectations", "validation_definitions", "checkpoints")
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "cryoprotect.health.project")
"""Ids of the generated project derive from names within this namespace."""


def project_dir() -> Path:
    """Return the GX project folder: the one installed in the package, else the checkout's."""
    packaged = Path(__file__).parent / "gx"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "gx"


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _expectation(suite: str, info: CheckInfo, kind: str, kwargs: dict) -> dict:
    return {
        "description": info.description,
        "id": _id("expectation", suite, info.name),
        "kwargs": kwargs,
        "meta": {
            "category": info.suite,
            "check": info.name,
            "column": info.column,
            "table": info.table,
        },
        "severity": info.severity,
        "type": kind,
    }


def _column_set(table) -> dict:
    info = CheckInfo(
        "schema",
        f"{table.name} columns",
        table.name,
        None,
        CRITICAL,
        "the table exists with exactly the columns of the schema",
    )
    columns = [c.name for c in table.columns]
    return _expectation(
        table.name,
        info,
        "expect_table_columns_to_match_set",
        {"column_set": columns, "exact_match": True},
    )


def suites(checks: list[Check] | None = None) -> dict[str, list[dict]]:
    """Return the expectations of every suite: one per table, then the RDKit suite."""
    checks = sql_checks() if checks is None else checks
    found = {}
    for table in Base.metadata.sorted_tables:
        found[str(table.name)] = [_column_set(table)] + [
            _expectation(
                table.name,
                check,
                "unexpected_rows_expectation",
                {"unexpected_rows_query": check.query},
            )
            for check in checks
            if check.table == table.name
        ]
    found[MOLECULES_CHECKPOINT] = [
        _expectation(
            MOLECULES_CHECKPOINT,
            info,
            "expect_column_values_to_be_in_set",
            {"column": flag, "value_set": [True]},
        )
        for flag, info in MOLECULE_FLAGS.items()
    ]
    return found


def _json(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _suite_file(name: str, expectations: list[dict]) -> str:
    return _json(
        {
            "expectations": expectations,
            "id": _id("suite", name),
            "meta": {"great_expectations_version": version("great-expectations")},
            "name": name,
            "notes": "Generated from the schema by 'cryoprotect health suites': edit the "
            "schema, the vocabulary or cryoprotect.health.checks, then regenerate.",
        }
    )


def _validation_file(name: str, source: str, asset: str, batch: str) -> str:
    return _json(
        {
            "data": {
                "asset": {"id": _id("asset", source, asset), "name": asset},
                "batch_definition": {"id": _id("batch", source, asset, batch), "name": batch},
                "datasource": {"id": _id("datasource", source), "name": source},
            },
            "id": _id("validation", name),
            "name": name,
            "suite": {"id": _id("suite", name), "name": name},
        }
    )


def _checkpoint_file(name: str, validations: list[str], result_format: dict) -> str:
    return _json(
        {
            "actions": [],
            "id": _id("checkpoint", name),
            "name": name,
            "result_format": result_format,
            "validation_definitions": [
                {"id": _id("validation", v), "name": v} for v in validations
            ],
        }
    )


def _asset(source: str, name: str, kind: str, batch: str, **fields) -> dict:
    return {
        "type": kind,
        "id": _id("asset", source, name),
        "batch_metadata": {},
        "batch_definitions": {
            batch: {"id": _id("batch", source, name, batch), "partitioner": None}
        },
        **fields,
    }


def _store(kind: str, folder: str) -> dict:
    return {
        "class_name": kind,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": folder},
    }


HEADER = """\
# The health checks of the CryoProtect database as a Great Expectations project.
# Generated by 'cryoprotect health suites' from the schema and the vocabulary: change those
# (or cryoprotect.health.checks) and regenerate, rather than editing these files.
# Run it with 'cryoprotect health', or from Python with CRYOPROTECT_DATABASE_URL set:
#   gx.get_context(mode="file", project_root_dir=".").checkpoints.get("database").run()
"""


def _context_file(tables: list[str]) -> str:
    config = {
        "config_version": 4.0,
        "analytics_enabled": False,
        "data_context_id": _id("context"),
        "progress_bars": {"globally": False},
        "expectations_store_name": "expectations_store",
        "validation_results_store_name": "validation_results_store",
        "checkpoint_store_name": "checkpoint_store",
        "stores": {
            "expectations_store": _store("ExpectationsStore", "expectations/"),
            "validation_results_store": _store("ValidationResultsStore", RESULTS_DIR),
            "checkpoint_store": _store("CheckpointStore", "checkpoints/"),
            "validation_definition_store": _store(
                "ValidationDefinitionStore", "validation_definitions/"
            ),
        },
        "data_docs_sites": {
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": DOCS_DIR,
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        "fluent_datasources": {
            DATABASE_CHECKPOINT: {
                "type": "sql",
                "id": _id("datasource", DATABASE_CHECKPOINT),
                "connection_string": "${" + DATABASE_URL_VARIABLE + "}",
                "assets": {
                    t: _asset(DATABASE_CHECKPOINT, t, "table", WHOLE_TABLE, table_name=t)
                    for t in tables
                },
            },
            MOLECULES_CHECKPOINT: {
                "type": "pandas",
                "id": _id("datasource", MOLECULES_CHECKPOINT),
                "assets": {
                    MOLECULES_ASSET: _asset(
                        MOLECULES_CHECKPOINT, MOLECULES_ASSET, "dataframe", WHOLE_TABLE
                    )
                },
            },
        },
    }
    return HEADER + yaml.safe_dump(config, sort_keys=False, width=100)


def project_files(checks: list[Check] | None = None) -> dict[str, str]:
    """Return every file of the GX project, by its path inside the project folder."""
    found = suites(checks)
    tables = [str(t.name) for t in Base.metadata.sorted_tables]
    files = {
        ".gitignore": "uncommitted/\n",
        "great_expectations.yml": _context_file(tables),
        "expectations/.ge_store_backend_id": f"store_backend_id = {_id('expectations store')}\n",
        "checkpoints/.ge_store_backend_id": f"store_backend_id = {_id('checkpoint store')}\n",
        f"checkpoints/{DATABASE_CHECKPOINT}.json": _checkpoint_file(
            DATABASE_CHECKPOINT, tables, {"result_format": "COMPLETE"}
        ),
        f"checkpoints/{MOLECULES_CHECKPOINT}.json": _checkpoint_file(
            MOLECULES_CHECKPOINT,
            [MOLECULES_CHECKPOINT],
            {"result_format": "COMPLETE", "unexpected_index_column_names": ["id"]},
        ),
    }
    for name, expectations in found.items():
        files[f"expectations/{name}.json"] = _suite_file(name, expectations)
        source, asset = (
            (MOLECULES_CHECKPOINT, MOLECULES_ASSET)
            if name == MOLECULES_CHECKPOINT
            else (DATABASE_CHECKPOINT, name)
        )
        files[f"validation_definitions/{name}.json"] = _validation_file(
            name, source, asset, WHOLE_TABLE
        )
    return files


def _stored(folder: Path) -> set[str]:
    return {
        str(path.relative_to(folder))
        for sub in GENERATED_FOLDERS
        for path in (folder / sub).glob("*.json")
    }


def differences(folder: Path, checks: list[Check] | None = None) -> list[str]:
    """Return the project files that are missing, different or left over, by their paths."""
    wanted = project_files(checks)
    changed = [
        name
        for name, text in wanted.items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]
    return sorted(changed + sorted(_stored(folder) - set(wanted)))


def write_project(folder: Path, checks: list[Check] | None = None) -> list[str]:
    """Write the GX project into ``folder``: generated files, stale ones removed.

    Returns
    -------
    list of str
        The paths (inside ``folder``) written or removed; empty when it was up to date.
    """
    wanted = project_files(checks)
    changed = differences(folder, checks)
    for name in changed:
        path = folder / name
        if name in wanted:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(path, wanted[name])
        else:
            path.unlink()
    return changed


def open_project(folder: Path, database_url: str, results_dir: Path, docs_dir: Path):
    """Open the GX project in ``folder`` on ``database_url``; the project is only read.

    Its validation results go to ``results_dir`` and its Data Docs site to ``docs_dir``.

    Raises
    ------
    FileNotFoundError
        If ``folder`` holds no GX project.
    """
    import great_expectations as gx

    path = folder / "great_expectations.yml"
    if not path.is_file():
        raise FileNotFoundError(f"no Great Expectations project at {folder}")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    stores = config["stores"]["validation_results_store"]["store_backend"]
    stores["base_directory"] = str(results_dir.resolve())
    site = config["data_docs_sites"]["local_site"]["store_backend"]
    site["base_directory"] = str(docs_dir.resolve())
    return gx.get_context(
        mode="file",
        project_config=config,
        context_root_dir=str(folder),
        runtime_environment={DATABASE_URL_VARIABLE: database_url},
    )
