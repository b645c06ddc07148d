from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import QDate, QLocale, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.clock import Pace
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.specialists import Discipline
from referral_desk.services import cases, office, specialists
from referral_desk.services.specialists import AbsenceInfo, SpecialistDraft
from referral_desk.ui.formatting import PACE_COLOURS
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.specialists_window import (
    COLUMNS,
    SpecialistsModel,
    SpecialistsWindow,
    next_absence,
)
from tests.conftest import admin, case, manager, patient, staff, without_checklists


def _draft(**changes: object) -> SpecialistDraft:
    values: dict[str, object] = {
        "name": "Dr. Amara Okafor",
        "discipline": Discipline.MEDICAL_ONCOLOGY,
        "capacity": 5,
        "title": "MD, PhD",
        "cancer_types": frozenset({"breast"}),
        "fee_minor": 25_000,
    }
    values.update(changes)
    return SpecialistDraft(**values)  # type: ignore[arg-type]


def _column(title: str) -> int:
    return next(i for i, c in enumerate(COLUMNS) if c[0] == title)


def _shown(window: SpecialistsWindow, name: str, title: str) -> str:
    row = next(i for i, s in enumerate(window.model.rows) if s.name == name)
    return str(window.model.index(row, _column(title)).data())


@pytest.fixture
def german() -> Iterator[None]:
    """Amounts typed and shown as in Germany (decimal comma), as on a German computer."""
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


def test_the_next_absence_is_the_running_or_the_coming_one() -> None:
    today = date(2026, 11, 23)
    past = AbsenceInfo(1, date(2026, 10, 1), date(2026, 10, 5), "")
    later = AbsenceInfo(2, date(2026, 12, 20), date(2027, 1, 3), "holiday")
    now = AbsenceInfo(3, date(2026, 11, 22), date(2026, 11, 24), "congress")
    assert next_absence((past,), today) == ""
    assert next_absence((past, later), today) == "2026-12-20 to 2027-01-03 (holiday)"
    assert next_absence((past, later, now), today) == "away until 2026-11-24 (congress)"


# --- the screen ----------------------------------------------------------------------------


def test_the_roster_model_passes_qt_model_checks(qtmodeltester: ModelTester, db: Database) -> None:
    first = specialists.create_specialist(db, _draft(), actor=admin())
    specialists.create_specialist(db, _draft(name="Dr. Jonas Weber", active=False), actor=admin())
    specialists.add_absence(
        db, first, date(2026, 12, 1), date(2026, 12, 3), "holiday", actor=admin()
    )
    model = SpecialistsModel()
    model.set_rows(specialists.list_specialists(db), date(2026, 11, 23), "EUR")
    qtmodeltester.check(model)
    assert model.rowCount() == 2


def test_a_new_specialist_is_typed_in_and_saved(
    qtbot: QtBot, main_window: MainWindow, db: Database, german: None
) -> None:
    office.set_currency(db, "EUR", actor=admin())
    window = main_window.show_specialists()
    qtbot.waitExposed(window)
    assert window.current_id is None  # an empty roster opens on a new specialist
    form = window.form
    qtbot.keyClicks(form.name, "Dr. Amara Okafor")
    qtbot.keyClicks(form.title, "MD")
    form.discipline.setCurrentIndex(form.discipline.findData(Discipline.HAEMATOLOGY))
    for row in range(form.cancer_types.count()):
        item = form.cancer_types.item(row)
        if item.data(Qt.ItemDataRole.UserRole) in ("lymphoma", "myeloma"):
            item.setCheckState(Qt.CheckState.Checked)
    qtbot.keyClicks(form.email, "okafor@example.org")
    assert form.fee_currency.text() == "EUR"
    qtbot.keyClicks(form.fee, "1.234,50")  # as a German types it
    form.capacity.setValue(4)
    assert window.has_unsaved_edits
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)

    [saved] = specialists.list_specialists(db)
    assert saved.draft == SpecialistDraft(
        name="Dr. Amara Okafor",
        discipline=Discipline.HAEMATOLOGY,
        capacity=4,
        title="MD",
        cancer_types=frozenset({"lymphoma", "myeloma"}),
        email="okafor@example.org",
        fee_minor=123_450,
    )
    assert window.current_id == saved.id and not window.has_unsaved_edits
    assert "added to the roster" in window.message.text()
    assert _shown(window, "Dr. Amara Okafor", "Fee") == "1.234,50\xa0€"
    assert _shown(window, "Dr. Amara Okafor", "Active cases") == "0 of 4"
    assert _shown(window, "Dr. Amara Okafor", "Sub-specialties") == "Lymphoma, Myeloma"
    assert form.fee.text() == "1.234,50"
    # The case list can filter on the new specialist straight away.
    assert main_window.specialist.findData(saved.id) > 0


def test_a_fee_that_is_not_an_amount_is_not_saved_and_says_why(
    qtbot: QtBot, main_window: MainWindow, db: Database, english: None
) -> None:
    office.set_currency(db, "EUR", actor=admin())
    specialist_id = specialists.create_specialist(db, _draft(), actor=admin())
    window = main_window.show_specialists()
    assert window.current_id == specialist_id
    window.form.fee.clear()
    qtbot.keyClicks(window.form.fee, "abc")
    window.form.name.clear()
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert window.form.error_text("fee").startswith("'abc' is not an amount")
    assert "name" in window.form.error_text("name")  # the service's other messages too
    assert "Not saved" in window.message.text()
    assert specialists.get_specialist(db, specialist_id).draft == _draft()

    qtbot.keyClicks(window.form.name, "Dr. Amara Okafor-Benson")
    window.form.fee.clear()
    qtbot.keyClicks(window.form.fee, "-5")
    assert not window.save()
    assert window.form.error_text("fee") == "The fee cannot be negative."

    window.form.fee.clear()
    qtbot.keyClicks(window.form.fee, "1234.505")
    assert not window.save()
    assert "more decimal places than EUR has (2)" in window.form.error_text("fee")

    window.form.fee.clear()
    qtbot.keyClicks(window.form.fee, "1,234.50")
    assert window.save()
    stored = specialists.get_specialist(db, specialist_id)
    assert (stored.name, stored.draft.fee_minor) == ("Dr. Amara Okafor-Benson", 123_450)
    assert window.form.error_text("fee") == ""


def test_fees_are_shown_in_the_office_currency_and_no_fee_is_blank(
    qtbot: QtBot, db: Database, english: None
) -> None:
    office.set_currency(db, "JPY", actor=admin())  # no decimal places
    priced = specialists.create_specialist(db, _draft(fee_minor=1_250_000), actor=admin())
    specialists.create_specialist(
        db, _draft(name="Prof. Lars Eriksson", fee_minor=0), actor=admin()
    )
    window = SpecialistsWindow(db, staff())
    qtbot.addWidget(window)
    assert _shown(window, "Dr. Amara Okafor", "Fee") == "¥1,250,000"
    assert _shown(window, "Prof. Lars Eriksson", "Fee") == ""
    row = window.model.row_for(priced)
    assert row is not None
    eriksson = window.model.index(1 - row, _column("Fee"))
    assert "fee schedule" in eriksson.data(Qt.ItemDataRole.ToolTipRole)
    assert window.select_specialist(priced)
    assert window.form.fee.text() == "1,250,000"
    assert window.form.fee_currency.text() == "JPY"
    window.form.fee.setText("12.50")
    window.form.fee.textEdited.emit("12.50")
    assert not window.save()
    assert "more decimal places than JPY has (0)" in window.form.error_text("fee")
    window.revert()


def test_capacity_below_one_cannot_be_typed_and_the_service_says_why_if_it_comes(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    specialist_id = specialists.create_specialist(db, _draft(), actor=admin())
    window = main_window.show_specialists()
    assert window.form.capacity.minimum() == 1
    window.form.capacity.setMinimum(0)  # as if the spin box let a 0 through
    window.form.capacity.setValue(0)
    assert not window.save()
    assert "at least 1" in window.form.error_text("capacity")
    assert specialists.get_specialist(db, specialist_id).draft.capacity == 5
    window.revert()  # closing would ask about the unsaved edit


def test_a_save_after_someone_else_saved_is_refused(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    specialist_id = specialists.create_specialist(db, _draft(), actor=admin())
    window = main_window.show_specialists()
    qtbot.keyClicks(window.form.phone, "+44 20 7946 0000")
    theirs = specialists.get_specialist(db, specialist_id)
    specialists.update_specialist(
        db, specialist_id, _draft(capacity=2), expected_version=theirs.version, actor=admin()
    )
    window.refresh()  # the change poll reaches this screen: the typing survives
    assert window.form.phone.text() == "+44 20 7946 0000"
    assert not window.save()
    assert "changed elsewhere" in window.message.text()
    assert specialists.get_specialist(db, specialist_id).draft.capacity == 2
    window.revert()
    assert window.form.capacity.value() == 2 and not window.has_unsaved_edits


def test_unsaved_edits_are_not_lost_by_choosing_another_specialist(
    qtbot: QtBot, main_window: MainWindow, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = specialists.create_specialist(db, _draft(), actor=admin())
    second = specialists.create_specialist(db, _draft(name="Prof. Lars Eriksson"), actor=admin())
    window = main_window.show_specialists()
    assert window.current_id == first
    qtbot.keyClicks(window.form.phone, "+44 1")

    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Cancel)
    window.table.selectRow(window.model.row_for(second) or 0)
    assert window.current_id == first and window.form.phone.text() == "+44 1"
    assert window.table.selectionModel().selectedRows()[0].row() == window.model.row_for(first)

    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Save)
    window.table.selectRow(window.model.row_for(second) or 0)
    assert window.current_id == second
    assert window.form.name.text() == "Prof. Lars Eriksson"
    assert specialists.get_specialist(db, first).draft.phone == "+44 1"


def test_an_absence_that_ends_before_it_starts_is_refused_and_a_good_one_kept(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    specialist_id = specialists.create_specialist(db, _draft(), actor=admin())
    window = main_window.show_specialists()
    window.absence_from.setDate(QDate(2026, 12, 20))
    window.absence_to.setDate(QDate(2026, 12, 5))
    qtbot.mouseClick(window.add_absence_button, Qt.MouseButton.LeftButton)
    assert window.absence_message.isVisible()
    assert "ends (2026-12-05) before it starts (2026-12-20)" in window.absence_message.text()
    assert specialists.get_specialist(db, specialist_id).absences == ()

    window.absence_to.setDate(QDate(2027, 1, 3))
    qtbot.keyClicks(window.absence_note, "holiday")
    qtbot.mouseClick(window.add_absence_button, Qt.MouseButton.LeftButton)
    assert not window.absence_message.isVisible()
    [absence] = specialists.get_specialist(db, specialist_id).absences
    assert (absence.first_day, absence.last_day, absence.note) == (
        date(2026, 12, 20),
        date(2027, 1, 3),
        "holiday",
    )
    assert window.absences.item(0).text() == "2026-12-20 to 2027-01-03  (15 days) · holiday"
    assert window.absence_note.text() == ""

    window.absences.setCurrentRow(0)
    qtbot.mouseClick(window.remove_absence_button, Qt.MouseButton.LeftButton)
    assert specialists.get_specialist(db, specialist_id).absences == ()
    assert window.absences.count() == 0


def test_the_roster_shows_each_specialists_load_and_show_cases_filters_the_list(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    without_checklists(db)
    busy = specialists.create_specialist(db, _draft(capacity=2), actor=admin())
    specialists.create_specialist(db, _draft(name="Prof. Lars Eriksson"), actor=admin())
    long_ago = datetime.now(UTC) - timedelta(days=3)
    created = cases.create_case(
        db, case(treatment_start=None), patient=patient(), actor=admin("t"), now=long_ago
    )
    cases.change_status(db, created.id, CaseStatus.READY_FOR_REVIEW, actor=admin("t"), now=long_ago)
    specialists.assign(db, created.id, busy, actor=admin("t"), now=long_ago + timedelta(minutes=5))
    cases.create_case(db, case(), patient=patient(family_name="Okafor"), actor=admin("t"))

    window = main_window.show_specialists()
    row = window.model.row_for(busy)
    assert row is not None
    assert window.model.index(row, _column("Active cases")).data() == "1 of 2"
    overdue = window.model.index(row, _column("Overdue"))
    assert overdue.data() == "1"
    assert overdue.data(Qt.ItemDataRole.BackgroundRole) == PACE_COLOURS[Pace.OVERDUE][1]
    assert window.model.index(row, _column("Due soon")).data() == ""
    assert "1 overdue" in window.summary.text()

    window.select_specialist(busy)
    qtbot.mouseClick(window.show_cases_button, Qt.MouseButton.LeftButton)
    assert main_window.specialist.currentData() == busy
    assert main_window.model.rowCount() == 1
    assert main_window.model.case_id(0) == created.id


def test_a_manager_looks_up_the_roster_but_keeps_it_as_it_is(qtbot: QtBot, db: Database) -> None:
    first = specialists.create_specialist(db, _draft(), actor=admin())
    window = SpecialistsWindow(db, manager("nadia"), show_cases=lambda _id: None)
    qtbot.addWidget(window)
    window.show()
    assert window.current_id == first
    assert window.form.name.text() == _draft().name and window.form.name.isReadOnly()
    assert window.form.capacity.isReadOnly()
    for button in (window.new_button, window.save_button, window.revert_button):
        assert not button.isEnabled(), button.objectName()
    assert window.save_button.toolTip().startswith("A manager cannot change the specialists'")
    assert not window.absences_box.isEnabled()
    assert window.show_cases_button.isEnabled()  # their cases can still be looked at
    item = window.form.cancer_types.item(0)
    assert not item.flags() & Qt.ItemFlag.ItemIsUserCheckable
    qtbot.keyClicks(window.form.name, " Jr.")  # read-only: nothing typed, nothing to lose
    assert not window.has_unsaved_edits
