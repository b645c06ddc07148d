"""The case list: filter, search and sort in SQL, fetched a page at a time (keyset paging).

Never loads every case: the screen asks for the next page as the user scrolls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from functools import cache, cached_property
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    func,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import type_coerce

from referral_desk.db.engine import Database
from referral_desk.db.models import Case, Patient, Referrer, Specialist
from referral_desk.db.types import to_storage
from referral_desk.domain import clock
from referral_desk.domain.clock import ClockFacts, ClockPolicy, ClockReading, ClockState
from referral_desk.domain.costs import PaymentStatus, payment_status
from referral_desk.domain.enums import CaseStatus, Urgency
from referral_desk.domain.text import full_name
from referral_desk.domain.workflow import CLOSED_STATUSES
from referral_desk.services.search_index import match_expression

PAGE_SIZE = 256


class SortKey(StrEnum):
    REFERENCE = "reference"
    PATIENT = "patient"
    CANCER_TYPE = "cancer_type"
    URGENCY = "urgency"
    STATUS = "status"
    RECEIVED = "received"
    DUE = "due"  # also "time left" and the default: running clocks first, overdue at the top
    UPDATED = "updated"
    MISSING = "missing"  # required documents still missing
    SPECIALIST = "specialist"
    TOTAL = "total"  # charged and still quoted
    BALANCE = "balance"


@dataclass(frozen=True)
class CaseQuery:
    text: str = ""
    statuses: frozenset[CaseStatus] = field(default_factory=frozenset)
    urgencies: frozenset[Urgency] = field(default_factory=frozenset)
    overdue_only: bool = False
    incomplete_only: bool = False  # required documents still missing
    specialist_id: int | None = None  # the current primary reviewer
    major_change_only: bool = False
    unpaid_only: bool = False  # charged and not fully paid, whatever the status
    awaiting_approval_only: bool = False  # additional tests waiting for the patient's answer
    received_from: datetime | None = None  # inclusive, UTC
    received_before: datetime | None = None  # exclusive, UTC
    sort: SortKey = SortKey.DUE
    descending: bool = False


@dataclass(frozen=True)
class CaseRow:
    id: int
    reference: str
    patient_name: str
    birth_date: date
    cancer_type: str
    referrer: str
    urgency: Urgency
    status: CaseStatus
    received_at: datetime
    treatment_start: date | None
    updated_at: datetime
    updated_by: str
    missing_documents: int
    specialist: str
    major_change: bool
    charges_minor: int
    estimate_minor: int
    balance_minor: int
    awaiting_approval: int
    clock_facts: ClockFacts
    read_at: datetime
    policy: ClockPolicy
    zone: tzinfo | None

    # Derived when first shown: a page holds 256 rows, a screen shows about 35.
    @cached_property
    def clock(self) -> ClockReading:
        return clock.read_clock(self.clock_facts, self.read_at, self.policy)

    @property
    def total_minor(self) -> int:
        """What the case costs: its charges and what is still quoted (never counted twice:
        charging a quoted line moves it from one to the other)."""
        return self.charges_minor + self.estimate_minor

    @property
    def payment_status(self) -> PaymentStatus:
        paid = self.charges_minor - self.balance_minor
        return payment_status(self.charges_minor, paid, self.estimate_minor)

    @property
    def total_is_estimate(self) -> bool:
        """Part of the total is a quote, not yet charged."""
        return self.estimate_minor != 0

    @property
    def due_at(self) -> datetime | None:
        return self.clock.due_at

    @cached_property
    def treatment_risk(self) -> str | None:
        return clock.treatment_risk(
            self.urgency, self.clock, self.treatment_start, self.read_at, self.zone, self.policy
        )


@dataclass(frozen=True)
class Page:
    rows: tuple[CaseRow, ...]
    next_cursor: tuple[Any, ...] | None  # None: this was the last page


def _status_rank() -> ColumnElement[int]:
    return case({s.value: s.rank for s in CaseStatus}, value=Case.status, else_=99)


@cache  # building these expressions costs more than running the query on a warm page
def _sort_columns(key: SortKey) -> tuple[ColumnElement[Any], ...]:
    """Raw (undecorated) values, so the last row's values can be bound back as the cursor."""
    # Must read exactly like the expression index ix_cases_clock (no bound parameter).
    raw_due = type_coerce(
        func.coalesce(type_coerce(Case.due_at, String), literal_column("''")), String
    )
    columns: dict[SortKey, list[ColumnElement[Any]]] = {
        SortKey.REFERENCE: [Case.reference],
        SortKey.PATIENT: [Patient.name_folded],
        SortKey.CANCER_TYPE: [Case.cancer_type],
        SortKey.URGENCY: [case((Case.urgency == Urgency.URGENT.value, 0), else_=1)],
        SortKey.STATUS: [_status_rank()],
        SortKey.RECEIVED: [type_coerce(Case.received_at, String)],
        SortKey.DUE: [Case.clock_sort, raw_due],
        SortKey.UPDATED: [type_coerce(Case.updated_at, String)],
        SortKey.MISSING: [Case.missing_documents],
        SortKey.SPECIALIST: [func.coalesce(Specialist.name_folded, "")],
        SortKey.TOTAL: [Case.charges_minor + Case.estimate_minor],
        SortKey.BALANCE: [Case.balance_minor],
    }
    return (*columns[key], type_coerce(Case.id, Integer))


def _filtered(statement: Select[Any], query: CaseQuery, now: datetime) -> Select[Any]:
    if query.statuses:
        statement = statement.where(Case.status.in_(sorted(s.value for s in query.statuses)))
    if query.urgencies:
        statement = statement.where(Case.urgency.in_(sorted(u.value for u in query.urgencies)))
    if query.overdue_only:
        statement = statement.where(
            Case.clock_sort == clock.CLOCK_SORT_ORDER[ClockState.RUNNING],
            type_coerce(Case.due_at, String) < to_storage(now),
        )
    if query.incomplete_only:  # a closed or cancelled case no longer waits for records
        statement = statement.where(
            Case.missing_documents > 0,
            Case.status.not_in(sorted(s.value for s in CLOSED_STATUSES)),
        )
    if query.specialist_id is not None:
        statement = statement.where(Case.specialist_id == query.specialist_id)
    if query.major_change_only:
        statement = statement.where(Case.major_change.is_(True))
    if query.unpaid_only:
        statement = statement.where(Case.balance_minor > 0)
    if query.awaiting_approval_only:  # a closed or cancelled case asks the patient nothing
        statement = statement.where(
            Case.awaiting_approval > 0,
            Case.status.not_in(sorted(s.value for s in CLOSED_STATUSES)),
        )
    if query.received_from is not None:
        statement = statement.where(Case.received_at >= query.received_from)
    if query.received_before is not None:
        statement = statement.where(Case.received_at < query.received_before)
    if query.text.strip():
        expression = match_expression(query.text)
        if expression is None:  # only punctuation typed: nothing can match
            return statement.where(text("0"))
        statement = statement.where(
            Case.id.in_(
                select(text("rowid"))
                .select_from(text("case_search"))
                .where(text("case_search MATCH :match"))
            )
        ).params(match=expression)
    return statement


def fetch_page(
    db: Database,
    query: CaseQuery,
    *,
    after: tuple[Any, ...] | None = None,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
    policy: ClockPolicy = clock.DEFAULT_POLICY,
    local_zone: tzinfo | None = None,
) -> Page:
    """One page of the list in the query's order, starting after the given cursor."""
    now = now or datetime.now(UTC)
    zone = local_zone  # None: this computer's zone, per moment (daylight saving included)
    sort_columns = _sort_columns(query.sort)
    statement = (
        select(
            Case.id,
            Case.reference,
            Patient.given_names,
            Patient.family_name,
            Patient.birth_date,
            Case.cancer_type,
            Referrer.name,
            Case.urgency,
            Case.status,
            Case.received_at,
            Case.records_complete_at,
            Case.opinion_at,
            Case.paused_seconds,
            Case.hold_since,
            Case.treatment_start,
            Case.updated_at,
            Case.updated_by,
            Case.missing_documents,
            Specialist.name,
            Case.major_change,
            Case.charges_minor,
            Case.estimate_minor,
            Case.balance_minor,
            Case.awaiting_approval,
            *(column.label(f"sort_{i}") for i, column in enumerate(sort_columns)),
        )
        .join(Patient, Patient.id == Case.patient_id)
        .outerjoin(Referrer, Referrer.id == Case.referrer_id)
        .outerjoin(Specialist, Specialist.id == Case.specialist_id)
    )
    statement = _filtered(statement, query, now)
    if after is not None:
        cursor = tuple_(*sort_columns)
        bound = tuple_(*after)
        statement = statement.where(cursor < bound if query.descending else cursor > bound)
    order = [c.desc() if query.descending else c.asc() for c in sort_columns]
    statement = statement.order_by(*order).limit(limit + 1)
    with db.read() as session:
        result = session.connection().execute(statement).all()  # Core: no ORM row loading
    more = len(result) > limit
    result = result[:limit]
    rows = tuple(_row(r, now, policy, zone) for r in result)
    next_cursor = tuple(result[-1][-len(sort_columns) :]) if more and result else None
    return Page(rows, next_cursor)


def _row(r: Sequence[Any], now: datetime, policy: ClockPolicy, zone: tzinfo | None) -> CaseRow:
    urgency, status = Urgency(r[7]), CaseStatus(r[8])
    return CaseRow(
        id=r[0],
        reference=r[1],
        patient_name=full_name(r[2], r[3]),
        birth_date=r[4],
        cancer_type=r[5],
        referrer=r[6] or "",
        urgency=urgency,
        status=status,
        received_at=r[9],
        treatment_start=r[14],
        updated_at=r[15],
        updated_by=r[16],
        missing_documents=r[17],
        specialist=r[18] or "",
        major_change=bool(r[19]),
        charges_minor=r[20],
        estimate_minor=r[21],
        balance_minor=r[22],
        awaiting_approval=r[23],
        clock_facts=ClockFacts(status, urgency, r[10], r[11], r[12], r[13]),
        read_at=now,
        policy=policy,
        zone=zone,
    )


def count_cases(db: Database, query: CaseQuery, *, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    statement = _filtered(select(func.count()).select_from(Case), query, now)
    with db.read() as session:
        return int(session.scalar(statement) or 0)


@dataclass(frozen=True)
class StatusCounts:
    by_status: dict[CaseStatus, int]
    overdue: int
    total: int


def status_counts(db: Database, *, now: datetime | None = None) -> StatusCounts:
    """Cases per status over the whole office, and how many are overdue right now."""
    now = now or datetime.now(UTC)
    with db.read() as session:
        pairs = session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
        overdue = session.scalar(
            select(func.count())
            .select_from(Case)
            .where(
                and_(
                    Case.clock_sort == clock.CLOCK_SORT_ORDER[ClockState.RUNNING],
                    type_coerce(Case.due_at, String) < to_storage(now),
                )
            )
        )
    by_status = {s: 0 for s in CaseStatus}
    for status, n in pairs:
        by_status[CaseStatus(status)] = n
    return StatusCounts(by_status, int(overdue or 0), sum(by_status.values()))


__all__ = [
    "PAGE_SIZE",
    "CaseQuery",
    "CaseRow",
    "Page",
    "SortKey",
    "StatusCounts",
    "count_cases",
    "fetch_page",
    "status_counts",
]
