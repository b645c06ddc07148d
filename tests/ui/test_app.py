from __future__ import annotations

import sqlite3
import sys

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from referral_desk.paths import AppPaths
from referral_desk.services.database import open_database
from referral_desk.ui import app


@pytest.fixture
def critical(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own hook
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: shown.append(str(args[2])))
    return shown


def test_an_unreadable_database_is_explained_and_left_alone(
    qtbot: QtBot, paths: AppPaths, critical: list[str]
) -> None:
    paths.ensure()
    paths.database.write_bytes(b"SQLite format 3\x00" + b"\x00garbage" * 512)
    before = paths.database.read_bytes()
    assert app.run(paths) == 1
    assert critical and "damaged" in critical[0]
    assert paths.database.read_bytes() == before


def test_a_database_from_a_newer_version_is_refused_at_start_up(
    qtbot: QtBot, paths: AppPaths, critical: list[str]
) -> None:
    open_database(paths).dispose()
    with sqlite3.connect(paths.database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    conn.close()
    assert app.run(paths) == 1
    assert critical and "newer version of Referral Desk" in critical[0]
