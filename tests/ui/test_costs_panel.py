from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.costs import LineKind, PaymentMethod
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.specialists import Concordance, Discipline
from referral_desk.services import (
    cases,
    costs,
    documents,
    fee_schedule,
    office,
    opinions,
    specialists,
)
from referral_desk.services.costs import LineDraft, PaymentDraft
from referral_desk.services.fee_schedule import ServiceDraft
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.cost_dialogs import AnswerDialog, LineDialog, PaymentDialog
from referral_desk.ui.costs_panel import CostsPanel
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.reason_dialog import ReasonDialog
from tests.conftest import admin, case, manager, patient, staff
from tests.ui.conftest import when_modal

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Amounts as an English-speaking office types them, whatever this computer says."""
    before = QLocale()
    QLocale.setDefault(QLocale("en_US"))
    try:
        yield
    finally:
        QLocale.setDefault(before)


def _price(db: Database, code: str, minor: int) -> int:
    service = fee_schedule.find_service(db, code)
    fee_schedule.update_service(
        db,
        service.id,
        ServiceDraft(code, service.draft.name, minor, service.draft.needs_approval),
        expected_version=service.version,
        actor=admin(),
    )
    return service.id


@pytest.fixture
def case_id(db: Database) -> int:
    office.set_currency(db, "EUR", actor=admin())
    _price(db, "PATH", 300_00)
    _price(db, "TEST", 150_00)
    return cases.create_case(db, case(), patient=patient(), actor=admin("t")).id


def _open(qtbot: QtBot, main_window: MainWindow, case_id: int) -> CaseWindow:
    window = main_window.open_case(case_id)
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.costs)
    return window


@pytest.fixture
def window(qtbot: QtBot, main_window: MainWindow, case_id: int) -> CaseWindow:
    return _open(qtbot, main_window, case_id)


def _row(panel: CostsPanel, row: int) -> list[str]:
    table = panel.lines_table
    return [table.item(row, c).text() for c in range(table.columnCount())]


def _figure(panel: CostsPanel, key: str) -> tuple[str, str]:
    caption, value, _ = panel.figures[key]
    return caption.text(), value.text()


def _ok(dialog: QWidget) -> None:
    buttons = dialog.findChild(QDialogButtonBox)
    QTest.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)


def _final(db: Database, case_id: int, description: str, minor: int) -> None:
    costs.add_line(db, case_id, LineDraft(description, 1, minor, LineKind.FINAL), actor=admin("t"))


def _pay(db: Database, case_id: int, minor: int, reason: str = "") -> None:
    today = datetime.now(UTC).date()
    costs.add_payment(
        db, case_id, PaymentDraft(minor, today, PaymentMethod.CARD, reason=reason), actor=admin("t")
    )


def test_lines_from_the_fee_schedule_and_free_text_add_up(
    qtbot: QtBot, window: CaseWindow, db: Database, case_id: int
) -> None:
    panel = window.costs
    assert _figure(panel, "balance") == ("Balance", "€0.00")
    assert panel.status_badge.text() == "Nothing due"

    def from_schedule(dialog: QWidget) -> None:
        assert isinstance(dialog, LineDialog)
        dialog.service.setCurrentIndex(dialog.service.findData(_service_id(db, "PATH")))
        assert dialog.description.text() == "Pathology re-review"
        assert dialog.unit_price.text() == "300.00"
        assert not dialog.needs_approval.isChecked()
        dialog.quantity.setValue(2)
        assert dialog.line_total.text() == "= €600.00"
        _ok(dialog)

    when_modal(qtbot, from_schedule)
    qtbot.mouseClick(panel.add_button, LEFT)
    assert _row(panel, 0) == [
        "Pathology re-review  (PATH)",
        "Estimate",
        "2",
        "€300.00",
        "€600.00",
        "",
    ]

    def free_text(dialog: QWidget) -> None:
        assert isinstance(dialog, LineDialog)
        qtbot.keyClicks(dialog.description, "Courier of slides to Basel")
        qtbot.keyClicks(dialog.unit_price, "45.5")
        dialog.kind.setCurrentIndex(dialog.kind.findData(LineKind.FINAL))
        _ok(dialog)

    when_modal(qtbot, free_text)
    qtbot.mouseClick(panel.add_button, LEFT)
    assert _row(panel, 1)[:5] == ["Courier of slides to Basel", "Final", "1", "€45.50", "€45.50"]
    assert _figure(panel, "estimated") == ("Estimated", "€600.00")
    assert _figure(panel, "charged") == ("Charged", "€45.50")
    assert _figure(panel, "balance") == ("Balance due", "€45.50")
    assert panel.status_badge.text() == "Unpaid"
    assert "Added final 'Courier of slides to Basel'" in panel.history.item(0).text()
    stored = costs.case_costs(db, case_id).lines
    assert [(line.draft.quantity, line.draft.unit_price_minor) for line in stored] == [
        (2, 300_00),
        (1, 45_50),
    ]
    assert cases.get_case(db, case_id).version == window._edit_version  # in step, no conflict


def _service_id(db: Database, code: str) -> int:
    return fee_schedule.find_service(db, code).id


def test_a_german_price_with_a_decimal_comma_is_stored_exactly(
    qtbot: QtBot, main_window: MainWindow, db: Database, case_id: int
) -> None:
    QLocale.setDefault(QLocale("de_DE"))  # the autouse fixture restores the locale
    window = _open(qtbot, main_window, case_id)

    def typed(dialog: QWidget) -> None:
        assert isinstance(dialog, LineDialog)
        qtbot.keyClicks(dialog.description, "Translation of the pathology report")
        qtbot.keyClicks(dialog.unit_price, "1.234,5")
        _ok(dialog)

    when_modal(qtbot, typed)
    qtbot.mouseClick(window.costs.add_button, LEFT)
    assert costs.case_costs(db, case_id).lines[0].draft.unit_price_minor == 1234_50
    assert _row(window.costs, 0)[3] == "1.234,50\xa0€"
    assert _figure(window.costs, "estimated")[1] == "1.234,50\xa0€"


def test_text_in_the_price_is_named_and_nothing_is_saved(
    qtbot: QtBot, window: CaseWindow, db: Database, case_id: int
) -> None:
    seen: list[str] = []

    def typed(dialog: QWidget) -> None:
        assert isinstance(dialog, LineDialog)
        qtbot.keyClicks(dialog.description, "Second opinion")
        qtbot.keyClicks(dialog.unit_price, "12,3,4")
        _ok(dialog)
        assert dialog.isVisible()  # still open, with what was typed
        assert dialog.errors["unit_price"].isVisibleTo(dialog)
        seen.append(dialog.errors["unit_price"].text())
        dialog.unit_price.clear()
        qtbot.keyClicks(dialog.unit_price, "two hundred")
        _ok(dialog)
        seen.append(dialog.errors["unit_price"].text())
        assert dialog.description.text() == "Second opinion"
        dialog.reject()

    when_modal(qtbot, typed)
    qtbot.mouseClick(window.costs.add_button, LEFT)
    assert seen[0].startswith("'12,3,4' is not an amount")
    assert seen[1].startswith("'two hundred' is not an amount")
    assert costs.case_costs(db, case_id).lines == ()
    assert window.costs.lines_table.rowCount() == 0


def test_a_test_the_patient_approves_can_then_be_charged(
    qtbot: QtBot, window: CaseWindow, main_window: MainWindow, db: Database, case_id: int
) -> None:
    test = LineDraft("Oncotype DX", 1, 150_00, LineKind.ESTIMATE, _service_id(db, "TEST"), True)
    costs.add_line(db, case_id, test, actor=admin("t"))
    main_window.refresh()  # added elsewhere: every open case screen shows it
    panel = window.costs
    assert _row(panel, 0)[5] == "Awaiting approval"
    assert window.tabs.tabText(3) == "Co&sts (1 to approve)"
    assert _figure(panel, "awaiting") == ("Awaiting approval", "€150.00")
    assert panel.figures["awaiting"][2].isVisibleTo(panel)
    panel.lines_table.selectRow(0)
    assert not panel.charge_button.isEnabled()
    assert panel.approve_button.isEnabled() and panel.decline_button.isEnabled()

    def approve(dialog: QWidget) -> None:
        assert isinstance(dialog, AnswerDialog)
        assert dialog.on.date().toPython() == date.today()
        qtbot.keyClicks(dialog.note, "By phone")
        _ok(dialog)

    when_modal(qtbot, approve)
    qtbot.mouseClick(panel.approve_button, LEFT)
    assert _row(panel, 0)[5] == f"Approved on {date.today().isoformat()}"
    assert window.tabs.tabText(3) == "Co&sts"
    assert not panel.figures["awaiting"][2].isVisibleTo(panel)
    assert "By phone" in panel.history.item(0).text()
    assert panel.charge_button.isEnabled() and not panel.approve_button.isEnabled()

    qtbot.mouseClick(panel.charge_button, LEFT)
    assert _row(panel, 0)[1] == "Final"
    assert _figure(panel, "charged") == ("Charged", "€150.00")
    assert _figure(panel, "balance") == ("Balance due", "€150.00")
    assert panel.message.text().startswith("Charged 'Oncotype DX'")


def test_a_declined_test_is_struck_through_and_not_owed(
    qtbot: QtBot, window: CaseWindow, db: Database, case_id: int
) -> None:
    draft = LineDraft("PET-CT", 1, 900_00, needs_approval=True)
    costs.add_line(db, case_id, draft, actor=admin("t"))
    window.refresh_from_elsewhere()
    panel = window.costs
    panel.lines_table.selectRow(0)
    when_modal(qtbot, _ok)
    qtbot.mouseClick(panel.decline_button, LEFT)
    item = panel.lines_table.item(0, 0)
    assert _row(panel, 0)[5].startswith("Declined on")
    assert item.font().strikeOut()
    assert _figure(panel, "estimated")[1] == "€0.00"
    assert not panel.charge_button.isEnabled()
    assert panel.approve_button.isEnabled()  # they may change their mind


def test_payments_show_the_balance_and_status(
    qtbot: QtBot, window: CaseWindow, db: Database, case_id: int
) -> None:
    _final(db, case_id, "Second opinion consultation", 500_00)
    window.refresh_from_elsewhere()
    panel = window.costs

    def part(dialog: QWidget) -> None:
        assert isinstance(dialog, PaymentDialog)
        assert dialog.amount.text() == "500.00"  # what is due, offered
        dialog.amount.clear()
        qtbot.keyClicks(dialog.amount, "200")
        dialog.method.setCurrentIndex(dialog.method.findData(PaymentMethod.CARD))
        qtbot.keyClicks(dialog.reference, "POS 4471")
        qtbot.keyClick(dialog.reference, Qt.Key.Key_Return)  # Enter accepts

    when_modal(qtbot, part)
    qtbot.mouseClick(panel.pay_button, LEFT)
    table = panel.payments_table
    assert [table.item(0, c).text() for c in range(4)] == [
        date.today().isoformat(),
        "Card",
        "POS 4471",
        "€200.00",
    ]
    assert _figure(panel, "paid") == ("Paid", "€200.00")
    assert _figure(panel, "balance") == ("Balance due", "€300.00")
    assert panel.status_badge.text() == "Partly paid"

    when_modal(qtbot, _ok)  # the rest, as offered
    qtbot.mouseClick(panel.pay_button, LEFT)
    assert _figure(panel, "balance") == ("Balance", "€0.00")
    assert panel.status_badge.text() == "Paid"
    assert costs.case_costs(db, case_id).totals.paid == 500_00


def test_an_overpayment_is_asked_about_first(
    qtbot: QtBot, window: CaseWindow, db: Database, case_id: int
) -> None:
    _final(db, case_id, "Second opinion consultation", 100_00)
    window.refresh_from_elsewhere()
    panel = window.costs
    questions: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        def click(box: QWidget) -> None:
            assert isinstance(box, QMessageBox)
            questions.append(box.text())
            assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
            box.button(button).click()

        when_modal(qtbot, click)

    def overpay(dialog: QWidget) -> None:
        assert isinstance(dialog, PaymentDialog)
        dialog.amount.clear()
        qtbot.keyClicks(dialog.amount, "150")
        answer(QMessageBox.StandardButton.No)
        _ok(dialog)
        assert dialog.isVisible()
        assert "Not recorded" in dialog.errors["amount"].text()
        assert costs.case_costs(db, case_id).payments == ()
        answer(QMessageBox.StandardButton.Yes)
        _ok(dialog)

    when_modal(qtbot, overpay)
    qtbot.mouseClick(panel.pay_button, LEFT)
    assert "EUR 50.00 more than" in questions[0]
    assert len(questions) == 2
    assert panel.status_badge.text() == "Overpaid"
    assert _figure(panel, "balance") == ("Owed to the patient", "€50.00")


def test_a_refund_needs_a_reason_and_shows_negative(
    qtbot: QtBot, window: CaseWindow, db: Database, case_id: int
) -> None:
    _final(db, case_id, "Second opinion consultation", 100_00)
    _pay(db, case_id, 200_00)
    window.refresh_from_elsewhere()
    panel = window.costs
    reasons: list[str] = []

    def refund(dialog: QWidget) -> None:
        assert isinstance(dialog, PaymentDialog)
        assert dialog.amount.text() == "100.00"  # what the patient is owed
        _ok(dialog)
        assert dialog.isVisible()
        reasons.append(dialog.errors["reason"].text())
        qtbot.keyClicks(dialog.reason, "Paid twice by card")
        _ok(dialog)

    when_modal(qtbot, refund)
    qtbot.mouseClick(panel.refund_button, LEFT)
    assert reasons == ["Say why the money is refunded."]
    table = panel.payments_table
    assert table.item(1, 3).text() == "-€100.00"
    assert table.item(1, 4).text() == "Paid twice by card"
    assert table.item(1, 3).foreground().color().name() == "#b3261e"
    assert panel.status_badge.text() == "Paid"
    assert [p.draft.amount_minor for p in costs.case_costs(db, case_id).payments] == [
        200_00,
        -100_00,
    ]


def test_the_delete_key_removes_a_line_once_confirmed(
    qtbot: QtBot, window: CaseWindow, db: Database, case_id: int
) -> None:
    costs.add_line(db, case_id, LineDraft("Translation", 1, 80_00), actor=admin("t"))
    window.refresh_from_elsewhere()
    panel = window.costs
    panel.lines_table.selectRow(0)
    asked: list[str] = []

    def press_delete(button: QMessageBox.StandardButton) -> None:
        def click(box: QWidget) -> None:
            assert isinstance(box, QMessageBox)
            asked.append(box.text())
            box.button(button).click()

        when_modal(qtbot, click)
        window.activateWindow()  # shortcuts work in the active window only
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
        panel.lines_table.setFocus()
        qtbot.keyClick(panel.lines_table, Qt.Key.Key_Delete)

    press_delete(QMessageBox.StandardButton.No)
    assert asked == ["Remove the estimate “Translation” (€80.00)?"]
    assert panel.lines_table.rowCount() == 1
    press_delete(QMessageBox.StandardButton.Yes)
    assert panel.lines_table.rowCount() == 0
    assert costs.case_costs(db, case_id).lines == ()
    assert "Removed estimate 'Translation'" in panel.history.item(0).text()


def _send_the_letter(db: Database, case_id: int) -> None:
    for doc in documents.case_records(db, case_id).documents:
        documents.set_document_status(db, doc.id, DocumentStatus.RECEIVED, actor=admin("t"))
    ana = specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Ana Lima", Discipline.MEDICAL_ONCOLOGY, 5, cancer_types=frozenset({"breast"})
        ),
        actor=admin(),
    )
    specialists.assign(db, case_id, ana, actor=admin("t"))
    opinions.record_opinion(
        db,
        case_id,
        OpinionDraft(
            "The diagnosis is right.",
            "Endocrine therapy.",
            Concordance.CONFIRMED,
            Concordance.CONFIRMED,
            datetime.now(UTC),
        ),
        actor=admin("t"),
    )
    cases.change_status(db, case_id, CaseStatus.LETTER_SENT, actor=admin("t"))


def test_changing_a_charge_after_the_letter_asks_for_a_reason(
    qtbot: QtBot, main_window: MainWindow, db: Database, case_id: int
) -> None:
    _final(db, case_id, "Second opinion consultation", 500_00)
    _send_the_letter(db, case_id)
    window = _open(qtbot, main_window, case_id)
    panel = window.costs
    assert panel.letter_note.isVisibleTo(panel)
    assert "asks for a reason" in panel.letter_note.text()
    panel.select_line("Second opinion consultation")
    refused: list[str] = []

    def edit(dialog: QWidget) -> None:
        assert isinstance(dialog, LineDialog)
        assert dialog.unit_price.text() == "500.00"
        dialog.unit_price.clear()
        qtbot.keyClicks(dialog.unit_price, "450")
        _ok(dialog)
        assert dialog.isVisible()
        refused.append(dialog.errors["reason"].text())
        qtbot.keyClicks(dialog.reason, "Discount agreed by the director")
        _ok(dialog)

    when_modal(qtbot, edit)
    qtbot.mouseClick(panel.edit_button, LEFT)
    assert "Say why a charge is changed now" in refused[0]
    assert _row(panel, 0)[4] == "€450.00"
    assert "Discount agreed by the director" in panel.history.item(0).text()

    def remove(dialog: QWidget) -> None:
        assert isinstance(dialog, ReasonDialog)
        dialog.accept()
        assert "Say why a charge is removed" in dialog.message.text()
        dialog.reject()

    when_modal(qtbot, remove)
    assert not panel.remove_line()
    assert costs.case_costs(db, case_id).totals.final == 450_00


def test_a_manager_sees_the_costs_but_every_change_is_greyed_out(
    qtbot: QtBot, db: Database, case_id: int
) -> None:
    costs.add_line(
        db, case_id, LineDraft("Genomic test", 1, 2500_00, needs_approval=True), actor=admin("t")
    )
    _final(db, case_id, "Courier", 40_00)
    _pay(db, case_id, 100_00)
    panel = CostsPanel(db, case_id, manager("nadia"))
    qtbot.addWidget(panel)
    panel.show()
    panel.lines_table.selectRow(0)
    panel.payments_table.selectRow(0)
    assert _figure(panel, "paid")[1] == "€100.00"  # everything is shown
    buttons = (
        panel.add_button,
        panel.edit_button,
        panel.charge_button,
        panel.approve_button,
        panel.decline_button,
        panel.remove_button,
        panel.pay_button,
        panel.refund_button,
        panel.remove_payment_button,
    )
    for button in buttons:
        assert not button.isEnabled(), button.objectName()
        assert button.toolTip().startswith("A manager cannot change a case's costs; ask ")
    # The keyboard ways in (Insert, Enter, Delete) say why instead of opening a dialog.
    assert not panel.add_line() and not panel.edit_line() and not panel.remove_payment()
    assert panel.message.text().startswith("A manager cannot")
    assert len(costs.case_costs(db, case_id).lines) == 2


def test_staff_may_change_the_costs(qtbot: QtBot, db: Database, case_id: int) -> None:
    panel = CostsPanel(db, case_id, staff("tom"))
    qtbot.addWidget(panel)
    assert panel.add_button.isEnabled() and panel.pay_button.isEnabled()
    assert panel.add_button.toolTip().startswith("A service from the fee schedule")
