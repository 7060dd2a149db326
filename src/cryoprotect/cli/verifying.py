"""``cryoprotect verification``: link a lab measurement to the recorded prediction it checks."""

from __future__ import annotations

import getpass

import typer

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, engine, fail
from cryoprotect.models.targets import TARGETS

app = typer.Typer(help="Lab verifications of recorded predictions.", no_args_is_help=True)


@app.command()
def add(
    ctx: typer.Context,
    prediction_id: int = typer.Argument(..., help="The recorded prediction checked (its id)."),
    record_id: str = typer.Option(
        None, help="record_id of the imported experiment that measured it."
    ),
    status: str = typer.Option(
        "confirmed", help="planned, in_progress, confirmed, refuted or inconclusive."
    ),
    notes: str = typer.Option(None, help="Free text kept with the verification."),
    owner: str = typer.Option(None, help="The verifier (default: the OS user)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Record that PREDICTION_ID was checked in the lab by the measurement --record-id.

    A planned verification of the prediction (from `cryoprotect suggest`) is completed;
    otherwise a new one is added. Without --record-id the status must be planned or
    in_progress. The prediction and the experiment must be --owner's.
    """
    from cryoprotect.db.verifications import add_verification
    from cryoprotect.db.visibility import AccessDenied

    who = owner or getpass.getuser()
    try:
        verification = add_verification(engine(ctx), who, prediction_id, record_id, status, notes)
    except (LookupError, ValueError, AccessDenied) as error:
        fail(f"{error}; nothing was recorded", fmt)
    emit(
        {"verification_id": verification, "prediction_id": prediction_id, "status": status},
        fmt,
        [f"verification {verification}: prediction {prediction_id} {status}"],
    )


@app.command()
def compare(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=f"One of: {', '.join(TARGETS)}."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List the verified compounds of NAME: measured against predicted, and inside or not."""
    from cryoprotect.db.verifications import verification_table

    if name not in TARGETS:
        fail(f"unknown target {name!r}; known: {', '.join(TARGETS)}", fmt)
    table = verification_table(engine(ctx), name, measured_only=True)
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    inside = int(table["inside"].fillna(False).astype(bool).sum())
    emit(
        {"target": name, "verified": len(rows), "inside": inside, "verifications": rows},
        fmt,
        [
            f"{r['subject']}: measured {r['measured']:g}, predicted {r['predicted']:g} "
            + (
                f"[{r['lower']:g}, {r['upper']:g}] {'inside' if r['inside'] else 'outside'}"
                if r["inside"] is not None
                else "(no interval)"
            )
            for r in rows
        ]
        + [f"{inside} of {len(rows)} measurements inside the predicted interval"],
    )
