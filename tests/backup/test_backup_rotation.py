"""The rotation policy: newest N, and the newest backup of each recent day, week and month.

The manifests are made up: only their ids and times matter here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cryoprotect.backup.manifest import Manifest
from cryoprotect.backup.rotation import RotationPolicy, kept

START = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)  # a Thursday


def _manifest(moment: datetime) -> Manifest:
    return Manifest(
        id=moment.strftime("%Y%m%dT%H%M%S%fZ"),
        created=moment.isoformat(),
        kind="sqlite",
        database="sqlite:///made-up.db",
        schema_revision="0001",
        tables={},
        files={},
    )


def _daily_for(days: int, per_day: int = 2) -> list[Manifest]:
    return [
        _manifest(START + timedelta(days=d, hours=6 * h))
        for d in range(days)
        for h in range(per_day)
    ]


def test_last_keeps_the_newest_only():
    backups = _daily_for(3)
    assert kept(backups, RotationPolicy(last=2, daily=0, weekly=0, monthly=0)) == {
        m.id for m in backups[-2:]
    }


def test_daily_keeps_the_newest_of_each_recent_day():
    backups = _daily_for(5)
    chosen = kept(backups, RotationPolicy(last=1, daily=3, weekly=0, monthly=0))
    assert chosen == {backups[9].id, backups[7].id, backups[5].id}


def test_weekly_and_monthly_reach_further_back():
    backups = _daily_for(70, per_day=1)  # 1 Jan to 11 Mar 2026
    chosen = kept(backups, RotationPolicy(last=1, daily=0, weekly=2, monthly=3))
    days = sorted(m.created[:10] for m in backups if m.id in chosen)
    # newest of: this ISO week and the one before (Sun 8 Mar), and of March, February, January
    assert days == ["2026-01-31", "2026-02-28", "2026-03-08", "2026-03-11"]


def test_a_policy_always_keeps_the_newest_backup():
    with pytest.raises(ValueError, match="at least the newest"):
        RotationPolicy(last=0)
    with pytest.raises(ValueError, match="negative"):
        RotationPolicy(daily=-1)
