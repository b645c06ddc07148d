"""`referral-desk`: the GUI by default, and the same services for administrators and scripts."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from referral_desk import __version__
from referral_desk.db.integrity import wal_reset_affected
from referral_desk.domain.enums import CaseStatus
from referral_desk.paths import DATA_DIR_ENV, AppPaths, resolve_paths

if TYPE_CHECKING:
    from referral_desk.db.engine import Database

EXIT_OK, EXIT_BAD = 0, 1


def _month_bounds(text: str) -> tuple[datetime, datetime]:
    try:
        start_local = datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month; write it as YYYY-MM") from None
    end_local = start_local.replace(
        year=start_local.year + start_local.month // 12, month=start_local.month % 12 + 1
    )
    # The office's month runs from local midnight to local midnight.
    return start_local.astimezone().astimezone(UTC), end_local.astimezone().astimezone(UTC)


def _status(text: str) -> CaseStatus:
    wanted = text.strip().lower().replace(" ", "_").replace("-", "_")
    for status in CaseStatus:
        if wanted in (status.value, status.label.lower().replace(" ", "_")):
            return status
    choices = ", ".join(s.value for s in CaseStatus)
    raise argparse.ArgumentTypeError(f"unknown status '{text}' (choose from {choices})")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("give at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"folder holding the database, backups and logs (or set {DATA_DIR_ENV})",
    )
    parser = argparse.ArgumentParser(
        prog="referral-desk",
        description="Referral Desk: second-opinion case management. "
        "Without a command, opens the application window.",
        parents=[data_dir],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the window on a throwaway database filled with demo cases",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=[data_dir], help="add realistic invented cases to the database"
    )
    demo.add_argument("--cases", type=_positive, default=500, metavar="N")
    demo.add_argument("--seed", type=int, default=1, metavar="S")

    cases = commands.add_parser("cases", parents=[data_dir], help="work with cases")
    case_commands = cases.add_subparsers(dest="case_command", metavar="ACTION", required=True)
    listing = case_commands.add_parser(
        "list", parents=[data_dir], help="list cases (most urgent first)"
    )
    listing.add_argument(
        "--status",
        type=_status,
        action="append",
        metavar="S",
        help="only this status (repeat for several)",
    )
    listing.add_argument(
        "--month", type=_month_bounds, metavar="YYYY-MM", help="only cases received in this month"
    )
    listing.add_argument("--overdue", action="store_true", help="only overdue cases")
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")

    commands.add_parser(
        "check",
        parents=[data_dir],
        help="check the database: schema version, integrity, foreign keys (exit 1 when bad)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `referral-desk cases list | head`: the reader has gone
        sys.stderr.close()
        return EXIT_OK


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    paths = resolve_paths(getattr(args, "data_dir", None))
    if args.command is None:
        return _run_gui(paths, demo=args.demo)
    if args.command == "check":
        return _check(paths)

    from referral_desk.services.database import open_database
    from referral_desk.services.errors import ServiceError

    try:
        db = open_database(paths)
    except ServiceError as exc:
        print(f"referral-desk: {exc}", file=sys.stderr)
        return EXIT_BAD
    try:
        if args.command == "demo":
            return _demo(db, args.cases, args.seed)
        return _list_cases(db, args)
    finally:
        db.dispose()


def _run_gui(paths: AppPaths, *, demo: bool) -> int:
    from referral_desk.ui.app import run

    if not demo:
        return run(paths)
    # A fresh folder each time, removed afterwards: the demo never touches the office's data.
    with tempfile.TemporaryDirectory(
        prefix="referral-desk-demo-", ignore_cleanup_errors=True
    ) as folder:
        return run(resolve_paths(folder), demo=True)


def _demo(db: Database, count: int, seed: int) -> int:
    from referral_desk.services import demo

    def progress(done: int, total: int) -> None:
        print(f"\r{done:,} of {total:,} cases", end="", file=sys.stderr, flush=True)

    result = demo.generate(db, count, seed=seed, progress=progress)
    print(file=sys.stderr)
    print(f"Added {result.cases:,} demo cases for {result.patients:,} new patients.")
    return EXIT_OK


def _list_cases(db: Database, args: argparse.Namespace) -> int:
    from referral_desk.services.case_export import COLUMNS, iter_records, neutralise
    from referral_desk.services.case_list import CaseQuery

    received_from, received_before = args.month or (None, None)
    query = CaseQuery(
        statuses=frozenset(args.status or ()),
        overdue_only=args.overdue,
        received_from=received_from,
        received_before=received_before,
    )
    records = iter_records(db, query)
    out = sys.stdout
    if args.format == "json":
        out.write("[")
        for i, rec in enumerate(records):
            out.write(("," if i else "") + "\n  " + json.dumps(rec, ensure_ascii=False))
        out.write("\n]\n")
    elif args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for rec in records:
            writer.writerow({k: neutralise(v) for k, v in rec.items()})
    else:
        shown = ("reference", "patient", "cancer_type", "urgency", "status", "due", "time_left")
        widths = {
            "reference": 14,
            "patient": 28,
            "cancer_type": 20,
            "urgency": 8,
            "status": 17,
            "due": 17,
            "time_left": 20,
        }
        out.write(
            "  ".join(_cell(c.replace("_", " ").upper(), widths[c]) for c in shown).rstrip() + "\n"
        )
        n = 0
        for rec in records:
            n += 1
            out.write("  ".join(_cell(rec[c], widths[c]) for c in shown).rstrip() + "\n")
        out.write(f"{n:,} case{'s' if n != 1 else ''}\n")
    return EXIT_OK


def _cell(text: str, width: int) -> str:
    """Cut and pad to a terminal width; CJK characters take two columns."""
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)


def _check(paths: AppPaths) -> int:
    from referral_desk.db.integrity import inspect_file
    from referral_desk.db.migrate import head_revision

    report = inspect_file(paths.database)
    print(f"Database:        {paths.database}")
    print(f"SQLite library:  {report.sqlite_version}")
    if wal_reset_affected(report.sqlite_version):
        print("  Note: this SQLite version has the WAL-reset race (sqlite.org/wal.html).")
        print("  It is rare, but until a fixed SQLite ships, avoid heavy writing from two")
        print("  programs at once (e.g. a large `demo` import while staff save cases).")
    if report.error:
        print(f"Problem:         {report.error}")
        return EXIT_BAD
    head = head_revision()
    revision = report.schema_revision or "none (not a Referral Desk database?)"
    note = "" if report.schema_revision == head else f" (this version expects {head})"
    print(f"Schema version:  {revision}{note}")
    print(f"Integrity:       {'ok' if report.integrity == ['ok'] else 'DAMAGED'}")
    for line in report.integrity if report.integrity != ["ok"] else []:
        print(f"  {line}")
    print(f"Foreign keys:    {'ok' if not report.foreign_key_problems else 'BROKEN'}")
    for line in report.foreign_key_problems:
        print(f"  {line}")
    healthy = report.ok and report.schema_revision == head
    print("Result:          " + ("healthy" if healthy else "PROBLEMS FOUND"))
    return EXIT_OK if healthy else EXIT_BAD


if __name__ == "__main__":
    raise SystemExit(main())
