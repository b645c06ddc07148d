from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import UserRole
from referral_desk.domain.audit import AuditAction
from referral_desk.services import accounts, audit_log, office
from referral_desk.services.audit_log import AuditFilter
from referral_desk.ui.sign_in import (
    MISMATCH,
    ChangePasswordDialog,
    Countdown,
    FirstRunDialog,
    SignInDialog,
)
from tests.ui.conftest import PASSWORD


def _shown(label: QLabel) -> str:
    return label.text() if label.isVisibleTo(label.window()) else ""


def test_the_first_run_checks_as_the_user_types_and_creates_the_administrator(
    qtbot: QtBot, db: Database
) -> None:
    dialog = FirstRunDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.office_name, "Oncology Second Opinions")
    qtbot.keyClicks(dialog.user_name, "maria garcia")
    assert "cannot be a user name" in _shown(dialog.name_field.message)
    dialog.user_name.clear()
    qtbot.keyClicks(dialog.user_name, "maria.garcia")
    assert "cannot be a user name" not in _shown(dialog.name_field.message)
    qtbot.keyClicks(dialog.password, "short")
    assert "use at least 10" in _shown(dialog.password_field.message)
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClicks(dialog.repeat, "correct horse battery!")
    assert _shown(dialog.repeat_field.message) == MISMATCH
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert not accounts.has_accounts(db)  # refused: the repeat differs
    assert dialog.isVisible()

    dialog.repeat.clear()
    qtbot.keyClicks(dialog.repeat, PASSWORD)
    qtbot.keyClicks(dialog.full_name, "Maria Garcia")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)

    assert dialog.signed_in is not None
    assert dialog.signed_in.actor.name == "maria.garcia"
    assert dialog.signed_in.actor.role is UserRole.ADMINISTRATOR
    assert accounts.find_user(db, "maria.garcia").full_name == "Maria Garcia"
    assert office.get_profile(db).name == "Oncology Second Opinions"
    first_sign_in = audit_log.entries(db, AuditFilter(actions=frozenset({AuditAction.SIGN_IN})))
    assert [row.actor for row in first_sign_in] == ["maria.garcia"]


def test_the_first_run_asks_for_the_office_name_and_keeps_the_rest_of_the_profile(
    qtbot: QtBot, db: Database
) -> None:
    dialog = FirstRunDialog(db)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.user_name, "alex")
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClicks(dialog.repeat, PASSWORD)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert "office's name" in _shown(dialog.office_field.message)
    assert dialog.office_name.hasFocus() or not dialog.isActiveWindow()
    assert not accounts.has_accounts(db)


def test_a_wrong_password_is_refused_with_the_reason_then_the_right_one_signs_in(
    qtbot: QtBot, db: Database
) -> None:
    accounts.create_first_administrator(db, "alex", "Alex Admin", PASSWORD)
    dialog = SignInDialog(db, name="alex")
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.password.hasFocus() or not dialog.isActiveWindow()
    qtbot.keyClicks(dialog.password, "not the password")
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert _shown(dialog.message) == "The user name or the password is not right."
    assert dialog.password.text() == ""  # typed again, not corrected
    assert dialog.signed_in is None

    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.signed_in is not None
    assert dialog.signed_in.full_name == "Alex Admin"
    assert dialog.result() == SignInDialog.DialogCode.Accepted


def test_after_repeated_failures_the_sign_in_button_counts_down(qtbot: QtBot, db: Database) -> None:
    accounts.create_first_administrator(db, "alex", "", PASSWORD)
    dialog = SignInDialog(db, name="alex")
    qtbot.addWidget(dialog)
    for _ in range(3):  # the third failure asks for a pause before the next try
        dialog.password.setText("wrong password")
        dialog.accept()
    assert not dialog.sign_in_button.isEnabled()
    assert dialog.sign_in_button.text() == "&Sign in (2 s)"
    dialog.password.setText(PASSWORD)
    dialog.accept()  # Enter while waiting does nothing
    assert dialog.signed_in is None


def test_the_countdown_gives_the_button_back(qtbot: QtBot) -> None:
    holder = QWidget()
    qtbot.addWidget(holder)
    button = QPushButton("Unlock", holder)
    countdown = Countdown(button, holder)
    countdown.start(timedelta(milliseconds=300))
    assert not button.isEnabled() and button.text() == "Unlock (1 s)"
    qtbot.waitUntil(lambda: button.isEnabled(), timeout=2000)
    assert button.text() == "Unlock"
    assert not countdown.running


def test_the_demo_sign_in_lists_each_role_and_fills_an_account_on_a_click(
    qtbot: QtBot, db: Database
) -> None:
    accounts.create_demo_accounts(db)
    dialog = SignInDialog(db, demo=True)
    qtbot.addWidget(dialog)
    hint = dialog.findChild(QLabel, "demo_hint")
    assert hint is not None
    for name, _full_name, role in accounts.DEMO_ACCOUNTS:
        assert name in hint.text() and role.label in hint.text()
    assert accounts.DEMO_PASSWORD in hint.text()
    hint.linkActivated.emit("lena.coord")
    assert dialog.user_name.text() == "lena.coord"
    dialog.accept()
    assert dialog.signed_in is not None
    assert dialog.signed_in.actor.role is UserRole.COORDINATOR


def test_changing_my_password_checks_the_current_one_and_the_repeat(
    qtbot: QtBot, db: Database
) -> None:
    actor = accounts.create_first_administrator(db, "alex", "", PASSWORD)
    dialog = ChangePasswordDialog(db, actor)
    qtbot.addWidget(dialog)
    dialog.show()
    new = "a brand new passphrase"
    qtbot.keyClicks(dialog.current, "not my password")
    qtbot.keyClicks(dialog.new, new)
    qtbot.keyClicks(dialog.repeat, new[:-1] + "E")
    assert _shown(dialog.repeat_field.message) == MISMATCH
    dialog.repeat.setText(new)
    qtbot.mouseClick(dialog.change_button, Qt.MouseButton.LeftButton)
    assert _shown(dialog.current_field.message) == "The current password is not right."
    assert dialog.isVisible()

    dialog.current.setText(PASSWORD)
    qtbot.mouseClick(dialog.change_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert accounts.sign_in(db, "alex", new).actor == actor


def test_a_temporary_password_is_replaced_without_typing_it_again(
    qtbot: QtBot, db: Database
) -> None:
    actor = accounts.create_first_administrator(db, "alex", "", PASSWORD)
    dialog = ChangePasswordDialog(db, actor, current=PASSWORD)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.current.isVisible()
    new = "my own passphrase now"
    qtbot.keyClicks(dialog.new, new)
    qtbot.keyClicks(dialog.repeat, new)
    qtbot.mouseClick(dialog.change_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == ChangePasswordDialog.DialogCode.Accepted
    assert accounts.sign_in(db, "alex", new).actor == actor
