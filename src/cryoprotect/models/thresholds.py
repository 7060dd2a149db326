"""The thresholds a model must meet (``params.yaml``), checked on its cross-validated results."""

from __future__ import annotations


def gate(mae: float, coverage: float, thresholds: dict) -> dict:
    """Compare the mean CV MAE and the CV interval coverage with ``thresholds``."""
    failures = []
    if "mae" in thresholds and mae > thresholds["mae"]:
        failures.append(f"cross-validated MAE {mae:.2f} > {thresholds['mae']}")
    low, high = thresholds.get("coverage_min", 0.0), thresholds.get("coverage_max", 1.0)
    if not low <= coverage <= high:
        failures.append(f"interval coverage {coverage:.3f} outside [{low}, {high}]")
    return {"passed": not failures, "failures": failures, "thresholds": thresholds}
