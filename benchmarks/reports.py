"""Benchmark: the monthly report of a 10,000-case month in a 100,000-case office.

Seeds a throwaway database (or reuses one given with --data-dir) with --cases demo cases
(100,000) received over the --months months (14) that end at midnight on the 1st of this month,
as if the report ran on the morning of the 1st; the month just ended is then the busiest.
`demo.generate` puts more cases in recent months, but over its usual 18 months the busiest of
100,000 holds about 7,000; over 14 months (`demo.generate(..., months=14)`) it holds about
10,200, the month before about 8,300 and the same month a year earlier about 6,500 (so both
comparison months are real reads too). Nothing else about the demo data changes.

For the busiest month (or --month), each step is the median of --repeat runs (5) after one
untimed warm-up; p90, min and max are in the JSON:

- the figures on screen: `services.reports.monthly_report` (the month's case list, its
  figures, the month before and a year earlier, weeks and turnaround histogram); < 1 s;
- PDF: `services.report_pdf.pdf_bytes` of that report; < 5 s;
- Excel: `services.report_export.xlsx_bytes`; < 5 s;
- CSV: `services.report_export.csv_bytes` (no target);
- the CLI, `referral-desk report monthly YYYY-MM --out FILE.pdf` (and `.xlsx`) in a fresh
  process, as a scheduled job runs it: Python's start-up, imports, opening the database,
  reading, rendering, the atomic write and the page count it prints (no target).

The exports start from a report already read, as the Reports screen's Export does. Memory:
for the steps run in this process, the Python heap's peak over the warm-up run above what was
allocated before it (tracemalloc; the report itself counts for the figures step, not for the
exports); for the CLI, the fresh process's own peak resident size (VmHWM), everything
included. The outputs are read back untimed: CSV rows and Excel rows against the month's
cases, the PDF's pages with pypdf.

Run it (it never touches the real user data folder; seeding 100,000 cases takes about 40 s here
and the rest under two minutes; the folder it names at the end can be passed again to skip seeding):

    .venv/bin/python benchmarks/reports.py
    .venv/bin/python benchmarks/reports.py --data-dir /tmp/referral-desk-bench-XXXX
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import io
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import reportlab
from pypdf import PdfReader

from measuring import MB, log, maxrss_mb, stats, table
from referral_desk.db.engine import Database
from referral_desk.domain.reports import Month, MonthlyReport
from referral_desk.paths import AppPaths, resolve_paths
from referral_desk.services import demo, report_export, report_pdf, reports
from referral_desk.services.database import open_database
from referral_desk.services.office import system_locale

TARGETS_S = {"figures": 1.0, "pdf": 5.0, "xlsx": 5.0}


@dataclass
class Step:
    key: str
    name: str
    seconds: list[float] = field(default_factory=list)
    heap_peak_mb: float | None = None  # in this process: the Python heap's peak above before
    peak_rss_mb: float | None = None  # in a fresh process: its peak resident size
    output: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def target(self) -> float | None:
        return TARGETS_S.get(self.key)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "n/a"
        return "yes" if self.median < self.target else f"NO (>= {self.target:g} s)"

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "seconds": stats(self.seconds),
            "target_s": self.target,
            "target_met": None if self.target is None else self.verdict == "yes",
            "python_heap_peak_mb": _rounded(self.heap_peak_mb),
            "process_peak_rss_mb": _rounded(self.peak_rss_mb),
            "output": self.output,
            **self.detail,
        }

    @property
    def memory(self) -> str:
        if self.peak_rss_mb is not None:
            return f"{self.peak_rss_mb:.0f} peak RSS"
        return "n/a" if self.heap_peak_mb is None else f"{self.heap_peak_mb:.0f} heap peak"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# The database


def _case_count(database: Path) -> int:
    if not database.exists():
        return 0
    with contextlib.closing(sqlite3.connect(database)) as connection:
        try:
            return int(connection.execute("select count(*) from cases").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


def data_ends() -> datetime:
    """Midnight on the 1st of this month, local time: the demo office's 'now'."""
    local = datetime.now().astimezone()
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def seed(paths: AppPaths, cases: int, months: int, seed_value: int) -> tuple[int, float | None]:
    """Make sure the database holds at least `cases` cases; returns (count, seconds or None)."""
    existing = _case_count(paths.database)
    if existing >= cases:
        log(f"reusing {paths.database} ({existing:,} cases)")
        return existing, None
    db = open_database(paths)
    try:
        missing = cases - existing
        log(f"seeding {missing:,} demo cases over {months} months into {paths.database} ...")
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done % 10_000 == 0 or done == total:
                log(f"  {done:,} of {total:,}")

        demo.generate(
            db, missing, seed=seed_value, now=data_ends(), months=months, progress=progress
        )
        elapsed = time.perf_counter() - started
    finally:
        db.dispose()
    return _case_count(paths.database), elapsed


def busiest_month(database: Path) -> Month:
    """The month with the most cases received (UTC months: close enough to choose one)."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        found = connection.execute(
            "SELECT substr(received_at, 1, 7) AS m FROM cases GROUP BY m "
            "ORDER BY count(*) DESC, m DESC LIMIT 1"
        ).fetchone()
    if found is None:
        raise SystemExit("the database holds no cases")
    return Month.parse(found[0])


# Timing


def measure(step: Step, run: Callable[[], Any], repeat: int) -> Any:
    """One untimed warm-up, whose output is returned to check, then `repeat` timed runs.

    Memory is the Python heap's peak over the warm-up above what was allocated before it
    (tracemalloc: the resident size says little here, where seeding or the step before has
    already grown the process, and tracing slows the run, so it is not the timed one).
    """
    log(f"measuring {step.name} ...")
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        first = run()
        step.heap_peak_mb = (tracemalloc.get_traced_memory()[1] - base) / MB
    finally:
        tracemalloc.stop()
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run()
        step.seconds.append(time.perf_counter() - started)
    return first


# The CLI in a fresh process that reports its own peak resident size on the way out. (A
# child's ru_maxrss is no use: Linux carries the parent's peak over into it at exec.)
_CLI_CHILD = """
import sys
from pathlib import Path
from referral_desk.cli import main
code = main(sys.argv[1:])
for line in Path("/proc/self/status").read_text().splitlines() if sys.platform == "linux" else []:
    if line.startswith("VmHWM:"):
        print("VmHWM", line.split()[1], file=sys.stderr)
sys.exit(code)
"""


def measure_cli(step: Step, command: Sequence[str], repeat: int) -> str:
    """`referral-desk COMMAND` in a fresh process, as a scheduled job runs it: start-up and
    imports included. Memory is the largest of the runs' peak resident sizes."""
    log(f"measuring {step.name} ...")
    argv = [sys.executable, "-c", _CLI_CHILD, *command]
    printed = ""
    peaks: list[float] = []
    for run in range(repeat + 1):  # the first warms the disk cache, untimed
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"referral-desk {' '.join(command)} failed: {done.stderr}")
        printed = done.stdout.strip()
        peaks += [
            int(line.split()[1]) / 1024
            for line in done.stderr.splitlines()
            if line.startswith("VmHWM ")
        ]
        if run:
            step.seconds.append(elapsed)
    step.peak_rss_mb = max(peaks) if peaks else None
    return printed


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


def run_steps(
    paths: AppPaths, month: Month, repeat: int, locale: str, work: Path
) -> tuple[list[Step], MonthlyReport, dict[str, Any]]:
    db: Database = open_database(paths)
    try:
        now = datetime.now(UTC)
        figures = Step("figures", "figures on screen: reports.monthly_report")
        report: MonthlyReport = measure(
            figures, lambda: reports.monthly_report(db, month, now=now), repeat
        )
        cases = len(report.rows)
        figures.output = (
            f"{cases:,} cases (month before {report.previous.received:,}, "
            f"a year earlier {report.year_before.received:,})"
        )

        pdf = Step("pdf", "PDF: report_pdf.pdf_bytes")
        content = measure(pdf, lambda: report_pdf.pdf_bytes(report, locale=locale), repeat)
        pages = len(PdfReader(io.BytesIO(content)).pages)
        pdf.output = f"{pages:,} pages, {_size(len(content))}"
        pdf.detail = {"pages": pages, "bytes": len(content)}

        xlsx = Step("xlsx", "Excel: report_export.xlsx_bytes")
        content = measure(xlsx, lambda: report_export.xlsx_bytes(report), repeat)
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        sheet_rows = {sheet.title: sheet.max_row for sheet in book.worksheets}
        book.close()
        case_rows = max(sheet_rows.values()) - 1  # the header
        xlsx.output = f"{_size(len(content))}, {case_rows:,} case rows"
        xlsx.detail = {"bytes": len(content), "sheet_rows": sheet_rows}

        csv_step = Step("csv", "CSV: report_export.csv_bytes")
        content = measure(csv_step, lambda: report_export.csv_bytes(report), repeat)
        csv_rows = len(list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))) - 1
        csv_step.output = f"{_size(len(content))}, {csv_rows:,} case rows"
        csv_step.detail = {"bytes": len(content), "rows": csv_rows}
    finally:
        db.dispose()

    cli_steps = []
    for kind in ("pdf", "xlsx"):
        target = work / f"monthly-report-{month.iso}.{kind}"
        command = ["report", "monthly", month.iso, "--out", str(target), "--force"]
        step = Step(f"cli-{kind}", f"CLI, fresh process: report monthly --out FILE.{kind}")
        printed = measure_cli(step, [*command, "--data-dir", str(paths.data_dir)], repeat)
        step.output = printed.replace(str(target), target.name)
        cli_steps.append(step)

    checks = {
        "csv_rows_match_cases": csv_rows == cases,
        "xlsx_rows_match_cases": case_rows == cases,
    }
    return [figures, pdf, xlsx, csv_step, *cli_steps], report, checks


# Output


def format_table(steps: list[Step]) -> str:
    header = ("step", "median s", "p90 s", "target", "met?", "memory MB", "output")
    body = [
        (
            s.name,
            f"{s.median:.2f}",
            f"{stats(s.seconds)['p90']:.2f}",
            f"< {s.target:g} s" if s.target is not None else "-",
            s.verdict,
            s.memory,
            s.output,
        )
        for s in steps
    ]
    return table(header, body, left=(0, 3, 4, 6))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed (100000)")
    parser.add_argument("--months", type=int, default=14, help="months the seeded cases span (14)")
    parser.add_argument("--seed", type=int, default=1, help="demo data seed (1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per step (5)")
    parser.add_argument(
        "--month", type=Month.parse, default=None, help="YYYY-MM (default: the busiest month)"
    )
    parser.add_argument(
        "--locale", default=None, help="locale of the PDF's amounts (default: this computer's)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="data folder (default: a new temp folder)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if min(args.cases, args.repeat, args.months) < 1:
        parser.error("--cases, --months and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="referral-desk-bench-"))
    paths = resolve_paths(data_dir)  # explicit folder: never the real user data folder
    count, seeding_s = seed(paths, args.cases, args.months, args.seed)
    if seeding_s is not None:
        log(f"seeded in {seeding_s:.1f} s")
    month = args.month or busiest_month(paths.database)
    locale = args.locale or system_locale()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="referral-desk-report-") as work:
        steps, report, checks = run_steps(paths, month, args.repeat, locale, Path(work))
    elapsed = time.perf_counter() - started
    peak_mb = maxrss_mb()

    seeding = "reused existing database" if seeding_s is None else f"{seeding_s:.1f} s"
    print(
        f"Monthly report benchmark: {count:,} cases, {month.label} holds {len(report.rows):,}; "
        f"median of {args.repeat} runs after a warm-up; seeding: {seeding}; took {elapsed:.0f} s"
    )
    print(
        f"targets: figures on screen < {TARGETS_S['figures']:g} s, PDF < {TARGETS_S['pdf']:g} s, "
        f"Excel < {TARGETS_S['xlsx']:g} s; locale {locale}"
    )
    print()
    print(format_table(steps))
    print()
    print(
        f"peak resident size of the whole run: {peak_mb:.0f} MB; CSV rows == cases: "
        f"{'yes' if checks['csv_rows_match_cases'] else 'NO'}; Excel case rows == cases: "
        f"{'yes' if checks['xlsx_rows_match_cases'] else 'NO'}"
    )
    print()

    result = {
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
        },
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "reportlab": reportlab.Version,
        "openpyxl": openpyxl.__version__,
        "cases": count,
        "cases_requested": args.cases,
        "months": args.months,
        "seed": args.seed,
        "month": month.iso,
        "month_cases": len(report.rows),
        "previous_month_cases": report.previous.received,
        "year_before_cases": report.year_before.received,
        "locale": locale,
        "repeat": args.repeat,
        "seeding_s": None if seeding_s is None else round(seeding_s, 2),
        "elapsed_s": round(elapsed, 1),
        "data_dir": str(paths.data_dir),
        "targets_s": TARGETS_S,
        "peak_rss_mb": round(peak_mb, 1),
        "checks": checks,
        "results": [s.as_json() for s in steps],
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    log(f"data folder kept for reuse: --data-dir {paths.data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
