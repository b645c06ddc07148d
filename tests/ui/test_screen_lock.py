from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.audit import AuditAction
from referral_desk.services import accounts, audit_log, cases
from referral_desk.services.audit_log import AuditFilter, AuditRow
from referral_desk.ui.app import Desk
from referral_desk.ui.intake_dialog import IntakeDialog
from referral_desk.ui.main_window import SIGN_OUT_FROM_LOCK, MainWindow
from referral_desk.ui.screen_lock import LOCKED_TITLE, LockOverlay, ScreenLock
from referral_desk.ui.sign_in import SignInDialog
from tests.conftest import case, patient
from tests.ui.conftest import PASSWORD, when_modal


def _trail(db: Database, action: AuditAction) -> list[AuditRow]:
    return audit_log.entries(db, AuditFilter(actions=frozenset({action})))


@pytest.fixture
def signed_in(qtbot: QtBot, db: Database, make_desk: Callable[..., Desk]) -> Desk:
    """Alex, the administrator, signed in through the desk, with one case in the office."""
    accounts.create_first_administrator(db, "alex", "Alex Admin", PASSWORD)
    desk = make_desk()
    desk.start()
    dialog = desk.dialog
    assert isinstance(dialog, SignInDialog)
    dialog.user_name.setText("alex")
    dialog.password.setText(PASSWORD)
    dialog.accept()
    assert desk.window is not None
    return desk


def _main(desk: Desk) -> MainWindow:
    assert desk.window is not None
    return desk.window


def _overlay(window: QWidget) -> LockOverlay | None:
    return next((child for child in window.children() if isinstance(child, LockOverlay)), None)


def _assert_covered(window: QWidget) -> None:
    overlay = _overlay(window)
    assert overlay is not None, window.objectName()
    assert overlay.isVisible()
    assert overlay.geometry() == window.rect()
    assert overlay.autoFillBackground()  # opaque: nothing shows through
    assert "Alex Admin (alex)" in overlay.text.text()
    siblings = [
        c
        for c in window.children()
        if isinstance(c, QWidget) and c.isVisible() and not c.isWindow()  # not the prompt
    ]
    assert siblings[-1] is overlay  # on top of every other child
    assert window.windowTitle() == LOCKED_TITLE


def _unlock(lock: ScreenLock, password: str) -> None:
    prompt = lock.prompt
    assert prompt is not None and prompt.isVisible()
    prompt.password.setText(password)
    prompt.unlock_button.click()


def test_the_idle_lock_covers_every_window_and_keeps_unsaved_typing(
    qtbot: QtBot, db: Database, signed_in: Desk
) -> None:
    main = _main(signed_in)
    created = cases.create_case(db, case(), patient=patient(), actor=main.actor)
    case_window = main.open_case(created.id)
    qtbot.waitExposed(case_window)
    case_window.form.stage.clear()
    qtbot.keyClicks(case_window.form.stage, "IIIA")
    patient_title = case_window.windowTitle()
    assert "Müller" in patient_title

    lock = main.screen_lock
    lock.idle_timer.setInterval(50)  # the office's 10 minutes, shortened
    lock.idle_timer.start()
    qtbot.waitUntil(lambda: lock.is_locked, timeout=2000)
    _assert_covered(main)
    _assert_covered(case_window)  # its title named the patient: hidden too
    assert QApplication.activeModalWidget() is lock.prompt
    entries = _trail(db, AuditAction.LOCK)
    assert [(row.actor, row.detail) for row in entries] == [("alex", "idle")]

    _unlock(lock, "not my password")
    assert lock.is_locked
    assert lock.prompt is not None
    assert lock.prompt.message.text() == "The user name or the password is not right."
    assert _overlay(case_window) is not None

    _unlock(lock, PASSWORD)
    assert not lock.is_locked and lock.prompt is None
    assert _overlay(case_window) is None or not _overlay(case_window).isVisible()
    assert case_window.windowTitle() == patient_title
    assert case_window.form.stage.text() == "IIIA"  # still unsaved, still there
    assert case_window.has_unsaved_edits
    assert lock.idle_timer.isActive()
    unlocks = [r for r in _trail(db, AuditAction.SIGN_IN) if r.detail == "unlocked the screen"]
    assert len(unlocks) == 1


def test_the_prompt_takes_the_password_over_a_modal_dialog_left_open(
    qtbot: QtBot, db: Database, signed_in: Desk
) -> None:
    main = _main(signed_in)
    lock = main.screen_lock
    seen: list[str] = []

    def half_typed_then_locked(dialog: QWidget) -> None:
        assert isinstance(dialog, IntakeDialog)
        try:
            qtbot.keyClicks(dialog.form.family_name, "Okonkwo")
            main.lock_action.trigger()  # Ctrl+L: the same path as the idle lock
            assert lock.is_locked
            _assert_covered(dialog)
            _assert_covered(main)
            assert QApplication.activeModalWidget() is lock.prompt  # above the intake dialog
            _unlock(lock, PASSWORD)
            assert not lock.is_locked
            seen.append(dialog.form.family_name.text())
            assert QApplication.activeModalWidget() is dialog  # back to where they were
        finally:
            QDialog.done(dialog, QDialog.DialogCode.Rejected)  # no "discard?" question

    when_modal(qtbot, half_typed_then_locked)
    main.new_case()
    assert seen == ["Okonkwo"]
    assert [row.detail for row in _trail(db, AuditAction.LOCK)] == ["on request"]


def test_a_window_opened_behind_the_lock_is_covered_too(
    qtbot: QtBot, db: Database, signed_in: Desk
) -> None:
    main = _main(signed_in)
    main.screen_lock.lock()
    chase = main.show_chase_list()  # e.g. a window a background task brings up
    _assert_covered(chase)
    _unlock(main.screen_lock, PASSWORD)
    assert _overlay(chase) is None or not _overlay(chase).isVisible()
    assert chase.windowTitle() == "Documents to chase · Referral Desk"


def test_signing_out_from_the_lock_drops_unsaved_work_after_a_warning(
    qtbot: QtBot, db: Database, signed_in: Desk
) -> None:
    main = _main(signed_in)
    created = cases.create_case(db, case(), patient=patient(), actor=main.actor)
    case_window = main.open_case(created.id)
    case_window.form.stage.clear()
    qtbot.keyClicks(case_window.form.stage, "IV")
    main.screen_lock.lock()
    prompt = main.screen_lock.prompt
    assert prompt is not None

    def stay(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        assert "is lost" in box.text()
        box.button(QMessageBox.StandardButton.Cancel).click()

    when_modal(qtbot, stay)
    prompt.sign_out_button.click()
    assert signed_in.window is main and main.screen_lock.is_locked

    def confirm(box: QWidget) -> None:
        button = box.findChild(QPushButton, "confirm_sign_out")
        assert button is not None
        button.click()

    when_modal(qtbot, confirm)
    prompt.sign_out_button.click()  # no "save changes?" question: the warning said so
    assert signed_in.window is None
    assert isinstance(signed_in.dialog, SignInDialog)
    assert not main.isVisible() and not case_window.isVisible()
    assert cases.get_case(db, created.id).case.stage == "IIA"  # the edit was not saved
    entries = _trail(db, AuditAction.SIGN_OUT)
    assert [(row.actor, row.detail) for row in entries] == [("alex", SIGN_OUT_FROM_LOCK)]


def test_input_keeps_the_screen_unlocked_but_a_nudged_mouse_does_not(
    qtbot: QtBot, signed_in: Desk
) -> None:
    main = _main(signed_in)
    lock = main.screen_lock
    assert lock.idle_timer.interval() == 10 * 60_000  # the office's default, read at sign-in
    lock.idle_timer.setInterval(60_000)
    # Precise, for this test only: a coarse timer's remaining time snaps to a boundary, so a
    # restart 40 ms later could read the same.
    lock.idle_timer.setTimerType(Qt.TimerType.PreciseTimer)
    lock.idle_timer.start()

    def idle_for_a_while() -> int:
        qtbot.wait(40)
        return lock.idle_timer.remainingTime()

    before = idle_for_a_while()
    qtbot.keyClick(main.search, Qt.Key.Key_A)
    assert lock.idle_timer.remainingTime() > before

    def move(to: QPoint) -> None:
        event = QMouseEvent(
            QMouseEvent.Type.MouseMove,
            QPointF(to),
            QPointF(main.mapToGlobal(to)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(main.table.viewport(), event)

    move(QPoint(100, 100))  # the first move counts
    before = idle_for_a_while()
    move(QPoint(103, 102))  # a jitter does not
    assert lock.idle_timer.remainingTime() <= before
    move(QPoint(160, 130))  # a real move does
    assert lock.idle_timer.remainingTime() > before


def test_signing_out_from_the_lock_over_a_half_typed_modal_dialog(
    qtbot: QtBot, db: Database, signed_in: Desk
) -> None:
    main = _main(signed_in)
    created = cases.create_case(db, case(), patient=patient(), actor=main.actor)
    case_window = main.open_case(created.id)
    qtbot.keyClicks(case_window.form.stage, "B")
    outcome: list[bool] = []

    def confirm(box: QWidget) -> None:
        button = box.findChild(QPushButton, "confirm_sign_out")
        assert button is not None
        button.click()

    def locked_over_intake(dialog: QWidget) -> None:
        assert isinstance(dialog, IntakeDialog)
        qtbot.keyClicks(dialog.form.family_name, "Okonkwo")
        main.screen_lock.lock()
        prompt = main.screen_lock.prompt
        assert prompt is not None
        when_modal(qtbot, confirm)
        prompt.sign_out_button.click()
        # The intake dialog was closed without its "discard what you typed?" question.
        outcome.append(not dialog.isVisible() and signed_in.window is None)

    when_modal(qtbot, locked_over_intake)
    assert main.new_case() is None  # its exec() returned: nothing waits under the next session
    assert outcome == [True]
    assert isinstance(signed_in.dialog, SignInDialog)
    assert not case_window.isVisible()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the old windows go
    assert cases.get_case(db, created.id).case.stage == "IIA"
    assert [row.detail for row in _trail(db, AuditAction.SIGN_OUT)] == [SIGN_OUT_FROM_LOCK]
