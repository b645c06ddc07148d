from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.paths import AppPaths
from referral_desk.ui.app import Desk
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.main_window import QUIT, MainWindow
from referral_desk.ui.window_state import WindowState
from tests.conftest import admin


@pytest.fixture
def changes(db: Database) -> Iterator[ChangeBus]:
    bus = ChangeBus(db.path)
    yield bus
    bus.close()


@pytest.fixture
def main_window(qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus) -> MainWindow:
    # No accounts in the database: the services take the role given, as in one made before
    # accounts existed.
    window = MainWindow(db, admin("tester"), WindowState(paths.settings_file), changes)
    qtbot.addWidget(window)
    window.show()
    return window


def when_modal(qtbot: QtBot, act: Callable[[QWidget], None]) -> None:
    """Run `act` on the next modal dialog once it is open (exec() blocks the test otherwise)."""

    def attempt() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, attempt)
            return
        try:
            act(dialog)
        finally:
            if dialog.isVisible():  # a failed step must not leave exec() blocking the test
                dialog.close()

    QTimer.singleShot(0, attempt)


PASSWORD = "correct horse battery"  # long enough for the password rules, quick to type


class Quits:
    """Stands in for QApplication.quit: the test's event loop is not the app's."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def quits() -> Quits:
    return Quits()


@pytest.fixture
def make_desk(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus, quits: Quits
) -> Iterator[Callable[..., Desk]]:
    """A Desk (sign-in, main window, switch user) on the test's database; whatever dialog or
    window it has open at the end is closed without asking."""
    desks: list[Desk] = []

    def make(*, demo: bool = False) -> Desk:
        desk = Desk(db, WindowState(paths.settings_file), changes, quit_app=quits, demo=demo)
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        if desk.window is not None:
            desk.window.leave(QUIT, discard_unsaved=True)
        if desk.dialog is not None:
            QDialog.done(desk.dialog, QDialog.DialogCode.Rejected)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
