from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy.exc import OperationalError

from referral_desk.ui import errors
from referral_desk.ui.errors import ErrorDialog


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    log_path = errors.configure_logging(tmp_path / "logs")
    errors.install_exception_hook(log_path)
    return log_path


def _raise_and_hook(exc: BaseException) -> None:
    try:
        raise exc
    except BaseException as caught:
        sys.excepthook(type(caught), caught, caught.__traceback__)


def test_a_bug_is_logged_and_shown_with_a_copyable_report(
    qtbot: QtBot, hook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(ErrorDialog, "exec", lambda self: shown.append(self.report.toPlainText()))
    _raise_and_hook(ZeroDivisionError("division by zero in the clock"))
    assert "ZeroDivisionError: division by zero in the clock" in shown[0]
    assert "Referral Desk" in shown[0]
    assert "division by zero in the clock" in hook.read_text(encoding="utf-8")


def test_a_locked_database_gets_a_plain_message_not_a_crash_report(
    qtbot: QtBot, hook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: messages.append(args[2]))
    monkeypatch.setattr(ErrorDialog, "exec", lambda self: pytest.fail("no crash report"))
    locked = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
    _raise_and_hook(locked)
    assert messages and "busy in another window" in messages[0]
    assert "nothing was saved" in messages[0]


def test_a_lasting_database_problem_shows_one_box_at_a_time(
    qtbot: QtBot, hook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = OperationalError("SELECT ...", {}, sqlite3.OperationalError("database is locked"))
    shown: list[str] = []

    def warning(*args: object) -> None:
        shown.append(str(args[2]))
        _raise_and_hook(locked)  # the 2-second poll fails again while the box is open

    monkeypatch.setattr(QMessageBox, "warning", warning)
    _raise_and_hook(locked)
    assert len(shown) == 1
    _raise_and_hook(locked)  # once acknowledged, the next failure is shown again
    assert len(shown) == 2
