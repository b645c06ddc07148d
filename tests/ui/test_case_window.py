"""The case screen as each role sees it: a manager reads the whole case and changes none of it."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.enums import Urgency
from referral_desk.services import audit_log, cases
from referral_desk.ui.case_window import CaseWindow
from tests.conftest import NOW, admin, case, manager, patient, staff
from tests.ui.conftest import when_modal


def _window(qtbot: QtBot, db: Database, actor: Actor) -> CaseWindow:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    window = CaseWindow(db, created.id, actor, lambda: None)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_manager_reads_the_case_but_every_change_is_greyed_out(
    qtbot: QtBot, db: Database
) -> None:
    window = _window(qtbot, db, manager("nadia"))
    form = window.form
    assert form.family_name.text() == "Müller" and form.family_name.isReadOnly()
    assert all(line.isReadOnly() for line in form.findChildren(QLineEdit))
    assert not any(box.isEnabled() for box in form.findChildren(QComboBox))
    assert not any(box.isEnabled() for box in form.findChildren(QCheckBox))
    assert not window.save_buttons.button(QDialogButtonBox.StandardButton.Save).isVisible()
    status_buttons = [
        b for b in window.findChildren(QPushButton) if b.objectName().startswith("to_")
    ]
    assert status_buttons and not any(b.isEnabled() for b in status_buttons)
    assert status_buttons[0].toolTip().startswith("A manager cannot change a case; ask ")
    # The tabs underneath are read-only too.
    assert not window.documents.add_button.isEnabled()
    assert not window.costs.add_button.isEnabled()
    assert not window.review.assign_button.isEnabled()
    assert not window.letters.new_button.isEnabled()
    assert not window.has_unsaved_edits and window.close()


def test_staff_edit_the_case_and_move_it_on(qtbot: QtBot, db: Database) -> None:
    window = _window(qtbot, db, staff("tom"))
    assert not window.form.family_name.isReadOnly()
    window.form.stage.clear()
    qtbot.keyClicks(window.form.stage, "IIB")
    assert window.has_unsaved_edits and window.save()
    assert cases.get_case(db, window.detail.id).case.stage == "IIB"
    status_buttons = [
        b for b in window.findChildren(QPushButton) if b.objectName().startswith("to_")
    ]
    assert status_buttons and all(b.isEnabled() for b in status_buttons)
    assert not window.letters.new_button.isEnabled()  # letters are the coordinator's


def test_opening_a_case_is_traced_and_its_history_tab_shows_the_trail(
    qtbot: QtBot, db: Database
) -> None:
    made = cases.create_case(db, case(), patient=patient(), actor=staff("maria"), now=NOW)
    window = CaseWindow(db, made.id, manager("nadia"), lambda: None)
    qtbot.addWidget(window)
    opened = audit_log.entries(db, audit_log.AuditFilter(actor="nadia"))
    assert [(r.action, r.case_id) for r in opened] == [(AuditAction.VIEW, made.id)]
    history = window.trail
    assert window.tabs.indexOf(history) >= 0
    rows = audit_log.case_history(db, made.id)
    assert {r.actor for r in rows} == {"maria", "nadia"}
    assert history.tree.topLevelItemCount() == len(rows)  # the opening included


def _open(qtbot: QtBot, db: Database, case_id: int, actor: Actor) -> CaseWindow:
    window = CaseWindow(db, case_id, actor, lambda: None)
    qtbot.addWidget(window)
    window.show()
    return window


def test_a_stale_save_shows_what_the_other_person_changed_and_keeps_the_typing(
    qtbot: QtBot, db: Database
) -> None:
    made = cases.create_case(db, case(), patient=patient(), actor=staff("t"))
    mine = _open(qtbot, db, made.id, staff("tom"))
    theirs = _open(qtbot, db, made.id, staff("maria.intake"))
    mine.form.diagnosis.setPlainText("Invasive lobular carcinoma")  # Tom is typing...
    mine.form.phone.setText("+49 30 1234")

    theirs.form.stage.clear()  # ...while Maria saves first, at her own desk
    qtbot.keyClicks(theirs.form.stage, "IIB")
    theirs.form.urgency.setCurrentIndex(theirs.form.urgency.findData(Urgency.URGENT))
    assert theirs.save()
    saved_at = audit_log.case_history(db, made.id)[0].at.astimezone()

    shown: list[str] = []

    def keep_my_edits(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        shown.extend([box.windowTitle(), box.text(), box.informativeText()])
        box.findChild(QPushButton, "conflict_keep").click()

    when_modal(qtbot, keep_my_edits)
    assert not mine.save()
    title, text, details = shown
    assert title == "Not saved: the case changed"
    assert text.startswith(f"{made.reference} was changed by someone else after you opened it")
    assert (
        f"• maria.intake at {saved_at:%H:%M}: Stage IIA → IIB; Urgency Routine → Urgent" in details
    )
    assert "Your edits are still on screen (Phone, Diagnosis)" in details
    # Nothing of Maria's was overwritten, nothing Tom typed is lost.
    stored = cases.get_case(db, made.id)
    assert (stored.case.stage, stored.case.urgency) == ("IIB", Urgency.URGENT)
    assert stored.case.diagnosis == case().diagnosis
    assert mine.form.diagnosis.toPlainText() == "Invasive lobular carcinoma"
    assert mine.has_unsaved_edits

    def show_the_saved_version(box: QWidget) -> None:
        box.findChild(QPushButton, "conflict_reload").click()

    when_modal(qtbot, show_the_saved_version)
    assert not mine.save()
    assert mine.form.stage.text() == "IIB" and not mine.has_unsaved_edits
    mine.form.diagnosis.setPlainText("Invasive lobular carcinoma")  # typed again
    assert mine.save()
    assert cases.get_case(db, made.id).case.diagnosis == "Invasive lobular carcinoma"
