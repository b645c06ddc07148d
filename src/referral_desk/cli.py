"""`referral-desk`: the GUI by default, and the same services for administrators and scripts."""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import os
import re
import signal
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from referral_desk import __version__
from referral_desk.db.integrity import wal_reset_affected
from referral_desk.domain.access import Actor, Permission, UserRole
from referral_desk.domain.costs import PaymentMethod
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.letters import LetterKind
from referral_desk.domain.reports import (
    Month,
    ReportError,
    check_begun,
    last_complete_month,
    month_bounds,
)
from referral_desk.domain.specialists import Role
from referral_desk.domain.text import size_text
from referral_desk.paths import DATA_DIR_ENV, AppPaths, resolve_paths

if TYPE_CHECKING:
    from referral_desk.db.engine import Database
    from referral_desk.services.accounts import UserInfo
    from referral_desk.services.backups import BackupSummary
    from referral_desk.services.case_state import CaseChange
    from referral_desk.services.costs import CaseCosts, LineInfo
    from referral_desk.services.documents import ChaseRow
    from referral_desk.services.specialists import SpecialistInfo

EXIT_OK, EXIT_BAD = 0, 1


def _month(text: str) -> Month:
    """YYYY-MM, or a ReportError naming what was typed and the form expected."""
    try:
        return Month.parse(text)
    except ReportError as exc:
        detail = str(exc)
        if detail.startswith("'"):  # already names the text and the form
            raise
        why = detail[0].lower() + detail[1:].rstrip(".")
        raise ReportError(
            f"'{text.strip()}' is not a month ({why}); write it as YYYY-MM, e.g. 2026-10."
        ) from None


def _month_bounds(text: str) -> tuple[datetime, datetime]:
    """The month's [start, end) in UTC; the office's month runs from local midnight."""
    try:
        return month_bounds(_month(text), None)
    except ReportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _status(text: str) -> CaseStatus:
    wanted = text.strip().lower().replace(" ", "_").replace("-", "_")
    for status in CaseStatus:
        if wanted in (status.value, status.label.lower().replace(" ", "_")):
            return status
    choices = ", ".join(s.value for s in CaseStatus)
    raise argparse.ArgumentTypeError(f"unknown status '{text}' (choose from {choices})")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date; write it as YYYY-MM-DD"
        ) from None


def _method(text: str) -> PaymentMethod:
    wanted = text.strip().lower().replace("-", "_").replace(" ", "_")
    for method in PaymentMethod:
        if wanted == method.value:
            return method
    choices = ", ".join(m.value for m in PaymentMethod)
    raise argparse.ArgumentTypeError(f"unknown payment method '{text}' (choose from {choices})")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("give at least 1")
    return value


def _letter_kind(text: str) -> LetterKind:
    wanted = text.strip().lower().replace("-", "_").replace(" ", "_")
    for kind in LetterKind:
        if wanted == kind.value:
            return kind
    choices = ", ".join(_kind_name(k) for k in LetterKind)
    raise argparse.ArgumentTypeError(f"unknown letter kind '{text}' (choose from {choices})")


def _kind_name(kind: LetterKind) -> str:
    """As typed on the command line: records-request."""
    return kind.value.replace("_", "-")


_LETTER_NOUNS = {
    LetterKind.SUMMARY: ("patient summary letter", "patient summary letters"),
    LetterKind.REFERRER: ("referring doctor's copy", "referring doctor's copies"),
    LetterKind.RECORDS_REQUEST: ("records request", "records requests"),
    LetterKind.ESTIMATE: ("cost estimate", "cost estimates"),
}


def _letter_noun(kind: LetterKind, count: int = 1) -> str:
    """What the messages call a letter of this kind: "3 records requests"."""
    one, many = _LETTER_NOUNS[kind]
    return one if count == 1 else many


def _letter_ids(text: str) -> list[int]:
    """A letter number, or a range of them as a batch prints it (1201-1240)."""
    first, dash, last = text.strip().partition("-")
    try:
        low = int(first)
        high = int(last) if dash else low
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a letter number or a range like 1201-1240"
        ) from None
    if low < 1 or high < low:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a letter number or a range like 1201-1240"
        )
    if high - low >= 100_000:
        raise argparse.ArgumentTypeError(f"'{text}' spans more than 100,000 letters")
    return list(range(low, high + 1))


def build_parser() -> argparse.ArgumentParser:
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"folder holding the database, backups and logs (or set {DATA_DIR_ENV})",
    )
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument(
        "--user",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="who runs the command: asks for their password at a terminal, otherwise reads "
        "it from the first line of standard input",
    )
    office = [data_dir, who]  # every command that reads or changes the office's data
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
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation without a screen (database, letter, window, backup) in "
        "an empty --data-dir or a temporary folder, never the office's data; exit 1 on a fault",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=office, help="add realistic invented cases to the database"
    )
    demo.add_argument("--cases", type=_positive, default=500, metavar="N")
    demo.add_argument("--seed", type=int, default=1, metavar="S")

    cases = commands.add_parser("cases", parents=office, help="work with cases")
    case_commands = cases.add_subparsers(dest="case_command", metavar="ACTION", required=True)
    listing = case_commands.add_parser(
        "list", parents=office, help="list cases (most urgent first)"
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
    listing.add_argument(
        "--incomplete", action="store_true", help="only cases with required documents missing"
    )
    listing.add_argument(
        "--unpaid", action="store_true", help="only cases with charges not fully paid"
    )
    listing.add_argument(
        "--awaiting-approval",
        action="store_true",
        help="only open cases with extra tests waiting for the patient's approval of the cost",
    )
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")

    documents = commands.add_parser(
        "documents", parents=office, help="case documents: add files, chase, verify"
    )
    document_commands = documents.add_subparsers(
        dest="documents_command", metavar="ACTION", required=True
    )
    adding = document_commands.add_parser(
        "add",
        parents=office,
        help="attach files to one of a case's documents (a requested one becomes received)",
    )
    adding.add_argument("reference", metavar="REF", help="case reference, e.g. RD-2026-00042")
    adding.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="PDF, image, DICOM, Word/ODT or text"
    )
    adding.add_argument(
        "--type",
        dest="document_type",
        required=True,
        metavar="TYPE",
        help="document type code, e.g. pathology_report (a wrong one lists them all)",
    )
    missing = document_commands.add_parser(
        "missing",
        parents=office,
        help="required documents still missing from open cases: urgent first, then the oldest",
    )
    missing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    document_commands.add_parser(
        "verify",
        parents=office,
        help="re-hash every stored file (exit 1 when any is damaged)",
    )

    roster = commands.add_parser(
        "specialists", parents=office, help="the roster of specialists and their workload"
    )
    roster_commands = roster.add_subparsers(
        dest="specialists_command", metavar="ACTION", required=True
    )
    roster_list = roster_commands.add_parser(
        "list",
        parents=office,
        help="specialists with their cases (active, due soon, overdue) and next absence",
    )
    roster_list.add_argument("--format", choices=("table", "csv", "json"), default="table")
    roster_list.add_argument(
        "--all",
        action="store_true",
        help="include inactive specialists (active ones only by default)",
    )

    assigning = commands.add_parser(
        "assign",
        parents=office,
        help="ask a specialist to review a case (a case ready for review goes under review)",
    )
    assigning.add_argument("reference", metavar="REF", help="case reference, e.g. RD-2026-00042")
    assigning.add_argument(
        "specialist",
        metavar="SPECIALIST",
        help="the specialist's name, or a part of it only one name has (case and accents "
        "do not matter)",
    )
    assigning.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.PRIMARY.value,
        help="primary reviewer (the default), or pathology or radiology re-review",
    )
    assigning.add_argument(
        "--override",
        metavar="REASON",
        default="",
        help="why to assign someone ruled out (away, inactive or full) all the same",
    )
    assigning.add_argument(
        "--reassign",
        metavar="REASON",
        default="",
        help="why the case goes to this specialist instead of its current one in the role",
    )

    cost = commands.add_parser(
        "costs", parents=office, help="a case's costs: lines, payments and balance"
    )
    cost_commands = cost.add_subparsers(dest="costs_command", metavar="ACTION", required=True)
    showing = cost_commands.add_parser(
        "show",
        parents=office,
        help="the case's cost lines, payments and totals (amounts in this computer's locale)",
    )
    showing.add_argument("reference", metavar="REF", help="case reference, e.g. RD-2026-00042")
    showing.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json gives amounts as integer minor units with the currency code",
    )
    showing.add_argument(
        "--history", action="store_true", help="also list every cost change, newest first"
    )

    pay = commands.add_parser("payments", parents=office, help="record payments and refunds")
    pay_commands = pay.add_subparsers(dest="payments_command", metavar="ACTION", required=True)
    paying = pay_commands.add_parser(
        "add",
        parents=office,
        help="record money received for a case (or paid back, with --refund)",
    )
    paying.add_argument("reference", metavar="REF", help="case reference, e.g. RD-2026-00042")
    paying.add_argument(
        "amount",
        metavar="AMOUNT",
        help="as this computer's locale writes it (1.234,50 in Germany), or plainly 1234.50",
    )
    paying.add_argument(
        "--method",
        type=_method,
        required=True,
        metavar="M",
        help="cash, card, bank_transfer or insurance",
    )
    paying.add_argument(
        "--date",
        dest="paid_on",
        type=_day,
        metavar="YYYY-MM-DD",
        help="the day the money came (today if not given; never in the future)",
    )
    paying.add_argument(
        "--reference",
        dest="payment_reference",
        default="",
        metavar="R",
        help="receipt, transfer or claim number",
    )
    paying.add_argument("--reason", default="", metavar="TEXT", help="why (required for a refund)")
    paying.add_argument(
        "--refund",
        action="store_true",
        help="money paid back to the patient: give AMOUNT without a minus, and --reason",
    )

    fees = commands.add_parser("fees", parents=office, help="the office's fee schedule")
    fee_commands = fees.add_subparsers(dest="fees_command", metavar="ACTION", required=True)
    fee_list = fee_commands.add_parser(
        "list", parents=office, help="services with their prices, in this computer's locale"
    )
    fee_list.add_argument("--format", choices=("table", "csv", "json"), default="table")
    fee_list.add_argument(
        "--all", action="store_true", help="include inactive services (active ones only by default)"
    )

    kinds = "summary (for the patient), referrer (the referring doctor's copy), records-request "
    kinds += "or estimate (the costs, for the patient's approval)"
    letter = commands.add_parser(
        "letter",
        parents=office,
        help="one case's letters: list them, make one as a PDF (archived with the case), "
        "or save an archived one again",
    )
    letter.add_argument("reference", metavar="REF", help="case reference, e.g. RD-2026-00042")
    letter.add_argument("--kind", type=_letter_kind, metavar="KIND", help=f"make a letter: {kinds}")
    letter.add_argument(
        "--reprint",
        type=_positive,
        metavar="ID",
        help="save archived letter ID (as listed) again: the identical file",
    )
    letter.add_argument("--out", type=Path, metavar="FILE.pdf", help="where to write the PDF")
    letter.add_argument(
        "--large-print", action="store_true", help="larger type, for readers with low vision"
    )
    letter.add_argument(
        "--mark-sent",
        action="store_true",
        help="record the letter as sent (a summary letter moves the case to Letter sent)",
    )
    letter.add_argument("--force", action="store_true", help="replace FILE.pdf if it exists")
    letter.set_defaults(usage=letter)

    batch = commands.add_parser(
        "letters",
        parents=office,
        help="letters for every case waiting for one, in one PDF to print; or mark letters sent",
        usage="%(prog)s --out FILE.pdf [--status S] [--kind KIND] [--large-print] "
        "[--mark-sent] [--force]\n       %(prog)s sent ID [ID ...]",
    )
    batch.add_argument(
        "--status",
        type=_status,
        default=CaseStatus.OPINION_RECEIVED,
        metavar="S",
        help="cases in this status that can have the letter and have not been sent one "
        "(default opinion-received)",
    )
    batch.add_argument(
        "--kind",
        type=_letter_kind,
        default=LetterKind.SUMMARY,
        metavar="KIND",
        help=f"{kinds}; summary by default",
    )
    batch.add_argument(
        "--out", type=Path, metavar="FILE.pdf", help="the combined PDF, each letter on new pages"
    )
    batch.add_argument(
        "--large-print", action="store_true", help="larger type, for readers with low vision"
    )
    batch.add_argument(
        "--mark-sent",
        action="store_true",
        help="record the letters as sent at once (summary letters move their cases to "
        "Letter sent); otherwise mark them after posting with `letters sent`",
    )
    batch.add_argument("--force", action="store_true", help="replace FILE.pdf if it exists")
    batch.set_defaults(usage=batch)
    batch_commands = batch.add_subparsers(dest="letters_command", metavar="ACTION")
    sent = batch_commands.add_parser(
        "sent",
        prog=f"{parser.prog} letters sent",  # not derived from the batch's two-line usage
        parents=office,
        help="record archived letters as sent, e.g. a printed batch once it is posted",
    )
    sent.add_argument(
        "ids",
        nargs="+",
        type=_letter_ids,
        metavar="ID",
        help="letter numbers, or ranges as the batch printed them (1201-1240)",
    )
    sent.set_defaults(usage=sent)

    report = commands.add_parser(
        "report", parents=office, help="reports for managers, written to a file"
    )
    report_commands = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    monthly = report_commands.add_parser(
        "monthly",
        parents=office,
        help="the cases received in a month with their figures beside the previous month and "
        "the same month a year earlier, as PDF, CSV or Excel",
    )
    monthly.add_argument(
        "month",
        nargs="?",
        metavar="YYYY-MM",
        help="the month, in this computer's time zone (default: the last complete month)",
    )
    monthly.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="FILE.pdf, FILE.csv or FILE.xlsx: the extension chooses the format",
    )
    monthly.add_argument("--force", action="store_true", help="replace FILE if it exists")

    _add_user_commands(commands, office)

    _add_backup_commands(commands, office, data_dir)

    commands.add_parser(
        "check",
        parents=[data_dir],
        help="check the database: schema version, integrity, foreign keys and the audit trail "
        "(exit 1 when bad)",
    )
    return parser


def _add_backup_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    office: list[argparse.ArgumentParser],
    data_dir: argparse.ArgumentParser,
) -> None:
    backup = commands.add_parser(
        "backup",
        parents=office,
        help="back up the database now (administrators): into the backup folder, rotated "
        "like the automatic backups, or with --out to a file of your choice",
    )
    backup.add_argument(
        "--out", metavar="FILE", type=Path, help="save the backup to FILE (e.g. on a USB disk)"
    )
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup_commands = backup.add_subparsers(dest="backup_command", metavar="ACTION")
    listing = backup_commands.add_parser(
        "list",
        parents=[data_dir],
        help="the backups in the backup folder, newest first, with what each holds",
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")
    checking = backup_commands.add_parser(
        "verify",
        parents=[data_dir],
        help="check a backup file: readable, undamaged, a schema this version can restore, "
        "its audit trail intact (exit 1 when not)",
    )
    checking.add_argument("file", metavar="FILE", type=Path)
    restore = commands.add_parser(
        "restore",
        parents=office,
        help="replace the office's data with a backup (administrators): shows what it holds, "
        "checks it and keeps a copy of the current database first",
    )
    restore.add_argument("file", metavar="FILE", type=Path)
    restore.add_argument(
        "--yes",
        action="store_true",
        help="do not ask for confirmation (for scripts; a terminal asks otherwise)",
    )


def _add_user_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    office: list[argparse.ArgumentParser],
) -> None:
    roles = ", ".join(r.value for r in UserRole)
    users = commands.add_parser(
        "users",
        parents=office,
        help="the office's accounts: add, list, disable, enable, reset a password, change a role",
    )
    user_commands = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    adding = user_commands.add_parser(
        "add",
        parents=office,
        help="add an account; the office's first one (an administrator) needs no --user",
    )
    adding.add_argument("name", metavar="NAME", help="the sign-in name, e.g. maria.garcia")
    adding.add_argument("--role", required=True, metavar="ROLE", help=roles)
    adding.add_argument(
        "--full-name", default="", metavar="TEXT", help="the person's name, e.g. 'María García'"
    )
    listing = user_commands.add_parser(
        "list", parents=office, help="every account with its role, status and last sign-in"
    )
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    for action, words in (
        ("disable", "stop an account signing in (it stays in the audit trail)"),
        ("enable", "let a disabled account sign in again (also unlocks it)"),
        (
            "reset-password",
            "give an account a temporary password and unlock it; its owner chooses a new one "
            "at the next sign-in",
        ),
    ):
        one = user_commands.add_parser(action, parents=office, help=words)
        one.add_argument("name", metavar="NAME")
    role = user_commands.add_parser("role", parents=office, help="change an account's role")
    role.add_argument("name", metavar="NAME")
    role.add_argument("role", metavar="ROLE", help=roles)
    user_commands.add_parser(
        "password",
        parents=office,
        help="change your own password (the --user's): the current one, then the new one",
    )


def main(argv: Sequence[str] | None = None) -> int:
    _utf8_when_redirected()
    try:
        return _main(argv)
    except BrokenPipeError:  # `referral-desk cases list | head`: the reader has gone
        sys.stderr.close()
        return EXIT_OK


def _utf8_when_redirected() -> None:
    """Output to a file or a pipe is UTF-8 on every system. Windows would otherwise use its ANSI
    code page there, which has no Cyrillic, Arabic or Devanagari, and `cases list > cases.csv`
    would stop at the first such name; a terminal already shows them all."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if (
            isinstance(stream, io.TextIOWrapper)
            and not stream.isatty()
            and codecs.lookup(stream.encoding).name != "utf-8"
        ):
            stream.reconfigure(encoding="utf-8")


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("letter", "letters"):
        _check_letter_arguments(args)
    if args.self_test:
        return _self_test(args)
    paths = resolve_paths(getattr(args, "data_dir", None))
    if args.command is None:
        return _run_gui(paths, demo=args.demo)
    if args.command == "check":
        return _check(paths)
    if args.command == "backup" and args.backup_command == "list":
        return _list_backups(paths, args.format)
    if args.command == "backup" and args.backup_command == "verify":
        return _verify_backup(args.file)
    if args.command == "backup" and args.backup_command is None:
        problem = _backup_target_problem(args)
        if problem:
            return _refuse(problem)
    if args.command == "restore":
        return _restore(paths, args)
    if args.command == "report":
        # A mistyped month or file name is refused before the database is opened (or made).
        try:
            request = _report_request(args)
        except ReportError as exc:
            return _refuse(f"{exc} Nothing was written.")
    if not paths.database.exists() and not _may_start_an_office(args):
        # A mistyped --data-dir must not leave an empty office behind.
        return _refuse(
            f"There is no Referral Desk office in {paths.data_dir} yet. Start Referral Desk to "
            "set it up, or create its first administrator with "
            f"`{_command_hint(args, 'users add NAME --role administrator')}`."
        )

    from referral_desk.services.database import health, open_database
    from referral_desk.services.errors import ServiceError

    checked = health(paths.database)
    if not checked.ok:
        return _refuse(f"{checked.problem} {_restore_hint(paths, args)}")
    try:
        db = open_database(paths)
    except ServiceError as exc:
        print(f"referral-desk: {exc}", file=sys.stderr)
        return EXIT_BAD
    try:
        try:
            signed = _signed_in(db, args)
        except _Stop as stop:
            return stop.tell()
        if signed is None:  # an office without accounts: the commands that start one
            if args.command == "demo":
                return _demo(db, args.cases, args.seed, actor=None)
            return _first_administrator(db, args)
        actor, password = signed
        if args.command == "users":
            return _users(db, args, actor, password)
        if args.command == "demo":
            return _demo(db, args.cases, args.seed, actor=actor)
        if args.command == "documents":
            return _documents(db, args, actor)
        if args.command == "specialists":
            return _list_specialists(db, show_inactive=args.all, output=args.format)
        if args.command == "assign":
            return _assign(db, args, actor)
        if args.command == "costs":
            return _show_costs(db, args, actor)
        if args.command == "payments":
            return _add_payment(db, args, actor)
        if args.command == "fees":
            return _list_fees(db, show_inactive=args.all, output=args.format)
        if args.command == "letter":
            return _letter(db, args, actor)
        if args.command == "letters":
            return _letters(db, args, actor)
        if args.command == "report":
            return _monthly_report(db, request, actor)
        if args.command == "backup":
            return _back_up(db, paths, args, actor)
        return _list_cases(db, args, actor)
    finally:
        db.dispose()


# --- Who runs a command ----------------------------------------------------------------------

EXIT_USAGE = 2  # as argparse exits for a missing option


class _Stop(Exception):
    """A refusal before the command runs: the message, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD) -> None:
        super().__init__(message)
        self.code = code

    def tell(self) -> int:
        print(f"referral-desk: {self}", file=sys.stderr)
        return self.code


def _adds_a_user(args: argparse.Namespace) -> bool:
    return args.command == "users" and args.users_command == "add"


def _may_start_an_office(args: argparse.Namespace) -> bool:
    """The commands that run on an office without accounts (and may create its file): the
    demo, and adding its first account, an administrator."""
    if _adds_a_user(args):
        return args.role.strip().lower() == UserRole.ADMINISTRATOR.value
    return args.command == "demo"


def _command_hint(args: argparse.Namespace, words: str) -> str:
    """A command to type next, with the --data-dir this one was given."""
    import shlex

    folder = getattr(args, "data_dir", None)
    extra = f" --data-dir {shlex.quote(folder)}" if folder else ""
    return f"referral-desk {words}{extra}"


def _command_line(args: argparse.Namespace) -> str:
    """What the trail says this sign-in was for, e.g. "command line: cases list"."""
    words = [args.command] + [
        str(value)
        for key, value in vars(args).items()
        if key.endswith("_command") and isinstance(value, str)
    ]
    return "command line: " + " ".join(words)


def _secret(prompt: str) -> str | None:
    """A password: asked at a terminal (not echoed); otherwise the next line of standard
    input, so a scheduled job can pipe it in. None when there is nothing to read."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        try:
            return getpass.getpass(prompt)
        except EOFError:
            return None
    if sys.stdin is None:
        return None
    line = sys.stdin.readline()
    if not line:
        return None
    return line.removesuffix("\n").removesuffix("\r")


def _signed_in(db: Database, args: argparse.Namespace) -> tuple[Actor, str] | None:
    """The person running the command and the password they signed in with (the sign-in is
    audited like the app's; failures count toward the lock). None only on an office without
    accounts, for the commands that start one; any other refusal raises _Stop."""
    from referral_desk.services import accounts

    name: str | None = getattr(args, "user", None)
    if not accounts.has_accounts(db):
        first = _command_hint(args, "users add NAME --role administrator")
        if name is not None:
            raise _Stop(
                "This office has no accounts yet, so no one can sign in with --user. Create "
                f"the first administrator with `{first}` (without --user)."
            )
        if _may_start_an_office(args):
            return None
        if _adds_a_user(args):
            first = _command_hint(args, f"users add {args.name.strip()} --role administrator")
            raise _Stop(
                "This office has no accounts yet, and its first account must be an "
                f"administrator (who then adds the others): `{first}`. Nothing was changed."
            )
        raise _Stop(
            f"This office has no accounts yet. Create the first administrator with `{first}`, "
            "or start Referral Desk, which asks for one."
        )
    if name is None:
        raise _Stop(
            "Say who runs the command with --user NAME (your password is then asked for, or "
            "read from the first line of standard input).",
            EXIT_USAGE,
        )
    password = _secret(f"Password for {name}: ")
    if not password:
        # Not tried: an empty pipe is a set-up mistake, not a wrong guess to count.
        raise _Stop(
            f"No password for {name}: type it when asked, or give it as the first line of "
            "standard input. Nothing was done."
        )
    try:
        signed = accounts.sign_in(db, name, password, detail=_command_line(args))
    except accounts.SignInRefused as exc:
        message = str(exc)
        if exc.wait is not None and "wait" not in message:
            message += f" Wait {max(1, round(exc.wait.total_seconds()))} s before the next try."
        raise _Stop(f"{message} Nothing was done.") from None
    own_password = args.command == "users" and args.users_command == "password"
    if signed.must_change_password and not own_password:
        raise _Stop(
            f"An administrator reset the password of {signed.actor.name}: choose your own "
            f"first, with `{_command_hint(args, f'users password --user {signed.actor.name}')}` "
            "or in the app. Nothing was done."
        )
    return signed.actor, password


def _self_test(args: argparse.Namespace) -> int:
    from referral_desk import self_test

    if args.command is not None:
        return _refuse("--self-test runs on its own, without a command.")
    # Only a folder named on purpose: the platform's data folder is the office's.
    chosen = getattr(args, "data_dir", None) or os.environ.get(DATA_DIR_ENV)
    return self_test.run(Path(chosen).expanduser() if chosen else None)


def _run_gui(paths: AppPaths, *, demo: bool) -> int:
    from referral_desk.ui.app import run

    if not demo:
        return run(paths)
    # A fresh folder each time, removed afterwards: the demo never touches the office's data.
    with tempfile.TemporaryDirectory(
        prefix="referral-desk-demo-", ignore_cleanup_errors=True
    ) as folder:
        return run(resolve_paths(folder), demo=True)


def _demo(db: Database, count: int, seed: int, *, actor: Actor | None) -> int:
    """Invented cases. On an office without accounts (a new demo office) the demo accounts
    come too; an office with accounts takes demo cases only from an administrator."""
    from referral_desk.services import accounts, demo
    from referral_desk.services.acting import check
    from referral_desk.services.errors import ServiceError

    if actor is not None:
        try:
            check(actor, Permission.OFFICE_SETTINGS, "add demo cases")
        except ServiceError as exc:
            return _refuse(f"{exc} Nothing was added.")

    def progress(done: int, total: int) -> None:
        print(f"\r{done:,} of {total:,} cases", end="", file=sys.stderr, flush=True)

    try:
        result = demo.generate(db, count, seed=seed, progress=progress)
    except ServiceError as exc:
        print(file=sys.stderr)
        return _refuse(str(exc))
    print(file=sys.stderr)
    print(
        f"Added {result.cases:,} demo cases for {result.patients:,} new patients, "
        f"with {result.documents:,} documents, {result.files:,} attached files, "
        f"{result.assignments:,} specialist assignments, {result.opinions:,} opinions, "
        f"{result.cost_lines:,} cost lines, {result.payments:,} payments and "
        f"{result.letters:,} sent letters."
    )
    if actor is None and accounts.create_demo_accounts(db):
        print(f'Demo accounts, each with the password "{accounts.DEMO_PASSWORD}":')
        width = max(len(name) for name, _, _ in accounts.DEMO_ACCOUNTS)
        for name, full_name, role in accounts.DEMO_ACCOUNTS:
            print(f"  {name.ljust(width)}  {role.value.ljust(13)}  {full_name}")
    return EXIT_OK


# --- Accounts --------------------------------------------------------------------------------


def _new_password(name: str) -> str:
    """The account's new password: typed twice at a terminal; otherwise the next line of
    standard input (after the acting user's own password, when there is one)."""
    from referral_desk.domain.access import password_problem

    if sys.stdin is not None and sys.stdin.isatty():
        password = _secret(f"New password for {name}: ") or ""
        problem = password_problem(password, name)
        if problem:
            raise _Stop(f"{problem} Nothing was changed.")
        if _secret("Type it again: ") != password:
            raise _Stop("The two passwords differ. Nothing was changed.")
        return password
    password = _secret("")
    if password is None:
        raise _Stop(
            f"No new password for {name} on standard input: give it on the line after the "
            "password of the --user (or on the first line when there is no --user). "
            "Nothing was changed."
        )
    return password


def _first_administrator(db: Database, args: argparse.Namespace) -> int:
    """`users add NAME --role administrator` on an office without accounts: its first one."""
    from referral_desk.services import accounts
    from referral_desk.services.errors import ServiceError

    problem = accounts.name_problem(args.name)
    if problem:
        return _refuse(problem)
    try:
        created = accounts.create_first_administrator(
            db, args.name, args.full_name, _new_password(args.name.strip())
        )
    except _Stop as stop:
        return stop.tell()
    except ServiceError as exc:
        return _refuse(f"{exc} Nothing was changed.")
    print(
        f"Added {created.name}, the office's first administrator. Sign in to the app with it, "
        f"or run commands with --user {created.name}."
    )
    return EXIT_OK


_USER_ACTIONS = {  # as the services word them
    "disable": "disable accounts",
    "enable": "enable accounts",
    "role": "change roles",
    "reset-password": "reset passwords",
}


def _users(db: Database, args: argparse.Namespace, actor: Actor, password: str) -> int:
    """`password`: the one the --user signed in with (`users password` changes it)."""
    from referral_desk.services import accounts
    from referral_desk.services.acting import check
    from referral_desk.services.errors import NotFoundError, ServiceError

    action: str = args.users_command
    try:
        if action == "password":
            accounts.change_own_password(db, actor, password, _new_password(actor.name))
            print(f"Changed your password ({actor.name}).")
            return EXIT_OK
        if action == "list":
            check(actor, Permission.MANAGE_USERS, "see the accounts")
            return _list_users(accounts.list_users(db), args.format)
        if action == "add":
            check(actor, Permission.MANAGE_USERS, "add users")  # before asking for a password
            problem = accounts.name_problem(args.name)
            if problem:
                return _refuse(problem)
            role = args.role.strip().lower()
            if role not in {r.value for r in UserRole}:  # said before the password is typed
                names = ", ".join(r.value for r in UserRole)
                return _refuse(f"{args.role!r} is not a role; use one of {names}.")
            try:
                taken = accounts.find_user(db, args.name)
            except NotFoundError:
                pass
            else:
                return _refuse(
                    f"There is already a user named {taken.name!r}; choose another name."
                )
            added = accounts.add_user(
                db,
                args.name,
                role,
                _new_password(args.name.strip()),
                actor=actor,
                full_name=args.full_name,
            )
            print(
                f"Added {added.name} ({added.role.person}). They sign in with the password you "
                "gave and can change it in the app or with `referral-desk users password`."
            )
            return EXIT_OK
        # The role first: who may not manage accounts is not told which names exist.
        check(actor, Permission.MANAGE_USERS, _USER_ACTIONS[action])
        before = accounts.find_user(db, args.name)
        if action == "disable":
            after = accounts.disable_user(db, args.name, actor=actor)
            if not before.active:
                print(f"{after.name} was already disabled.")
            else:
                print(
                    f"Disabled {after.name}: the account can no longer sign in, and stays in "
                    f"the audit trail. `referral-desk users enable {after.name}` undoes it."
                )
        elif action == "enable":
            after = accounts.enable_user(db, args.name, actor=actor)
            if not before.active:
                print(f"Enabled {after.name}: the account can sign in again.")
            elif _locked(before):
                print(f"Unlocked {after.name}: the account can sign in again.")
            else:
                print(f"{after.name} was already enabled.")
        elif action == "role":
            after = accounts.change_role(db, args.name, args.role.strip().lower(), actor=actor)
            if after.role is before.role:
                print(f"{after.name} is already {after.role.person}.")
            else:
                print(f"{after.name} is now {after.role.person} (was {before.role.person}).")
        else:  # reset-password
            after = accounts.reset_password(db, args.name, _new_password(before.name), actor=actor)
            if after.must_change_password:
                print(
                    f"Reset the password of {after.name} and unlocked the account; they choose "
                    "their own when they next sign in."
                )
            else:
                print(f"Changed your password ({after.name}).")
    except _Stop as stop:
        return stop.tell()
    except ServiceError as exc:
        return _refuse(str(exc) if action == "list" else f"{exc} Nothing was changed.")
    return EXIT_OK


def _locked(user: UserInfo) -> bool:
    return user.locked_until is not None and user.locked_until > datetime.now(UTC)


USER_COLUMNS = (
    "name",
    "full_name",
    "role",
    "active",
    "locked_until",
    "last_sign_in",
    "must_change_password",
)


def _list_users(users: Sequence[UserInfo], output: str) -> int:
    def moment(value: datetime | None) -> str | None:
        return value.astimezone(UTC).isoformat() if value else None

    records = [
        {
            "name": u.name,
            "full_name": u.full_name,
            "role": u.role.value,
            "active": u.active,
            "locked_until": moment(u.locked_until) if _locked(u) else None,
            "last_sign_in": moment(u.last_sign_in_at),
            "must_change_password": u.must_change_password,
        }
        for u in users
    ]
    out = sys.stdout
    if output == "json":
        _write_json(out, records)
        return EXIT_OK
    if output == "csv":

        def text(value: object) -> str:
            if isinstance(value, bool):
                return "yes" if value else "no"
            return "" if value is None else str(value)

        _write_csv(out, USER_COLUMNS, ({k: text(v) for k, v in r.items()} for r in records))
        return EXIT_OK
    _table(
        out,
        ("NAME", "FULL NAME", "ROLE", "ACTIVE", "LOCKED UNTIL", "LAST SIGN-IN"),
        [
            (
                u.name,
                u.full_name,
                u.role.value,
                ("yes" if u.active else "no")
                + (" (new password due)" if u.must_change_password else ""),
                _local_time(u.locked_until) if u.locked_until and _locked(u) else "",
                _local_time(u.last_sign_in_at) if u.last_sign_in_at else "never",
            )
            for u in users
        ],
        right=frozenset(),
    )
    disabled = sum(not u.active for u in users)
    footer = _plural(len(users), "account")
    if disabled:
        footer += f" ({disabled:,} disabled)"
    out.write(footer + "\n")
    return EXIT_OK


def _list_cases(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.domain.money import format_amount
    from referral_desk.services.case_export import (
        COLUMNS,
        iter_json_records,
        iter_records,
        iter_rows,
        record,
    )
    from referral_desk.services.case_list import CaseQuery
    from referral_desk.services.office import get_profile, system_locale

    received_from, received_before = args.month or (None, None)
    query = CaseQuery(
        statuses=frozenset(args.status or ()),
        overdue_only=args.overdue,
        incomplete_only=args.incomplete,
        unpaid_only=args.unpaid,
        awaiting_approval_only=args.awaiting_approval,
        received_from=received_from,
        received_before=received_before,
    )
    out = sys.stdout
    if args.format in ("json", "csv"):
        from referral_desk.services.errors import ServiceError

        # An export of the case list: the service checks the role and records it.
        try:
            if args.format == "json":
                _write_json(out, iter_json_records(db, query, actor=actor))
            else:
                _write_csv(out, COLUMNS, iter_records(db, query, actor=actor))
        except ServiceError as exc:
            return _refuse(str(exc))
    else:
        currency, locale = get_profile(db).currency, system_locale()
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
        money = {"total": 18, "balance": 14}
        out.write(
            "  ".join(
                [
                    *(_cell(c.replace("_", " ").upper(), widths[c]) for c in shown),
                    *(c.upper().rjust(w) for c, w in money.items()),
                ]
            )
            + "\n"
        )
        n = 0
        for row in iter_rows(db, query):
            n += 1
            rec = record(row, currency)
            total = balance = ""
            if row.total_minor:
                total = format_amount(row.total_minor, currency, locale)
                total += " (est.)" if row.total_is_estimate else ""
            if row.charges_minor or row.balance_minor:
                balance = format_amount(row.balance_minor, currency, locale)
            cells = [
                *(_cell(rec[c], widths[c]) for c in shown),
                total.rjust(money["total"]),
                balance.rjust(money["balance"]),
            ]
            out.write("  ".join(cells).rstrip() + "\n")
        out.write(f"{n:,} case{'s' if n != 1 else ''}\n")
    return EXIT_OK


def _documents(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services.errors import ServiceError

    try:
        if args.documents_command == "add":
            return _add_files(db, args.reference, args.document_type, args.files, actor)
        if args.documents_command == "missing":
            return _missing_documents(db, args.format)
        return _verify_files(db)
    except ServiceError as exc:
        print(f"referral-desk: {exc}", file=sys.stderr)
        return EXIT_BAD


def _add_files(
    db: Database, reference: str, document_type: str, paths: list[Path], actor: Actor
) -> int:
    from referral_desk.services import checklists, documents, files
    from referral_desk.services.errors import NotAllowedError, ServiceError
    from referral_desk.services.lookup import case_id_for_reference

    case_id = case_id_for_reference(db, reference)
    types = checklists.document_types(db, active_only=True, with_usage=False)
    code = document_type.strip().lower()
    if code not in {t.code for t in types}:
        width = max(len(t.code) for t in types) if types else 0
        choices = "".join(f"\n  {t.code.ljust(width)}  {t.label}" for t in types)
        print(
            f"referral-desk: '{document_type}' is not a document type in use. Use one of:{choices}",
            file=sys.stderr,
        )
        return EXIT_BAD
    added: list[int] = []
    failed = 0
    for path in paths:
        try:
            result = files.add_file(db, case_id, code, path, actor=actor)
        except NotAllowedError as exc:  # the same for every file: said once
            return _refuse(f"{exc} Nothing was added.")
        except ServiceError as exc:  # the others still go in; this one left nothing behind
            failed += 1
            print(f"referral-desk: {exc}", file=sys.stderr)
            continue
        print(result.message)
        if result.file_id is not None:
            added.append(result.file_id)
    if added:
        # Read the new PDFs' text now, so the case list search finds them at once.
        files.extract_pending_text(db)
        for document in documents.case_records(db, case_id).documents:
            for stored in document.files:
                if stored.id in added and stored.text_state == "skipped":
                    print(f"Note: {stored.name}: {stored.text_note}")
    return EXIT_BAD if failed else EXIT_OK


MISSING_COLUMNS = (
    "reference",
    "patient",
    "urgency",
    "case_status",
    "treatment_start",
    "document",
    "note",
    "document_status",
    "requested",
    "waiting_days",
    "chase_count",
    "last_chased",
    "referrer",
    "referrer_phone",
    "referrer_email",
)


def _local_date(moment: datetime | None) -> str:
    return moment.astimezone().date().isoformat() if moment else ""


def _missing_record(row: ChaseRow, today: date) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "patient": row.patient_name,
        "urgency": row.urgency.label,
        "case_status": row.case_status.label,
        "treatment_start": row.treatment_start.isoformat() if row.treatment_start else "",
        "document": row.document_label,
        "note": row.note,
        "document_status": row.status.label,
        "requested": _local_date(row.requested_at),
        # Calendar days, as staff count them: requested on Monday, Wednesday is day 2.
        "waiting_days": max(0, (today - row.requested_at.astimezone().date()).days),
        "chase_count": row.chase_count,
        "last_chased": _local_date(row.chased_at),
        "referrer": row.referrer,
        "referrer_phone": row.referrer_phone,
        "referrer_email": row.referrer_email,
    }


def _missing_documents(db: Database, output: str) -> int:
    from referral_desk.services import documents

    today = datetime.now().astimezone().date()
    records = [_missing_record(row, today) for row in documents.chase_list(db)]
    out = sys.stdout
    if output == "json":
        _write_json(out, records)
    elif output == "csv":
        _write_csv(out, MISSING_COLUMNS, records)
    else:
        widths = {
            "reference": 14,
            "patient": 24,
            "urgency": 7,
            "document": 28,
            "requested": 10,
            "waiting": 7,
            "chased": 16,
            "referrer": 32,
            "phone": 18,
        }
        header = [*(_cell(c.upper(), width) for c, width in widths.items()), "EMAIL"]
        out.write("  ".join(header) + "\n")
        for rec in records:
            days = rec["waiting_days"]
            count = rec["chase_count"]
            cells = {
                "reference": rec["reference"],
                "patient": rec["patient"],
                "urgency": rec["urgency"],
                "document": rec["document"],
                "requested": rec["requested"],
                "waiting": f"{days} day{'s' if days != 1 else ''}",
                "chased": f"{count}x, {rec['last_chased']}" if count else "",
                "referrer": rec["referrer"],
                "phone": rec["referrer_phone"],
            }
            # The e-mail comes last and whole: it is copied, not read at a glance.
            line = [*(_cell(cells[c], w) for c, w in widths.items()), rec["referrer_email"]]
            out.write("  ".join(line).rstrip() + "\n")
        n, cases = len(records), len({rec["reference"] for rec in records})
        out.write(
            f"{n:,} missing document{'s' if n != 1 else ''} "
            f"in {cases:,} case{'s' if cases != 1 else ''}\n"
        )
    return EXIT_OK


def _verify_files(db: Database) -> int:
    from referral_desk.services import files

    def progress(done: int, total: int) -> None:
        print(f"\r{done:,} of {total:,} files", end="", file=sys.stderr, flush=True)

    show_progress = sys.stderr.isatty()
    report = files.verify_files(db, progress=progress if show_progress else None)
    if show_progress and report.checked:
        print(file=sys.stderr)
    plural = "s" if report.checked != 1 else ""
    if report.ok:
        print(f"{report.checked:,} stored file{plural} checked, all intact")
        return EXIT_OK
    damaged = len(report.damaged)
    print(
        f"{report.checked:,} stored file{plural} checked, {damaged:,} DAMAGED "
        "(the stored bytes no longer match their fingerprint):"
    )
    for bad in report.damaged:
        print(f"  SHA-256 {bad.sha256}")
        for name in bad.names or ("(not attached to any case)",):
            print(f"    {name}")
    print(
        "referral-desk: restore a backup from before the damage, or add these files again "
        "from the originals.",
        file=sys.stderr,
    )
    return EXIT_BAD


SPECIALIST_COLUMNS = (
    "name",
    "title",
    "discipline",
    "sub_specialties",
    "phone",
    "email",
    "fee",
    "capacity",
    "active_cases",
    "due_soon",
    "overdue",
    "status",
    "next_absence_from",
    "next_absence_to",
    "next_absence_note",
)


def _specialist_record(info: SpecialistInfo, today: date, currency: str) -> dict[str, Any]:
    from referral_desk.domain.enums import CANCER_TYPES, cancer_type_label
    from referral_desk.services.case_export import amount_text

    draft = info.draft
    # In the office's order of cancer types, not alphabetically by code.
    types = [c for c in CANCER_TYPES if c in draft.cancer_types]
    types += sorted(draft.cancer_types - set(types))
    upcoming = next((a for a in info.absences if a.last_day >= today), None)
    return {
        "name": draft.name,
        "title": draft.title,
        "discipline": draft.discipline.label,
        "sub_specialties": [cancer_type_label(c) for c in types],
        "phone": draft.phone,
        "email": draft.email,
        "fee": amount_text(draft.fee_minor, currency),
        "capacity": draft.capacity,
        "active_cases": info.active_cases,
        "due_soon": info.due_soon,
        "overdue": info.overdue,
        "status": "active" if draft.active else "inactive",
        "next_absence_from": upcoming.first_day.isoformat() if upcoming else "",
        "next_absence_to": upcoming.last_day.isoformat() if upcoming else "",
        "next_absence_note": upcoming.note if upcoming else "",
    }


def _absence_cell(rec: dict[str, Any], today: date) -> str:
    first, last, note = rec["next_absence_from"], rec["next_absence_to"], rec["next_absence_note"]
    if not first:
        return ""
    if first <= today.isoformat():
        text = f"away until {last}"
    elif first == last:
        text = first
    else:
        text = f"{first} to {last}"
    return f"{text} ({note})" if note else text


def _fitted_list(labels: list[str], width: int) -> str:
    """As many labels as fit the width, then how many more: 'Breast, Lung, +3'."""
    for shown in range(len(labels), 0, -1):
        more = len(labels) - shown
        text = ", ".join(labels[:shown]) + (f", +{more}" if more else "")
        if _width(text) <= width:
            return text
    return f"+{len(labels)}" if labels else ""


def _list_specialists(db: Database, *, show_inactive: bool, output: str) -> int:
    from referral_desk.services import specialists
    from referral_desk.services.office import get_profile

    today = datetime.now().astimezone().date()
    roster = specialists.list_specialists(db)
    currency = get_profile(db).currency
    hidden = 0 if show_inactive else sum(not s.draft.active for s in roster)
    records = [
        _specialist_record(s, today, currency) for s in roster if show_inactive or s.draft.active
    ]
    out = sys.stdout
    if output == "json":
        _write_json(out, records)
    elif output == "csv":
        _write_csv(
            out,
            SPECIALIST_COLUMNS,
            ({**rec, "sub_specialties": "; ".join(rec["sub_specialties"])} for rec in records),
        )
    else:
        widths = {
            "name": 26,
            "title": 15,
            "discipline": 18,
            "sub-specialties": 32,
            "cases": 8,
            "due soon": 8,
            "overdue": 7,
            "status": 8,
            "next absence": 40,
            "fee": 10,
            "phone": 18,
        }
        header = [*(_cell(c.upper(), width) for c, width in widths.items()), "EMAIL"]
        out.write("  ".join(header) + "\n")
        for rec in records:
            cells = {
                "name": rec["name"],
                "title": rec["title"],
                "discipline": rec["discipline"],
                "sub-specialties": _fitted_list(rec["sub_specialties"], widths["sub-specialties"]),
                "cases": f"{rec['active_cases']} of {rec['capacity']}",
                "due soon": str(rec["due_soon"] or ""),
                "overdue": str(rec["overdue"] or ""),
                "status": rec["status"],
                "next absence": _absence_cell(rec, today),
                "fee": rec["fee"],
                "phone": rec["phone"],
            }
            line = [*(_cell(cells[c], w) for c, w in widths.items()), rec["email"]]
            out.write("  ".join(line).rstrip() + "\n")
        n = len(records)
        footer = f"{n:,} {'active ' if not show_inactive else ''}specialist{'s' if n != 1 else ''}"
        if hidden:
            footer += f" ({hidden:,} inactive not shown: add --all)"
        out.write(footer + "\n")
    return EXIT_OK


def _assign(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services import specialists
    from referral_desk.services.errors import NotFoundError, ServiceError, ValidationError
    from referral_desk.services.lookup import case_id_for_reference

    if not args.specialist.strip():
        print("referral-desk: give the specialist's name.", file=sys.stderr)
        return EXIT_BAD
    try:
        case_id = case_id_for_reference(db, args.reference)
        try:
            specialist_id = specialists.find_specialist(db, args.specialist)
        except NotFoundError as exc:
            print(f"referral-desk: {exc}", file=sys.stderr)
            print(
                "referral-desk: `referral-desk specialists list --all` shows every name.",
                file=sys.stderr,
            )
            return EXIT_BAD
        change = specialists.assign(
            db,
            case_id,
            specialist_id,
            Role(args.role),
            actor=actor,
            override_reason=args.override,
            reassign_reason=args.reassign,
        )
    except ServiceError as exc:
        print(f"referral-desk: {exc}", file=sys.stderr)
        errors = exc.errors if isinstance(exc, ValidationError) else {}
        if "override_reason" in errors and not args.override.strip():
            print("referral-desk: give the reason with --override REASON.", file=sys.stderr)
        if "reassign_reason" in errors:
            print("referral-desk: give the reason with --reassign REASON.", file=sys.stderr)
        return EXIT_BAD
    print(change.message)
    return EXIT_OK


# --- Costs, payments and the fee schedule ----------------------------------------------------

# A plain amount as scripts write it, whatever the locale: digits, a dot, the decimals.
_PLAIN_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")


def _read_amount(text: str, currency: str, locale: str) -> int:
    """AMOUNT as this computer's locale writes it ('1.234,50' in Germany), or plainly ('1234.50').

    The locale's reading wins: in Germany '1.250' is one thousand two hundred and fifty.
    """
    from referral_desk.domain.money import MoneyError, format_plain, minor_digits, parse_amount
    from referral_desk.services.case_export import amount_text

    try:
        return parse_amount(text, currency, locale)
    except MoneyError as exc:
        cleaned = text.strip()
        if _PLAIN_AMOUNT.fullmatch(cleaned):
            return parse_amount(cleaned, currency, "en_US")  # its own errors say enough
        if cleaned.startswith("-"):
            raise MoneyError(
                f"'{cleaned}' is negative. For money paid back, give the amount without "
                "the minus and add --refund --reason TEXT."
            ) from None
        if "is not an amount" not in str(exc):
            raise  # too many decimals, implausibly large: the message says what to fix
        digits = minor_digits(currency)
        example = 1234 * 10**digits + (50 * 10 ** (digits - 2) if digits >= 2 else 0)
        raise MoneyError(
            f"'{cleaned}' is not an amount. Write {currency} amounts as this computer's "
            f"locale ({locale}) does, e.g. {format_plain(example, currency, locale)}, "
            f"or plainly, e.g. {amount_text(example, currency)}."
        ) from None


def _approval_text(line: LineInfo) -> str:
    label = line.approval.label
    return f"{label} {line.approval_on.isoformat()}" if line.approval_on else label


def _costs_json(info: CaseCosts) -> dict[str, Any]:
    from referral_desk.domain.money import minor_digits

    t = info.totals
    return {
        "reference": info.reference,
        "currency": info.currency,
        "minor_digits": minor_digits(info.currency),
        "letter_sent": info.letter_sent,
        "lines": [
            {
                "id": line.id,
                "kind": line.kind.value,
                "description": line.draft.description,
                "service": line.service_code,
                "quantity": line.draft.quantity,
                "unit_price_minor": line.draft.unit_price_minor,
                "total_minor": line.total_minor,
                "approval": line.approval.value,
                "approval_on": line.approval_on.isoformat() if line.approval_on else None,
                "from_assignment": line.from_assignment,
            }
            for line in info.lines
        ],
        "payments": [
            {
                "id": p.id,
                "date": p.draft.paid_on.isoformat(),
                "method": p.draft.method.value,
                "reference": p.draft.reference,
                "amount_minor": p.draft.amount_minor,
                "refund": p.is_refund,
                "reason": p.draft.reason,
            }
            for p in info.payments
        ],
        "totals": {
            "estimated_minor": t.estimated,
            "awaiting_approval_minor": t.awaiting_approval,
            "charged_minor": t.final,
            "paid_minor": t.paid,
            "balance_minor": t.balance,
            "status": t.status.value,
        },
        "history": [
            {
                "at": e.at.astimezone(UTC).isoformat(),
                "actor": e.actor,
                "action": e.action,
                "reason": e.reason,
            }
            for e in info.history
        ],
    }


def _table(
    out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int]
) -> None:
    """Columns as wide as their widest cell; amounts (the `right` columns) aligned right."""
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for cells in [header, *rows]:
        line = [
            " " * (w - _width(c)) + c if i in right else _cell(c, w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        out.write("  ".join(line).rstrip() + "\n")


def _show_costs(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.domain.money import format_amount
    from referral_desk.services import audit_log, costs
    from referral_desk.services.errors import ServiceError
    from referral_desk.services.lookup import case_id_for_reference
    from referral_desk.services.office import system_locale

    try:
        case_id = case_id_for_reference(db, args.reference)
        info = costs.case_costs(db, case_id)
        audit_log.opened_case(db, case_id, actor=actor)  # who looked at which patient
    except ServiceError as exc:
        print(f"referral-desk: {exc}", file=sys.stderr)
        return EXIT_BAD
    out = sys.stdout
    if args.format == "json":
        out.write(json.dumps(_costs_json(info), ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    locale = system_locale()

    def money(minor: int) -> str:
        return format_amount(minor, info.currency, locale)

    out.write(f"{info.reference}: costs in {info.currency}\n")
    if info.letter_sent:
        out.write("The letter has been sent: changing a charge now needs a reason.\n")
    out.write("\n")
    if info.lines:
        _table(
            out,
            ("KIND", "DESCRIPTION", "QTY", "UNIT PRICE", "TOTAL", "APPROVAL"),
            [
                (
                    line.kind.label,
                    line.draft.description,
                    str(line.draft.quantity),
                    money(line.draft.unit_price_minor),
                    money(line.total_minor),
                    _approval_text(line),
                )
                for line in info.lines
            ],
            right=frozenset({2, 3, 4}),
        )
    else:
        out.write("No cost lines yet.\n")
    out.write("\n")
    if info.payments:
        _table(
            out,
            ("DATE", "METHOD", "REFERENCE", "AMOUNT", "REFUND REASON"),
            [
                (
                    p.draft.paid_on.isoformat(),
                    p.draft.method.label,
                    p.draft.reference,
                    money(p.draft.amount_minor),
                    p.draft.reason if p.is_refund else "",
                )
                for p in info.payments
            ],
            right=frozenset({3}),
        )
    else:
        out.write("No payments yet.\n")
    t = info.totals
    out.write("\n")
    _table(
        out,
        ("Estimated", money(t.estimated)),
        [
            ("Awaiting approval", money(t.awaiting_approval)),
            ("Charged", money(t.final)),
            ("Paid", money(t.paid)),
            ("Balance", money(t.balance)),
        ],
        right=frozenset({1}),
    )
    out.write(f"Status             {t.status.label}\n")
    if args.history:
        out.write("\nHistory, newest first:\n")
        for event in info.history:
            reason = f" Reason: {event.reason}" if event.reason else ""
            moment = event.at.astimezone().strftime("%Y-%m-%d %H:%M")
            out.write(f"{moment}  {event.actor}  {event.action}{reason}\n")
    return EXIT_OK


def _add_payment(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.domain.money import MoneyError, format_amount
    from referral_desk.services import costs
    from referral_desk.services.errors import ServiceError
    from referral_desk.services.lookup import case_id_for_reference
    from referral_desk.services.office import get_profile, system_locale

    def refuse(message: str) -> int:
        print(f"referral-desk: {message}", file=sys.stderr)
        return EXIT_BAD

    locale = system_locale()
    try:
        case_id = case_id_for_reference(db, args.reference)
    except ServiceError as exc:
        return refuse(str(exc))
    currency = get_profile(db).currency
    try:
        amount = _read_amount(args.amount, currency, locale)
    except MoneyError as exc:
        return refuse(f"AMOUNT: {exc} Nothing was recorded.")
    if args.refund and not args.reason.strip():
        return refuse(
            "a refund needs --reason TEXT (why the money is paid back). Nothing was recorded."
        )
    draft = costs.PaymentDraft(
        amount_minor=-amount if args.refund else amount,
        paid_on=args.paid_on or datetime.now().astimezone().date(),
        method=args.method,
        reference=args.payment_reference,
        reason=args.reason,
    )
    try:
        # Asked in the app before an overpayment; here it is said and recorded all the same.
        warning = None if args.refund else costs.payment_warning(db, case_id, amount)
        change = costs.add_payment(db, case_id, draft, actor=actor)
    except ServiceError as exc:
        return refuse(f"{exc} Nothing was recorded.")
    if warning:
        print(f"referral-desk: warning: {warning}", file=sys.stderr)
    print(change.message)
    t = costs.case_costs(db, case_id).totals
    print(
        f"Paid {format_amount(t.paid, currency, locale)} of "
        f"{format_amount(t.final, currency, locale)} charged; balance "
        f"{format_amount(t.balance, currency, locale)} ({t.status.label})."
    )
    return EXIT_OK


FEE_COLUMNS = ("code", "name", "price", "currency", "needs_approval", "active", "cases_using")


def _list_fees(db: Database, *, show_inactive: bool, output: str) -> int:
    from referral_desk.domain.money import format_amount
    from referral_desk.services import fee_schedule
    from referral_desk.services.case_export import amount_text
    from referral_desk.services.office import get_profile, system_locale

    currency = get_profile(db).currency
    services = fee_schedule.list_services(db, active_only=not show_inactive)
    out = sys.stdout
    if output == "json":
        _write_json(
            out,
            (
                {
                    "code": s.code,
                    "name": s.name,
                    "price_minor": s.draft.price_minor,
                    "currency": currency,
                    "needs_approval": s.draft.needs_approval,
                    "active": s.draft.active,
                    "cases_using": s.cases_using,
                }
                for s in services
            ),
        )
    elif output == "csv":
        _write_csv(
            out,
            FEE_COLUMNS,
            (
                {
                    "code": s.code,
                    "name": s.name,
                    "price": amount_text(s.draft.price_minor, currency),
                    "currency": currency,
                    "needs_approval": "yes" if s.draft.needs_approval else "no",
                    "active": "yes" if s.draft.active else "no",
                    "cases_using": s.cases_using,
                }
                for s in services
            ),
        )
    else:
        locale = system_locale()
        _table(
            out,
            ("CODE", "NAME", "PRICE", "APPROVAL", "STATUS", "CASES"),
            [
                (
                    s.code,
                    s.name,
                    format_amount(s.draft.price_minor, currency, locale)
                    if s.draft.price_minor
                    else "not set",
                    "patient approves" if s.draft.needs_approval else "",
                    "active" if s.draft.active else "inactive",
                    f"{s.cases_using:,}",
                )
                for s in services
            ],
            right=frozenset({2, 5}),
        )
        n = len(services)
        out.write(f"{n:,} {'active ' if not show_inactive else ''}service{'s' if n != 1 else ''}")
        out.write(f", prices in {currency}\n")
    return EXIT_OK


def _check_letter_arguments(args: argparse.Namespace) -> None:
    """Options that do not go together: refused before anything is opened (exit 2)."""
    usage: argparse.ArgumentParser = args.usage
    if args.command == "letter":
        if args.kind is not None and args.reprint is not None:
            usage.error("give --kind (a new letter) or --reprint ID (an archived one), not both")
        making = args.kind is not None or args.reprint is not None
        if making and args.out is None:
            usage.error(f"{'--kind' if args.kind else '--reprint'} needs --out FILE.pdf")
        if not making:
            for flag, given in (
                ("--out", args.out is not None),
                ("--large-print", args.large_print),
                ("--mark-sent", args.mark_sent),
                ("--force", args.force),
            ):
                if given:
                    usage.error(f"{flag} goes with --kind KIND (or --reprint ID)")
        if args.reprint is not None and args.large_print:
            usage.error(
                "a reprint is the archived file as it was; for large print make a new letter "
                "with --kind KIND --large-print"
            )
        return
    if args.letters_command == "sent":
        for flag, given in (
            ("--out", args.out is not None),
            ("--large-print", args.large_print),
            ("--mark-sent", args.mark_sent),
            ("--force", args.force),
        ):
            if given:
                usage.error(f"{flag} is for making a batch, not for `letters sent`")
    elif args.out is None:
        usage.error("the batch needs --out FILE.pdf")


def _refuse(message: str) -> int:
    print(f"referral-desk: {message}", file=sys.stderr)
    return EXIT_BAD


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _target_problem(target: Path, force: bool, example: str = "letter.pdf") -> str | None:
    """Why the file cannot go to `target`, checked before anything is made or archived."""
    if target.is_dir():
        return f"{target} is a folder; give a file name, e.g. {target / example}."
    if target.exists() and not force:
        return f"{target} already exists; add --force to replace it."
    folder = target.parent
    if not folder.is_dir():
        return f"The folder {folder} does not exist."
    return None


def _local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _letter(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services.errors import ServiceError
    from referral_desk.services.lookup import case_id_for_reference

    try:
        case_id = case_id_for_reference(db, args.reference)
        if args.kind is not None:
            return _make_letter(db, case_id, args, actor)
        if args.reprint is not None:
            return _reprint_letter(db, case_id, args, actor)
        return _list_letters(db, case_id, actor)
    except ServiceError as exc:
        return _refuse(str(exc))


def _list_letters(db: Database, case_id: int, actor: Actor) -> int:
    from referral_desk.domain.text import full_name
    from referral_desk.services import audit_log, cases, letters

    detail = cases.get_case(db, case_id)
    made = letters.list_letters(db, case_id)
    available = letters.available_kinds(db, case_id)
    audit_log.opened_case(db, case_id, actor=actor)  # the patient's name and letters are shown
    out = sys.stdout
    patient = full_name(detail.patient.given_names, detail.patient.family_name)
    out.write(f"{detail.reference}  {patient}  ({detail.status.label})\n\n")
    if not made:
        out.write("No letters yet.\n")
    else:
        _table(
            out,
            ("ID", "KIND", "MADE", "BY", "PAGES", "PRINT", "TEMPLATE", "SENT"),
            [
                (
                    str(info.id),
                    info.kind.label,
                    _local_time(info.created_at),
                    info.created_by,
                    str(info.pages),
                    "large" if info.large_print else "",
                    f"v{info.template_version}",
                    f"{_local_time(info.sent_at)} by {info.sent_by}" if info.sent_at else "",
                )
                for info in made
            ],
            right=frozenset({0, 4}),
        )
    out.write("\nCan be made:\n")
    width = max(len(_kind_name(k)) for k in LetterKind)
    for kind in LetterKind:
        reason = available.get(kind, "Not offered for this case.")
        out.write(
            f"  {_kind_name(kind).ljust(width)}  {'yes' if reason is None else 'no: ' + reason}\n"
        )
    return EXIT_OK


def _make_letter(db: Database, case_id: int, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services import letters
    from referral_desk.services.errors import ServiceError
    from referral_desk.services.office import system_locale

    kind: LetterKind = args.kind
    target: Path = args.out
    reason = letters.available_kinds(db, case_id).get(kind, "Not offered for this case.")
    if reason is not None:
        return _refuse(
            f"No {_letter_noun(kind)} for {args.reference.strip().upper()}: "
            f"{reason} Nothing was written."
        )
    problem = _target_problem(target, args.force)
    if problem:
        return _refuse(f"{problem} Nothing was made.")
    info = letters.generate(
        db, case_id, kind, actor=actor, large_print=args.large_print, locale=system_locale()
    )
    try:
        letters.save_copy(db, info.id, target, actor=actor)
    except ServiceError as exc:
        return _refuse(
            f"{exc} The letter is archived with the case as letter {info.id}; save it with "
            f"`referral-desk letter {info.reference} --reprint {info.id} --out FILE.pdf`."
        )
    print(
        f"Wrote the {_letter_noun(kind)} for {info.reference} to {target} "
        f"({_plural(info.pages, 'page')}); it is archived with the case as letter {info.id}."
    )
    return _after_writing(db, [info.id], mark=args.mark_sent, actor=actor)


def _reprint_letter(db: Database, case_id: int, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services import letters

    made = {info.id: info for info in letters.list_letters(db, case_id)}
    info = made.get(args.reprint)
    if info is None:
        return _refuse(
            f"{args.reference.strip().upper()} has no letter {args.reprint}; "
            f"`referral-desk letter {args.reference.strip().upper()}` lists its letters."
        )
    problem = _target_problem(args.out, args.force)
    if problem:
        return _refuse(f"{problem} Nothing was written.")
    letters.save_copy(db, info.id, args.out, actor=actor)
    print(
        f"Wrote letter {info.id} ({_letter_noun(info.kind)}, made "
        f"{_local_time(info.created_at)} by {info.created_by}) to {args.out}: the archived file, "
        f"SHA-256 {info.sha256}."
    )
    if info.sent_at is not None:
        print(f"It was marked sent on {_local_time(info.sent_at)} by {info.sent_by}.")
        return EXIT_OK
    return _after_writing(db, [info.id], mark=args.mark_sent, actor=actor)


def _after_writing(db: Database, letter_ids: list[int], *, mark: bool, actor: Actor) -> int:
    """Mark the letters sent, or say how to once they are posted."""
    from referral_desk.services import letters
    from referral_desk.services.errors import ServiceError

    if not letter_ids:
        return EXIT_OK
    if not mark:
        print(
            "Not marked sent yet. Once posted: referral-desk letters sent "
            f"{_id_ranges(letter_ids)} (or Mark sent on the case's Letters tab)."
        )
        return EXIT_OK
    try:
        changes = letters.mark_sent(db, letter_ids, actor=actor)
    except ServiceError as exc:
        return _refuse(f"{exc} The PDF is written and archived; nothing was marked sent.")
    _say_marked(len(letter_ids), changes)
    return EXIT_OK


def _say_marked(count: int, changes: Sequence[CaseChange]) -> None:
    moved = sum(1 for change in changes if change.moved_to is CaseStatus.LETTER_SENT)
    line = f"Marked {_plural(count, 'letter')} sent"
    if moved:
        line += f"; {_plural(moved, 'case')} moved to {CaseStatus.LETTER_SENT.label}"
    print(line + ".")


def _id_ranges(ids: Sequence[int]) -> str:
    """1201-1240 1250: what `letters sent` reads back."""
    ordered = sorted(set(ids))
    parts: list[str] = []
    start = previous = ordered[0]
    for number in [*ordered[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return " ".join(parts)


def _letters(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services.errors import ServiceError

    try:
        if args.letters_command == "sent":
            return _mark_letters_sent(db, [i for group in args.ids for i in group], actor)
        return _letter_batch(db, args, actor)
    except ServiceError as exc:
        return _refuse(str(exc))


def _mark_letters_sent(db: Database, letter_ids: list[int], actor: Actor) -> int:
    from referral_desk.services import letters

    changes = letters.mark_sent(db, letter_ids, actor=actor)
    _say_marked(len(set(letter_ids)), changes)
    return EXIT_OK


def _batch_case_ids(db: Database, status: CaseStatus, kind: LetterKind) -> list[int]:
    """The cases in `status` that can have this letter and have not been sent one."""
    from referral_desk.services import letters
    from referral_desk.services.case_export import iter_rows
    from referral_desk.services.case_list import CaseQuery, SortKey

    if status is CaseStatus.OPINION_RECEIVED and kind is LetterKind.SUMMARY:
        return letters.batch_cases(db)
    query = CaseQuery(statuses=frozenset({status}), sort=SortKey.REFERENCE)
    wanted = []
    for row in iter_rows(db, query):
        if letters.available_kinds(db, row.id).get(kind, "") is not None:
            continue
        if any(i.kind is kind and i.sent_at for i in letters.list_letters(db, row.id)):
            continue
        wanted.append(row.id)
    return wanted


def _letter_batch(db: Database, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services import letters
    from referral_desk.services.office import system_locale

    kind: LetterKind = args.kind
    status: CaseStatus = args.status
    target: Path = args.out
    problem = _target_problem(target, args.force)
    if problem:
        return _refuse(f"{problem} Nothing was made.")
    case_ids = _batch_case_ids(db, status, kind)
    if not case_ids:
        print(
            f"No case in {status.label} is waiting for a {_letter_noun(kind)}; nothing was written."
        )
        return EXIT_OK
    total = len(case_ids)
    show_progress = sys.stderr.isatty()

    def progress(done: int) -> None:
        print(f"\r{done:,}/{total:,}", end="", file=sys.stderr, flush=True)

    stop = _InterruptFlag()
    with stop:
        result = letters.generate_batch(
            db,
            case_ids,
            kind,
            target,
            actor=actor,
            large_print=args.large_print,
            progress=progress if show_progress else None,
            cancelled=stop.is_set,
            locale=system_locale(),
        )
    if show_progress:
        print(file=sys.stderr)
    made = len(result.letter_ids)
    if result.cancelled:
        kept = (
            f" The {_plural(made, 'letter')} made before stopping are archived with their cases."
            if made
            else ""
        )
        return _refuse(f"Stopped: no batch file was written and nothing was marked sent.{kept}")
    print(
        f"Wrote {made:,} {_letter_noun(kind, made)} ({_plural(result.pages, 'page')}) for the "
        f"cases in {status.label} to {target}; each letter is archived with its case."
    )
    return _after_writing(db, list(result.letter_ids), mark=args.mark_sent, actor=actor)


# --- Reports ---------------------------------------------------------------------------------

_FORMAT_NAMES = {"pdf": "PDF", "csv": "CSV", "xlsx": "Excel"}


@dataclass(frozen=True)
class _ReportRequest:
    month: Month
    target: Path


def _report_request(args: argparse.Namespace) -> _ReportRequest:
    """The month and the file, checked before the database is opened; ReportError says why not."""
    from referral_desk.services.report_export import ExportFormat, export_format, suggested_name

    today = datetime.now().astimezone().date()
    month = last_complete_month(today) if args.month is None else _month(args.month)
    check_begun(month, today)
    target: Path = args.out
    if not target.is_dir():  # a folder is told to add a file name, not an extension
        export_format(target)  # an unknown extension: the message names the three that work
    problem = _target_problem(target, args.force, suggested_name(month, ExportFormat.PDF))
    if problem:
        raise ReportError(problem)
    return _ReportRequest(month, target)


def _monthly_report(db: Database, request: _ReportRequest, actor: Actor) -> int:
    from referral_desk.services.errors import ServiceError
    from referral_desk.services.office import system_locale
    from referral_desk.services.report_export import export_report
    from referral_desk.services.reports import monthly_report

    month, target = request.month, request.target
    # Progress only on a terminal: a scheduled job's log gets the one line below.
    show = sys.stderr.isatty()
    try:
        report = monthly_report(
            db,
            month,
            actor=actor,
            progress=_progress_line(f"Reading {month.label}") if show else None,
        )
        written = export_report(
            db,
            report,
            target,
            actor=actor,
            locale=system_locale(),
            progress=_progress_line(f"Writing {target.name}") if show else None,
        )
    except (ServiceError, ReportError) as exc:
        message = str(exc)
        if "nothing was written" not in message.lower():
            message += " Nothing was written."
        return _refuse(message)
    except OSError as exc:
        return _refuse(f"Cannot write {target} ({exc.strerror or exc}). Nothing was written.")
    except KeyboardInterrupt:
        return _refuse("Stopped: nothing was written.")
    finally:
        if show:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    count = len(report.rows)
    cases = _plural(count, "case") if count else "no cases"
    kind = _FORMAT_NAMES.get(written.value, written.value)
    print(
        f"Wrote {target}: {cases} received in {month.label} "
        f"({kind}, {_file_detail(target, written.value)})"
    )
    return EXIT_OK


def _progress_line(label: str) -> Callable[[int, int], None]:
    """One line on the terminal, rewritten in place (cleared first: the labels differ)."""

    def show(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        print(f"\r\033[K{label}: {percent}%", end="", file=sys.stderr, flush=True)

    return show


def _file_detail(target: Path, kind: str) -> str:
    """A PDF's pages (what a reader checks first), or any file's size."""
    if kind == "pdf":
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            return _plural(len(PdfReader(target).pages), "page")
        except (PyPdfError, OSError):  # the file is written; its pages are only a courtesy
            pass
    size = target.stat().st_size
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024)):,} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class _InterruptFlag:
    """Ctrl+C asks the batch to stop between letters rather than killing it mid-write."""

    def __init__(self) -> None:
        self._set = False
        self._installed = False
        self._previous: Any = None

    def is_set(self) -> bool:
        return self._set

    def _handle(self, _signum: int, _frame: Any) -> None:
        if self._set:  # a second Ctrl+C: stop at once
            raise KeyboardInterrupt
        self._set = True
        print("\nStopping after this letter (Ctrl+C again to stop at once) ...", file=sys.stderr)

    def __enter__(self) -> _InterruptFlag:
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)


def _write_json(out: TextIO, records: Iterable[dict[str, Any]]) -> None:
    """A JSON array written record by record, so a long list never sits in memory whole."""
    out.write("[")
    for i, rec in enumerate(records):
        out.write(("," if i else "") + "\n  " + json.dumps(rec, ensure_ascii=False))
    out.write("\n]\n")


def _write_csv(out: TextIO, columns: Sequence[str], records: Iterable[dict[str, Any]]) -> None:
    """CSV with every cell that could run as a spreadsheet formula neutralised."""
    from referral_desk.services.case_export import neutralise

    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: neutralise(str(v)) for k, v in rec.items()})


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


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
        print("  This SQLite version has the WAL-reset race (sqlite.org/wal.html), which can")
        print("  damage a database when two connections write or checkpoint at once. Referral")
        print("  Desk therefore lets one window or job write at a time (the others wait).")
    from referral_desk.services.storage_place import network_warning

    shared = network_warning(paths.database)
    if shared:
        print(f"Location:        WARNING: {shared}")
    _check_backups(paths)
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
    trail_ok = _check_audit_trail(paths, report.ok, report.schema_revision, head)
    healthy = report.ok and report.schema_revision == head and trail_ok
    print("Result:          " + ("healthy" if healthy else "PROBLEMS FOUND"))
    return EXIT_OK if healthy else EXIT_BAD


def _check_backups(paths: AppPaths) -> None:
    from referral_desk.domain.backups import is_stale
    from referral_desk.services import backups

    newest = backups.newest_backup_at(paths)
    folder = backups.load_settings(paths).folder
    if newest is None:
        print(f"Backups:         none yet in {folder}")
        return
    stale = "  (more than two days old: back up now)" if is_stale(newest, datetime.now(UTC)) else ""
    print(f"Backups:         newest {_local_time(newest)} in {folder}{stale}")


def _check_audit_trail(paths: AppPaths, sound: bool, revision: str | None, head: str) -> bool:
    """Walk the audit trail's hash chain; False when an entry was edited or removed. Only a
    sound file of this version's schema is opened for it, to read (`check` never migrates or
    writes): a damaged file is left alone, and an older one (one from before accounts has no
    trail at all) is checked once the app has upgraded it."""
    from sqlalchemy.exc import DBAPIError

    from referral_desk.db.engine import Database
    from referral_desk.db.migrate import known_revisions
    from referral_desk.services import audit_log

    if not sound:
        print("Audit trail:     not checked (the file is damaged)")
        return False
    # Otherwise the schema line has already said what is wrong.
    if revision is None or revision not in known_revisions():
        print("Audit trail:     not checked (not a schema this version knows)")
        return True
    if revision != head:
        print("Audit trail:     checked once Referral Desk has upgraded the file")
        return True
    show = sys.stderr.isatty()
    db = Database(paths.database)
    try:
        chain = audit_log.verify_chain(
            db, progress=_progress_line("Checking the audit trail") if show else None
        )
    except DBAPIError as exc:
        print(f"Audit trail:     cannot be read ({exc.orig})")
        return False
    finally:
        db.dispose()
        if show:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if chain.ok:
        noun = "entry" if chain.entries == 1 else "entries"
        print(f"Audit trail:     {chain.entries:,} {noun}, intact")
        return True
    print(f"Audit trail:     BROKEN ({chain.entries:,} entries)")
    print(f"  {chain.problem}")
    print("  Someone changed the file outside Referral Desk. Keep a copy of it as it is")
    print("  (it is evidence); the backups from before the change hold the original entries.")
    return False


# --- Backups and restore ---------------------------------------------------------------------


def _backup_target_problem(args: argparse.Namespace) -> str | None:
    if args.out is None:
        if args.force:
            return "--force goes with --out FILE."
        return None
    return _target_problem(args.out, args.force, "referral-desk-backup.sqlite")


def _back_up(db: Database, paths: AppPaths, args: argparse.Namespace, actor: Actor) -> int:
    from referral_desk.services import backups
    from referral_desk.services.acting import check
    from referral_desk.services.errors import ServiceError

    show = sys.stderr.isatty()
    progress = _progress_line("Backing up") if show else None
    try:
        # Every copy of the whole database holds every patient: administrators only.
        check(actor, Permission.BACKUPS, "back up the database")
        if args.out is not None:
            target = backups.back_up_now(db, args.out, actor=actor, paths=paths, progress=progress)
            removed: list[Path] = []
        else:
            made = backups.automatic_backup(db, paths, progress=progress)
            target, removed = made.path, made.removed
            backups.record_backup(db, actor, target)
    except ServiceError as exc:
        return _refuse(str(exc))
    finally:
        if show:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    summary = backups.describe(target)
    print(f"Backed up to {target} ({size_text(summary.size)}, {_plural(summary.cases, 'case')}).")
    if removed:
        print(f"Rotation removed {_plural(len(removed), 'older backup')}.")
    return EXIT_OK


def _list_backups(paths: AppPaths, output: str) -> int:
    from referral_desk.services import backups

    folder = backups.load_settings(paths).folder
    found = backups.list_backups(folder)
    if output == "json":
        records = [
            {
                "file": str(b.path),
                "kind": b.kind.value,
                "taken_at": b.taken_at.isoformat(),
                "data_as_of": b.data_as_of.isoformat() if b.data_as_of else None,
                "schema": b.revision,
                "cases": b.cases,
                "patients": b.patients,
                "documents": b.documents,
                "letters": b.letters,
                "bytes": b.size,
                "problem": b.error,
            }
            for b in found
        ]
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"Backup folder: {folder}")
    if not found:
        print("No backups yet.")
        return EXIT_OK
    rows = [("Taken", "Kind", "Cases", "Size", "File")] + [
        (
            _local_time(b.taken_at),
            b.kind.value,
            "unreadable" if b.error else f"{b.cases:,}",
            size_text(b.size),
            b.path.name,
        )
        for b in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    return EXIT_OK


def _show_backup(summary: BackupSummary) -> None:
    from referral_desk.db.migrate import head_revision

    print(f"Backup:          {summary.path} ({size_text(summary.size)})")
    print(f"Taken:           {_local_time(summary.taken_at)}")
    if summary.data_as_of:
        print(f"Data as of:      {_local_time(summary.data_as_of)}")
    schema = {
        "current": "this version's",
        "older": f"older (upgraded to {head_revision()} after the restore)",
        "newer": "NEWER than this version",
        "unknown": "unknown",
    }[summary.schema]
    print(f"Schema:          {summary.revision or '-'} ({schema})")
    print(
        f"Holds:           {_plural(summary.cases, 'case')}, "
        f"{_plural(summary.patients, 'patient')}, {_plural(summary.documents, 'document')}, "
        f"{_plural(summary.letters, 'letter')}"
    )


def _verify_backup(file: Path) -> int:
    from referral_desk.services import backups

    try:
        checked = backups.verify(file)
    except backups.BackupError as exc:
        return _refuse(str(exc))
    _show_backup(checked.summary)
    if checked.ok:
        print("Checks:          passed (integrity, foreign keys, schema, audit trail)")
        return EXIT_OK
    print("Checks:          FAILED")
    for problem in checked.problems:
        print(f"  {problem}")
    return EXIT_BAD


def _restore_hint(paths: AppPaths, args: argparse.Namespace) -> str:
    from referral_desk.services import backups

    newest = backups.newest_good_backup(paths)
    if newest is None:
        return (
            "No good backup was found in the backup folder; nothing was changed. Restore a "
            f"backup file with `{_command_hint(args, 'restore FILE --user NAME')}`."
        )
    return (
        f"The newest good backup is {newest.summary.path} (taken "
        f"{_local_time(newest.summary.taken_at)}). Restore it with "
        f"`{_command_hint(args, f'restore {newest.summary.path} --user NAME')}`; "
        "nothing was changed."
    )


def _confirmed(args: argparse.Namespace) -> bool:
    if args.yes:
        return True
    if sys.stdin is None or not sys.stdin.isatty():
        raise _Stop(
            "Restoring replaces the office's data: confirm with --yes when no one is at a "
            "terminal to answer. Nothing was changed."
        )
    answer = input("Replace the office's current data with this backup? Type 'restore': ")
    return answer.strip().lower() == "restore"


def _restore(paths: AppPaths, args: argparse.Namespace) -> int:
    """Restore over a sound database (signed in as one of its administrators), or over a
    damaged or missing one (signed in as an administrator of the backup, the only accounts
    left to ask)."""
    from referral_desk.services import backups
    from referral_desk.services.database import health, open_database
    from referral_desk.services.errors import ServiceError

    try:
        checked = backups.verify(args.file)
    except backups.BackupError as exc:
        return _refuse(f"{exc} Nothing was changed.")
    _show_backup(checked.summary)
    if not checked.ok:
        print("Checks:          FAILED")
        for problem in checked.problems:
            print(f"  {problem}")
        return _refuse("This backup cannot be restored. Nothing was changed.")
    print("Checks:          passed (integrity, foreign keys, schema, audit trail)")
    paths.ensure()
    safety_folder = backups.load_settings(paths).folder
    state = health(paths.database)
    try:
        if state.ok and paths.database.exists():
            db = open_database(paths)
            try:
                signed = _signed_in(db, args)
                actor = signed[0] if signed else _no_accounts_restorer(args)
                if not _confirmed(args):
                    return _refuse("Not restored. Nothing was changed.")
                done = backups.restore(db, args.file, actor=actor, safety_folder=safety_folder)
            finally:
                db.dispose()
        else:
            if not state.ok:
                print(f"Current:         {state.problem}")
            _backup_administrator(args)
            if not _confirmed(args):
                return _refuse("Not restored. Nothing was changed.")
            done = backups.restore_over_damaged(
                paths.database, args.file, safety_folder=safety_folder
            )
    except _Stop as stop:
        return stop.tell()
    except ServiceError as exc:
        return _refuse(str(exc))
    if done.safety_copy.exists():
        print(f"Restored. The database as it was before is kept as {done.safety_copy}.")
    else:
        print(f"Restored into {paths.database}.")
    if done.upgraded_from:
        print(f"The backup's schema {done.upgraded_from} was upgraded to this version's.")
    return EXIT_OK


def _no_accounts_restorer(args: argparse.Namespace) -> Actor:
    """An office without accounts (made before them): whoever runs the command administers it."""
    return Actor(getattr(args, "user", None) or "administrator", UserRole.ADMINISTRATOR)


def _backup_administrator(args: argparse.Namespace) -> Actor:
    """With the office's own database unusable, the backup's accounts decide who may restore
    it: signed in on a scratch copy, so the backup file itself is never written."""
    from referral_desk.db.engine import Database
    from referral_desk.services import backups

    with backups.scratch_copy(args.file) as copy:
        scratch = Database(copy)
        try:
            signed = _signed_in(scratch, args)
        finally:
            scratch.dispose()
    if signed is None:
        return _no_accounts_restorer(args)
    actor = signed[0]
    if not actor.may(Permission.BACKUPS):
        raise _Stop(
            f"{actor.name} is not an administrator in this backup; only an administrator may "
            "restore it. Nothing was changed."
        )
    return actor


if __name__ == "__main__":
    raise SystemExit(main())
