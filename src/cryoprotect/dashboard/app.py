"""The review dashboard as ipywidgets: an overview, a tab per target, predictions, health.

The dashboard notebook (``notebooks/dashboard.ipynb``, served by ``cryoprotect dashboard``)
displays :func:`build_dashboard`. Everything it shows comes from the pipeline's outputs
(``models/``, ``reports/``, the snapshot) and the database; nothing is recomputed but the
figures. A part that cannot be shown says why in its place instead of raising.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cryoprotect.backup.store import BackupStore
from cryoprotect.chem.depict import structure_html
from cryoprotect.dashboard import views
from cryoprotect.dashboard.figures import (
    beeswarm_figure,
    interval_figure,
    verification_figure,
    versions_figure,
)
from cryoprotect.dashboard.predictor import Predictor
from cryoprotect.dashboard.review import TargetReview, load_review
from cryoprotect.db.datasets import molecule_names
from cryoprotect.health.expectations import DATA_DOCS
from cryoprotect.health.report import read_history
from cryoprotect.models.feature_table import read_feature_names
from cryoprotect.models.registry import ModelNotFoundError
from cryoprotect.models.targets import TARGETS
from cryoprotect.pipeline.figures import importance_figure, parity_figure, residual_figure
from cryoprotect.pipeline.layout import Layout

TITLES = {"tg": "Tg", "iri": "IRI", "viability": "Viability"}


def _html(value: str, css: str = "") -> widgets.HTML:
    widget = widgets.HTML(value=value)
    if css:
        widget.add_class(css)
    return widget


def _section(title: str, *parts: str) -> widgets.HTML:
    return _html(views.section_html(title, *parts))


def _parity(review: TargetReview) -> widgets.Widget:
    """Predicted vs measured, with a switch between colouring by fold and by source."""
    images: dict[str, str] = {}

    def image(hue: str) -> str:
        if hue not in images:
            figure = parity_figure(review.oof, review.name, review.unit, hue=hue)
            alt = f"{review.name}: predicted vs measured, coloured by {hue}"
            images[hue] = views.figure_html(figure, alt, f"{review.name}-parity")
        return images[hue]

    shown = _html(image("fold"))
    choice = widgets.ToggleButtons(options=["fold", "source"], description="colour by")
    choice.observe(lambda change: setattr(shown, "value", image(change["new"])), names="value")
    return widgets.VBox([choice, shown])


def _explanation_parts(review: TargetReview) -> list[str]:
    name, unit = review.name, review.unit
    parts = [
        views.figure_html(
            importance_figure(review.importance, name, unit),
            f"{name}: mean absolute SHAP value per feature",
            f"{name}-shap-bar",
        )
    ]
    if review.explanation is None:
        parts.append(views.note_html("No SHAP values saved: rerun the explain stage."))
    else:
        parts.append(
            views.figure_html(
                beeswarm_figure(review.explanation, name, unit),
                f"{name}: SHAP beeswarm",
                f"{name}-shap-beeswarm",
            )
        )
    return parts


def _verification_parts(review: TargetReview) -> list[str]:
    table = review.verifications
    if table.empty:
        return [
            views.note_html(f"No lab verifications of {review.name} predictions are recorded yet.")
        ]
    parts = []
    if table[["measured", "predicted"]].notna().all(axis=1).any():
        parts.append(
            views.figure_html(
                verification_figure(table, review.name, review.unit),
                f"{review.name}: lab measurements against predictions",
                f"{review.name}-verifications",
            )
        )
    return parts + [views.table_html(table)]


def _subjects(name: str) -> str:
    return "formulations" if TARGETS[name].subject == "mixture" else "compounds"


def target_tab(review: TargetReview) -> widgets.Widget:
    """Return the review of one target: card, errors, SHAP, intervals, verifications, versions."""
    name, unit = review.name, review.unit
    confidence = review.card.validation.interval_confidence
    residuals = views.figure_html(
        residual_figure(review.oof, name, unit), f"{name}: residuals", f"{name}-residuals"
    )
    intervals = views.figure_html(
        interval_figure(review.oof, name, unit, confidence),
        f"{name}: out-of-fold prediction intervals",
        f"{name}-intervals",
    )
    versions = views.figure_html(
        versions_figure(review.versions, name, unit),
        f"{name}: metrics across model versions",
        f"{name}-versions",
    )
    return widgets.VBox(
        [
            _section("Model card", views.card_html(review)),
            _section("Predicted vs measured (out of fold)"),
            _parity(review),
            _section(
                "Residuals",
                residuals,
                f"<h4>Worst predicted {_subjects(name)} (each by its worst measurement)</h4>",
                views.worst_html(review),
            ),
            _section("What drives the predictions (SHAP)", *_explanation_parts(review)),
            _section("Uncertainty", views.uncertainty_html(review), intervals),
            _section("Lab verifications", *_verification_parts(review)),
            _section(
                "Model versions",
                views.table_html(review.versions, digits=3),
                versions,
            ),
        ]
    )


def overview_tab(reviews: dict[str, TargetReview | str], health: str) -> widgets.Widget:
    """One row per target: the production model's cross-validated metrics and verdict.

    ``health`` is the one-line verdict of the latest database health report.
    """
    rows = []
    for name, review in reviews.items():
        if isinstance(review, str):
            rows.append({"target": name, "status": review})
            continue
        card = review.card
        validation = card.validation
        summary = validation.summary
        rows.append(
            {
                "target": name,
                "unit": review.unit,
                "version": card.version,
                "rows": card.data.rows,
                "CV MAE": summary["mae_mean"],
                "± (folds)": summary["mae_std"],
                "CV MAE by scaffold": validation.by_scaffold.mae
                if validation.by_scaffold
                else None,
                "held-out MAE": validation.holdout.mae if validation.holdout else None,
                "R²": summary["r2_mean"],
                "coverage": validation.interval_coverage,
                "lab verifications": len(review.verifications),
                "status": "meets thresholds"
                if validation.gate.passed
                else "; ".join(validation.gate.failures),
            }
        )
    return _html(views.overview_html(pd.DataFrame(rows), health), "cp-overview")


def _default_concentration(layout: Layout) -> float:
    """Return the median IRI training concentration (mM), a sensible first value for the form."""
    try:
        table = pq.read_table(layout.features("iri"), columns=["concentration_mM"]).to_pandas()
        return float(table["concentration_mM"].median())
    except (OSError, KeyError, ValueError):
        return 10.0


def predict_tab(predictor: Predictor, formulation: str, concentration: float) -> widgets.Widget:
    """Return a form: a molecule and a formulation in, all three predictions with intervals out."""
    labels = {"description_width": "8em"}
    molecule = widgets.Text(
        description="molecule",
        placeholder="SMILES or name, e.g. OCC(O)CO or glycerol",
        style=labels,
        layout={"width": "40em"},
    )
    molecule.add_class("cp-molecule-input")
    dose = widgets.BoundedFloatText(
        value=round(concentration, 3), min=0, max=1e6, description="IRI at (mM)", style=labels
    )
    dose.add_class("cp-concentration-input")
    mixture = widgets.Text(
        value=formulation, description="formulation", style=labels, layout={"width": "60em"}
    )
    mixture.add_class("cp-formulation-input")
    button = widgets.Button(description="Predict", button_style="primary")
    button.add_class("cp-predict-button")
    result = _html("", "cp-prediction")

    def show(_=None) -> None:
        try:
            table = predictor.predict(molecule.value, dose.value, mixture.value)
        except ValueError as error:
            result.value = views.message_html(str(error))
            return
        shown = table.assign(in_domain=table["in_domain"].map({True: "yes", False: "no"}))
        drawing = (
            structure_html(predictor.molecule_smiles(molecule.value), 300, 220)
            if molecule.value.strip()
            else ""
        )
        result.value = views.prediction_html(drawing, shown, predictor.confidence)

    button.on_click(show)
    help_text = _html(
        "<p>Enter a molecule for Tg and IRI (at the concentration given) and a formulation for "
        "post-thaw viability, written <code>name-or-SMILES:amount unit</code> entries joined "
        "by <code>;</code>.</p>"
    )
    return widgets.VBox([help_text, molecule, dose, mixture, button, result])


def _latest_health(layout: Layout) -> dict | None:
    latest = layout.reports / "health" / "latest.json"
    return json.loads(latest.read_text()) if latest.is_file() else None


def _health_line(layout: Layout) -> str:
    report = _latest_health(layout)
    if report is None:
        return "No health report yet: see the Health tab."
    summary = report["summary"]
    verdict = "healthy" if summary["healthy"] else "a critical check failed"
    return (
        f"{verdict}: {summary['passed']} of {summary['checks']} checks passed "
        f"(checked {summary['created']}); details in the Health tab."
    )


def health_tab(
    layout: Layout, engine: Engine | None, backups: BackupStore | None = None
) -> widgets.Widget:
    """Return the latest health report with a button to run the checks again, and backups."""
    folder = layout.reports / "health"
    docs = folder / DATA_DOCS / "index.html"

    def current() -> str:
        link = f"voila/files/{docs.relative_to(layout.root).as_posix()}" if docs.is_file() else None
        return views.health_html(_latest_health(layout), read_history(folder), data_docs=link)

    shown = _html(current(), "cp-health")
    button = widgets.Button(
        description="Run the checks now", icon="refresh", layout={"width": "auto"}
    )
    button.add_class("cp-health-button")

    def rerun(_=None) -> None:
        from cryoprotect.health.report import run_health, write_report

        button.disabled = True
        try:
            write_report(run_health(engine, folder), folder)
            shown.value = current()
        except SQLAlchemyError as error:
            shown.value = views.message_html(f"cannot check the database: {error}")
        finally:
            button.disabled = False

    button.on_click(rerun)
    if engine is None:
        button.disabled = True
    return widgets.VBox([shown, button, _html(_backups_section(backups), "cp-backups")])


def _backups_section(store: BackupStore | None) -> str:
    if store is None:
        return views.section_html("Backups", views.note_html("No backup store is configured here."))
    try:
        manifests = store.manifests()
    except (OSError, ValueError) as error:
        shown = views.message_html(f"cannot read {store.url}: {error}")
    else:
        shown = views.backups_html(manifests, store.url, store.partials())
    return views.section_html("Backups", shown)


def _resolver(engine: Engine | None, layout: Layout):
    names: dict[str, str] = {}
    for name in TARGETS:
        path = layout.features(name)
        if path.is_file():
            names |= read_feature_names(path)
    if engine is not None:
        with contextlib.suppress(SQLAlchemyError):  # else the names saved with the features serve
            names |= molecule_names(engine)
    return names.get


def _fill(tabs: list[widgets.Widget], pending: dict[int, TargetReview], index: int) -> None:
    """Draw a target's tab the first time it is opened (the first page stays quick)."""
    review = pending.pop(index, None)
    if review is not None:
        tabs[index].children = [target_tab(review)]


def build_dashboard(
    root: Path, engine: Engine | None = None, backups: BackupStore | None = None
) -> widgets.Widget:
    """Build the dashboard for the project at ``root``, its database and its backup store."""
    layout = Layout(Path(root))
    reviews: dict[str, TargetReview | str] = {}
    for name in TARGETS:
        try:
            reviews[name] = load_review(layout, name, engine)
        except (ModelNotFoundError, FileNotFoundError) as error:
            reviews[name] = f"not available: {error}. Run 'dvc repro' to build it."
    viability = reviews.get("viability")
    formulation = (  # the best formulation measured, a useful first example
        viability.oof.loc[viability.oof["measured"].idxmax(), "structure"]
        if isinstance(viability, TargetReview)
        else ""
    )
    tabs: list[widgets.Widget] = [overview_tab(reviews, _health_line(layout))]
    pending: dict[int, TargetReview] = {}
    for name, review in reviews.items():
        if isinstance(review, TargetReview):
            pending[len(tabs)] = review
            tabs.append(widgets.VBox([_html(f"<p>Drawing the {TITLES[name]} review…</p>")]))
        else:
            tabs.append(_html(views.message_html(f"{name}: {review}")))
    predictor = Predictor(layout.models, _resolver(engine, layout))
    tabs.append(predict_tab(predictor, formulation, _default_concentration(layout)))
    tabs.append(health_tab(layout, engine, backups))
    tab = widgets.Tab(children=tabs)
    tab.titles = ["Overview", *(TITLES[n] for n in reviews), "Predict", "Health"]
    tab.observe(lambda change: _fill(tabs, pending, change["new"]), names="selected_index")
    page = widgets.VBox([_html(views.header_html(layout.root)), tab])
    page.add_class("cp-dashboard")
    page.add_class("cp-report")  # the shared stylesheet's scope
    return page
