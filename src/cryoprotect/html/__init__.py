"""One HTML toolkit for every page and fragment CryoProtect writes: Jinja2 templates.

The templates live in ``templates/`` beside this module and ship in the wheel:
``base.html.j2`` (the page every report extends, with the shared stylesheet ``report.css``
inlined, so a page needs nothing from the network), ``macros.html.j2`` (tables, figures,
badges, key-value lists, notes) and one template per report or dashboard fragment.
Autoescaping is on for every template, and a name a template uses but is not given raises
instead of rendering as an empty string.

This package imports nothing else from ``cryoprotect``: every other part may use it.
"""

from __future__ import annotations

import math
import numbers
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup  # the type of safe HTML the other modules hand to templates

__all__ = [
    "environment",
    "is_missing",
    "macro",
    "number",
    "percent",
    "render",
    "text",
]


def is_missing(value) -> bool:
    """Return True for ``None`` and for not-a-number values (NaN, ``pd.NA``, ``NaT``)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA refuses to be a truth value
        return True


def is_numeric(value) -> bool:
    """Return True for numbers that a table aligns right (booleans are words, not numbers)."""
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def number(value, digits: int = 2) -> str:
    """Return ``value`` for reading: floats to ``digits`` decimals, a missing value as ``""``.

    Parameters
    ----------
    value
        A number, or ``None``/NaN.
    digits
        Decimals shown for floats; integers are shown whole.

    Returns
    -------
    str
        The number as text.
    """
    if is_missing(value):
        return ""
    if isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real) and math.isinf(value):
        return str(value)
    return f"{value:.{digits}f}"


def percent(value, digits: int = 0) -> str:
    """Return a fraction as a percentage to ``digits`` decimals (0.9 -> ``90%``)."""
    return "" if is_missing(value) else f"{value:.{digits}%}"


def text(value):
    """Return ``value`` as table text: missing as ``""``, booleans as yes/no.

    Markup (HTML built by a template, such as a depiction) is returned as it is, so it is
    not escaped again; anything else becomes a plain string that autoescaping escapes.
    """
    if isinstance(value, Markup):
        return value
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@cache
def environment() -> Environment:
    """Return the Jinja2 environment of the package's templates (built once).

    Returns
    -------
    jinja2.Environment
        Autoescaping on, undefined names raise, filters ``number``, ``percent`` and ``text``
        and tests ``missing`` and ``numeric`` registered.
    """
    env = Environment(
        loader=PackageLoader("cryoprotect.html", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters |= {"number": number, "percent": percent, "text": text}
    env.tests |= {"missing": is_missing, "numeric": is_numeric}
    return env


def render(template_name: str, **context) -> str:
    """Render the template ``template_name`` (e.g. ``health_report.html.j2``) with ``context``.

    Parameters
    ----------
    template_name
        A file under ``templates/``.
    **context
        The names the template uses; plain strings are escaped, :class:`Markup` is not.

    Returns
    -------
    str
        The HTML.

    Raises
    ------
    jinja2.TemplateNotFound
        If there is no such template.
    jinja2.UndefinedError
        If the template uses a name that ``context`` does not give.
    """
    return environment().get_template(template_name).render(**context)


def macro(name: str, *args, **kwargs) -> str:
    """Render one macro of ``macros.html.j2`` (e.g. ``macro("note", "nothing yet")``).

    Returns
    -------
    str
        The HTML, for code that assembles a page from fragments (the dashboard's widgets).
    """
    return str(getattr(environment().get_template("macros.html.j2").module, name)(*args, **kwargs))
