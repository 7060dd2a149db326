"""Lab verifications read for review: the lab value beside the prediction it checks."""

from __future__ import annotations

import pandas as pd

from cryoprotect.db.verifications import VERIFICATION_COLUMNS, verification_table
from verification_fixtures import made_up_planned_mixture_verification, made_up_verification


def test_verifications_pair_the_lab_value_with_the_prediction_it_checks(engine):
    made_up_verification(engine, measured=190.0, predicted=185.0)
    table = verification_table(engine, "tg")
    assert list(table.columns) == VERIFICATION_COLUMNS
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["subject"], row["status"], row["model_version"]) == (
        "glycerol",
        "confirmed",
        "test-version",
    )
    assert (row["measured"], row["predicted"], row["lower"], row["upper"]) == (
        190.0,
        185.0,
        175.0,
        195.0,
    )
    assert bool(row["in_domain"]) is True
    assert verification_table(engine, "iri").empty


def test_a_planned_verification_has_no_measurement_and_takes_the_model_s_property(engine):
    made_up_planned_mixture_verification(engine, mixture_name=None)
    table = verification_table(engine, "viability")
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["status"], row["subject"], row["model_version"]) == (
        "planned",
        "unnamed mixture",
        "test-v",
    )
    assert pd.isna(row["measured"]) and pd.isna(row["completed_at"])
    assert row["predicted"] == 61.0 and bool(row["in_domain"]) is False
    assert verification_table(engine, "tg").empty


def test_an_empty_database_gives_an_empty_table_with_the_columns(engine):
    table = verification_table(engine, "tg")
    assert table.empty and list(table.columns) == VERIFICATION_COLUMNS
