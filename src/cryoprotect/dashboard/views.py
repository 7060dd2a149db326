"""HTML fragments of the review dashboard: tables, figures, model cards, messages.

Every fragment is rendered from the templates of :mod:`cryoprotect.html` (``dashboard/``
and the shared macros), self-contained (figures inline as PNG, structures as SVG) and styled
by the shared stylesheet that :func:`header_html` carries, so the page needs nothing from
the network.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from matplotlib.figure import Figure

from cryoprotect.backup.manifest import Manifest
from cryoprotect.chem.depict import structure_html
from cryoprotect.dashboard.review import TargetReview, worst_compounds
from cryoprotect.html import Markup, macro, render
from cryoprotect.pipeline.figures import png_data_uri


def header_html(root) -> str:
    """Return the top of the dashboard: the shared stylesheet and the project at ``root``."""
    return render("dashboard/header.html.j2", root=str(root))


def section_html(title: str, *parts: str) -> str:
    """Return a titled section holding ``parts``, fragments made by this module's functions."""
    return render("dashboard/section.html.j2", title=title, parts=[Markup(p) for p in parts])


def figure_html(figure: Figure, alt: str, kind: str) -> str:
    """Return ``figure`` as an inline PNG ``<img>`` described by ``alt``.

    ``kind`` (e.g. ``tg-parity``) goes into ``data-plot`` so pages can be checked for it.
    """
    return macro("figure", png_data_uri(figure), alt, kind)


def _columns_and_rows(frame: pd.DataFrame, raw: tuple[str, ...] = ()) -> dict:
    """Return ``frame`` as the arguments of the ``table`` macro; ``raw`` columns hold HTML."""
    rows = [
        [Markup(v) if c in raw else v for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    return {"columns": [str(c) for c in frame.columns], "rows": rows}


def table_html(frame: pd.DataFrame, digits: int = 2, raw: tuple[str, ...] = ()) -> str:
    """Return ``frame`` as an HTML table; numbers right-aligned to ``digits`` decimals.

    Columns named in ``raw`` hold HTML already (e.g. depictions) and are not escaped.
    """
    table = _columns_and_rows(frame, raw)
    return macro("table", table["columns"], table["rows"], digits)


def message_html(text: str) -> str:
    """Return a message for the reader in a red box (what went wrong and what to do)."""
    return macro("message", text)


def note_html(text: str) -> str:
    """Return a neutral note in a grey box (e.g. that there is nothing to show yet)."""
    return macro("note", text)


def overview_html(models: pd.DataFrame, health: str) -> str:
    """Return the overview: one row of metrics per model, and the database's health verdict."""
    return render("dashboard/overview.html.j2", health=health, **_columns_and_rows(models))


def prediction_html(drawing: str, predictions: pd.DataFrame, confidence: float) -> str:
    """Return the predict tab's answer: the molecule's ``drawing`` and its predictions."""
    return render(
        "dashboard/prediction.html.j2",
        drawing=Markup(drawing),
        confidence=confidence,
        **_columns_and_rows(predictions),
    )


def _rounded(params: dict) -> dict:
    """Parameters with floats to 4 significant digits, for reading (the card keeps them all)."""
    return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in params.items()}


def card_html(review: TargetReview) -> str:
    """Return the model card as a table: version, data, parameters, metrics, code."""
    card = review.card
    return render(
        "dashboard/card.html.j2",
        card=card,
        unit=review.unit,
        parameters=json.dumps(_rounded(card.estimator.params), sort_keys=True),
        featurizer=json.dumps(card.featurizer, sort_keys=True),
    )


def uncertainty_html(review: TargetReview) -> str:
    """Return how the intervals are made and how they behaved, overall and per group.

    Coverage by group (inside or outside the applicability domain; for Tg with or without a
    measured melting point) and the Spearman correlation of interval width with the error.
    """
    report = review.card.uncertainty
    rows = (
        [
            [group, figures.rows, figures.coverage, figures.mean_width]
            for group, figures in report.by_group.items()
        ]
        if report is not None
        else []
    )
    return render("dashboard/uncertainty.html.j2", report=report, unit=review.unit, rows=rows)


def worst_html(review: TargetReview, count: int = 10) -> str:
    """Return the compounds predicted worst out of fold, drawn (or formulations written out)."""
    rows = worst_compounds(review.oof, count)
    molecules = review.card.target != "viability"
    structures = rows["structure"].fillna("")
    shown = pd.DataFrame(
        {
            "structure": [structure_html(s, 160, 110) for s in structures]
            if molecules
            else structures,
            "subject": rows["subject"],
            "source": rows["source"],
            f"measured ({review.unit})": rows["measured"],
            f"predicted ({review.unit})": rows["predicted"],
            f"residual ({review.unit})": rows["residual"],
            "inside interval": rows["covered"],
            "measurements": rows["measurements"],
        }
    )
    return table_html(shown, raw=("structure",) if molecules else ())


def health_html(
    report: dict | None,
    history: list[dict],
    now: datetime | None = None,
    data_docs: str | None = None,
) -> str:
    """Return the latest health report's verdict, failed checks and the history of runs.

    ``data_docs`` is the address of the run's Great Expectations Data Docs, linked if given.
    """
    if report is None:
        return render("dashboard/health.html.j2", report=None)
    created = datetime.fromisoformat(report["summary"]["created"])
    problems = [
        [
            c["name"],
            c["status"],
            c["severity"],
            c["table"],
            c.get("column") or "",
            c.get("unexpected_count"),
            c.get("message") or "",
        ]
        for c in report["checks"]
        if c["status"] != "pass"
    ]
    runs = [
        [run[k] for k in ("created", "checks", "passed", "failed", "errors", "healthy")]
        for run in history[-10:][::-1]
    ]
    return render(
        "dashboard/health.html.j2",
        report=report,
        hours=((now or datetime.now(UTC)) - created).total_seconds() / 3600,
        data_docs=data_docs,
        problems=problems,
        runs=runs,
    )


def backups_html(
    manifests: list[Manifest], where: str, partials: list[str], now: datetime | None = None
) -> str:
    """Return the backups' state: the newest one's age, and the most recent ones listed."""
    if not manifests:
        return render("dashboard/backups.html.j2", count=0, where=where)
    newest = manifests[-1]
    return render(
        "dashboard/backups.html.j2",
        count=len(manifests),
        where=where,
        newest=newest.id,
        hours=((now or datetime.now(UTC)) - newest.created_at).total_seconds() / 3600,
        partials=partials,
        **_columns_and_rows(pd.DataFrame([m.summary() for m in manifests[-10:][::-1]])),
    )
