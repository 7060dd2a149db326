"""Progress of long operations, reported through a callback: library code never prints.

A long operation takes an optional ``progress`` callback and calls it each time a unit of
work is done with the units done so far, the total (``None`` when it is not known) and the
unit's name, e.g. ``progress(2, 5, "fold")``. The command line turns the calls into a bar
on standard error (:func:`cryoprotect.cli.common.progress_bar`); other callers may log them
or ignore them.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int | None, str], None]
"""``progress(done, total, unit)``: ``done`` units of ``total`` (``None``: unknown) are done."""


def report(progress: Progress | None, done: int, total: int | None, unit: str) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(done, total, unit)


def offset(progress: Progress | None, before: int, total: int | None) -> Progress | None:
    """Return a callback that reports a part of a larger task: ``before`` units precede it."""
    if progress is None:
        return None
    return lambda done, _total, unit: progress(before + done, total, unit)
