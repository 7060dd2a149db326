"""Run the health checks as Great Expectations suites over the live database.

One suite per table: its expected column set (schema) and its unexpected-row checks
(:mod:`.checks`). Molecules are also checked with RDKit (SMILES that do not parse, stored
InChIKeys that disagree with the SMILES) through a dataframe suite. An expectation that
raises (bad SQL, missing table) is an ``error``, never a pass.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pandas as pd
from sqlalchemy import Engine, select

from cryoprotect.db.schema import Base, Molecule
from cryoprotect.health.checks import CRITICAL, Check, CheckInfo, sql_checks

SAMPLE_ROWS = 20
"""Offending rows listed per failed check."""


@dataclass
class CheckResult(CheckInfo):
    """The outcome of one check: ``pass``, ``fail`` (rows break it) or ``error`` (not run)."""

    status: str = "pass"
    unexpected_count: int | None = None
    rows: list = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict:
        """Return the result as plain JSON-ready data."""
        return asdict(self)


def _quiet_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _outcome(check: Check, result) -> CheckResult:
    info = result.exception_info or {}
    errors = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    if info.get("raised_exception"):
        errors.append(info)
    base = check.info()
    if errors:
        message = errors[0].get("exception_message") or "the check could not run"
        return CheckResult(**base, status="error", message=message.splitlines()[0])
    details = result.result or {}
    observed = details.get("observed_value", details.get("unexpected_count"))
    mismatch = details.get("details", {}).get("mismatched")
    if isinstance(observed, list):  # a column set: name what differs instead of a count
        return CheckResult(
            **base,
            status="pass" if result.success else "fail",
            message="" if result.success else f"columns differ: {json.dumps(mismatch)}",
        )
    rows = details.get("details", {}).get("unexpected_rows") or details.get(
        "partial_unexpected_index_list", []
    )
    return CheckResult(
        **base,
        status="pass" if result.success else "fail",
        unexpected_count=_count(observed),
        rows=_plain(rows[:SAMPLE_ROWS]),
    )


def _matched(checks: list[Check], validation_results) -> list[CheckResult]:
    """Pair each check with its expectation's result (by the check name kept in ``meta``)."""
    by_name = {r.expectation_config.meta["check"]: r for r in validation_results}
    return [_outcome(check, by_name[check.name]) for check in checks]


def _count(observed) -> int | None:
    return int(observed) if isinstance(observed, int | float) else None


def _plain(rows) -> list:
    """Rows as JSON-ready dictionaries (GX returns dictionaries or row tuples)."""
    return [
        {
            str(k): (v if isinstance(v, int | float | str) or v is None else str(v))
            for k, v in r.items()
        }
        if isinstance(r, dict)
        else list(r)
        for r in rows
    ]


def _column_check(table) -> Check:
    return Check(
        "schema",
        f"{table.name} columns",
        table.name,
        None,
        CRITICAL,
        "the table exists with exactly the columns of the schema",
        "",
    )


def run_table_suites(url: str, checks: list[Check] | None = None) -> list[CheckResult]:
    """Validate every table of the schema with its suite; return one result per check."""
    import great_expectations as gx

    checks = sql_checks() if checks is None else checks
    context = _quiet_context()
    source = context.data_sources.add_or_update_sql(name="database", connection_string=url)
    results = []
    for table in Base.metadata.sorted_tables:
        own = [c for c in checks if c.table == table.name]
        planned = [_column_check(table), *own]
        try:
            asset = source.add_table_asset(name=table.name, table_name=table.name)
        except Exception as error:  # any failure to reach the table is an error
            results += [_error(check, error) for check in planned]
            continue
        suite = context.suites.add(gx.ExpectationSuite(name=table.name))
        columns = [c.name for c in table.columns]
        suite.add_expectation(
            gx.expectations.ExpectTableColumnsToMatchSet(
                column_set=columns, exact_match=True, meta={"check": planned[0].name}
            )
        )
        for check in own:
            suite.add_expectation(
                gx.expectations.UnexpectedRowsExpectation(
                    unexpected_rows_query=check.query,
                    description=check.description,
                    meta={"check": check.name},
                )
            )
        definition = gx.ValidationDefinition(
            name=table.name,
            data=asset.add_batch_definition_whole_table("all"),
            suite=suite,
        )
        try:
            outcome = context.validation_definitions.add(definition).run(
                result_format={"result_format": "COMPLETE"}
            )
        except Exception as error:  # a suite that cannot run is an error
            results += [_error(check, error) for check in planned]
            continue
        results += _matched(planned, outcome.results)
    return results


def _error(check: Check, error: Exception) -> CheckResult:
    base = check.info()
    message = f"{error.__class__.__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return CheckResult(**base, status="error", message=message)


def molecule_frame(engine: Engine) -> pd.DataFrame:
    """Return molecules with the InChIKey RDKit computes from their SMILES (None: no parse)."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    with engine.connect() as connection:
        rows = connection.execute(
            select(Molecule.id, Molecule.canonical_smiles, Molecule.inchikey).order_by(Molecule.id)
        ).all()
    parsed = [Chem.MolFromSmiles(smiles or "") if smiles else None for _, smiles, _ in rows]
    computed = [Chem.MolToInchiKey(m) if m is not None else None for m in parsed]
    frame = pd.DataFrame(rows, columns=["id", "canonical_smiles", "inchikey"])
    frame["smiles_parses"] = [m is not None for m in parsed]
    frame["inchikey_agrees"] = [
        None if key is None else key == stored
        for key, stored in zip(computed, frame["inchikey"], strict=True)
    ]
    return frame


MOLECULE_CHECKS = (
    Check(
        "invalid",
        "molecules.canonical_smiles parses",
        "molecules",
        "canonical_smiles",
        CRITICAL,
        "a SMILES that RDKit cannot parse",
        "",
    ),
    Check(
        "invalid",
        "molecules.inchikey agrees with the SMILES",
        "molecules",
        "inchikey",
        CRITICAL,
        "a stored InChIKey that differs from the one RDKit computes from the SMILES",
        "",
    ),
)


def run_molecule_suite(engine: Engine) -> list[CheckResult]:
    """Check every molecule's SMILES and InChIKey with RDKit, as a dataframe suite."""
    import great_expectations as gx

    context = _quiet_context()
    frame = molecule_frame(engine)
    asset = context.data_sources.add_pandas("rdkit").add_dataframe_asset("molecules")
    suite = context.suites.add(gx.ExpectationSuite(name="molecules (RDKit)"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="smiles_parses", value_set=[True], meta={"check": MOLECULE_CHECKS[0].name}
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="inchikey_agrees", value_set=[True], meta={"check": MOLECULE_CHECKS[1].name}
        )
    )
    definition = gx.ValidationDefinition(
        name="molecules (RDKit)",
        data=asset.add_batch_definition_whole_dataframe("all"),
        suite=suite,
    )
    outcome = context.validation_definitions.add(definition).run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["id"]},
    )
    results = _matched(list(MOLECULE_CHECKS), outcome.results)
    by_id = frame.set_index("id", drop=False)[["id", "canonical_smiles", "inchikey"]]
    for result in results:  # name the molecules, not the flag columns
        ids = [int(row["id"]) for row in result.rows]
        result.rows = _plain(by_id.loc[ids].to_dict("records"))
    return results
