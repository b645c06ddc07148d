from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QToolBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.clock import Pace
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.specialists import Concordance, Discipline
from referral_desk.paths import AppPaths
from referral_desk.services import accounts, cases, demo, opinions, specialists
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.formatting import PACE_COLOURS
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.specialists_window import SpecialistsWindow
from referral_desk.ui.status_dialog import StatusDialog
from referral_desk.ui.window_state import WindowState
from tests.conftest import NOW, admin, case, patient, without_checklists
from tests.ui.conftest import when_modal


def test_search_narrows_the_list_as_the_user_types(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
    cases.create_case(
        db,
        case(),
        patient=patient(given_names="Peter", family_name="Okafor"),
        actor=admin("t"),
        now=NOW,
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
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
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
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
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
    first = MainWindow(db, admin("t"), WindowState(paths.settings_file), changes)
    qtbot.addWidget(first)
    first.show()
    first.table.horizontalHeader().resizeSection(1, 333)
    first.close()
    second = MainWindow(db, admin("t"), WindowState(paths.settings_file), changes)
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
    created = cases.create_case(db, case(), patient=patient(), actor=admin("alice"), now=NOW)
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
        actor=admin("bob"),
    )
    main_window.refresh()  # the change poll reaches Alice's screen
    assert window.conflict.isVisible()
    assert window.form.stage.text() == "IIIA"  # her typing survives the refresh

    said: list[str] = []

    def keep_editing(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        said.append(f"{box.text()}\n{box.informativeText()}")
        box.findChild(QPushButton, "conflict_keep").click()

    when_modal(qtbot, keep_editing)
    assert not window.save()
    assert said and "changed by someone else" in said[0]
    assert "bob at " in said[0] and "Diagnosis" in said[0]
    assert window.form.stage.text() == "IIIA"
    assert cases.get_case(db, created.id).case.diagnosis == "Revised by Bob"

    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Discard)
    assert window.close()  # unsaved edits: closing asks, and Discard really closes


def test_a_case_screen_does_not_undo_patient_details_saved_from_another_case(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    first = cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
    patient_id = cases.get_case(db, first.id).patient_id
    second = cases.create_case(
        db, case(cancer_type="lung"), existing_patient_id=patient_id, actor=admin("t"), now=NOW
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


def _specialist(db: Database, name: str, *, capacity: int = 5, active: bool = True) -> int:
    draft = SpecialistDraft(
        name=name, discipline=Discipline.MEDICAL_ONCOLOGY, capacity=capacity, active=active
    )
    return specialists.create_specialist(db, draft, actor=admin())


def _assigned(db: Database, specialist_id: int, family_name: str, ready_since: datetime) -> int:
    """A case ready for review since then, given to the specialist (so it is under review)."""
    created = cases.create_case(
        db,
        case(treatment_start=None),
        patient=patient(family_name=family_name),
        actor=admin("t"),
        now=ready_since,
    )
    cases.change_status(
        db, created.id, CaseStatus.READY_FOR_REVIEW, actor=admin("t"), now=ready_since
    )
    specialists.assign(db, created.id, specialist_id, actor=admin("t"), now=ready_since)
    return created.id


def _shown_ids(window: MainWindow) -> set[int]:
    return {window.model.case_id(r) for r in range(window.model.rowCount())}


def test_the_specialist_column_and_filter_narrow_the_list(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    without_checklists(db)
    recently = datetime.now(UTC) - timedelta(hours=2)
    okafor = _specialist(db, "Dr. Amara Okafor")
    chen = _specialist(db, "Dr. Mei Chen")
    retired = _specialist(db, "Dr. Jonas Weber", active=False)
    hers = _assigned(db, okafor, "Adams", recently)
    theirs = _assigned(db, chen, "Brown", recently)
    unassigned = cases.create_case(db, case(), patient=patient(), actor=admin("t")).id
    main_window.refresh()
    assert _shown_ids(main_window) == {hers, theirs, unassigned}
    column = next(
        c
        for c in range(main_window.model.columnCount())
        if main_window.model.headerData(c, Qt.Orientation.Horizontal) == "Specialist"
    )
    row = main_window.model.row_for_case(hers)
    assert main_window.model.index(row, column).data() == "Dr. Amara Okafor"

    combo = main_window.specialist
    names = [combo.itemText(i) for i in range(combo.count())]
    assert names[:3] == ["Any specialist", "Dr. Amara Okafor", "Dr. Mei Chen"]
    assert names[-1] == "Dr. Jonas Weber (inactive)"  # past cases can still be found
    combo.setCurrentIndex(combo.findData(chen))
    assert _shown_ids(main_window) == {theirs}
    assert "1 shown" in main_window.counts_label.text()
    combo.setCurrentIndex(combo.findData(retired))
    assert _shown_ids(main_window) == set()
    combo.setCurrentIndex(0)
    assert _shown_ids(main_window) == {hers, theirs, unassigned}


def test_the_workload_panel_shows_each_active_specialist_and_filters_on_a_click(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    without_checklists(db)
    now = datetime.now(UTC)
    okafor = _specialist(db, "Dr. Amara Okafor", capacity=3)
    chen = _specialist(db, "Dr. Mei Chen", capacity=2)
    _specialist(db, "Dr. Jonas Weber", active=False)
    late = _assigned(db, okafor, "Adams", now - timedelta(days=3))  # 48 h promise: overdue
    soon = _assigned(db, okafor, "Brown", now - timedelta(hours=42))  # 6 h left: due soon
    fresh = _assigned(db, okafor, "Clark", now - timedelta(hours=1))
    _assigned(db, chen, "Davis", now - timedelta(hours=1))
    main_window.refresh()

    panel = main_window.workload_list
    assert panel.isVisible()
    texts = [panel.item(r).text() for r in range(panel.count())]
    assert texts == [
        "Dr. Amara Okafor\n3/3 · 1 due soon · 1 overdue",
        "Dr. Mei Chen\n1/2 · 0 due soon · 0 overdue",
    ]  # the inactive one carries no load
    assert panel.item(0).background().color() == PACE_COLOURS[Pace.OVERDUE][1]
    assert panel.item(0).font().bold()  # full
    assert "full" in panel.item(0).toolTip()

    rect = panel.visualItemRect(panel.item(0))
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert main_window.specialist.currentData() == okafor
    assert _shown_ids(main_window) == {late, soon, fresh}

    main_window.specialist.setCurrentIndex(0)  # back to everyone: the panel follows
    assert panel.selectedItems() == []


def test_the_major_change_filter_and_the_specialists_screen_from_the_menu(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    without_checklists(db)
    now = datetime.now(UTC)
    okafor = _specialist(db, "Dr. Amara Okafor")
    changed = _assigned(db, okafor, "Adams", now - timedelta(hours=5))
    _assigned(db, okafor, "Brown", now - timedelta(hours=5))
    draft = OpinionDraft(
        patient_summary="Summary for the patient",
        recommendation="No chemotherapy",
        diagnosis_concordance=Concordance.CONFIRMED,
        treatment_concordance=Concordance.MAJOR_CHANGE,
        received_at=now - timedelta(hours=1),
    )
    opinions.record_opinion(db, changed, draft, actor=admin("t"))
    main_window.refresh()
    assert len(_shown_ids(main_window)) == 2
    main_window.major_change.setChecked(True)
    assert _shown_ids(main_window) == {changed}
    index = main_window.model.index(0, 0)
    assert "changed the first one a lot" in index.data(Qt.ItemDataRole.ToolTipRole)

    main_window.activateWindow()
    qtbot.keyClick(
        main_window,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    window = main_window.findChild(SpecialistsWindow) or main_window._specialists_window
    assert isinstance(window, SpecialistsWindow) and window.isVisible()
    assert window.model.rows[0].name == "Dr. Amara Okafor"
    assert main_window.specialists_action in main_window.findChild(QToolBar).actions()


def test_the_users_and_audit_windows_open_from_the_menus(
    qtbot: QtBot, main_window: MainWindow
) -> None:
    main_window.users_action.trigger()
    users = main_window.findChild(QWidget, "users_window")
    assert users is not None and users.isVisible()
    main_window.audit_action.trigger()
    audit = main_window.findChild(QWidget, "audit_window")
    assert audit is not None and audit.isVisible()
    main_window.audit_action.trigger()  # shown again, not a second one
    assert len(main_window.findChildren(QWidget, "audit_window")) == 1


def test_the_screen_lock_time_is_set_from_the_settings_menu(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    assert main_window.screen_lock.idle_timer.interval() == 10 * 60_000

    def five_minutes(dialog: QWidget) -> None:
        assert isinstance(dialog, QInputDialog)
        dialog.setIntValue(5)
        dialog.accept()

    when_modal(qtbot, five_minutes)
    main_window.idle_lock_action.trigger()
    assert accounts.idle_lock_minutes(db) == 5
    assert main_window.screen_lock.idle_timer.interval() == 5 * 60_000  # this seat at once


def test_ctrl_l_locks_from_a_case_window_too(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
    window = main_window.open_case(created.id)
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.form.stage, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert main_window.screen_lock.is_locked
    assert window.form.stage.text() == "IIA"  # the key did not reach the field
    main_window.screen_lock.shut_down()
