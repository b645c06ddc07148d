"""The case screen as each role sees it: a manager reads the whole case and changes none of it."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialogButtonBox, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor
from referral_desk.domain.audit import AuditAction
from referral_desk.services import audit_log, cases
from referral_desk.ui.case_window import CaseWindow
from tests.conftest import NOW, admin, case, manager, patient, staff


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
