from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.paths import AppPaths
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.window_state import WindowState


@pytest.fixture
def changes(db: Database) -> Iterator[ChangeBus]:
    bus = ChangeBus(db.path)
    yield bus
    bus.close()


@pytest.fixture
def main_window(qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus) -> MainWindow:
    window = MainWindow(db, "tester", WindowState(paths.settings_file), changes)
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
