from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.enums import CaseStatus
from referral_desk.paths import AppPaths
from referral_desk.services import cases, demo
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.status_dialog import StatusDialog
from referral_desk.ui.window_state import WindowState
from tests.conftest import NOW, case, patient
from tests.ui.conftest import when_modal


def test_search_narrows_the_list_as_the_user_types(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    cases.create_case(db, case(), patient=patient(), actor="t", now=NOW)
    cases.create_case(
        db, case(), patient=patient(given_names="Peter", family_name="Okafor"), actor="t", now=NOW
    )
    main_window.refresh()
    assert main_window.model.rowCount() == 2
    qtbot.keyClick(main_window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert main_window.search.hasFocus()
    qtbot.keyClicks(main_window.search, "mull")  # finds Zoë Müller without the accents
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 1)
    assert main_window.model.row_of(main_window.model.index(0, 0)).patient_name == "Zoë Müller"


def test_status_counts_and_the_side_panel_filter(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    demo.generate(db, 200, seed=3)
    main_window.refresh()
    items = [main_window.status_list.item(i).text() for i in range(main_window.status_list.count())]
    assert items[1] == "All cases (200)"
    closed_row = next(i for i, t in enumerate(items) if t.startswith("Closed ("))
    closed_count = int(items[closed_row].split("(")[1].rstrip(")"))
    main_window.status_list.setCurrentRow(closed_row)
    while main_window.model.canFetchMore(main_window.model.index(-1, -1)):
        main_window.model.fetchMore(main_window.model.index(-1, -1))
    assert main_window.model.rowCount() == closed_count
    assert f"{closed_count:,} shown" in main_window.counts_label.text()


def test_a_status_change_on_the_case_screen_shows_in_history_and_list(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor="t", now=NOW)
    main_window.refresh()
    main_window.table.selectRow(0)
    qtbot.keyClick(main_window.table, Qt.Key.Key_Return)
    window = main_window.findChild(CaseWindow) or main_window._case_windows[created.id]
    assert isinstance(window, CaseWindow)
    qtbot.waitExposed(window)

    def put_on_hold(dialog: QWidget) -> None:
        assert isinstance(dialog, StatusDialog)
        dialog.accept()  # no reason: refused, the dialog stays open with the message
        assert "reason" in dialog.message.text()
        dialog.reason.setPlainText("Patient asked to wait for a family visit")
        dialog.accept()

    when_modal(qtbot, put_on_hold)
    button = window.findChild(QWidget, "to_on_hold")
    qtbot.waitUntil(lambda: button.height() > 0)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    assert window.status_label.text() == "On hold"
    latest = window.history.item(0).text()
    assert "Awaiting records → On hold" in latest
    assert "Patient asked to wait for a family visit" in latest
    assert window.findChild(QWidget, "to_awaiting_records") is not None  # resume where held
    qtbot.waitUntil(
        lambda: main_window.model.row_of(main_window.model.index(0, 0)).status is CaseStatus.ON_HOLD
    )


def test_edits_on_the_case_screen_are_saved(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor="t", now=NOW)
    window = main_window.open_case(created.id)
    window.form.stage.clear()
    qtbot.keyClicks(window.form.stage, "IIIA")
    assert window.has_unsaved_edits
    assert window.save()
    assert cases.get_case(db, created.id).case.stage == "IIIA"
    assert not window.has_unsaved_edits


def test_column_widths_are_remembered_between_runs(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus
) -> None:
    first = MainWindow(db, "t", WindowState(paths.settings_file), changes)
    qtbot.addWidget(first)
    first.show()
    first.table.horizontalHeader().resizeSection(1, 333)
    first.close()
    second = MainWindow(db, "t", WindowState(paths.settings_file), changes)
    qtbot.addWidget(second)
    assert second.table.horizontalHeader().sectionSize(1) == 333


def test_the_minute_refresh_keeps_the_selected_case(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    demo.generate(db, 60, seed=3)
    main_window.status_list.setCurrentRow(1)  # all cases
    main_window.table.selectRow(5)
    chosen = main_window.selected_case_id()
    main_window.refresh()
    assert main_window.selected_case_id() == chosen


def test_from_the_search_box_escape_clears_and_down_goes_to_the_list(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    demo.generate(db, 30, seed=3)
    main_window.status_list.setCurrentRow(1)
    main_window.search.setFocus()
    qtbot.keyClicks(main_window.search, "zz")
    qtbot.keyClick(main_window.search, Qt.Key.Key_Escape)
    assert main_window.search.text() == ""
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 30)
    qtbot.keyClick(main_window.search, Qt.Key.Key_Down)
    assert main_window.table.hasFocus()
    assert main_window.selected_case_id() == main_window.model.case_id(0)


def test_a_save_after_someone_else_changed_the_case_is_refused_even_after_a_refresh(
    qtbot: QtBot, main_window: MainWindow, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor="alice", now=NOW)
    window = main_window.open_case(created.id)
    window.form.stage.clear()
    qtbot.keyClicks(window.form.stage, "IIIA")  # Alice is typing...

    theirs = cases.get_case(db, created.id)  # ...while Bob saves from another seat
    cases.update_case(
        db,
        created.id,
        expected_version=theirs.version,
        patient=None,
        case=case(diagnosis="Revised by Bob"),
        actor="bob",
    )
    main_window.refresh()  # the change poll reaches Alice's screen
    assert window.conflict.isVisible()
    assert window.form.stage.text() == "IIIA"  # her typing survives the refresh

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    assert not window.save()
    assert warnings and "changed by someone else" in warnings[0]
    assert cases.get_case(db, created.id).case.diagnosis == "Revised by Bob"

    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Discard)
    assert window.close()  # unsaved edits: closing asks, and Discard really closes


def test_a_case_screen_does_not_undo_patient_details_saved_from_another_case(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    first = cases.create_case(db, case(), patient=patient(), actor="t", now=NOW)
    patient_id = cases.get_case(db, first.id).patient_id
    second = cases.create_case(
        db, case(cancer_type="lung"), existing_patient_id=patient_id, actor="t", now=NOW
    )
    one = main_window.open_case(first.id)
    two = main_window.open_case(second.id)
    qtbot.keyClicks(one.form.phone, "+49 30 1234")
    assert one.save()
    two.form.stage.clear()
    qtbot.keyClicks(two.form.stage, "IV")  # edits only the case, not the patient
    assert two.save()
    assert cases.get_case(db, second.id).patient.phone == "+49 30 1234"
    assert cases.get_case(db, second.id).case.stage == "IV"
