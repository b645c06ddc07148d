from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, UserRole
from referral_desk.services import accounts
from referral_desk.services.errors import NotAllowedError
from referral_desk.ui.users_window import AddUserDialog, ResetPasswordDialog, UsersWindow
from tests.conftest import staff
from tests.ui.conftest import when_modal

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2id at its lowest cost: these tests are about the window, not the hash."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: hasher)
    yield


@pytest.fixture
def boss(db: Database) -> Actor:
    boss = accounts.create_first_administrator(db, "admin", "Alex Admin", PASSWORD)
    accounts.add_user(db, "maria", UserRole.STAFF, PASSWORD, actor=boss, full_name="María")
    return boss


@pytest.fixture
def window(qtbot: QtBot, db: Database, boss: Actor) -> UsersWindow:
    window = UsersWindow(db, boss)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _ok(dialog: QWidget) -> None:
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def _names(window: UsersWindow) -> list[str]:
    return [u.name for u in window.model.users]


def test_only_an_administrator_opens_the_users_window(db: Database) -> None:
    assert not UsersWindow.may_open(staff())
    with pytest.raises(NotAllowedError, match="A staff member cannot manage accounts"):
        UsersWindow(db, staff())


def test_the_list_shows_each_account(window: UsersWindow) -> None:
    model = window.model
    assert _names(window) == ["admin", "maria"]
    assert [model.data(model.index(1, c)) for c in range(6)] == [
        "maria",
        "María",
        "Staff",
        "Active",
        "",
        "never",
    ]


def test_an_administrator_adds_a_user(qtbot: QtBot, window: UsersWindow, db: Database) -> None:
    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, AddUserDialog)
        qtbot.keyClicks(dialog.user_name, "lena.coord")
        dialog.full_name.insert("Lena Coordinator")
        dialog.role.setCurrentIndex(dialog.role.findData(UserRole.COORDINATOR.value))
        assert "makes, prints and sends letters" in dialog.duties.text()
        qtbot.keyClicks(dialog.password, PASSWORD)
        qtbot.keyClicks(dialog.repeat, PASSWORD)
        _ok(dialog)

    when_modal(qtbot, fill)
    assert window.add_user()
    assert _names(window) == ["admin", "lena.coord", "maria"]
    assert window.selected is not None and window.selected.name == "lena.coord"
    assert "Added lena.coord as a coordinator" in window.message.text()
    lena = accounts.find_user(db, "lena.coord")
    assert (lena.role, lena.full_name, lena.created_by) == (
        UserRole.COORDINATOR,
        "Lena Coordinator",
        "admin",
    )


def test_a_short_password_is_refused_with_its_reason_and_nothing_is_saved(
    qtbot: QtBot, window: UsersWindow, db: Database
) -> None:
    seen: list[str] = []

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, AddUserDialog)
        qtbot.keyClicks(dialog.user_name, "lena")
        qtbot.keyClicks(dialog.password, "short")
        # Said while typing, before OK.
        seen.append(dialog.password_field.message.text())
        qtbot.keyClicks(dialog.repeat, "short")
        _ok(dialog)
        assert dialog.isVisible()  # refused: the dialog stays, with the reason
        seen.append(dialog.password_field.message.text())
        dialog.reject()

    when_modal(qtbot, fill)
    assert not window.add_user()
    assert (
        seen
        == [
            "The password has 5 characters; use at least 10 (a few words in a row are easy to "
            "remember).",
        ]
        * 2
    )
    assert _names(window) == ["admin", "maria"]
    assert [u.name for u in accounts.list_users(db)] == ["admin", "maria"]


def test_a_duplicate_name_is_refused_by_the_service_inside_the_dialog(
    qtbot: QtBot, window: UsersWindow, db: Database
) -> None:
    seen: list[str] = []

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, AddUserDialog)
        qtbot.keyClicks(dialog.user_name, "MARIA")
        qtbot.keyClicks(dialog.password, PASSWORD)
        qtbot.keyClicks(dialog.repeat, PASSWORD)
        _ok(dialog)
        seen.append(dialog.name_field.message.text())
        dialog.reject()

    when_modal(qtbot, fill)
    assert not window.add_user()
    assert seen == ["There is already a user named 'maria'; choose another name."]
    assert len(accounts.list_users(db)) == 2


def test_a_user_is_disabled_and_enabled_again(window: UsersWindow, db: Database) -> None:
    assert not window.active_button.isEnabled()  # nothing selected yet
    window.select_user("maria")
    assert window.active_button.text() == "&Disable"
    window.active_button.click()
    assert not accounts.find_user(db, "maria").active
    assert window.message.text().startswith("maria is disabled: they can no longer sign in")
    model = window.model
    assert model.data(model.index(1, 3)) == "Disabled"
    assert window.active_button.text() == "&Enable"
    window.active_button.click()
    assert accounts.find_user(db, "maria").active
    assert window.message.text() == "maria can sign in again."


def test_disabling_the_last_administrator_is_refused_and_changes_nothing(
    window: UsersWindow, db: Database
) -> None:
    window.select_user("admin")
    window.active_button.click()
    assert window.message.text() == (
        "admin is the only active administrator; the office would have no one to manage "
        "accounts. Make someone else an administrator first."
    )
    assert accounts.find_user(db, "admin").active
    assert window.model.data(window.model.index(0, 3)) == "Active"


def test_a_reset_password_must_be_replaced_at_the_next_sign_in(
    qtbot: QtBot, window: UsersWindow, db: Database
) -> None:
    window.select_user("maria")

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, ResetPasswordDialog)
        assert "tell it to maria in person" in dialog.note.text()
        qtbot.keyClicks(dialog.password, "temporary password")
        qtbot.keyClicks(dialog.repeat, "temporary passwort")
        _ok(dialog)
        assert dialog.repeat_field.message.text().startswith("The two passwords differ")
        dialog.repeat.clear()
        qtbot.keyClicks(dialog.repeat, "temporary password")
        _ok(dialog)

    when_modal(qtbot, fill)
    assert window.reset_password()
    assert "at the next sign-in they must choose their own" in window.message.text()
    assert accounts.find_user(db, "maria").must_change_password
    assert window.model.data(window.model.index(1, 3)) == "Active; must choose a new password"


def test_the_screen_lock_time_is_saved_once_the_arrows_stop(
    qtbot: QtBot, window: UsersWindow, db: Database
) -> None:
    assert window.idle_lock.value() == 10
    window.idle_lock.setFocus()
    for _ in range(5):
        qtbot.keyClick(window.idle_lock, Qt.Key.Key_Down)
    assert accounts.idle_lock_minutes(db) == 10  # not one save per step
    qtbot.waitUntil(lambda: accounts.idle_lock_minutes(db) == 5, timeout=3000)
    assert window.message.text() == "Saved: the screen locks after 5 minutes without use."
