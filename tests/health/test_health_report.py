"""The health report page: escaped database text, the shared page and stylesheet."""

from __future__ import annotations

from health_support import scratch_database, unguarded
from sqlalchemy import text

from cryoprotect.health.report import run_health, write_report

HOSTILE = "<script>alert(1)</script> \"&'"


def test_a_hostile_smiles_in_a_failed_check_is_shown_escaped(tmp_path):
    engine = scratch_database(f"sqlite:///{tmp_path / 'scratch.db'}", tmp_path)
    with unguarded(engine) as connection:
        connection.execute(
            text(
                "UPDATE molecules SET canonical_smiles = :s "
                "WHERE id = (SELECT MIN(id) FROM molecules)"
            ),
            {"s": HOSTILE},
        )
    report = run_health(engine, tmp_path / "health")
    engine.dispose()
    assert not report.passed
    page = write_report(report, tmp_path / "health")["html"].read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and HOSTILE not in page
    assert "<td><span class='fail'>fail</span></td>" in page
    assert "<h1>Database health: NOT healthy: a critical check failed</h1>" in page
