from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.enums import Urgency
from referral_desk.services import cases, documents
from referral_desk.ui.chase_window import ChaseWindow, ContactDialog
from referral_desk.ui.main_window import MainWindow
from tests.conftest import NOW, admin, case, manager, patient
from tests.ui.conftest import when_modal


def test_the_chase_list_puts_urgent_cases_first_and_records_a_chase(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    routine = cases.create_case(
        db, case(referrer_name="Dr. Old"), patient=patient(), actor=admin("t"), now=NOW
    )
    urgent = cases.create_case(
        db,
        case(cancer_type="acute_leukaemia", urgency=Urgency.URGENT, referrer_name="Dr. Quick"),
        patient=patient(family_name="Ivanova"),
        actor=admin("t"),
        now=NOW + timedelta(days=2),
    )
    window = main_window.show_chase_list()
    qtbot.waitExposed(window)
    rows = window.model.rows
    assert rows[0].reference == urgent.reference  # urgent, though requested later
    assert {r.reference for r in rows} == {routine.reference, urgent.reference}
    assert "12 required documents missing across 2 open cases" in window.summary.text()
    assert window.model.data(window.model.index(0, 0)) == "Urgent"

    window.table.selectRow(0)
    qtbot.mouseClick(window.chase_button, Qt.MouseButton.LeftButton)
    chased = next(r for r in window.model.rows if r.document_id == rows[0].document_id)
    assert chased.chase_count == 1 and chased.chased_at is not None
    assert "Chase recorded for 1 document" in window.message.text()


def test_the_referrer_contact_is_edited_from_the_chase_list(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    cases.create_case(
        db, case(referrer_name="Dr. Inés Navarro"), patient=patient(), actor=admin("t")
    )
    window = main_window.show_chase_list()
    window.table.selectRow(0)

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, ContactDialog)
        dialog.email.setText("not an address")
        dialog.accept()
        assert "not an e-mail address" in dialog.message.text()
        dialog.phone.setText("+34 93 248 30 00")
        dialog.email.setText("navarro@hospitaldelmar.example")
        dialog.accept()

    when_modal(qtbot, fill)
    assert window.edit_contact()
    assert {r.referrer_phone for r in window.model.rows} == {"+34 93 248 30 00"}
    contact = documents.referrer_contact(db, "dr. ines navarro")
    assert contact is not None and contact.email == "navarro@hospitaldelmar.example"


def test_the_case_list_shows_missing_documents_and_filters_incomplete_records(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    incomplete = cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
    complete = cases.create_case(
        db, case(), patient=patient(family_name="Okafor"), actor=admin("t"), now=NOW
    )
    for document in documents.case_records(db, complete.id).documents:
        documents.set_document_status(db, document.id, document.status.RECEIVED, actor=admin("t"))
    main_window.refresh()
    missing_column = next(
        c
        for c in range(main_window.model.columnCount())
        if main_window.model.headerData(c, Qt.Orientation.Horizontal) == "Missing"
    )
    shown = {
        main_window.model.row_of(main_window.model.index(r, 0)).reference: main_window.model.data(
            main_window.model.index(r, missing_column)
        )
        for r in range(main_window.model.rowCount())
    }
    assert shown == {incomplete.reference: "5 missing", complete.reference: ""}
    main_window.incomplete.setChecked(True)
    assert main_window.model.rowCount() == 1
    assert main_window.model.row_of(main_window.model.index(0, 0)).reference == (
        incomplete.reference
    )


def test_a_manager_sees_what_is_missing_but_records_no_chase(qtbot: QtBot, db: Database) -> None:
    cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
    opened: list[int] = []
    window = ChaseWindow(db, manager("nadia"), opened.append)
    qtbot.addWidget(window)
    window.show()
    window.table.selectRow(0)
    assert window.model.rows  # the list is there to follow up on
    assert window.case_button.isEnabled()  # and a case can be opened to read
    for button in (window.chase_button, window.contact_button):
        assert not button.isEnabled(), button.objectName()
        assert button.toolTip().startswith("A manager cannot record a chase")
    assert window.mark_selected_chased() == 0
    assert "A manager cannot record a chase" in window.message.text()
    assert all(r.chase_count == 0 for r in documents.chase_list(db))
