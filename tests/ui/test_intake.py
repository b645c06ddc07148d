from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.enums import Reason
from referral_desk.services import cases
from referral_desk.ui.intake_dialog import IntakeDialog
from referral_desk.ui.main_window import MainWindow
from tests.conftest import NOW, admin, case, manager, patient, staff
from tests.ui.conftest import when_modal


def _type_case(qtbot: QtBot, dialog: IntakeDialog, *, family: str, birth: str) -> None:
    form = dialog.form
    qtbot.keyClicks(form.given_names, "Joan")
    qtbot.keyClicks(form.family_name, family)
    qtbot.keyClicks(form.birth_date, birth)
    form.birth_date.editingFinished.emit()
    form.cancer_type.setCurrentIndex(form.cancer_type.findData("acute_leukaemia"))
    qtbot.keyClicks(form.referrer, "Dr. Amelia Hart")
    qtbot.keyClicks(form.diagnosis, "AML, FLT3-ITD positive")
    form.urgency.setCurrentIndex(1)
    qtbot.mouseClick(form.reasons[Reason.UNSURE_CHEMOTHERAPY], Qt.MouseButton.LeftButton)


@pytest.fixture
def joan_registered(db: Database) -> int:
    """Joan Whitfield, born 1968-04-12, already has a case; returns her patient id."""
    created = cases.create_case(
        db,
        case(),
        patient=patient(given_names="Joan", family_name="Whitfield"),
        actor=admin("earlier"),
        now=NOW,
    )
    return cases.get_case(db, created.id).patient_id


def _open_intake(qtbot: QtBot, db: Database) -> IntakeDialog:
    dialog = IntakeDialog(db, staff("tester"))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _save(qtbot: QtBot, dialog: IntakeDialog) -> None:
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )


def test_a_case_typed_into_intake_appears_in_the_list(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, IntakeDialog)
        _type_case(qtbot, dialog, family="Whitfield", birth="1958-03-14")
        _save(qtbot, dialog)

    when_modal(qtbot, fill)
    qtbot.keyClick(main_window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)

    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    row = main_window.model.row_of(main_window.model.index(0, 0))
    assert row.patient_name == "Joan Whitfield"
    assert row.reference.startswith("RD-")
    assert row.treatment_risk == "Urgent case."
    detail = cases.get_case(db, row.id)
    assert detail.case.referrer_name == "Dr. Amelia Hart"
    assert detail.case.reasons == frozenset({Reason.UNSURE_CHEMOTHERAPY})
    assert "1 shown" in main_window.counts_label.text()


def test_invalid_intake_shows_messages_by_the_fields_and_saves_nothing(
    qtbot: QtBot, db: Database
) -> None:
    dialog = IntakeDialog(db, staff("tester"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.form.given_names, "Joan")
    qtbot.keyClicks(dialog.form.birth_date, "2099-01-01")
    qtbot.keyClicks(dialog.form.treatment_start, "31.02.2027")
    _save(qtbot, dialog)

    assert dialog.isVisible() and dialog.created is None
    messages = {
        name: dialog.form.error_text(name)
        for name in ("family_name", "birth_date", "treatment_start", "cancer_type")
    }
    # The unreadable date is reported first; fixing it reveals the rules' messages.
    assert "not a real calendar date" in messages["treatment_start"]
    dialog.form.treatment_start.clear()
    _save(qtbot, dialog)
    assert dialog.form.error_text("birth_date") == "The date of birth is in the future."
    assert dialog.form.error_text("family_name") == "Enter the patient's family name."
    assert dialog.form.error_text("cancer_type") == "Choose the cancer type."
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone() == (0,)


def test_a_likely_duplicate_is_shown_and_the_existing_patient_can_be_used(
    qtbot: QtBot, db: Database, joan_registered: int
) -> None:
    existing_id = joan_registered
    dialog = _open_intake(qtbot, db)
    _type_case(qtbot, dialog, family="WHITFIELD", birth="1968-04-12")

    assert dialog.duplicate_panel.isVisible()
    assert "Possible duplicate: Joan Whitfield, born 1968-04-12" in dialog.duplicate_panel.text()
    assert "RD-2026-00001" in dialog.duplicate_panel.text()
    qtbot.mouseClick(dialog.use_existing, Qt.MouseButton.LeftButton)
    assert dialog.existing_patient_id == existing_id
    assert dialog.form.family_name.isReadOnly()
    _save(qtbot, dialog)

    assert dialog.created is not None
    assert cases.get_case(db, dialog.created.id).patient_id == existing_id


def test_escape_on_a_half_typed_case_asks_before_discarding(
    qtbot: QtBot, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    asked: list[str] = []

    def question(*args: object, **kwargs: object) -> QMessageBox.StandardButton:
        asked.append(str(args[1]))
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog = IntakeDialog(db, staff("tester"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.form.family_name, "Whitfield")
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible() and asked == ["Discard this new case?"]  # kept on Cancel
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_saving_straight_from_the_birth_date_still_stops_at_a_likely_duplicate(
    qtbot: QtBot, db: Database, joan_registered: int
) -> None:
    dialog = _open_intake(qtbot, db)
    form = dialog.form
    form.cancer_type.setCurrentIndex(form.cancer_type.findData("lung"))
    qtbot.keyClicks(form.given_names, "Joan")
    qtbot.keyClicks(form.family_name, "Whitfield")
    qtbot.keyClicks(form.birth_date, "1968-04-12")
    _save(qtbot, dialog)  # no editingFinished in between: Save must look for itself

    assert dialog.created is None and dialog.duplicate_panel.isVisible()
    assert "before saving" in dialog.duplicate_panel.text()
    qtbot.mouseClick(dialog.someone_else, Qt.MouseButton.LeftButton)  # a different Joan
    _save(qtbot, dialog)
    assert dialog.created is not None
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT count(*) FROM patients").fetchone() == (2,)


def test_a_manager_cannot_take_in_a_case(qtbot: QtBot, db: Database) -> None:
    dialog = IntakeDialog(db, manager("nadia"))
    qtbot.addWidget(dialog)
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert not save.isEnabled()
    assert save.toolTip() == (
        "A manager cannot take in a case; ask a staff member, a coordinator or an administrator."
    )


def test_a_refusal_of_any_typed_field_is_shown_under_that_field(qtbot: QtBot, db: Database) -> None:
    """The services refuse free texts too (e.g. broken characters from a bad paste, which the
    command line can send): every field the form has can carry its message."""
    dialog = _open_intake(qtbot, db)
    texts = ("referrer_name", "diagnosis", "stage", "patient_questions", "proposed_treatment")
    fields = ("phone", "address", "preferred_language", "first_diagnosis", *texts)
    dialog.form.show_errors({name: f"Retype the {name}." for name in fields})
    for name in fields:
        assert dialog.form.error_text(name) == f"Retype the {name}."
