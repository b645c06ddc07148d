from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from referral_desk.db.engine import Database
from referral_desk.domain.clock import Pace
from referral_desk.domain.enums import CaseStatus
from referral_desk.services import case_list, cases, demo
from referral_desk.services.case_list import CaseQuery, Page
from referral_desk.ui.case_table_model import COLUMNS, CaseTableModel
from referral_desk.ui.formatting import PACE_COLOURS
from tests.conftest import NOW, case, patient, without_checklists


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
        db, case(treatment_start=None), patient=patient(), actor="t", now=NOW - timedelta(days=3)
    )
    cases.change_status(
        db, created.id, CaseStatus.READY_FOR_REVIEW, actor="t", now=NOW - timedelta(days=3)
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
