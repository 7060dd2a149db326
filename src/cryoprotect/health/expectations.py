"""Run the stored Great Expectations project's checkpoints over the live database.

The checkpoint ``database`` validates every table with its suite (its expected column set and
its unexpected-row checks); ``molecules_rdkit`` checks molecules with RDKit (SMILES that do
not parse, stored InChIKeys that disagree with the SMILES) on a dataframe computed here. Each
expectation names its check, table and column in its ``meta``, so the results map back to the
report without the code that generated the suites. An expectation that raises (bad SQL, a
missing table) is an ``error``, never a pass. Validation results and Data Docs go to the folder
given (keeping the newest :data:`KEEP_RUNS` runs), or to a temporary one that is discarded.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from cryoprotect.db.schema import Molecule
from cryoprotect.health.checks import BROKEN_COLUMN, CRITICAL, CheckInfo
from cryoprotect.health.project import (
    DATABASE_CHECKPOINT,
    MOLECULES_CHECKPOINT,
    open_project,
    project_dir,
)
from cryoprotect.progress import Progress
from cryoprotect.progress import report as report_progress

SAMPLE_ROWS = 20
"""Offending rows listed per failed check."""

DATA_DOCS = "data_docs"
VALIDATIONS = "validations"
"""Folders of a report folder that hold the Data Docs site and GX's validation results."""
RUN_NAME = "cryoprotect health"
KEEP_RUNS = 30
"""Runs whose validation results and pages a report folder keeps (the newest)."""

log = logging.getLogger(__name__)


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


def _info(configuration, suite: str) -> dict:
    """Return the check an expectation stands for, from its ``meta`` (or its own fields)."""
    meta = configuration.meta or {}
    return CheckInfo(
        suite=meta.get("category", "custom"),
        name=meta.get("check") or configuration.description or configuration.type,
        table=meta.get("table", suite),
        column=meta.get("column", configuration.kwargs.get("column")),
        severity=str(getattr(configuration.severity, "value", configuration.severity) or CRITICAL),
        description=configuration.description or "",
    ).info()


def _outcome(result, suite: str) -> CheckResult:
    base = _info(result.expectation_config, suite)
    info = result.exception_info or {}
    errors = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    if info.get("raised_exception"):
        errors.append(info)
    if errors:
        message = errors[0].get("exception_message") or "the check could not run"
        return CheckResult(**base, status="error", message=message.splitlines()[0])
    details = result.result or {}
    status = "pass" if result.success else "fail"
    observed = details.get("observed_value", details.get("unexpected_count"))
    if isinstance(observed, list):  # a column set: name what differs instead of a count
        mismatch = details.get("details", {}).get("mismatched")
        message = "" if result.success else f"columns differ: {json.dumps(mismatch)}"
        return CheckResult(**base, status=status, message=message)
    rows = details.get("details", {}).get("unexpected_rows") or details.get(
        "partial_unexpected_index_list", []
    )
    broken = sorted({r[BROKEN_COLUMN] for r in rows if isinstance(r, dict) and BROKEN_COLUMN in r})
    if broken:  # a grouped check names the columns its rows break
        base["column"] = ",".join(broken)
    return CheckResult(
        **base,
        status=status,
        unexpected_count=_count(observed),
        rows=_plain(rows[:SAMPLE_ROWS]),
    )


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


def _error(configuration, suite: str, error: Exception) -> CheckResult:
    text = str(error).splitlines()[0] if str(error) else ""
    return CheckResult(
        **_info(configuration, suite),
        status="error",
        message=f"{error.__class__.__name__}: {text}",
    )


def _suite_results(validation) -> list[CheckResult]:
    suite = validation.suite_name
    return [_outcome(result, suite) for result in validation.results]


def _run_checkpoint(context, name: str, run_id, batch_parameters: dict | None = None):
    """Run checkpoint ``name``; if it cannot run as a whole, its validations one by one.

    A validation that cannot run (a missing table, say) makes each of its checks an error,
    and the others still count. Returns the results and the identifiers of the pages the
    run adds to Data Docs (``None``: the whole site needs building).
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    checkpoint = context.checkpoints.get(name)
    try:
        outcome = checkpoint.run(batch_parameters=batch_parameters, run_id=run_id)
    except Exception as error:  # any failure: find which validation it was
        log.warning("checkpoint %s failed as a whole (%s); running its validations", name, error)
    else:
        pages = [
            page
            for key, validation in outcome.run_results.items()
            for page in (key, ExpectationSuiteIdentifier(name=validation.suite_name))
        ]
        return [r for v in outcome.run_results.values() for r in _suite_results(v)], pages
    results = []
    for definition in checkpoint.validation_definitions:
        try:
            validation = definition.run(
                checkpoint_id=checkpoint.id,
                batch_parameters=batch_parameters,
                result_format=checkpoint.result_format,
                run_id=run_id,
            )
        except Exception as error:  # a suite that cannot run: each of its checks an error
            suite = definition.suite
            results += [_error(e.configuration, suite.name, error) for e in suite.expectations]
            continue
        results += _suite_results(validation)
    return results, None


def run_checkpoints(
    engine: Engine, folder: Path | None = None, progress: Progress | None = None
) -> list[CheckResult]:
    """Run both checkpoints of the GX project on ``engine``; return one result per check.

    With ``folder``, GX's validation results go to ``folder/validations`` and its Data Docs
    site, made to render offline (:mod:`cryoprotect.health.data_docs`), to
    ``folder/data_docs``; without one, the results go to a temporary folder and no site is
    built. ``progress`` hears of each checkpoint run (unit ``suite``, of two).
    """
    from great_expectations.core.run_identifier import RunIdentifier

    from cryoprotect.health.data_docs import make_offline

    url = engine.url.render_as_string(hide_password=False)
    frame = molecule_frame(engine)
    run_id = RunIdentifier(run_name=RUN_NAME, run_time=datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="cryoprotect-health-") as scratch:
        out = Path(folder) if folder is not None else Path(scratch)
        context = open_project(project_dir(), url, out / VALIDATIONS, out / DATA_DOCS)
        results, pages = _run_checkpoint(context, DATABASE_CHECKPOINT, run_id)
        report_progress(progress, 1, 2, "suite")
        molecules, more = _run_checkpoint(
            context, MOLECULES_CHECKPOINT, run_id, {"dataframe": frame}
        )
        report_progress(progress, 2, 2, "suite")
        if folder is not None:
            prune_runs(out, KEEP_RUNS)
            whole = pages is None or more is None
            context.build_data_docs(resource_identifiers=None if whole else pages + more)
            make_offline(out / DATA_DOCS)
    by_id = frame.set_index("id", drop=False)[["id", "canonical_smiles", "inchikey"]]
    for result in molecules:  # name the molecules, not the flag columns
        ids = [int(row["id"]) for row in result.rows if "id" in row]
        result.rows = _plain(by_id.loc[ids].to_dict("records"))
    return results + molecules


def prune_runs(folder: Path, keep: int) -> list[str]:
    """Delete the validation results and Data Docs pages of all but the newest ``keep`` runs.

    Returns
    -------
    list of str
        The run times removed.
    """
    runs = {p.name for p in (folder / VALIDATIONS).glob("*/*/*") if p.is_dir()}
    old = sorted(runs)[:-keep] if keep else sorted(runs)
    for base in (folder / VALIDATIONS, folder / DATA_DOCS / VALIDATIONS):
        for run in list(base.glob("*/*/*")):
            if run.name in old:
                shutil.rmtree(run)
    return old


def molecule_frame(engine: Engine) -> pd.DataFrame:
    """Return molecules with the InChIKey RDKit computes from their SMILES (None: no parse)."""
    from rdkit import Chem, rdBase

    with engine.connect() as connection:
        rows = connection.execute(
            select(Molecule.id, Molecule.canonical_smiles, Molecule.inchikey).order_by(Molecule.id)
        ).all()
    with rdBase.BlockLogs():  # a SMILES that does not parse is this check's finding, not a log
        parsed = [Chem.MolFromSmiles(smiles or "") if smiles else None for _, smiles, _ in rows]
        computed = [Chem.MolToInchiKey(m) if m is not None else None for m in parsed]
    frame = pd.DataFrame(rows, columns=["id", "canonical_smiles", "inchikey"])
    frame["smiles_parses"] = [m is not None for m in parsed]
    frame["inchikey_agrees"] = [
        None if key is None else key == stored
        for key, stored in zip(computed, frame["inchikey"], strict=True)
    ]
    return frame
