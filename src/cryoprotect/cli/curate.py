"""``cryoprotect curate``: rebuild ``data/reference/`` from the published source tables."""

from __future__ import annotations

from pathlib import Path

import typer

from cryoprotect.cli.common import FORMAT_OPTION, OutputFormat, emit, fail, settings


def curate(
    ctx: typer.Context,
    source: Path = typer.Option(
        ..., exists=True, file_okay=False, help="Folder of the published source tables."
    ),
    out: Path = typer.Option(None, help="Output folder (default: data/reference)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Curate the source tables into cited, deduplicated reference tables and a rejects file."""
    from cryoprotect.curation.build import CurationError, write
    from cryoprotect.curation.build import curate as curate_sources

    target = out or settings(ctx).resolved_reference_dir
    try:
        data = curate_sources(source)
    except (CurationError, FileNotFoundError, KeyError) as error:
        fail(f"curation failed, nothing was written: {error}", fmt)
    written = write(data, target)
    summary = data.summary()
    emit(
        {**summary, "written": [str(p) for p in written]},
        fmt,
        [f"wrote {p}" for p in written]
        + [f"experiments.{k}: {v}" for k, v in summary["experiments"].items()]
        + [f"molecules: {summary['molecules']}", f"rejects: {summary['rejects']}"],
    )
