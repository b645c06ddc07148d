"""Summary letters for many cases from the case list: one PDF made in the background with
progress and Cancel, then the cases move to Letter sent only when the coordinator says so."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.enums import CaseStatus
from referral_desk.services import audit_log, cases, letters
from referral_desk.services.audit_log import AuditFilter
from referral_desk.ui.batch_letters import BatchLetters, BatchOutcome, BatchProgressDialog
from referral_desk.ui.main_window import MainWindow
from tests.conftest import admin, case, coordinator, patient, staff
from tests.ui.test_letters_panel import opinion_received

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def viewer(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    opened: list[Path] = []

    def open_url(url: QUrl) -> bool:
        opened.append(Path(url.toLocalFile()))
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    return opened


@pytest.fixture
def save_as(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "out" / "letters.pdf"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), "PDF"))
    return target


def when_question(qtbot: QtBot, answer: Callable[[QMessageBox], None]) -> list[str]:
    """Answer the next message box (the progress dialog is modal before it: wait it out)."""
    asked: list[str] = []

    def attempt() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QMessageBox):
            QTimer.singleShot(20, attempt)
            return
        asked.append(dialog.text())
        try:
            answer(dialog)
        finally:
            if dialog.isVisible():
                dialog.close()

    QTimer.singleShot(0, attempt)
    return asked


def _outcome(qtbot: QtBot, main_window: MainWindow) -> BatchOutcome:
    with qtbot.waitSignal(main_window.batch.finished, timeout=30_000) as blocker:
        main_window.print_letters_action.trigger()  # File > Print summary letters…
    outcome = blocker.args[0]
    assert isinstance(outcome, BatchOutcome)
    return outcome


def _statuses(db: Database, ids: list[int]) -> set[CaseStatus]:
    return {cases.get_case(db, i).status for i in ids}


def test_the_batch_of_waiting_cases_runs_with_progress_and_marks_them_sent_after_yes(
    qtbot: QtBot, main_window: MainWindow, db: Database, viewer: list[Path], save_as: Path
) -> None:
    waiting = [opinion_received(db, name) for name in ("Adams", "Brown", "Clark")]
    other = cases.create_case(db, case(), patient=patient(family_name="Dunn"), actor=admin("t")).id
    main_window.refresh()
    main_window.table.clearSelection()  # none selected: every case waiting for its letter
    assert main_window.print_letters_action in main_window.menuBar().actions()[0].menu().actions()
    progress: list[tuple[int, int]] = []
    dialogs: list[BatchProgressDialog] = []

    def watch() -> None:  # the dialog and the task exist once the action ran
        dialog = main_window.batch.dialog
        if dialog is not None and not dialogs:
            dialogs.append(dialog)
            assert dialog.isModal() and dialog.cancel_button.isEnabled()
            assert main_window.batch.task is not None
            main_window.batch.task.progress.connect(lambda d, t: progress.append((d, t)))

    QTimer.singleShot(0, watch)
    asked = when_question(qtbot, lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    outcome = _outcome(qtbot, main_window)

    assert dialogs, "the progress dialog was shown"
    assert progress and progress[-1] == (3, 3)
    assert outcome.letters == 3 and not outcome.cancelled and outcome.marked_sent
    assert viewer == [save_as]  # the combined PDF opened for printing
    assert "Mark the 3 letters as sent?" in asked[0]
    reader = PdfReader(save_as)
    archived = [letters.list_letters(db, i)[0] for i in waiting]
    assert len(reader.pages) == sum(info.pages for info in archived) == outcome.pages
    assert all(info.sent_by == "tester" for info in archived)
    assert _statuses(db, waiting) == {CaseStatus.LETTER_SENT}
    assert cases.get_case(db, other).status is not CaseStatus.LETTER_SENT
    assert letters.list_letters(db, other) == []
    assert "3 summary letters marked sent" in main_window.statusBar().currentMessage()
    letter_sent = next(
        main_window.status_list.item(r).text()
        for r in range(main_window.status_list.count())
        if main_window.status_list.item(r).data(Qt.ItemDataRole.UserRole) == "letter_sent"
    )
    assert letter_sent == "Letter sent (3)"  # the list refreshed
    assert main_window.batch.dialog is None


def test_the_selected_cases_can_be_printed_and_left_unsent(
    qtbot: QtBot, main_window: MainWindow, db: Database, save_as: Path
) -> None:
    first, second, third = (opinion_received(db, n) for n in ("Adams", "Brown", "Clark"))
    main_window.refresh()
    selection = main_window.table.selectionModel()
    for case_id in (first, third):
        row = main_window.model.row_for_case(case_id)
        assert row is not None
        selection.select(
            main_window.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert set(main_window.selected_cases()) == {first, third}
    main_window.refresh()  # the minute's tick or another seat's change keeps the selection
    assert set(main_window.selected_cases()) == {first, third}

    def which(box: QMessageBox) -> None:  # selected, or all waiting?
        chosen = next(b for b in box.buttons() if b.objectName() == "batch_selected")
        assert chosen.text() == "Selected (2)"
        chosen.click()

    asked = when_question(qtbot, which)
    later: list[str] = []

    def then_no() -> None:  # the second question comes once the letters are made
        if asked:
            later.extend(
                when_question(qtbot, lambda b: b.button(QMessageBox.StandardButton.No).click())
            )
        else:
            QTimer.singleShot(20, then_no)

    QTimer.singleShot(0, then_no)
    outcome = _outcome(qtbot, main_window)
    assert "2 cases selected" in asked[0] and "all 3 cases waiting" in asked[0]
    assert outcome.letters == 2 and not outcome.marked_sent
    assert _statuses(db, [first, second, third]) == {CaseStatus.OPINION_RECEIVED}
    assert [info.sent_at for info in letters.list_letters(db, first)] == [None]
    assert letters.list_letters(db, second) == []
    assert "not marked sent" in main_window.statusBar().currentMessage()


def test_cancelling_the_batch_moves_no_case_and_leaves_no_file(
    qtbot: QtBot,
    main_window: MainWindow,
    db: Database,
    viewer: list[Path],
    save_as: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waiting = [opinion_received(db, name) for name in ("Adams", "Brown", "Clark")]
    main_window.refresh()
    main_window.table.clearSelection()
    # Hold the work after its first letter until Cancel has been pressed.
    reached, release = threading.Event(), threading.Event()
    real = letters.generate_batch

    def held(*args: Any, progress: Callable[[int], None], **kwargs: Any) -> Any:
        def report(done: int) -> None:
            reached.set()
            release.wait(10)
            progress(done)

        return real(*args, progress=report, **kwargs)

    monkeypatch.setattr(letters, "generate_batch", held)

    def cancel() -> None:
        if not reached.wait(0.01):
            QTimer.singleShot(20, cancel)
            return
        dialog = main_window.batch.dialog
        assert dialog is not None
        qtbot.mouseClick(dialog.cancel_button, LEFT)
        assert dialog.label.text() == "Cancelling…"
        assert not dialog.cancel_button.isEnabled()
        dialog.close()  # closing means Cancel too; the dialog stays until the work stopped
        assert dialog.isVisible()
        release.set()

    QTimer.singleShot(0, cancel)
    outcome = _outcome(qtbot, main_window)
    assert outcome.cancelled and not outcome.marked_sent
    assert not save_as.exists() and list(save_as.parent.iterdir()) == []
    assert viewer == []
    assert _statuses(db, waiting) == {CaseStatus.OPINION_RECEIVED}
    made = [info for i in waiting for info in letters.list_letters(db, i)]
    assert len(made) == 1 and made[0].sent_at is None  # kept with its case, unsent
    assert "cancelled" in main_window.statusBar().currentMessage()
    assert main_window.batch.dialog is None
    assert QApplication.activeModalWidget() is None


def test_with_nothing_waiting_the_batch_says_so(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    main_window.refresh()
    main_window.table.clearSelection()
    asked = when_question(qtbot, lambda box: box.accept())
    main_window.print_letters_action.trigger()
    qtbot.waitUntil(lambda: bool(asked))
    assert "No case is waiting for its summary letter" in asked[0]
    assert main_window.batch.task is None


def test_the_cases_waiting_for_their_letter_are_one_click_away(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    waiting = opinion_received(db)
    cases.create_case(db, case(), patient=patient(family_name="Dunn"), actor=admin("t"))
    main_window.refresh()
    assert main_window.model.rowCount() == 2
    main_window.waiting_action.trigger()  # View > Waiting for their letter
    assert main_window.status_list.currentItem().text() == "Opinion received (1)"
    assert "letter not sent" in main_window.status_list.currentItem().toolTip()
    assert main_window.model.rowCount() == 1 and main_window.model.case_id(0) == waiting


def _window(qtbot: QtBot) -> QWidget:
    window = QWidget()
    qtbot.addWidget(window)
    return window


def test_a_staff_member_cannot_print_a_batch(qtbot: QtBot, db: Database) -> None:
    opinion_received(db)
    batch = BatchLetters(db, staff("tom"), _window(qtbot))
    said = when_question(qtbot, lambda box: box.accept())
    assert batch.run({}) is None
    assert said == ["A staff member cannot print letters; ask a coordinator or an administrator."]
    assert letters.batch_cases(db) and not letters.list_letters(db, letters.batch_cases(db)[0])


def test_the_printed_batch_is_in_the_audit_trail_letter_by_letter(
    qtbot: QtBot, db: Database, tmp_path: Path, viewer: list[Path]
) -> None:
    case_ids = [opinion_received(db, name) for name in ("Müller", "Ivanova")]
    batch = BatchLetters(db, coordinator("lena"), _window(qtbot))
    when_question(qtbot, lambda box: box.button(QMessageBox.StandardButton.No).click())
    with qtbot.waitSignal(batch.finished, timeout=30_000) as done:
        batch.start(case_ids, tmp_path / "pile.pdf")
    outcome = done.args[0]
    assert viewer == [tmp_path / "pile.pdf"] and not outcome.marked_sent
    printed = audit_log.entries(db, AuditFilter(actions=frozenset({AuditAction.PRINT})))
    made = [info.id for c in case_ids for info in letters.list_letters(db, c)]
    assert sorted(int(row.entity_id) for row in printed) == sorted(made)
    assert {row.actor for row in printed} == {"lena"}
    assert {row.case_id for row in printed} == set(case_ids)
