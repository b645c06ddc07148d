"""Administration: office currency, specialist fees as estimates, and the fee schedule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.costs import PaymentMethod
from referral_desk.services import cases, costs, fee_schedule, office
from referral_desk.services.costs import LineDraft, PaymentDraft
from referral_desk.services.errors import NotFoundError, ValidationError
from referral_desk.ui.fee_schedule_window import (
    COLUMNS,
    NO_PRICE,
    FeeScheduleModel,
    FeeScheduleWindow,
    ServiceDialog,
)
from referral_desk.ui.main_window import MainWindow
from tests.conftest import admin, case, manager, patient
from tests.ui.conftest import when_modal

NBSP = "\xa0"


@pytest.fixture
def german() -> Iterator[None]:
    """Amounts typed and shown as in Germany (decimal comma)."""
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


@pytest.fixture
def window(
    qtbot: QtBot, main_window: MainWindow, db: Database, english: None
) -> Iterator[FeeScheduleWindow]:
    office.set_currency(db, "EUR", actor=admin())
    main_window.fee_schedule_action.trigger()  # Settings > Fee schedule and office…
    shown = main_window.show_fee_schedule()
    qtbot.waitExposed(shown)
    yield shown
    shown.close()


def _column(title: str) -> int:
    return next(i for i, c in enumerate(COLUMNS) if c[0] == title)


def _shown(window: FeeScheduleWindow, code: str, title: str) -> str:
    row = next(i for i, s in enumerate(window.model.rows) if s.code == code)
    return str(window.model.index(row, _column(title)).data())


def _select(window: FeeScheduleWindow, code: str) -> None:
    window.select_service(fee_schedule.find_service(window._db, code).id)


def _case_using(db: Database, code: str) -> int:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    service = fee_schedule.find_service(db, code)
    costs.add_line(db, created.id, LineDraft("", 1, 6_000, service_id=service.id), actor=admin("t"))
    return created.id


def test_the_window_opens_from_the_settings_menu(main_window: MainWindow) -> None:
    settings = next(a.menu() for a in main_window.menuBar().actions() if a.text() == "&Settings")
    assert main_window.fee_schedule_action in settings.actions()


def test_the_fee_schedule_model_passes_qt_model_checks(
    qtmodeltester: ModelTester, db: Database
) -> None:
    model = FeeScheduleModel()
    model.set_rows(fee_schedule.list_services(db), "EUR")
    qtmodeltester.check(model)


def test_seeded_services_without_a_price_are_flagged(window: FeeScheduleWindow) -> None:
    assert _shown(window, "CONSULT", "Price") == NO_PRICE
    row = next(i for i, s in enumerate(window.model.rows) if s.code == "CONSULT")
    price = window.model.index(row, _column("Price"))
    assert price.data(Qt.ItemDataRole.FontRole).italic()
    assert "until a price is set" in price.data(Qt.ItemDataRole.ToolTipRole)
    assert _shown(window, "TEST", "Needs approval") == "Yes"
    assert window.currency.text() == "EUR" and window.currency_name.text() == "Euro"


def test_a_service_typed_with_a_decimal_comma_is_saved(
    qtbot: QtBot, main_window: MainWindow, db: Database, german: None
) -> None:
    office.set_currency(db, "EUR", actor=admin())
    window = main_window.show_fee_schedule()
    seen: dict[str, str] = {}

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, ServiceDialog)
        qtbot.keyClicks(dialog.code, "petct")
        qtbot.keyClicks(dialog.name, "PET-CT scan")
        qtbot.keyClicks(dialog.price, "1.100,555")  # one decimal too many
        dialog.needs_approval.setChecked(True)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        seen["price"] = dialog.error_text("price")
        seen["still open"] = str(dialog.isVisible())
        dialog.price.clear()
        qtbot.keyClicks(dialog.price, "1.100,50")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    when_modal(qtbot, fill)
    saved_id = window.add_service()

    assert "more decimal places than EUR has (2)" in seen["price"]
    assert seen["still open"] == "True"
    saved = fee_schedule.find_service(db, "PETCT")
    assert saved.id == saved_id
    assert saved.draft == fee_schedule.ServiceDraft("PETCT", "PET-CT scan", 110_050, True, True)
    assert _shown(window, "PETCT", "Price") == f"1.100,50{NBSP}€"
    assert window.selected_service() == saved
    assert "PETCT PET-CT scan saved" in window.message.text()
    window.close()


def test_a_service_the_schedule_refuses_says_why_next_to_the_field(
    qtbot: QtBot, window: FeeScheduleWindow, db: Database
) -> None:
    seen: dict[str, str] = {}

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, ServiceDialog)
        qtbot.keyClicks(dialog.code, "path")  # already taken
        qtbot.keyClicks(dialog.price, "abc")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        seen["abc"] = dialog.error_text("price")
        dialog.price.clear()
        qtbot.keyClicks(dialog.price, "80")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        seen["code"] = dialog.error_text("code")
        seen["name"] = dialog.error_text("name")
        dialog.reject()

    before = fee_schedule.list_services(db)
    when_modal(qtbot, fill)
    assert window.add_service() is None
    assert seen["abc"].startswith("'abc' is not an amount")
    assert seen["code"] == "PATH is already the code of Pathology re-review."
    assert "Name the service" in seen["name"]
    assert fee_schedule.list_services(db) == before


def test_editing_a_price_shows_it_as_typed_in_the_locale(
    qtbot: QtBot, window: FeeScheduleWindow, db: Database
) -> None:
    _select(window, "PATH")
    seen: dict[str, str] = {}

    def edit(dialog: QWidget) -> None:
        assert isinstance(dialog, ServiceDialog)
        seen["before"] = dialog.price.text()
        dialog.price.clear()
        qtbot.keyClicks(dialog.price, "1,234.50")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    when_modal(qtbot, edit)
    qtbot.keyClick(window.table, Qt.Key.Key_Return)  # Enter edits the chosen service
    assert seen["before"] == "0.00"
    assert fee_schedule.find_service(db, "PATH").draft.price_minor == 123_450
    assert _shown(window, "PATH", "Price") == "€1,234.50"


def test_a_used_service_cannot_be_deleted_but_can_be_deactivated(
    qtbot: QtBot, window: FeeScheduleWindow, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case_using(db, "COURIER")
    window.refresh()
    assert _shown(window, "COURIER", "Used by") == "1 case"
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)

    _select(window, "COURIER")
    qtbot.mouseClick(window.delete_button, Qt.MouseButton.LeftButton)
    assert window.message.text() == (
        "COURIER Courier of slides or blocks is on the costs of 1 case, so it cannot be "
        "deleted. Deactivate it instead: it stays on those cases and is no longer offered."
    )
    assert fee_schedule.find_service(db, "COURIER").draft.active

    assert window.active_button.text() == "Deac&tivate"
    qtbot.mouseClick(window.active_button, Qt.MouseButton.LeftButton)
    assert not fee_schedule.find_service(db, "COURIER").draft.active
    assert _shown(window, "COURIER", "Status") == "Inactive"
    assert window.active_button.text() == "Ac&tivate"

    _select(window, "TRANSL")  # on no case: it goes
    qtbot.mouseClick(window.delete_button, Qt.MouseButton.LeftButton)
    with pytest.raises(NotFoundError):
        fee_schedule.find_service(db, "TRANSL")
    assert "deleted" in window.message.text()


def test_the_currency_is_refused_once_money_is_recorded_and_the_reason_shown(
    qtbot: QtBot,
    window: FeeScheduleWindow,
    main_window: MainWindow,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def yes(_parent: QWidget, _title: str, text: str, *_a: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    window.currency.clear()
    qtbot.keyClicks(window.currency, "chf")
    assert window.currency_name.text() == "Swiss Franc"
    assert window.change_currency_button.isEnabled()
    qtbot.mouseClick(window.change_currency_button, Qt.MouseButton.LeftButton)
    assert "keep their amounts" in asked[0]  # warned before anything changed
    assert office.get_profile(db).currency == "CHF"
    assert window.currency.text() == "CHF" and not window.change_currency_button.isEnabled()
    assert window.message.text() == "The office currency is now CHF (Swiss Franc)."
    assert main_window.model.currency == "CHF"  # the case list follows

    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    today = datetime.now(UTC).date()
    payment = PaymentDraft(5_000, today, PaymentMethod.CASH)
    costs.add_payment(db, created.id, payment, actor=admin("t"))
    window.currency.clear()
    qtbot.keyClicks(window.currency, "EUR")
    qtbot.keyClick(window.currency, Qt.Key.Key_Return)
    assert window.currency_message.isVisible()
    with pytest.raises(ValidationError) as refused:
        office.set_currency(db, "EUR", actor=admin())
    assert window.currency_message.text() == refused.value.errors["currency"]  # verbatim
    assert "Costs are already recorded in CHF" in window.currency_message.text()
    assert office.get_profile(db).currency == "CHF"
    assert window.currency.text() == "CHF"


def test_a_currency_code_that_is_not_one_is_named_as_typed(
    qtbot: QtBot, window: FeeScheduleWindow
) -> None:
    window.currency.clear()
    qtbot.keyClicks(window.currency, "EU")
    assert "not a currency code" in window.currency_name.text()
    assert not window.change_currency_button.isEnabled()
    window.currency.clear()
    qtbot.keyClicks(window.currency, "XYZ")
    assert "not a known ISO 4217 currency code" in window.currency_name.text()
    assert not window.change_currency_button.isEnabled()


def test_declining_the_warning_changes_nothing(
    qtbot: QtBot, window: FeeScheduleWindow, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)
    window.currency.clear()
    qtbot.keyClicks(window.currency, "USD")
    assert not window.change_currency()
    assert office.get_profile(db).currency == "EUR"
    assert window.currency.text() == "EUR"


def test_the_specialist_fee_estimate_switch_is_saved(
    qtbot: QtBot, window: FeeScheduleWindow, db: Database
) -> None:
    assert window.fee_estimate.isChecked()  # on unless the office turns it off
    window.fee_estimate.setFocus()
    qtbot.keyClick(window.fee_estimate, Qt.Key.Key_Space)
    assert not office.get_profile(db).specialist_fee_estimate
    assert "no longer adds" in window.message.text()
    qtbot.keyClick(window.fee_estimate, Qt.Key.Key_Space)
    assert office.get_profile(db).specialist_fee_estimate
    window.refresh()
    assert window.fee_estimate.isChecked()


def test_only_an_administrator_changes_prices_and_the_currency(
    qtbot: QtBot, db: Database, english: None
) -> None:
    office.set_currency(db, "EUR", actor=admin())
    window = FeeScheduleWindow(db, manager("nadia"))
    qtbot.addWidget(window)
    window.show()
    assert window.model.rows  # the prices can be looked up
    assert window.currency.isReadOnly()
    for control in (
        window.change_currency_button,
        window.fee_estimate,
        window.add_button,
        window.edit_button,
        window.active_button,
        window.delete_button,
    ):
        assert not control.isEnabled(), control.objectName()
        assert control.toolTip().startswith("A manager cannot change the fee schedule")
    assert window.edit_service() is None  # Enter in the table says why instead
    assert window.message.text().startswith("A manager cannot change the fee schedule")
    assert not window.delete_service() and not window.change_currency()
