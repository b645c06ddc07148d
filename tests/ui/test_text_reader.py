from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.services import cases, files
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.main_window import MainWindow
from tests.conftest import admin, case, patient
from tests.ui.test_documents_panel import _pdf


def test_once_the_main_window_closed_the_text_reader_neither_reports_nor_starts_again(
    qtbot: QtBot, main_window: MainWindow, changes: ChangeBus, db: Database, tmp_path: Path
) -> None:
    reader = main_window.text_reader
    qtbot.waitUntil(lambda: not reader.busy)  # the round every start-up begins with
    qtbot.wait(20)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    for n in range(3):
        path = _pdf(tmp_path, f"h{n}.pdf", f"report {n}")
        files.add_file(db, created.id, "pathology_report", path, actor=admin("t"))
    reported: list[int] = []
    reader.done.connect(reported.append)
    reader.start()
    reader.start()  # a second request while busy: one more round is due
    assert main_window.close()
    changes.close()  # what the application does once its window has closed
    qtbot.wait(100)  # a result still on its way must not reach the closed change bus
    assert reported == []
    assert not reader.busy  # and no new round was started after the close
