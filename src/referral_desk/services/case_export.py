"""Case rows as flat records for CSV, JSON and text tables (CLI and later exports).

Money leaves as exact text in the office currency's decimal places ("1234.50", with a
currency column) or, for JSON, as integer minor units: never as a float a spreadsheet or a
script could round.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.clock import describe_remaining
from referral_desk.domain.enums import cancer_type_label
from referral_desk.domain.money import to_decimal
from referral_desk.services.acting import acting, check
from referral_desk.services.acting import record as record_entry
from referral_desk.services.case_list import CaseQuery, CaseRow, fetch_page
from referral_desk.services.office import get_profile

COLUMNS = (
    "reference",
    "patient",
    "birth_date",
    "cancer_type",
    "referrer",
    "urgency",
    "status",
    "missing_documents",
    "received",
    "due",
    "time_left",
    "pace",
    "treatment_risk",
    "last_change",
    "total",
    "total_is_estimate",
    "balance",
    "payment_status",
    "awaiting_approval",
    "currency",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise(value: str) -> str:
    """Stop a spreadsheet from running text that looks like a formula.

    A plain negative number ("-120.00", a credit balance) is a number, not a formula: it stays.
    """
    if value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def amount_text(minor: int, currency: str) -> str:
    """Minor units as exact decimal text in the currency's places: 123450 EUR -> '1234.50'."""
    return f"{to_decimal(minor, currency):f}"


def _local(moment: datetime | None, zone: tzinfo | None) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def record(row: CaseRow, currency: str, zone: tzinfo | None = None) -> dict[str, str]:
    return {
        "reference": row.reference,
        "patient": row.patient_name,
        "birth_date": row.birth_date.isoformat(),
        "cancer_type": cancer_type_label(row.cancer_type),
        "referrer": row.referrer,
        "urgency": row.urgency.label,
        "status": row.status.label,
        "missing_documents": str(row.missing_documents),
        "received": _local(row.received_at, zone),
        "due": _local(row.due_at, zone),
        "time_left": describe_remaining(row.clock.remaining) if row.clock.remaining else "",
        "pace": row.clock.pace.label,
        "treatment_risk": row.treatment_risk or "",
        "last_change": _local(row.updated_at, zone),
        "total": amount_text(row.total_minor, currency),
        "total_is_estimate": "yes" if row.total_is_estimate else "no",
        "balance": amount_text(row.balance_minor, currency),
        "payment_status": row.payment_status.label,
        "awaiting_approval": str(row.awaiting_approval),
        "currency": currency,
    }


def json_record(row: CaseRow, currency: str, zone: tzinfo | None = None) -> dict[str, Any]:
    """The same fields for machines: money in integer minor units, flags and counts typed."""
    # Amounts named "_minor" so nobody mistakes them for major units.
    typed: dict[str, tuple[str, Any]] = {
        "total": ("total_minor", row.total_minor),
        "total_is_estimate": ("total_is_estimate", row.total_is_estimate),
        "balance": ("balance_minor", row.balance_minor),
        "awaiting_approval": ("awaiting_approval", row.awaiting_approval),
    }
    return dict(typed.get(key, (key, value)) for key, value in record(row, currency, zone).items())


def iter_rows(
    db: Database, query: CaseQuery, *, now: datetime | None = None, zone: tzinfo | None = None
) -> Iterator[CaseRow]:
    """Every matching case, page by page, so memory stays flat for any size of office."""
    now = now or datetime.now(UTC)
    cursor = None
    while True:
        page = fetch_page(db, query, after=cursor, limit=2_000, now=now, local_zone=zone)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


EXPORT_WORDS = "export the case list"  # "A staff cannot ..."


def _exported(
    db: Database,
    records: Iterator[dict[str, Any]],
    *,
    actor: Actor,
    what: str,
    destination: str,
) -> Iterator[dict[str, Any]]:
    n = 0
    try:
        for item in records:
            n += 1
            yield item
    finally:
        # Recorded once the rows have left, also when the reader stopped early: the trail
        # says who took which part of the case list.
        if n:
            with acting(db, actor, Permission.REPORTS, EXPORT_WORDS) as session:
                record_entry(
                    session,
                    actor,
                    AuditAction.EXPORT,
                    "case list",
                    detail=f"{n:,} case{'s' if n != 1 else ''} as {what} to {destination}",
                )
                session.commit()


def iter_records(
    db: Database,
    query: CaseQuery,
    *,
    actor: Actor,
    destination: str = "standard output",
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> Iterator[dict[str, str]]:
    """Every matching case as text (CSV, tables), amounts in the office currency. An export:
    refused at once without the right, and recorded in the audit trail."""
    check(actor, Permission.REPORTS, EXPORT_WORDS)
    currency = get_profile(db).currency
    rows = (record(row, currency, zone) for row in iter_rows(db, query, now=now, zone=zone))
    return _exported(db, rows, actor=actor, what="CSV", destination=destination)


def iter_json_records(
    db: Database,
    query: CaseQuery,
    *,
    actor: Actor,
    destination: str = "standard output",
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> Iterator[dict[str, Any]]:
    check(actor, Permission.REPORTS, EXPORT_WORDS)
    currency = get_profile(db).currency
    rows = (json_record(row, currency, zone) for row in iter_rows(db, query, now=now, zone=zone))
    return _exported(db, rows, actor=actor, what="JSON", destination=destination)
