"""Benchmark: the case list at scale, through the app's own service and through raw sqlite3.

Seeds a throwaway database with demo cases (or reuses one given with --data-dir), then times
`referral_desk.services.case_list.fetch_page` for: opening the database plus the first page,
search-as-you-type (one fetch per keystroke), the sorts, the status/overdue filters and a page
40 pages deep. Each scenario is also run as a hand-written query through a plain `sqlite3`
connection doing the same join, filter, ORDER BY and LIMIT 257 (the same ORDER BY expressions
as the app, so the ratio shows the app's own overhead, not a different query plan).

Every figure is the median of --repeat runs (after one untimed warm-up); p90 and max are in the
JSON. Targets (first page and every search): under 100 ms and within 3x of raw sqlite3.

Run it (it never touches the real user data folder):

    .venv/bin/python benchmarks/case_list.py --cases 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy

from measuring import log, stats
from referral_desk.db.engine import Database
from referral_desk.db.types import to_storage
from referral_desk.domain import clock
from referral_desk.domain.clock import ClockState
from referral_desk.domain.enums import CaseStatus
from referral_desk.paths import AppPaths, resolve_paths
from referral_desk.services import demo
from referral_desk.services.case_list import PAGE_SIZE, CaseQuery, Page, SortKey, fetch_page
from referral_desk.services.database import open_database
from referral_desk.services.search_index import match_expression

LIMIT = PAGE_SIZE  # 256 rows shown, 257 fetched to know whether there is a next page
TARGET_MS = 100.0
TARGET_RATIO = 3.0
DEEP_PAGES = 40
TYPED = ("müller", "rd-2026-0001", "leuk", "ива", "dr. hart")

_SELECT = (
    "SELECT c.id, c.reference, p.given_names, p.family_name, p.birth_date, c.cancer_type, "
    "r.name, c.urgency, c.status, c.received_at, c.records_complete_at, c.opinion_at, "
    "c.paused_seconds, c.hold_since, c.treatment_start, c.updated_at, c.updated_by "
    "FROM cases c JOIN patients p ON p.id = c.patient_id "
    "LEFT JOIN referrers r ON r.id = c.referrer_id "
)
_DUE_ASC = "ORDER BY c.clock_sort, coalesce(c.due_at, ''), c.id"
_DUE_DESC = "ORDER BY c.clock_sort DESC, coalesce(c.due_at, '') DESC, c.id DESC"
_RUNNING = clock.CLOCK_SORT_ORDER[ClockState.RUNNING]

Runner = Callable[[], Sequence[int]]  # one measured run; returns the ids of the rows it got


@dataclass(frozen=True)
class Scenario:
    name: str
    targeted: bool  # the targets apply (first page, search)
    app: Runner
    raw: Runner
    cleanup: Callable[[], None] = lambda: None  # untimed, after each app + raw pair


@dataclass(frozen=True)
class Result:
    name: str
    targeted: bool
    app_ms: list[float]
    raw_ms: list[float]
    rows: int
    same_rows: bool

    @property
    def app_median(self) -> float:
        return statistics.median(self.app_ms)

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw_ms)

    @property
    def ratio(self) -> float:
        return self.app_median / self.raw_median if self.raw_median > 0 else float("inf")

    @property
    def verdict(self) -> str:
        if not self.targeted:
            return "n/a"
        misses = []
        if self.app_median >= TARGET_MS:
            misses.append(f">={TARGET_MS:g} ms")
        if self.ratio > TARGET_RATIO:
            misses.append(f">{TARGET_RATIO:g}x raw")
        return "yes" if not misses else "NO (" + ", ".join(misses) + ")"

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "targeted": self.targeted,
            "app_ms": stats(self.app_ms),
            "raw_ms": stats(self.raw_ms),
            "ratio": round(self.ratio, 2),
            "target_met": None if not self.targeted else self.verdict == "yes",
            "rows": self.rows,
            "same_rows_as_raw": self.same_rows,
        }


def _case_count(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as connection:
        try:
            return int(connection.execute("select count(*) from cases").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


def seed(paths: AppPaths, cases: int, seed_value: int) -> tuple[int, float | None]:
    """Make sure the database holds at least `cases` cases; returns (count, seconds or None)."""
    existing = _case_count(paths.database)
    if existing >= cases:
        log(f"reusing {paths.database} ({existing:,} cases)")
        return existing, None
    db = open_database(paths)
    try:
        missing = cases - existing
        log(f"seeding {missing:,} demo cases into {paths.database} ...")
        started = time.perf_counter()
        demo.generate(db, missing, seed=seed_value)
        elapsed = time.perf_counter() - started
    finally:
        db.dispose()
    return _case_count(paths.database), elapsed


def _ids(page: Page) -> list[int]:
    return [row.id for row in page.rows]


def _raw_ids(rows: list[tuple[Any, ...]]) -> list[int]:
    return [int(row[0]) for row in rows[:LIMIT]]


def build_scenarios(paths: AppPaths) -> tuple[list[Scenario], Callable[[], None]]:
    """The scenarios, and a function closing what they hold open."""
    db = open_database(paths)
    raw = sqlite3.connect(paths.database)

    def app_runner(query: CaseQuery, after: tuple[Any, ...] | None = None) -> Runner:
        return lambda: _ids(fetch_page(db, query, after=after, limit=LIMIT))

    def raw_runner(sql: str, params: Sequence[Any] | Callable[[], Sequence[Any]] = ()) -> Runner:
        def run() -> Sequence[int]:
            bound = params() if callable(params) else params
            return _raw_ids(raw.execute(sql, bound).fetchall())

        return run

    held: list[
        Database | sqlite3.Connection
    ] = []  # what the open-database scenario opened, closed untimed

    def open_and_first_page() -> Sequence[int]:
        opened = open_database(paths)
        held.append(opened)
        return _ids(fetch_page(opened, CaseQuery(), limit=LIMIT))

    def raw_open_and_first_page() -> Sequence[int]:
        connection = sqlite3.connect(paths.database)
        held.append(connection)
        return _raw_ids(connection.execute(f"{_SELECT}{_DUE_ASC} LIMIT ?", (LIMIT + 1,)).fetchall())

    def close_held() -> None:
        while held:
            item = held.pop()
            if isinstance(item, sqlite3.Connection):
                item.close()
            else:
                item.dispose()

    scenarios = [
        Scenario(
            "open database + first page",
            True,
            open_and_first_page,
            raw_open_and_first_page,
            close_held,
        )
    ]

    seen: set[str] = set()
    for typed in TYPED:
        for end in range(1, len(typed) + 1):
            text = typed[:end]
            if text in seen:
                continue
            seen.add(text)
            expression = match_expression(text)
            if expression is None:
                continue
            scenarios.append(
                Scenario(
                    f"search {text!r}",
                    True,
                    app_runner(CaseQuery(text=text)),
                    raw_runner(
                        f"{_SELECT}WHERE c.id IN (SELECT rowid FROM case_search "
                        f"WHERE case_search MATCH ?) {_DUE_ASC} LIMIT ?",
                        (expression, LIMIT + 1),
                    ),
                )
            )

    scenarios += [
        Scenario(
            "sort by due (asc)",
            False,
            app_runner(CaseQuery(sort=SortKey.DUE)),
            raw_runner(f"{_SELECT}{_DUE_ASC} LIMIT ?", (LIMIT + 1,)),
        ),
        Scenario(
            "sort by due (desc)",
            False,
            app_runner(CaseQuery(sort=SortKey.DUE, descending=True)),
            raw_runner(f"{_SELECT}{_DUE_DESC} LIMIT ?", (LIMIT + 1,)),
        ),
        Scenario(
            "sort by patient",
            False,
            app_runner(CaseQuery(sort=SortKey.PATIENT)),
            raw_runner(f"{_SELECT}ORDER BY p.name_folded, c.id LIMIT ?", (LIMIT + 1,)),
        ),
        Scenario(
            "sort by received (desc)",
            False,
            app_runner(CaseQuery(sort=SortKey.RECEIVED, descending=True)),
            raw_runner(f"{_SELECT}ORDER BY c.received_at DESC, c.id DESC LIMIT ?", (LIMIT + 1,)),
        ),
        Scenario(
            "sort by balance (desc)",
            False,
            app_runner(CaseQuery(sort=SortKey.BALANCE, descending=True)),
            raw_runner(f"{_SELECT}ORDER BY c.balance_minor DESC, c.id DESC LIMIT ?", (LIMIT + 1,)),
        ),
        Scenario(
            "unpaid only",
            False,
            app_runner(CaseQuery(unpaid_only=True)),
            raw_runner(f"{_SELECT}WHERE c.balance_minor > 0 {_DUE_ASC} LIMIT ?", (LIMIT + 1,)),
        ),
    ]
    for status in (CaseStatus.CLOSED, CaseStatus.UNDER_REVIEW):
        scenarios.append(
            Scenario(
                f"filter status = {status.value}",
                False,
                app_runner(CaseQuery(statuses=frozenset({status}))),
                raw_runner(
                    f"{_SELECT}WHERE c.status IN (?) {_DUE_ASC} LIMIT ?",
                    (status.value, LIMIT + 1),
                ),
            )
        )
    scenarios.append(
        Scenario(
            "overdue only",
            False,
            app_runner(CaseQuery(overdue_only=True)),
            raw_runner(
                f"{_SELECT}WHERE c.clock_sort = ? AND c.due_at < ? {_DUE_ASC} LIMIT ?",
                lambda: (_RUNNING, to_storage(datetime.now(UTC)), LIMIT + 1),
            ),
        )
    )

    cursor: tuple[Any, ...] | None = None
    for _ in range(DEEP_PAGES - 1):  # walk to the cursor of page 40 (untimed)
        cursor = fetch_page(db, CaseQuery(), after=cursor, limit=LIMIT).next_cursor
        if cursor is None:
            break
    if cursor is not None:
        scenarios.append(
            Scenario(
                f"deep page ({DEEP_PAGES}th page, due sort)",
                False,
                app_runner(CaseQuery(), after=cursor),
                raw_runner(
                    f"{_SELECT}WHERE (c.clock_sort, coalesce(c.due_at, ''), c.id) > (?, ?, ?) "
                    f"{_DUE_ASC} LIMIT ?",
                    (*cursor, LIMIT + 1),
                ),
            )
        )
    else:
        log(f"fewer than {DEEP_PAGES} pages of cases: deep page scenario skipped")

    def close() -> None:
        raw.close()
        db.dispose()

    return scenarios, close


def measure(scenario: Scenario, repeat: int) -> Result:
    app_ids = list(scenario.app())  # warm-up, and the rows to compare
    raw_ids = list(scenario.raw())
    scenario.cleanup()
    app_ms: list[float] = []
    raw_ms: list[float] = []
    for _ in range(repeat):  # interleaved, so machine noise hits both sides alike
        started = time.perf_counter()
        scenario.app()
        app_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        scenario.raw()
        raw_ms.append((time.perf_counter() - started) * 1000)
        scenario.cleanup()
    return Result(
        scenario.name, scenario.targeted, app_ms, raw_ms, len(app_ids), app_ids == raw_ids
    )


def format_table(results: list[Result]) -> str:
    header = ("scenario", "app median ms", "raw sqlite3 median ms", "ratio", "target met?")
    body = [
        (
            r.name + ("" if r.same_rows else " [rows differ!]"),
            f"{r.app_median:.1f}",
            f"{r.raw_median:.1f}",
            f"{r.ratio:.2f}x",
            r.verdict,
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(w) if i in (0, 4) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return " | ".join(padded).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed (100000)")
    parser.add_argument("--seed", type=int, default=1, help="demo data seed (1)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per scenario (7)")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="data folder (default: a new temp folder)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.repeat < 1:
        parser.error("--cases and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="referral-desk-bench-"))
    paths = resolve_paths(data_dir)  # explicit folder: never the real user data folder
    count, seeding_s = seed(paths, args.cases, args.seed)
    if seeding_s is not None:
        log(f"seeded in {seeding_s:.1f} s")

    scenarios, close = build_scenarios(paths)
    results: list[Result] = []
    try:
        for scenario in scenarios:
            log(f"measuring {scenario.name} ...")
            results.append(measure(scenario, args.repeat))
    finally:
        close()

    seeding = "reused existing database" if seeding_s is None else f"{seeding_s:.1f} s"
    print(
        f"Case list benchmark: {count:,} cases, seed {args.seed}, median of {args.repeat} runs; "
        f"seeding: {seeding}"
    )
    print(f"targets (first page, search): < {TARGET_MS:g} ms and <= {TARGET_RATIO:g}x raw sqlite3")
    print()
    print(format_table(results))
    print()

    report = {
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
        },
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "cases": count,
        "cases_requested": args.cases,
        "seed": args.seed,
        "repeat": args.repeat,
        "seeding_s": None if seeding_s is None else round(seeding_s, 2),
        "data_dir": str(paths.data_dir),
        "targets": {"ms": TARGET_MS, "ratio": TARGET_RATIO},
        "results": [r.as_json() for r in results],
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    log(f"data folder kept for reuse: --data-dir {paths.data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
