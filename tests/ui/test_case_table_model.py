from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from referral_desk.db.engine import Database
from referral_desk.domain.clock import Pace
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.specialists import Concordance, Discipline
from referral_desk.services import case_list, cases, demo, opinions, specialists
from referral_desk.services.case_list import CaseQuery, Page, SortKey
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from referral_desk.ui.case_table_model import (
    COLUMNS,
    DEFAULT_SORT_COLUMN,
    MAJOR_CHANGE_BACKGROUND,
    MAJOR_CHANGE_TEXT,
    CaseTableModel,
)
from referral_desk.ui.formatting import PACE_COLOURS
from tests.conftest import NOW, admin, case, patient, without_checklists


def test_the_model_passes_qt_model_checks(qtmodeltester: ModelTester, db: Database) -> None:
    demo.generate(db, 300, seed=2, now=NOW)
    model = CaseTableModel(lambda q, after: case_list.fetch_page(db, q, after=after, limit=50))
    model.set_query(CaseQuery())
    qtmodeltester.check(model)  # Qt's own QAbstractItemModelTester
    while model.canFetchMore(model.index(-1, -1)):
        model.fetchMore(model.index(-1, -1))
    assert model.rowCount() == 300


def test_the_model_fetches_pages_only_as_the_user_scrolls(db: Database) -> None:
    demo.generate(db, 300, seed=2, now=NOW)
    calls: list[Any] = []

    def source(query: CaseQuery, after: Any) -> Page:
        calls.append(after)
        return case_list.fetch_page(db, query, after=after, limit=100)

    model = CaseTableModel(source)
    model.set_query(CaseQuery())
    assert model.rowCount() == 100 and len(calls) == 1
    model.fetchMore(model.index(-1, -1))
    assert model.rowCount() == 200 and len(calls) == 2
    model.refresh()  # keeps what was on screen
    assert model.rowCount() == 200


def test_the_time_left_column_carries_the_pace_colours(db: Database) -> None:
    without_checklists(db)
    created = cases.create_case(
        db,
        case(treatment_start=None),
        patient=patient(),
        actor=admin("t"),
        now=NOW - timedelta(days=3),
    )
    cases.change_status(
        db, created.id, CaseStatus.READY_FOR_REVIEW, actor=admin("t"), now=NOW - timedelta(days=3)
    )
    model = CaseTableModel(lambda q, after: case_list.fetch_page(db, q, after=after, now=NOW))
    model.set_query(CaseQuery())
    assert model.row_of(model.index(0, 0)).clock.pace is Pace.OVERDUE
    time_left = next(i for i, c in enumerate(COLUMNS) if c.title == "Time left")
    due = next(i for i, c in enumerate(COLUMNS) if c.title == "Due")
    foreground, background = PACE_COLOURS[Pace.OVERDUE]
    assert model.index(0, time_left).data(Qt.ItemDataRole.BackgroundRole) == background
    assert model.index(0, time_left).data(Qt.ItemDataRole.ForegroundRole) == foreground
    assert model.index(0, due).data(Qt.ItemDataRole.BackgroundRole) is None


def _under_review(db: Database, specialist_id: int, family_name: str, at: datetime) -> int:
    created = cases.create_case(
        db,
        case(treatment_start=None),
        patient=patient(family_name=family_name),
        actor=admin("t"),
        now=at,
    )
    cases.change_status(db, created.id, CaseStatus.READY_FOR_REVIEW, actor=admin("t"), now=at)
    specialists.assign(
        db, created.id, specialist_id, actor=admin("t"), now=at + timedelta(minutes=1)
    )
    return created.id


def _specialist(db: Database, name: str) -> int:
    draft = SpecialistDraft(name=name, discipline=Discipline.MEDICAL_ONCOLOGY, capacity=5)
    return specialists.create_specialist(db, draft, actor=admin())


def test_the_specialist_column_shows_the_reviewer_and_sorts_by_name(db: Database) -> None:
    without_checklists(db)
    at = NOW - timedelta(hours=2)
    zeta = _under_review(db, _specialist(db, "Dr. Zeta Quinn"), "Adams", at)
    alpha = _under_review(db, _specialist(db, "Dr. Alba Ruiz"), "Brown", at)
    nobody = cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=at).id
    column = next(i for i, c in enumerate(COLUMNS) if c.title == "Specialist")
    assert COLUMNS[DEFAULT_SORT_COLUMN].title == "Due"
    model = CaseTableModel(lambda q, after: case_list.fetch_page(db, q, after=after, now=NOW))
    model.set_query(CaseQuery())
    model.sort(column, Qt.SortOrder.AscendingOrder)
    assert model.query.sort is SortKey.SPECIALIST
    assert [model.case_id(r) for r in range(3)] == [nobody, alpha, zeta]  # unassigned first
    assert [model.index(r, column).data() for r in range(3)] == [
        "",
        "Dr. Alba Ruiz",
        "Dr. Zeta Quinn",
    ]
    model.sort(column, Qt.SortOrder.DescendingOrder)
    assert [model.case_id(r) for r in range(3)] == [zeta, alpha, nobody]


def test_a_major_change_is_highlighted_with_a_tooltip(db: Database) -> None:
    without_checklists(db)
    at = NOW - timedelta(hours=6)
    reviewer = _specialist(db, "Dr. Amara Okafor")
    changed = _under_review(db, reviewer, "Adams", at)
    confirmed = _under_review(db, reviewer, "Brown", at)
    for case_id, concordance in ((changed, Concordance.MAJOR_CHANGE), (confirmed, None)):
        draft = OpinionDraft(
            patient_summary="Summary for the patient",
            recommendation="Recommendation",
            diagnosis_concordance=Concordance.CONFIRMED,
            treatment_concordance=concordance or Concordance.MINOR_CHANGE,
            received_at=NOW - timedelta(hours=1),
        )
        opinions.record_opinion(db, case_id, draft, actor=admin("t"), now=NOW)
    model = CaseTableModel(lambda q, after: case_list.fetch_page(db, q, after=after, now=NOW))
    model.set_query(CaseQuery())
    row = {model.case_id(r): r for r in range(model.rowCount())}
    reference = next(i for i, c in enumerate(COLUMNS) if c.title == "Reference")
    major = model.index(row[changed], reference)
    assert major.data(Qt.ItemDataRole.BackgroundRole) == MAJOR_CHANGE_BACKGROUND
    assert major.data(Qt.ItemDataRole.ForegroundRole) == MAJOR_CHANGE_TEXT
    assert "changed the first one a lot" in major.data(Qt.ItemDataRole.ToolTipRole)
    minor = model.index(row[confirmed], reference)
    assert minor.data(Qt.ItemDataRole.BackgroundRole) is None
    assert minor.data(Qt.ItemDataRole.ToolTipRole) is None
