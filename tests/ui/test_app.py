from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable

import pytest
from PySide6.QtCore import SIGNAL, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.audit import AuditAction
from referral_desk.paths import AppPaths
from referral_desk.services import accounts, audit_log, case_list, cases, office
from referral_desk.services.audit_log import AuditFilter, AuditRow
from referral_desk.services.database import open_database
from referral_desk.ui import app
from referral_desk.ui.app import Desk
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.main_window import QUIT, SIGN_OUT, MainWindow
from referral_desk.ui.sign_in import ChangePasswordDialog, FirstRunDialog, SignInDialog
from referral_desk.ui.startup_checks import DamagedDatabaseDialog
from tests.conftest import admin, case, patient
from tests.ui.conftest import PASSWORD, Quits, when_modal


@pytest.fixture
def critical(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own hook
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: shown.append(str(args[2])))
    return shown


def test_an_unreadable_database_without_a_backup_is_explained_and_left_alone(
    qtbot: QtBot, paths: AppPaths, critical: list[str]
) -> None:
    paths.ensure()
    paths.database.write_bytes(b"SQLite format 3\x00" + b"\x00garbage" * 512)
    before = paths.database.read_bytes()
    said: list[str] = []

    def quit_there(dialog: QWidget) -> None:
        assert isinstance(dialog, DamagedDatabaseDialog)
        said.extend([dialog.problem.text(), dialog.offer_title.text(), dialog.offer.text()])
        assert not dialog.restore_button.isVisible()
        dialog.quit_button.click()

    when_modal(qtbot, quit_there)
    assert app.run(paths) == 1
    problem, title, offer = said
    assert "damaged" in problem
    assert title == "No good backup was found."
    assert f"Nothing was changed: the damaged file is still at {paths.database}" in offer
    assert paths.database.read_bytes() == before
    assert critical == []


def test_a_database_from_a_newer_version_is_refused_at_start_up(
    qtbot: QtBot, paths: AppPaths, critical: list[str]
) -> None:
    open_database(paths).dispose()
    with sqlite3.connect(paths.database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    conn.close()
    assert app.run(paths) == 1
    assert critical and "newer version of Referral Desk" in critical[0]


def _create_administrator(qtbot: QtBot, desk: Desk, name: str = "alex") -> MainWindow:
    dialog = desk.dialog
    assert isinstance(dialog, FirstRunDialog)
    dialog.office_name.setText("Riverside Oncology Opinions")
    qtbot.keyClicks(dialog.user_name, name)
    qtbot.keyClicks(dialog.full_name, "Alex Admin")
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClicks(dialog.repeat, PASSWORD)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert desk.dialog is None
    assert desk.window is not None
    return desk.window


def _sign_in(qtbot: QtBot, desk: Desk, name: str, password: str = PASSWORD) -> SignInDialog:
    dialog = desk.dialog
    assert isinstance(dialog, SignInDialog)
    dialog.user_name.setText(name)
    dialog.password.setText(password)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    return dialog


def _trail(db: Database, action: AuditAction) -> list[AuditRow]:
    return audit_log.entries(db, AuditFilter(actions=frozenset({action})))


def _available(action: QAction) -> bool:
    return action.isEnabled() and action.isVisible()


def test_a_first_run_creates_the_administrator_and_signs_them_in(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk]
) -> None:
    desk = make_desk()
    desk.start()
    assert isinstance(desk.dialog, FirstRunDialog)
    assert desk.dialog.isVisible()
    window = _create_administrator(qtbot, desk)
    assert window.isVisible()
    assert window.actor == Actor("alex", UserRole.ADMINISTRATOR)
    assert "Alex Admin (Administrator)" in window.windowTitle()
    assert window.signed_in_label.text() == "Signed in: Alex Admin (Administrator)"
    assert office.get_profile(db).name == "Riverside Oncology Opinions"
    assert [row.actor for row in _trail(db, AuditAction.SIGN_IN)] == ["alex"]


def test_a_database_from_before_accounts_keeps_its_cases_through_the_first_run(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk]
) -> None:
    for family in ("Adams", "Brown"):  # written as the app did before there were accounts
        cases.create_case(db, case(), patient=patient(family_name=family), actor=admin("t"))
    desk = make_desk()
    desk.start()
    dialog = desk.dialog
    assert isinstance(dialog, FirstRunDialog)
    intro = dialog.findChild(QLabel, "first_run_intro")
    assert intro is not None and "2 cases stay as they are" in intro.text()
    window = _create_administrator(qtbot, desk)
    assert "2 cases in all" in window.counts_label.text()
    assert case_list.status_counts(db).total == 2


def test_sign_in_refuses_a_wrong_password_and_a_manager_reads_but_does_not_take_in(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk]
) -> None:
    boss = accounts.create_first_administrator(db, "alex", "", PASSWORD)
    accounts.add_user(
        db, "nadia", UserRole.MANAGER, PASSWORD, actor=boss, full_name="Nadia Manager"
    )
    desk = make_desk()
    desk.start()
    dialog = _sign_in(qtbot, desk, "nadia", "not her password")
    assert desk.dialog is dialog and desk.window is None
    assert dialog.message.text() == "The user name or the password is not right."
    assert dialog.message.isVisibleTo(dialog)
    _sign_in(qtbot, desk, "nadia")
    window = desk.window
    assert window is not None
    assert window.actor == Actor("nadia", UserRole.MANAGER)
    assert "Nadia Manager (Manager)" in window.signed_in_label.text()
    assert not _available(window.new_case_action)
    assert "ask a staff member" in window.new_case_action.toolTip()
    assert not window.findChild(QPushButton, "first_case").isVisibleTo(window)
    for allowed in (window.audit_action, window.monthly_report_action, window.lock_action):
        assert _available(allowed)
    for refused in (window.users_action, window.print_letters_action, window.checklists_action):
        assert not _available(refused)
    assert _trail(db, AuditAction.SIGN_IN_FAILED)[0].actor == "nadia"


def test_switching_user_from_staff_to_the_administrator(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk], changes: ChangeBus
) -> None:
    boss = accounts.create_first_administrator(db, "alex", "", PASSWORD)
    accounts.add_user(db, "tom", UserRole.STAFF, PASSWORD, actor=boss)
    desk = make_desk()
    desk.start()
    _sign_in(qtbot, desk, "tom")
    staff_window = desk.window
    assert staff_window is not None
    assert _available(staff_window.new_case_action)
    for refused in (
        staff_window.monthly_report_action,
        staff_window.users_action,
        staff_window.audit_action,
        staff_window.print_letters_action,  # letters are the coordinators'
        staff_window.office_profile_action,
    ):
        assert not _available(refused)

    listeners = changes.receivers(SIGNAL("cases_changed()"))
    staff_window.switch_user_action.trigger()
    assert desk.window is None
    assert isinstance(desk.dialog, SignInDialog)
    assert not staff_window.isVisible()
    assert desk.dialog.user_name.text() == ""  # the next person's own name goes there
    sign_out = _trail(db, AuditAction.SIGN_OUT)
    assert [(row.actor, row.detail) for row in sign_out] == [("tom", "switched user")]

    _sign_in(qtbot, desk, "alex")
    window = desk.window
    assert window is not None and window is not staff_window
    assert window.actor == Actor("alex", UserRole.ADMINISTRATOR)
    # The change bus serves the next window; the last one no longer listens to it.
    assert changes.receivers(SIGNAL("cases_changed()")) == listeners
    every = [a for a in window.menuBar().actions() if a.menu() is not None]
    for menu_action in every:
        for action in menu_action.menu().actions():
            if not action.isSeparator() and not action.text().startswith("Signed in as"):
                assert _available(action), action.text()
    assert _available(window.new_case_action)


def test_a_cancel_on_unsaved_case_edits_keeps_the_person_signed_in(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk]
) -> None:
    accounts.create_first_administrator(db, "alex", "", PASSWORD)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("alex"))
    desk = make_desk()
    desk.start()
    _sign_in(qtbot, desk, "alex")
    window = desk.window
    assert window is not None
    case_window = window.open_case(created.id)
    qtbot.keyClicks(case_window.form.stage, "B")

    def cancel(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        box.button(QMessageBox.StandardButton.Cancel).click()

    when_modal(qtbot, cancel)
    assert not window.leave(SIGN_OUT)
    assert desk.window is window and window.isVisible() and case_window.isVisible()
    assert case_window.form.stage.text() == "IIAB"
    assert _trail(db, AuditAction.SIGN_OUT) == []


def test_a_temporary_password_must_be_replaced_before_the_main_window(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk]
) -> None:
    boss = accounts.create_first_administrator(db, "alex", "", PASSWORD)
    accounts.add_user(db, "tom", UserRole.STAFF, "first password", actor=boss)
    accounts.reset_password(db, "tom", "temporary password", actor=boss)
    desk = make_desk()
    desk.start()
    _sign_in(qtbot, desk, "tom", "temporary password")
    change = desk.dialog
    assert isinstance(change, ChangePasswordDialog)
    assert desk.window is None
    change.findChild(QPushButton, "cancel_button").click()  # "Sign out"
    assert isinstance(desk.dialog, SignInDialog) and desk.window is None
    assert desk.dialog.user_name.text() == "tom"  # the same person, trying again
    assert _trail(db, AuditAction.SIGN_OUT)[0].detail == "did not choose a new password"

    _sign_in(qtbot, desk, "tom", "temporary password")
    change = desk.dialog
    assert isinstance(change, ChangePasswordDialog)
    change.new.setText("my own passphrase")
    change.repeat.setText("my own passphrase")
    change.change_button.click()
    assert desk.window is not None and desk.window.actor.name == "tom"
    assert not accounts.find_user(db, "tom").must_change_password


def test_cancelling_the_sign_in_quits(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk], quits: Quits
) -> None:
    accounts.create_first_administrator(db, "alex", "", PASSWORD)
    desk = make_desk()
    desk.start()
    assert isinstance(desk.dialog, SignInDialog)
    desk.dialog.findChild(QPushButton, "quit_button").click()
    assert quits.count == 1
    assert desk.dialog is None and desk.window is None


def test_closing_the_main_window_signs_out_and_quits(
    qtbot: QtBot, db: Database, make_desk: Callable[..., Desk], quits: Quits
) -> None:
    accounts.create_first_administrator(db, "alex", "", PASSWORD)
    desk = make_desk(demo=True)
    desk.start()
    assert isinstance(desk.dialog, SignInDialog)
    assert desk.dialog.findChild(QLabel, "demo_hint") is not None
    _sign_in(qtbot, desk, "alex")
    window = desk.window
    assert window is not None
    assert "DEMO OFFICE" in window.windowTitle()
    window.close()
    assert quits.count == 1 and desk.window is None
    assert [row.detail for row in _trail(db, AuditAction.SIGN_OUT)] == [QUIT]
