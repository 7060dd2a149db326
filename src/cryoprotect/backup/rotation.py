"""Which backups a rotation policy keeps: the newest N, and the newest of each day, week, month."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryoprotect.backup.manifest import Manifest


@dataclass(frozen=True)
class RotationPolicy:
    """How many backups to keep: the last ones, and one per recent day, week and month.

    A backup is kept when any rule keeps it (as in restic's ``forget --keep-*``): e.g.
    ``daily=7`` keeps the newest backup of each of the 7 most recent days that have one.
    """

    last: int = 7
    daily: int = 7
    weekly: int = 4
    monthly: int = 6

    def __post_init__(self) -> None:
        if self.last < 1:
            raise ValueError("a rotation policy keeps at least the newest backup (last >= 1)")
        if min(self.daily, self.weekly, self.monthly) < 0:
            raise ValueError("daily, weekly and monthly counts cannot be negative")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def kept(manifests: list[Manifest], policy: RotationPolicy) -> set[str]:
    """Return the ids of the backups ``policy`` keeps out of ``manifests``."""
    newest_first = sorted(manifests, key=lambda m: (m.created, m.id), reverse=True)
    keep = {m.id for m in newest_first[: policy.last]}
    rules: list[tuple[int, Callable[[datetime], str]]] = [
        (policy.daily, _day),
        (policy.weekly, _week),
        (policy.monthly, _month),
    ]
    for count, period in rules:
        periods: set[str] = set()
        for manifest in newest_first:
            key = period(manifest.created_at)
            if key in periods:
                continue
            if len(periods) == count:
                break
            periods.add(key)
            keep.add(manifest.id)
    return keep
