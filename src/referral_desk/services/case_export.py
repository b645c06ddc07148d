"""Case rows as flat records for CSV, JSON and text tables (CLI and later exports)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo

from referral_desk.db.engine import Database
from referral_desk.domain.clock import describe_remaining
from referral_desk.domain.enums import cancer_type_label
from referral_desk.services.case_list import CaseQuery, CaseRow, fetch_page

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
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Stop a spreadsheet from running text that looks like a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _local(moment: datetime | None, zone: tzinfo | None) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def record(row: CaseRow, zone: tzinfo | None = None) -> dict[str, str]:
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
    }


def iter_records(
    db: Database, query: CaseQuery, *, now: datetime | None = None, zone: tzinfo | None = None
) -> Iterator[dict[str, str]]:
    """Every matching case, page by page, so memory stays flat for any size of office."""
    now = now or datetime.now(UTC)
    cursor = None
    while True:
        page = fetch_page(db, query, after=cursor, limit=2_000, now=now, local_zone=zone)
        for row in page.rows:
            yield record(row, zone)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
