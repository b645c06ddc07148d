from __future__ import annotations

from typing import Any

from pytestqt.modeltest import ModelTester

from referral_desk.db.engine import Database
from referral_desk.services import case_list, demo
from referral_desk.services.case_list import CaseQuery, Page
from referral_desk.ui.case_table_model import CaseTableModel
from tests.conftest import NOW


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
