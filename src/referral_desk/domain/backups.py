"""Which backups to keep, how they are named, and when the newest one is too old."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

DAILY, WEEKLY, MONTHLY = 7, 4, 12
RECENT = timedelta(hours=24)  # before the newest: every backup kept
DEFAULT_INTERVAL_HOURS = 4
INTERVAL_HOURS_RANGE = (1, 24)
STALE_AFTER = timedelta(days=2)

AUTOMATIC_PREFIX = "referral-desk-backup-"
BEFORE_UPGRADE_PREFIX = "before-upgrade-"  # safety copies, never rotated away
BEFORE_RESTORE_PREFIX = "before-restore-"
SUFFIX = ".sqlite"
_STAMP = "%Y-%m-%dT%H%M%SZ"
_NAME = re.compile(
    re.escape(AUTOMATIC_PREFIX) + r"(\d{4}-\d{2}-\d{2}T\d{6}Z)(?:-\d+)?" + re.escape(SUFFIX) + "$"
)


def automatic_name(taken_at: datetime) -> str:
    """`referral-desk-backup-2026-11-24T101500Z.sqlite`: sorts by time, says when at a glance."""
    return f"{AUTOMATIC_PREFIX}{taken_at.astimezone(UTC).strftime(_STAMP)}{SUFFIX}"


def taken_at_from_name(name: str) -> datetime | None:
    """When an automatic backup was taken, from its name; None for any other file."""
    found = _NAME.match(name)
    if found is None:
        return None
    try:
        return datetime.strptime(found.group(1), _STAMP).replace(tzinfo=UTC)
    except ValueError:  # the right shape but no such time ("2026-13-45T996199Z")
        return None


_ANY_STAMP = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})T(\d{6})Z")


class BackupKind(StrEnum):
    AUTOMATIC = "automatic"
    BEFORE_UPGRADE = "before an upgrade"
    BEFORE_RESTORE = "before a restore"
    OTHER = "other"


def kind_of(name: str) -> BackupKind:
    """What a file in the backup folder is, from its name."""
    if taken_at_from_name(name) is not None:
        return BackupKind.AUTOMATIC
    if name.startswith(BEFORE_UPGRADE_PREFIX):
        return BackupKind.BEFORE_UPGRADE
    if name.startswith(BEFORE_RESTORE_PREFIX):
        return BackupKind.BEFORE_RESTORE
    return BackupKind.OTHER


def stamp_in_name(name: str) -> datetime | None:
    """When a safety copy was taken, from the UTC stamp in its name
    ("before-restore-2026-11-24T101500Z.sqlite", "before-upgrade-from-0005-20261124T101500Z")."""
    found = _ANY_STAMP.search(name)
    if found is None:
        return None
    try:
        return datetime.strptime("".join(found.groups()), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def to_keep(taken: Iterable[datetime], zone: tzinfo | None = None) -> set[datetime]:
    """The backups a rotation keeps: every one of the last 24 hours, and the newest of each
    of the last 7 days, 4 weeks and 12 months that have one (days, ISO weeks and months in
    the office's local time).

    Counting periods that have a backup, not calendar periods, means an office closed for
    a fortnight still keeps seven daily copies, not none.
    """
    newest_first = sorted(taken, reverse=True)
    # Every copy of the last day too: the backups made every few hours are what undoes
    # a mistake made this afternoon, which tonight's backup on close already holds.
    kept = {m for m in newest_first if newest_first[0] - m <= RECENT}
    for period, count in ((_day, DAILY), (_week, WEEKLY), (_month, MONTHLY)):
        seen: set[object] = set()
        for moment in newest_first:
            key = period(moment.astimezone(zone))
            if key in seen:
                continue
            seen.add(key)
            kept.add(moment)
            if len(seen) == count:
                break
    return kept


def _day(moment: datetime) -> date:
    return moment.date()


def _week(moment: datetime) -> tuple[int, int]:
    year, week, _ = moment.isocalendar()
    return year, week


def _month(moment: datetime) -> tuple[int, int]:
    return moment.year, moment.month


def is_stale(newest: datetime | None, now: datetime) -> bool:
    """A backup older than two days (or none at all) is worth a warning at start-up. One
    dated in the future (a clock that was wrong) proves nothing about today: stale too."""
    return newest is None or newest > now or now - newest > STALE_AFTER


def is_due(newest: datetime | None, now: datetime, interval_hours: int) -> bool:
    return newest is None or newest > now or now - newest >= timedelta(hours=interval_hours)


def interval_problem(hours: int) -> str | None:
    low, high = INTERVAL_HOURS_RANGE
    if not low <= hours <= high:
        return f"Back up every {low} to {high} hours (not {hours})."
    return None
