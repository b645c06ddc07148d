"""Which backups a rotation keeps, how they are named, and when one is due or too old."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from referral_desk.domain.backups import (
    DEFAULT_INTERVAL_HOURS,
    STALE_AFTER,
    automatic_name,
    interval_problem,
    is_due,
    is_stale,
    taken_at_from_name,
    to_keep,
)

NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def _at(day: str, hour: int = 20) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _every(hours: int, start: datetime, end: datetime) -> list[datetime]:
    moments = []
    moment = start
    while moment <= end:
        moments.append(moment)
        moment += timedelta(hours=hours)
    return moments


# Two years of backups every 4 hours (00:00, 04:00 ... 20:00 UTC), the newest on
# Wednesday 25 November 2026 at 20:00.
TWO_YEARS = _every(4, datetime(2024, 11, 26, tzinfo=UTC), _at("2026-11-25"))

DAILY = [_at(f"2026-11-{day}") for day in range(19, 26)]  # the last 7 days' newest
WEEKLY = [_at("2026-11-25"), _at("2026-11-22"), _at("2026-11-15"), _at("2026-11-08")]
MONTHLY = [
    _at(day)
    for day in (
        "2026-11-25",
        "2026-10-31",
        "2026-09-30",
        "2026-08-31",
        "2026-07-31",
        "2026-06-30",
        "2026-05-31",
        "2026-04-30",
        "2026-03-31",
        "2026-02-28",
        "2026-01-31",
        "2025-12-31",
    )
]


# The last 24 hours before the newest, every one kept (2026-11-24 20:00 is also a daily).
RECENT = [_at("2026-11-25", hour) for hour in (0, 4, 8, 12, 16, 20)] + [_at("2026-11-24")]


def test_two_years_every_four_hours_keep_a_day_and_7_daily_4_weekly_12_monthly_copies() -> None:
    kept = to_keep(TWO_YEARS, UTC)
    assert (len(DAILY), len(set(WEEKLY)), len(set(MONTHLY))) == (7, 4, 12)
    assert kept == set(RECENT) | set(DAILY) | set(WEEKLY) | set(MONTHLY)
    # They overlap: the newest is all four; last Sunday is a day and a week.
    assert len(kept) == 25
    assert max(TWO_YEARS) in kept


def test_rotating_after_every_backup_keeps_what_rotating_once_keeps() -> None:
    # The app rotates after each backup, so the folder never holds the whole history.
    folder: set[datetime] = set()
    for moment in TWO_YEARS:
        folder = to_keep(folder | {moment}, UTC)
        assert moment in folder  # the copy just made is never the one let go
    assert folder == to_keep(TWO_YEARS, UTC)
    assert to_keep(folder, UTC) == folder  # rotating again lets nothing more go


def test_the_newest_backup_is_always_kept() -> None:
    rng = random.Random(9)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(300):
        taken = [
            start + timedelta(minutes=rng.randrange(0, 60 * 24 * 800))
            for _ in range(rng.randrange(1, 60))
        ]
        kept = to_keep(taken, NEW_YORK)
        assert max(taken) in kept
        assert kept <= set(taken)
        assert len(kept) <= 7 + 4 + 12


def test_an_office_closed_for_weeks_still_keeps_seven_daily_copies() -> None:
    before = [_at(f"2026-09-{day:02d}", 12) for day in range(1, 31)] + [_at("2026-10-01", 12)]
    after = [_at(f"2026-11-{day}", 12) for day in (20, 21, 22)]
    kept = to_keep(before + after, UTC)
    daily = {_at(f"2026-11-{day}", 12) for day in (20, 21, 22)} | {
        _at("2026-10-01", 12),
        _at("2026-09-30", 12),
        _at("2026-09-29", 12),
        _at("2026-09-28", 12),
    }
    weekly = {_at("2026-11-22", 12), _at("2026-10-01", 12)} | {
        _at("2026-09-27", 12),  # the Sunday that ends ISO week 39
        _at("2026-09-20", 12),
    }
    monthly = {_at("2026-11-22", 12), _at("2026-10-01", 12), _at("2026-09-30", 12)}
    assert kept == daily | weekly | monthly
    assert len(kept) == 9


def test_days_are_the_offices_local_days() -> None:
    # (A later backup, days on, so that the last day's "keep everything" is not in play.)
    later = datetime(2026, 11, 27, 12, tzinfo=UTC)
    # 15:00 and 03:00 UTC the next day are one evening in New York, two days in UTC.
    evening = [datetime(2026, 11, 23, 15, tzinfo=UTC), datetime(2026, 11, 24, 3, tzinfo=UTC)]
    assert to_keep([*evening, later], NEW_YORK) == {evening[1], later}
    assert to_keep([*evening, later], UTC) == {*evening, later}
    # 09:00 and 12:00 UTC on 31 October are two days and two months in Auckland.
    month_end = [datetime(2026, 10, 31, 9, tzinfo=UTC), datetime(2026, 10, 31, 12, tzinfo=UTC)]
    assert to_keep([*month_end, later], AUCKLAND) == {*month_end, later}
    assert to_keep([*month_end, later], UTC) == {month_end[1], later}


def test_every_backup_of_the_last_day_is_kept() -> None:
    """This afternoon's mistake is undone from this morning's backup, not yesterday's."""
    today = [datetime(2026, 11, 24, hour, tzinfo=UTC) for hour in (8, 12, 16, 20)]
    yesterday = [datetime(2026, 11, 23, hour, tzinfo=UTC) for hour in (8, 12, 16)]
    assert to_keep(yesterday + today, UTC) == {*today, yesterday[-1]}


def test_a_week_that_spans_new_year_is_one_week_but_two_months() -> None:
    daily = [datetime(2026, 12, day, 12, tzinfo=UTC) for day in range(1, 32)] + [
        datetime(2027, 1, day, 12, tzinfo=UTC) for day in (1, 2, 3)
    ]
    kept = to_keep(daily, UTC)
    # ISO week 53 of 2026 runs from Monday 28 December to Sunday 3 January.
    weekly = {datetime(2027, 1, 3, 12, tzinfo=UTC)} | {
        datetime(2026, 12, day, 12, tzinfo=UTC) for day in (27, 20, 13)
    }
    assert weekly <= kept
    assert datetime(2026, 12, 31, 12, tzinfo=UTC) in kept  # December's newest
    assert len(kept) == 7 + 3  # 28 Dec to 3 Jan are the daily ones; one of them a month
    assert to_keep([], UTC) == set()


def test_an_automatic_backups_name_says_when_it_was_taken() -> None:
    taken = datetime(2026, 11, 24, 10, 15, 0, tzinfo=UTC)
    name = automatic_name(taken)
    assert name == "referral-desk-backup-2026-11-24T101500Z.sqlite"
    assert taken_at_from_name(name) == taken
    # A local time is named in UTC: the same instant, the same name.
    zurich = taken.astimezone(timezone(timedelta(hours=1)))
    assert automatic_name(zurich) == name
    # A second backup within the same second gets a serial number and the same time.
    assert taken_at_from_name(name.replace(".sqlite", "-2.sqlite")) == taken


def test_names_round_trip_to_the_second_and_sort_in_time_order() -> None:
    rng = random.Random(4)
    moments = sorted(
        datetime(2020, 1, 1, tzinfo=UTC)
        + timedelta(seconds=rng.randrange(0, 10**9))
        + timedelta(microseconds=rng.randrange(0, 10**6))
        for _ in range(500)
    )
    names = [automatic_name(moment) for moment in moments]
    assert names == sorted(names)
    for moment, name in zip(moments, names, strict=True):
        assert taken_at_from_name(name) == moment.replace(microsecond=0)


def test_other_files_are_not_taken_for_automatic_backups() -> None:
    for name in (
        "before-restore-2026-11-24T101500Z.sqlite",
        "before-upgrade-from-0005-20261124T101500Z.sqlite",
        "referral-desk-backup-2026-11-24T101500Z.sqlite.part",
        "referral-desk-backup-2026-11-24T101500Z.sqlite-journal",
        "referral-desk-backup-2026-11-24.sqlite",
        "copy of referral-desk-backup-2026-11-24T101500Z.sqlite",
        "referral-desk-backup-2026-13-45T996199Z.sqlite",  # the right shape, no such time
        "",
    ):
        assert taken_at_from_name(name) is None, name


def test_a_backup_older_than_two_days_or_none_at_all_is_warned_about() -> None:
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert is_stale(None, now)
    assert not is_stale(now - STALE_AFTER, now)
    assert is_stale(now - STALE_AFTER - timedelta(seconds=1), now)
    assert not is_stale(now - timedelta(hours=3), now)
    assert timedelta(days=2) == STALE_AFTER


def test_a_backup_is_due_once_the_interval_has_passed() -> None:
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert is_due(None, now, 4)
    assert not is_due(now - timedelta(hours=3, minutes=59), now, 4)
    assert is_due(now - timedelta(hours=4), now, 4)
    assert not is_due(now - timedelta(hours=23), now, 24)
    assert is_due(now - timedelta(days=3), now, DEFAULT_INTERVAL_HOURS)


def test_the_interval_is_one_to_twenty_four_hours() -> None:
    assert interval_problem(DEFAULT_INTERVAL_HOURS) is None
    assert interval_problem(1) is None
    assert interval_problem(24) is None
    for hours in (0, -4, 25, 168):
        problem = interval_problem(hours)
        assert problem is not None and "1 to 24 hours" in problem and str(hours) in problem


def test_safety_copies_are_dated_by_the_stamp_in_their_names() -> None:
    from referral_desk.domain.backups import stamp_in_name

    moment = datetime(2026, 11, 24, 10, 15, tzinfo=UTC)
    assert stamp_in_name("before-restore-2026-11-24T101500Z.sqlite") == moment
    assert stamp_in_name("before-upgrade-from-0005-20261124T101500Z.sqlite") == moment
    assert stamp_in_name("office-copy.sqlite") is None
    assert stamp_in_name("before-restore-2026-13-45T101500Z.sqlite") is None
