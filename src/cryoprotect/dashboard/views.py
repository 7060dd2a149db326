"""HTML fragments of the review dashboard: tables, figures, model cards, messages.

Every fragment is self-contained (figures inline as PNG, structures as SVG) and uses the
classes of :data:`STYLE`, so the page needs nothing from the network.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import pandas as pd
from matplotlib.figure import Figure

from cryoprotect.backup.manifest import Manifest
from cryoprotect.chem.depict import structure_html
from cryoprotect.dashboard.review import TargetReview, worst_compounds
from cryoprotect.pipeline.figures import png_data_uri

STYLE = """
<style>
.cp-dashboard { font-family: system-ui, sans-serif; color: #222; }
.cp-dashboard table { border-collapse: collapse; margin: 0.4em 0 1.2em; font-size: 0.9em; }
.cp-dashboard th, .cp-dashboard td { border: 1px solid #ccc; padding: 0.2em 0.5em;
  text-align: left; vertical-align: middle; }
.cp-dashboard th { background: #f3f3f3; }
.cp-dashboard td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cp-plot { max-width: 100%; display: block; margin: 0.3em 0 1em; }
.cp-structure { margin: 0; }
.cp-pass { color: #17663a; font-weight: bold; }
.cp-fail { color: #a4161a; font-weight: bold; }
.cp-message { border-left: 4px solid #a4161a; background: #fdf0f0; padding: 0.5em 0.8em; }
.cp-note { border-left: 4px solid #888; background: #f5f5f5; padding: 0.5em 0.8em; }
</style>
"""


def escape(value) -> str:
    """Return ``value`` as HTML text (``None`` and NaN as an empty string)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value))


def figure_html(figure: Figure, alt: str, kind: str) -> str:
    """Return ``figure`` as an inline PNG ``<img>`` described by ``alt``.

    ``kind`` (e.g. ``tg-parity``) goes into ``data-plot`` so pages can be checked for it.
    """
    return (
        f"<img class='cp-plot' data-plot='{escape(kind)}' alt='{escape(alt)}' "
        f"src='{png_data_uri(figure)}'>"
    )


def _number(value, digits: int) -> str:
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.{digits}f}" if isinstance(value, float) else escape(value)


def table_html(frame: pd.DataFrame, digits: int = 2, raw: tuple[str, ...] = ()) -> str:
    """Return ``frame`` as an HTML table; numbers right-aligned to ``digits`` decimals.

    Columns named in ``raw`` hold HTML already (e.g. depictions) and are not escaped.
    """
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if column in raw:
                cells.append(f"<td>{value}</td>")
            elif isinstance(value, float | int) and not isinstance(value, bool):
                cells.append(f"<td class='num'>{_number(value, digits)}</td>")
            else:
                cells.append(f"<td>{_number(value, digits)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def message_html(text: str) -> str:
    """Return a message for the reader in a red box (what went wrong and what to do)."""
    return f"<div class='cp-message' role='alert'>{escape(text)}</div>"


def note_html(text: str) -> str:
    """Return a neutral note in a grey box (e.g. that there is nothing to show yet)."""
    return f"<div class='cp-note'>{escape(text)}</div>"


def _rounded(params: dict) -> dict:
    """Parameters with floats to 4 significant digits, for reading (the card keeps them all)."""
    return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in params.items()}


def card_html(review: TargetReview) -> str:
    """Return the model card as a table: version, data, parameters, metrics, code."""
    card = review.card
    validation = card.validation
    summary = validation.summary
    gate = validation.gate
    verdict = (
        "<span class='cp-pass'>meets its thresholds</span>"
        if gate.passed
        else "<span class='cp-fail'>misses: " + escape("; ".join(gate.failures)) + "</span>"
    )
    unit = escape(review.unit)
    facts = [
        ("model version", escape(card.version)),
        ("trained", escape(card.created_label) + " UTC"),
        ("code version", escape(card.code_version or "unknown")),
        ("data snapshot (sha256)", f"<code>{escape(card.data.snapshot_hash[:16])}</code>"),
        (
            "training rows / groups (left out)",
            f"{card.data.rows} / {card.data.groups} ({card.data.left_out})",
        ),
        ("estimator", escape(card.estimator.name)),
        (
            "parameters",
            f"<code>{escape(json.dumps(_rounded(card.estimator.params), sort_keys=True))}</code>",
        ),
        ("featurizer", f"<code>{escape(json.dumps(card.featurizer, sort_keys=True))}</code>"),
        ("validation", escape(validation.method)),
        (
            "CV MAE / RMSE",
            f"{summary['mae_mean']:.2f} ± {summary['mae_std']:.2f} / "
            f"{summary['rmse_mean']:.2f} ± {summary['rmse_std']:.2f} {unit}",
        ),
        ("CV R²", f"{summary['r2_mean']:.3f} ± {summary['r2_std']:.3f}"),
    ]
    if validation.by_scaffold is not None:
        scaffold = validation.by_scaffold
        facts.append(
            (
                "CV MAE by scaffold (new chemistry)",
                f"{scaffold.mae:.2f} ± {scaffold.mae_std:.2f} {unit}",
            )
        )
    facts.append(
        (
            "held-out MAE",
            f"{validation.holdout.mae:.2f} {unit} ({validation.holdout.groups} compounds)"
            if validation.holdout
            else "not measured",
        )
    )
    if validation.without_melting_point is not None:
        without = validation.without_melting_point
        held = validation.holdout_without_melting_point
        facts.append(
            (
                "without a melting point: CV / held-out MAE",
                f"{without.mae:.2f} ± {without.mae_std:.2f} / "
                + (f"{held.mae:.2f}" if held else "not measured")
                + f" {unit}",
            )
        )
    facts += [
        (
            "interval coverage",
            f"{validation.interval_coverage:.1%} at {validation.interval_confidence:.0%}",
        ),
        ("thresholds", verdict),
        (
            "applicability domain",
            escape(card.domain.method) + f", ≥ {card.domain.threshold}",
        ),
    ]
    for key in ("precision_mean", "recall_mean"):
        if key in summary:
            facts.append((f"active class {key.split('_')[0]} (CV)", f"{summary[key]:.3f}"))
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in facts)
    return f"<table class='cp-card'>{rows}</table>"


def uncertainty_html(review: TargetReview) -> str:
    """Return how the intervals are made and how they behaved, overall and per group.

    Coverage by group (inside or outside the applicability domain; for Tg with or without a
    measured melting point) and the Spearman correlation of interval width with the error.
    """
    report = review.card.uncertainty
    if report is None:
        return note_html("This model version has no per-molecule intervals; train it again.")
    unit = escape(review.unit)
    rows = [
        {
            "group": group,
            "rows": figures.rows,
            "coverage": figures.coverage,
            f"mean width ({review.unit})": figures.mean_width,
        }
        for group, figures in report.by_group.items()
    ]
    pooled = (
        "<p>Groups with fewer than 20 calibration rows use all rows' scores: "
        + escape(", ".join(report.pooled_groups))
        + ".</p>"
        if report.pooled_groups
        else ""
    )
    return (
        f"<p>{escape(report.method)}. Difficulty: {escape(report.difficulty)}. "
        f"Overall coverage {report.coverage:.1%} over {report.rows} out-of-fold predictions, "
        f"mean width {report.mean_width:.1f} {unit}; Spearman correlation of interval width "
        f"with absolute error: {report.width_error_spearman:.2f}.</p>"
        + pooled
        + table_html(pd.DataFrame(rows), digits=3)
    )


def worst_html(review: TargetReview, count: int = 10) -> str:
    """Return the compounds predicted worst out of fold, drawn (or formulations written out)."""
    rows = worst_compounds(review.oof, count)
    molecules = review.card.target != "viability"
    shown = pd.DataFrame(
        {
            "structure": [
                structure_html(s, 160, 110) if molecules else escape(s)
                for s in rows["structure"].fillna("")
            ],
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
        return note_html(
            "No health report yet: run 'cryoprotect health' (the pipeline's health stage does)."
        )
    summary = report["summary"]
    created = datetime.fromisoformat(summary["created"])
    age = (now or datetime.now(UTC)) - created
    hours = age.total_seconds() / 3600
    verdict = (
        "<span class='cp-pass'>healthy</span>"
        if summary["healthy"]
        else "<span class='cp-fail'>a critical check failed</span>"
    )
    facts = (
        f"<p>Database <code>{escape(summary['database'])}</code> ({escape(report['backend'])}) "
        f"checked {escape(summary['created'])} ({hours:.1f} h ago): {verdict}. "
        f"{summary['passed']} of {summary['checks']} checks passed, {summary['failed']} failed, "
        f"{summary['errors']} could not run.</p>"
    )
    problems = [c for c in report["checks"] if c["status"] != "pass"]
    problem_table = (
        table_html(
            pd.DataFrame(
                [
                    {
                        "check": c["name"],
                        "status": c["status"],
                        "severity": c["severity"],
                        "table": c["table"],
                        "column": c.get("column") or "",
                        "rows": c.get("unexpected_count"),
                        "detail": c.get("message") or "",
                    }
                    for c in problems
                ]
            ),
            digits=0,
        )
        if problems
        else "<p>Every check passed.</p>"
    )
    runs = pd.DataFrame(history[-10:][::-1])
    history_table = (
        table_html(runs[["created", "checks", "passed", "failed", "errors", "healthy"]], digits=0)
        if not runs.empty
        else ""
    )
    docs = (
        f"<p class='cp-data-docs'>Every expectation and its result: "
        f"<a href='{escape(data_docs)}' target='_blank'>Great Expectations Data Docs</a>.</p>"
        if data_docs
        else ""
    )
    return f"{facts}{docs}{problem_table}<h4>Recent runs</h4>{history_table}"


def backups_html(
    manifests: list[Manifest], where: str, partials: list[str], now: datetime | None = None
) -> str:
    """Return the backups' state: the newest one's age, and the most recent ones listed."""
    if not manifests:
        return note_html(f"No backup in {where} yet: run 'cryoprotect backup create'.")
    newest = manifests[-1]
    hours = ((now or datetime.now(UTC)) - newest.created_at).total_seconds() / 3600
    interrupted = (
        f" {len(partials)} interrupted backup(s) await 'backup prune'." if partials else ""
    )
    rows = pd.DataFrame([m.summary() for m in manifests[-10:][::-1]])
    return (
        f"<p>{len(manifests)} backups in <code>{escape(where)}</code>; the newest, "
        f"<code>{escape(newest.id)}</code>, is {hours:.1f} h old.{escape(interrupted)}</p>"
        + table_html(rows, digits=0)
    )
