"""The case list's money: Total and Balance columns, and the Unpaid and Awaiting cost
approval filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QFont
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.costs import LineKind, PaymentMethod
from referral_desk.services import case_list, cases, costs, office
from referral_desk.services.case_list import CaseQuery, SortKey
from referral_desk.services.costs import LineDraft, PaymentDraft
from referral_desk.ui.case_table_model import (
    BALANCE_COLUMN,
    COLUMNS,
    CREDIT_TEXT,
    ESTIMATE_TEXT,
    ESTIMATE_TIP,
    OWED_TEXT,
    TOTAL_COLUMN,
    CaseTableModel,
)
from referral_desk.ui.main_window import HEADER_STATE_KEY, MainWindow
from tests.conftest import admin, case, patient, without_checklists

RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
NBSP = "\xa0"


@pytest.fixture
def german() -> Iterator[None]:
    before = QLocale()
    QLocale.setDefault(QLocale("de_DE"))
    yield
    QLocale.setDefault(before)


@pytest.fixture
def english() -> Iterator[None]:
    before = QLocale()
    QLocale.setDefault(QLocale("en_US"))
    yield
    QLocale.setDefault(before)


def _case_with(
    db: Database,
    family_name: str,
    *,
    quoted: int = 0,
    charged: int = 0,
    paid: int = 0,
    awaiting: int = 0,
) -> int:
    """A case with an estimate, a charge, a payment and a test awaiting approval (minor units)."""
    now = datetime.now(UTC) - timedelta(hours=1)
    created = cases.create_case(
        db, case(), patient=patient(family_name=family_name), actor=admin("t")
    )
    lines = [
        LineDraft("Specialist consultation", 1, quoted),
        LineDraft("Pathology re-review", 1, charged, kind=LineKind.FINAL),
        LineDraft("PD-L1 immunohistochemistry", 1, awaiting, needs_approval=True),
    ]
    for draft in lines:
        if draft.unit_price_minor:
            costs.add_line(db, created.id, draft, actor=admin("t"), now=now)
    if paid:
        payment = PaymentDraft(paid, now.date(), PaymentMethod.CARD, "POS-1")
        costs.add_payment(db, created.id, payment, actor=admin("t"), now=now)
    return created.id


def _model(db: Database, currency: str = "EUR") -> CaseTableModel:
    model = CaseTableModel(
        lambda q, after: case_list.fetch_page(db, q, after=after), currency=currency
    )
    model.set_query(CaseQuery())
    return model


def _cells(model: CaseTableModel, case_id: int) -> tuple[str, str]:
    row = model.row_for_case(case_id)
    assert row is not None
    return (model.index(row, TOTAL_COLUMN).data(), model.index(row, BALANCE_COLUMN).data())


def _index(model: CaseTableModel, case_id: int, column: int):  # type: ignore[no-untyped-def]
    row = model.row_for_case(case_id)
    assert row is not None
    return model.index(row, column)


def test_total_and_balance_are_shown_in_the_locale_with_the_office_currency(
    qtmodeltester: ModelTester, db: Database, german: None
) -> None:
    office.set_currency(db, "EUR", actor=admin())
    nothing = _case_with(db, "Adams")
    quoted = _case_with(db, "Brown", quoted=250_000)
    owing = _case_with(db, "Chen", quoted=250_000, charged=123_450, paid=23_450)
    settled = _case_with(db, "Diaz", charged=40_000, paid=40_000)
    overpaid = _case_with(db, "Evans", charged=40_000, paid=45_000)
    deposit = _case_with(db, "Fischer", quoted=90_000, paid=30_000)
    model = _model(db)
    qtmodeltester.check(model)

    assert _cells(model, nothing) == ("", "")
    assert _cells(model, quoted) == (f"2.500,00{NBSP}€", "")
    # The charges and what is still quoted; the balance is owed on the charges only.
    assert _cells(model, owing) == (f"3.734,50{NBSP}€", f"1.000,00{NBSP}€")
    assert _cells(model, settled) == (f"400,00{NBSP}€", f"0,00{NBSP}€")
    assert _cells(model, overpaid) == (f"400,00{NBSP}€", f"-50,00{NBSP}€")
    assert _cells(model, deposit) == (f"900,00{NBSP}€", f"-300,00{NBSP}€")

    for column in (TOTAL_COLUMN, BALANCE_COLUMN):
        assert _index(model, owing, column).data(Qt.ItemDataRole.TextAlignmentRole) == RIGHT
        header = Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole
        assert model.headerData(column, *header) == RIGHT

    # A quote is not a bill: grey italics, and it says so.
    estimate = _index(model, quoted, TOTAL_COLUMN)
    assert estimate.data(Qt.ItemDataRole.ForegroundRole) == ESTIMATE_TEXT
    font = estimate.data(Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.italic()
    assert estimate.data(Qt.ItemDataRole.ToolTipRole) == ESTIMATE_TIP
    part_quoted = _index(model, owing, TOTAL_COLUMN)
    assert part_quoted.data(Qt.ItemDataRole.ToolTipRole) == (
        f"1.234,50{NBSP}€ charged and 2.500,00{NBSP}€ still quoted."
    )
    charged = _index(model, settled, TOTAL_COLUMN)
    assert charged.data(Qt.ItemDataRole.FontRole) is None
    assert charged.data(Qt.ItemDataRole.ToolTipRole) is None

    # What the patient owes stands out; what the office owes back is told apart.
    owed = _index(model, owing, BALANCE_COLUMN)
    assert owed.data(Qt.ItemDataRole.ForegroundRole) == OWED_TEXT
    assert owed.data(Qt.ItemDataRole.FontRole).bold()
    assert owed.data(Qt.ItemDataRole.ToolTipRole) == f"The patient still owes 1.000,00{NBSP}€."
    back = _index(model, overpaid, BALANCE_COLUMN)
    assert back.data(Qt.ItemDataRole.ForegroundRole) == CREDIT_TEXT
    assert back.data(Qt.ItemDataRole.ToolTipRole) == (
        f"Overpaid: the office owes the patient 50,00{NBSP}€."
    )
    ahead = _index(model, deposit, BALANCE_COLUMN)
    assert "in advance" in ahead.data(Qt.ItemDataRole.ToolTipRole)
    assert _index(model, settled, BALANCE_COLUMN).data(Qt.ItemDataRole.ToolTipRole) == (
        "Paid in full."
    )
    assert _index(model, nothing, BALANCE_COLUMN).data(Qt.ItemDataRole.ToolTipRole) is None


def test_the_amounts_follow_the_office_currency(db: Database, english: None) -> None:
    office.set_currency(db, "EUR", actor=admin())
    owing = _case_with(db, "Chen", charged=123_450)
    model = _model(db)
    assert _cells(model, owing) == ("€1,234.50", "€1,234.50")
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.column()))
    model.set_currency("CHF")  # as read from the office profile
    assert sorted(changed) == sorted({TOTAL_COLUMN, BALANCE_COLUMN})
    assert _cells(model, owing) == ("CHF1,234.50", "CHF1,234.50")


def test_total_and_balance_sort_in_sql(db: Database) -> None:
    office.set_currency(db, "EUR", actor=admin())
    small = _case_with(db, "Adams", charged=10_000)
    quote = _case_with(db, "Brown", quoted=50_000)  # sorts by its quote while uncharged
    large = _case_with(db, "Chen", charged=90_000, paid=90_000)
    credit = _case_with(db, "Diaz", charged=10_000, paid=20_000)
    assert COLUMNS[TOTAL_COLUMN].sort is SortKey.TOTAL
    assert COLUMNS[BALANCE_COLUMN].sort is SortKey.BALANCE
    model = _model(db)
    model.sort(TOTAL_COLUMN, Qt.SortOrder.DescendingOrder)
    assert model.query.sort is SortKey.TOTAL and model.query.descending
    assert [model.case_id(r) for r in range(2)] == [large, quote]
    model.sort(BALANCE_COLUMN, Qt.SortOrder.AscendingOrder)
    assert model.query.sort is SortKey.BALANCE
    # Two owe nothing: the older case first.
    assert [model.case_id(r) for r in range(4)] == [credit, quote, large, small]


def test_the_unpaid_and_awaiting_approval_filters_narrow_the_list(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    without_checklists(db)
    office.set_currency(db, "EUR", actor=admin())
    owing = _case_with(db, "Adams", charged=40_000, paid=10_000)
    _case_with(db, "Brown", charged=40_000, paid=40_000)
    asking = _case_with(db, "Chen", quoted=25_000, awaiting=8_000)
    _case_with(db, "Diaz")
    main_window.status_list.setCurrentRow(1)  # all cases
    main_window.refresh()
    assert main_window.model.rowCount() == 4

    assert main_window.unpaid.text() == "&Unpaid (1)"  # office-wide counts, Alt+U
    assert main_window.awaiting_approval.text() == "&Awaiting cost approval (1)"

    main_window.activateWindow()
    main_window.table.setFocus()
    # A mnemonic clicks its box the way a mouse would (animated): wait for it.
    qtbot.keyClick(main_window, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(main_window.unpaid.isChecked)
    assert _shown(main_window) == {owing}
    assert "1 shown" in main_window.counts_label.text()

    qtbot.keyClick(main_window, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: not main_window.unpaid.isChecked())
    qtbot.keyClick(main_window, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(main_window.awaiting_approval.isChecked)
    assert _shown(main_window) == {asking}

    main_window.unpaid.setChecked(True)  # both: unpaid and awaiting approval
    assert _shown(main_window) == set()


def test_the_list_reads_the_office_currency_when_it_opens_and_after_a_change(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    assert main_window.model.currency == office.get_profile(db).currency
    office.set_currency(db, "CHF", actor=admin())  # by the fee schedule window or another seat
    main_window.refresh()
    assert main_window.model.currency == "CHF"


def test_the_saved_header_layout_is_named_for_the_money_columns() -> None:
    # A header saved before Total and Balance existed is not restored onto the new columns.
    assert f"case_table_header_{len(COLUMNS)}" == HEADER_STATE_KEY
    assert {"Total", "Balance"} <= {c.title for c in COLUMNS}


def _shown(window: MainWindow) -> set[int]:
    return {window.model.case_id(r) for r in range(window.model.rowCount())}
