"""The HTML toolkit: escaping, strict names, the shared macros and the base page."""

from __future__ import annotations

import ast
from importlib.resources import files

import pytest
from jinja2 import UndefinedError

from cryoprotect.html import Markup, environment, macro, number, text

HOSTILE = "<script>alert(1)</script> \"&'"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&amp;&#39;"


def test_every_macro_escapes_text_and_keeps_markup():
    table = macro("table", ["name", "value"], [[HOSTILE, 1.23456], [Markup("<svg></svg>"), None]])
    assert ESCAPED in table and "<script>" not in table
    assert "<td class='num'>1.23</td>" in table and "<td><svg></svg></td>" in table
    for name, args in {
        "note": [HOSTILE],
        "message": [HOSTILE],
        "badge": ["fail", HOSTILE],
        "facts": [[(HOSTILE, HOSTILE)]],
        "structure": [HOSTILE],
    }.items():
        assert ESCAPED in macro(name, *args) and "<script>" not in macro(name, *args), name
    image = macro("figure", "data:image/png;base64,AAAA", HOSTILE, "x'><script>")
    assert "<script>" not in image and "data-plot='x&#39;&gt;&lt;script&gt;'" in image


def test_cells_show_numbers_words_and_nothing_for_missing_values():
    assert [number(v, 2) for v in (1.5, 3, None, float("nan"))] == ["1.50", "3", "", ""]
    assert [text(v) for v in (True, False, None, float("nan"), "a")] == ["yes", "no", "", "", "a"]
    row = macro("table", ["a", "b", "c"], [[True, 7, float("nan")]], digits=0)
    assert "<td>yes</td><td class='num'>7</td><td class='num'></td>" in row


def test_a_name_the_template_is_not_given_raises():
    with pytest.raises(UndefinedError):
        environment().from_string("{{ missing_name }}").render()


def test_the_base_page_inlines_the_shared_stylesheet():
    page = (
        environment()
        .from_string(
            "{% extends 'base.html.j2' %}{% block title %}{{ t }}{% endblock %}"
            "{% block content %}<p>{{ t }}</p>{% endblock %}"
        )
        .render(t=HOSTILE)
    )
    stylesheet = files("cryoprotect.html").joinpath("templates", "report.css").read_text()
    assert page.startswith("<!DOCTYPE html>") and f"<style>\n{stylesheet}</style>" in page
    assert f"<title>{ESCAPED}</title>" in page and "<main class='cp-report'>" in page
    assert "http://" not in page and "https://" not in page


def test_the_package_imports_nothing_else_from_cryoprotect():
    source = files("cryoprotect.html").joinpath("__init__.py").read_text()
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("cryoprotect")]
