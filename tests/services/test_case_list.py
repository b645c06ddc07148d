from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import select, tuple_
from sqlalchemy.dialects import sqlite

from referral_desk.db.engine import Database
from referral_desk.db.models import Case
from referral_desk.domain.costs import LineKind, PaymentMethod
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.enums import Urgency
from referral_desk.services import case_list, cases, costs, demo
from referral_desk.services import office as office_profile
from referral_desk.services.case_list import CaseQuery, SortKey, _sort_columns
from referral_desk.services.costs import LineDraft, PaymentDraft
from tests.conftest import NOW, admin, case, patient, without_checklists


def _refs(db: Database, query: CaseQuery) -> list[str]:
    return [row.reference for row in case_list.fetch_page(db, query, limit=500, now=NOW).rows]


@pytest.fixture
def office(db: Database) -> Database:
    without_checklists(db)  # these tests are about the list, not about records
    cases.create_case(db, case(), patient=patient(), actor=admin("a"), now=NOW)  # 00001
    cases.create_case(
        db,
        case(
            cancer_type="acute_leukaemia",
            diagnosis="AML with FLT3-ITD",
            referrer_name="Dr. Olga Petrenko",
            urgency=Urgency.URGENT,
        ),
        patient=patient(given_names="Анна", family_name="Иванова", birth_date=date(1980, 1, 1)),
        actor=admin("a"),
        now=NOW + timedelta(minutes=1),
    )  # 00002
    cases.create_case(
        db,
        case(cancer_type="lung", diagnosis="NSCLC adenocarcinoma", referrer_name=""),
        patient=patient(given_names="Søren", family_name="Åkesson", birth_date=date(1950, 5, 5)),
        actor=admin("a"),
        now=NOW + timedelta(minutes=2),
    )  # 00003
    return db


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("zoe", ["RD-2026-00001"]),  # accent-insensitive
        ("MÜLL", ["RD-2026-00001"]),
        ("akess", ["RD-2026-00003"]),
        ("иван", ["RD-2026-00002"]),
        ("rd-2026-00002", ["RD-2026-00002"]),
        ("petrenko", ["RD-2026-00002"]),  # referrer
        ("flt3", ["RD-2026-00002"]),  # diagnosis text
        ("leukaemia", ["RD-2026-00002"]),  # cancer type
        ("navarro zoe", ["RD-2026-00001"]),  # every word must match
        ("nobody", []),
        ("***", []),
    ],
)
def test_search_finds_cases_by_reference_patient_referrer_and_diagnosis(
    office: Database, typed: str, expected: list[str]
) -> None:
    assert sorted(_refs(office, CaseQuery(text=typed))) == expected
    assert case_list.count_cases(office, CaseQuery(text=typed), now=NOW) == len(expected)


def test_search_follows_a_renamed_patient(office: Database) -> None:
    detail = cases.get_case(office, 1, now=NOW)
    cases.update_case(
        office,
        1,
        expected_version=detail.version,
        patient=patient(family_name="Schmidt"),
        case=detail.case,
        actor=admin("a"),
        now=NOW,
    )
    assert _refs(office, CaseQuery(text="schmidt")) == ["RD-2026-00001"]
    assert _refs(office, CaseQuery(text="muller")) == []


def test_filters_by_status_urgency_and_overdue(office: Database) -> None:
    cases.change_status(office, 2, S.READY_FOR_REVIEW, actor=admin("a"), now=NOW)
    assert _refs(office, CaseQuery(statuses=frozenset({S.READY_FOR_REVIEW}))) == ["RD-2026-00002"]
    assert _refs(office, CaseQuery(urgencies=frozenset({Urgency.URGENT}))) == ["RD-2026-00002"]
    assert _refs(office, CaseQuery(overdue_only=True)) == []
    later = NOW + timedelta(hours=25)
    overdue = case_list.fetch_page(office, CaseQuery(overdue_only=True), now=later)
    assert [r.reference for r in overdue.rows] == ["RD-2026-00002"]
    assert case_list.status_counts(office, now=later).overdue == 1


def test_running_clocks_sort_first_with_the_most_overdue_on_top(office: Database) -> None:
    cases.change_status(office, 3, S.READY_FOR_REVIEW, actor=admin("a"), now=NOW)  # due +48 h
    cases.change_status(
        office, 2, S.READY_FOR_REVIEW, actor=admin("a"), now=NOW
    )  # urgent: due +24 h
    assert _refs(office, CaseQuery()) == ["RD-2026-00002", "RD-2026-00003", "RD-2026-00001"]


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("descending", [False, True])
def test_paging_through_any_sort_gives_every_case_once_in_order(
    db: Database, sort: SortKey, descending: bool
) -> None:
    demo.generate(db, 120, seed=4, now=NOW)
    query = CaseQuery(sort=sort, descending=descending)
    whole = _refs(db, query)
    paged: list[str] = []
    cursor = None
    while True:
        page = case_list.fetch_page(db, query, after=cursor, limit=7, now=NOW)
        paged.extend(row.reference for row in page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert paged == whole and len(set(paged)) == 120


def test_rows_sort_the_way_their_column_reads(db: Database) -> None:
    demo.generate(db, 60, seed=5, now=NOW)
    rows = case_list.fetch_page(db, CaseQuery(sort=SortKey.RECEIVED, descending=True), now=NOW).rows
    received = [r.received_at for r in rows]
    assert received == sorted(received, reverse=True)
    statuses = [
        r.status.rank
        for r in case_list.fetch_page(db, CaseQuery(sort=SortKey.STATUS), now=NOW).rows
    ]
    assert statuses == sorted(statuses)


def test_received_month_filter(office: Database) -> None:
    query = CaseQuery(received_from=NOW - timedelta(days=1), received_before=NOW)
    assert _refs(office, query) == []
    query = CaseQuery(received_from=NOW, received_before=NOW + timedelta(days=1))
    assert len(_refs(office, query)) == 3


def test_the_default_order_and_deep_pages_use_the_clock_index(db: Database) -> None:
    """Sorting 100,000 cases in a temporary B-tree costs ~80 ms per page; the index costs ~1."""
    demo.generate(db, 50, seed=1, now=NOW)
    page = case_list.fetch_page(db, CaseQuery(), limit=10, now=NOW)
    assert page.next_cursor is not None
    columns = _sort_columns(SortKey.DUE)
    statement = (
        select(Case.id)
        .where(tuple_(*columns) > tuple_(*page.next_cursor))
        .order_by(*columns)
        .limit(10)
    )
    sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as connection:
        plan = " ".join(
            str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        )
    assert "ix_cases_clock" in plan
    assert "TEMP B-TREE" not in plan


# Costs in the list: total and balance columns, the unpaid and awaiting-approval filters


def _costed(db: Database, charges: list[int], quotes: list[int], paid: int = 0) -> int:
    """A new case with charged lines, quoted lines and a payment (EUR, minor units)."""
    case_id = cases.create_case(db, case(), patient=patient(), actor=admin("a"), now=NOW).id
    for kind, amounts in ((LineKind.FINAL, charges), (LineKind.ESTIMATE, quotes)):
        for amount in amounts:
            costs.add_line(
                db, case_id, LineDraft("Line", 1, amount, kind), actor=admin("a"), now=NOW
            )
    if paid:
        draft = PaymentDraft(paid, NOW.date(), PaymentMethod.CARD)
        costs.add_payment(db, case_id, draft, actor=admin("a"), now=NOW, local_zone=UTC)
    return case_id


@pytest.fixture
def billed(db: Database) -> Database:
    """Seven cases, one per way a case can stand with its money."""
    without_checklists(db)
    office_profile.set_currency(db, "EUR", actor=admin())
    _costed(db, [], [])  # 00001 nothing at all
    _costed(db, [], [45_000])  # 00002 quoted only
    _costed(db, [45_000], [], paid=10_000)  # 00003 partly paid: owes 350
    _costed(db, [30_000, 15_000], [], paid=45_000)  # 00004 paid
    _costed(db, [45_000], [], paid=50_000)  # 00005 overpaid: the office owes 50
    _costed(db, [], [45_000], paid=20_000)  # 00006 deposit on the quote
    _costed(db, [20_000], [30_000])  # 00007 unpaid: owes 200, more quoted
    return db


def _rows(db: Database, query: CaseQuery) -> dict[str, case_list.CaseRow]:
    rows = case_list.fetch_page(db, query, limit=500, now=NOW).rows
    return {row.reference[-2:]: row for row in rows}


def test_each_row_carries_its_total_and_balance(billed: Database) -> None:
    rows = _rows(billed, CaseQuery(sort=SortKey.REFERENCE))
    shown = {ref: (r.total_minor, r.total_is_estimate, r.balance_minor) for ref, r in rows.items()}
    assert shown == {
        "01": (0, False, 0),
        "02": (45_000, True, 0),  # the quote: nothing is charged
        "03": (45_000, False, 35_000),
        "04": (45_000, False, 0),
        "05": (45_000, False, -5_000),
        "06": (45_000, True, -20_000),
        "07": (50_000, True, 20_000),  # the charges and what is still quoted
    }
    assert rows["07"].estimate_minor == 30_000 and rows["07"].charges_minor == 20_000


def test_unpaid_shows_the_cases_that_still_owe_whatever_their_status(billed: Database) -> None:
    cases.change_status(
        billed, 7, S.CANCELLED, reason="Patient withdrew", actor=admin("a"), now=NOW
    )
    query = CaseQuery(unpaid_only=True)
    assert sorted(_refs(billed, query)) == ["RD-2026-00003", "RD-2026-00007"]
    assert case_list.count_cases(billed, query, now=NOW) == 2
    urgent_unpaid = CaseQuery(unpaid_only=True, urgencies=frozenset({Urgency.URGENT}))
    assert _refs(billed, urgent_unpaid) == []


def test_a_payment_takes_a_case_off_the_unpaid_list(billed: Database) -> None:
    draft = PaymentDraft(35_000, NOW.date(), PaymentMethod.CASH)
    costs.add_payment(billed, 3, draft, actor=admin("a"), now=NOW, local_zone=UTC)
    assert _refs(billed, CaseQuery(unpaid_only=True)) == ["RD-2026-00007"]


def test_awaiting_approval_shows_open_cases_with_a_test_the_patient_has_not_answered(
    billed: Database,
) -> None:
    query = CaseQuery(awaiting_approval_only=True)
    assert _refs(billed, query) == []
    for case_id in (1, 2, 3):
        costs.add_line(
            billed,
            case_id,
            LineDraft("Oncotype DX", 1, 300_000, needs_approval=True),
            actor=admin("a"),
            now=NOW,
        )
    [test_of_2] = [x for x in costs.case_costs(billed, 2).lines if x.draft.needs_approval]
    costs.answer_approval(
        billed,
        test_of_2.id,
        approved=True,
        on=NOW.date(),
        actor=admin("a"),
        now=NOW,
        local_zone=UTC,
    )
    cases.change_status(
        billed, 3, S.CANCELLED, reason="Patient withdrew", actor=admin("a"), now=NOW
    )
    assert _refs(billed, query) == ["RD-2026-00001"]
    assert case_list.count_cases(billed, query, now=NOW) == 1
    assert _rows(billed, query)["01"].awaiting_approval == 1
    assert _rows(billed, CaseQuery())["03"].awaiting_approval == 1  # asked, though cancelled


@pytest.mark.parametrize("descending", [False, True])
def test_the_total_and_balance_sorts_read_like_their_columns(
    billed: Database, descending: bool
) -> None:
    for key, value in ((SortKey.TOTAL, "total_minor"), (SortKey.BALANCE, "balance_minor")):
        query = CaseQuery(sort=key, descending=descending)
        rows = case_list.fetch_page(billed, query, limit=500, now=NOW).rows
        keys = [(getattr(r, value), r.id) for r in rows]
        assert keys == sorted(keys, reverse=descending), key
    balances = [
        r.reference[-2:]
        for r in case_list.fetch_page(billed, CaseQuery(sort=SortKey.BALANCE), now=NOW).rows
    ]
    assert balances == ["06", "05", "01", "02", "04", "07", "03"]


@pytest.mark.parametrize("sort", [SortKey.TOTAL, SortKey.BALANCE])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_paging_by_total_or_balance_gives_every_case_once_in_order(
    db: Database, sort: SortKey, descending: bool, limit: int
) -> None:
    """Many equal totals: the pages must break ties the same way as the whole list."""
    without_checklists(db)
    office_profile.set_currency(db, "EUR", actor=admin())
    for i in range(17):
        _costed(db, [10_000 * (i % 3)] if i % 4 else [], [5_000 * (i % 2)], paid=3_000 * (i % 5))
    query = CaseQuery(sort=sort, descending=descending)
    whole = _refs(db, query)
    paged: list[str] = []
    cursor = None
    while True:
        page = case_list.fetch_page(db, query, after=cursor, limit=limit, now=NOW)
        paged.extend(row.reference for row in page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert paged == whole and len(set(paged)) == 17
    filtered = CaseQuery(sort=sort, descending=descending, unpaid_only=True)
    first = case_list.fetch_page(db, filtered, limit=limit, now=NOW)
    rest = case_list.fetch_page(db, filtered, after=first.next_cursor, limit=500, now=NOW)
    assert [r.reference for r in first.rows + rest.rows] == _refs(db, filtered)
    assert all(r.balance_minor > 0 for r in first.rows + rest.rows)
