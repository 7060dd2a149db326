"""Shared pieces of the CLI: settings from the command line, output formats, failures."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from itertools import pairwise
from typing import NoReturn, TextIO

import typer

from cryoprotect.config import Settings, get_settings
from cryoprotect.db.engine import make_engine
from cryoprotect.progress import Progress


class OutputFormat(StrEnum):
    """How a command prints its result."""

    table = "table"
    json = "json"


JSON_REQUESTED: ContextVar[bool] = ContextVar("json_requested", default=False)
"""True once the command line asked for ``--format json`` (see :func:`remember_format`)."""


def remember_format(value: str) -> str:
    """Note the ``--format`` option's value, so this command's failures are JSON when asked."""
    JSON_REQUESTED.set(value == OutputFormat.json)
    return value


FORMAT_OPTION = typer.Option(
    OutputFormat.table, "--format", help="table or json.", callback=remember_format
)


def settings(ctx: typer.Context) -> Settings:
    """Return the settings, with the options of the top-level command applied."""
    overrides = (ctx.find_root().obj or {}) if ctx else {}
    base = get_settings()
    return base.model_copy(update=overrides) if overrides else base


def engine(ctx: typer.Context):
    """Return an engine for the database in force."""
    return make_engine(settings(ctx).resolved_database_url)


def emit(data: dict, fmt: OutputFormat, lines: list[str] | None = None) -> None:
    """Print ``data`` as JSON, or ``lines`` (default: ``key: value``) as a table."""
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines if lines is not None else [f"{k}: {v}" for k, v in data.items()]:
            typer.echo(line)


def json_requested(args: list[str]) -> bool:
    """Whether a command line asks for JSON output (``--format json`` or ``--format=json``)."""
    pairs = pairwise(args)
    return "--format=json" in args or any(a == "--format" and b == "json" for a, b in pairs)


def wants_json(fmt: str | None = None) -> bool:
    """Whether the running command was asked for JSON (``fmt``, else its command line)."""
    return fmt == OutputFormat.json if fmt is not None else JSON_REQUESTED.get()


def error_document(message: str, **details) -> str:
    """Return the JSON a command prints on standard output when it fails under ``--format json``."""
    return json.dumps({"status": "error", "message": message, **details}, default=str)


def fail(message: str, fmt: OutputFormat | None = None, code: int = 1, **details) -> NoReturn:
    """Report a failure and exit with status ``code``.

    The report is JSON on standard output when JSON was asked for (``fmt``, or ``--format json``
    on the command line), else one line on standard error.
    """
    if wants_json(fmt):
        typer.echo(error_document(message, **details))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)


def shows_progress(mode: str, fmt: str, stream: TextIO) -> bool:
    """Whether a command shows progress on ``stream``.

    ``mode`` is the ``progress`` setting: ``never``, ``always`` or ``auto`` (only when
    ``stream`` is a terminal). JSON output (``fmt`` ``json``) is never accompanied by a bar.
    """
    if mode == "never" or fmt == OutputFormat.json:
        return False
    if mode == "always":
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _size(stream: TextIO) -> tuple[int, int]:
    """Columns and lines of the terminal ``stream`` writes to; 80 x 24 where unknown or zero.

    A new pseudo-terminal reports 0 x 0, on which tqdm would draw nothing.
    """
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return 80, 24
    return size.columns or 80, size.lines or 24


@contextmanager
def progress_bar(
    ctx: typer.Context | None,
    fmt: str,
    description: str,
    stream: TextIO | None = None,
    mode: str | None = None,
) -> Iterator[Progress | None]:
    """Yield a progress callback drawing a bar with counts and time left, or ``None``.

    The bar goes to ``stream`` (standard error) when :func:`shows_progress` allows; a new
    unit (the callback's third argument) starts a new bar. ``mode`` defaults to the
    ``progress`` setting (CRYOPROTECT_PROGRESS).
    """
    from tqdm import tqdm

    stream = stream if stream is not None else sys.stderr
    if mode is None:
        mode = settings(ctx).progress if ctx is not None else get_settings().progress
    if not shows_progress(mode, fmt, stream):
        yield None
        return
    current: dict[str, tqdm] = {}
    columns, lines = _size(stream)

    def update(done: int, total: int | None, unit: str) -> None:
        bar = current.get(unit)
        if bar is None:
            for old in current.values():
                old.close()
            current.clear()
            scaled = unit == "B"
            bar = current[unit] = tqdm(
                total=total,
                desc=description,
                unit=unit,
                unit_scale=scaled,
                unit_divisor=1024 if scaled else 1000,
                file=stream,
                ncols=columns,
                nrows=lines,
                mininterval=0.2,
                smoothing=0.1,
            )
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)  # redraws at most every mininterval

    try:
        yield update
    finally:
        for bar in current.values():
            bar.close()
