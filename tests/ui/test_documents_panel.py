from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QMimeData, QPointF, Qt, QThreadPool, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus
from referral_desk.services import cases, documents, files
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.documents_panel import ChooseTypeDialog, DocumentsPanel
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.reason_dialog import ReasonDialog
from tests.conftest import admin, case, manager, patient
from tests.ui.conftest import when_modal

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def case_window(qtbot: QtBot, main_window: MainWindow, db: Database) -> CaseWindow:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    window = main_window.open_case(created.id)
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.documents)
    return window


def _pdf(folder: Path, name: str, marker: str) -> Path:
    path = folder / name
    path.write_bytes(PDF.replace(b"%%EOF", f"% {marker}\n%%EOF".encode()))
    return path


def _drop(qtbot: QtBot, target: QWidget, paths: list[Path], at: QPointF | None = None) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = at or QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(
        point,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        point,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, drop)


def _wait_for_files(qtbot: QtBot, panel: DocumentsPanel) -> None:
    qtbot.waitUntil(lambda: panel._task is not None and not panel._task.running)
    qtbot.waitUntil(lambda: panel.progress_box.isHidden())


def _row_of(panel: DocumentsPanel, document_type: str) -> int:
    return next(
        i for i, d in enumerate(panel.records.documents) if d.document_type == document_type
    )


def test_files_dropped_on_a_document_row_complete_the_records_and_start_the_clock(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    panel = case_window.documents
    assert case_window.status_label.text() == "Awaiting records"
    assert "5 missing" in case_window.tabs.tabText(1)
    for code in ("referral_letter", "consent_form", "imaging_report", "treatment_plan"):
        row = _row_of(panel, code)
        rect = panel.table.visualRect(panel.table.model().index(row, 0))
        at = panel.table.viewport().mapTo(panel, rect.center())
        _drop(qtbot, panel, [_pdf(tmp_path, f"{code}.pdf", code)], QPointF(at))
        _wait_for_files(qtbot, panel)
        assert panel.records.documents[row].status is DocumentStatus.RECEIVED
    assert case_window.status_label.text() == "Awaiting records"
    assert "1 of 5 required documents missing: Pathology report" in panel.summary.text()

    # The last one dropped anywhere on the case screen, on the Details tab.
    case_window.tabs.setCurrentIndex(0)
    panel.select_document("pathology_report")
    _drop(qtbot, case_window, [_pdf(tmp_path, "histology.pdf", "HER2 negative")])
    _wait_for_files(qtbot, panel)
    assert case_window.tabs.currentWidget() is panel
    assert case_window.status_label.text() == "Ready for review"
    assert case_window.detail.records_complete_at is not None
    assert "ready for review" in panel.message.text()
    assert case_window.clock_fields["records"].text() != "not yet"
    assert "All required records received" in case_window.history.item(0).text()
    assert case_window.tabs.tabText(1) == "D&ocuments"


def test_a_file_dropped_with_no_document_chosen_asks_which_document_it_is(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    panel = case_window.documents
    panel.table.clearSelection()

    def choose(dialog: QWidget) -> None:
        assert isinstance(dialog, ChooseTypeDialog)
        assert dialog.document_type() == panel.records.missing[0].document_type
        dialog.combo.setCurrentIndex(dialog.combo.findData("imaging_files"))
        dialog.accept()

    when_modal(qtbot, choose)
    panel.drop_files([_pdf(tmp_path, "ct.pdf", "ct")])
    _wait_for_files(qtbot, panel)
    extra = panel.records.documents[_row_of(panel, "imaging_files")]
    assert not extra.required and extra.status is DocumentStatus.RECEIVED
    assert [f.name for f in extra.files] == ["ct.pdf"]
    assert panel.selected_document() == extra


def test_a_disguised_program_is_refused_with_its_name_and_nothing_changes(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    panel = case_window.documents
    panel.select_document("pathology_report")
    fake = tmp_path / "report.pdf"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200)
    good = _pdf(tmp_path, "real.pdf", "real")
    panel.add_files([fake, good])
    _wait_for_files(qtbot, panel)
    text = panel.message.text()
    assert "'report.pdf'" in text and "program" in text
    assert "'real.pdf' was added" in text
    pathology = panel.records.documents[_row_of(panel, "pathology_report")]
    assert [f.name for f in pathology.files] == ["real.pdf"]


def test_waiving_needs_a_reason_and_the_file_can_be_opened_saved_and_removed(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    panel = case_window.documents
    panel.select_document("consent_form")

    def waive(dialog: QWidget) -> None:
        assert isinstance(dialog, ReasonDialog)
        dialog.accept()
        assert "Say why" in dialog.message.text()
        dialog.text.setPlainText("Consent given by phone, form follows")
        dialog.accept()

    when_modal(qtbot, waive)
    qtbot.mouseClick(panel.buttons["waive"], Qt.MouseButton.LeftButton)
    consent = panel.records.documents[_row_of(panel, "consent_form")]
    assert consent.status is DocumentStatus.WAIVED
    assert consent.status_reason == "Consent given by phone, form follows"

    source = _pdf(tmp_path, "letter.pdf", "letter")
    panel.select_document("referral_letter")
    panel.add_files([source])
    _wait_for_files(qtbot, panel)
    panel.files_table.selectRow(0)
    opened: list[Path] = []
    panel.open_in_viewer = opened.append
    panel.open_selected_file()
    assert opened[0].name == "letter.pdf"
    assert opened[0].read_bytes() == source.read_bytes()
    copy = panel.save_selected_copy(tmp_path / "copy.pdf")
    assert copy is not None and copy.read_bytes() == source.read_bytes()

    def remove(dialog: QWidget) -> None:
        assert isinstance(dialog, ReasonDialog)
        dialog.text.setPlainText("Wrong patient's letter")
        dialog.accept()

    when_modal(qtbot, remove)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    letter = panel.records.documents[_row_of(panel, "referral_letter")]
    assert letter.files[0].removed and letter.files[0].removal_reason == "Wrong patient's letter"
    assert "removed" in panel.files_table.item(0, 0).text()
    assert any("File removed" in panel.history.item(i).text() for i in range(panel.history.count()))


def test_a_document_reopened_sends_a_ready_case_back_to_awaiting_records(
    qtbot: QtBot, case_window: CaseWindow, db: Database
) -> None:
    panel = case_window.documents
    for row in range(len(panel.records.documents)):
        panel.table.selectRow(row)
        qtbot.mouseClick(panel.buttons["received"], Qt.MouseButton.LeftButton)
    assert case_window.status_label.text() == "Ready for review"
    panel.select_document("imaging_report")
    qtbot.mouseClick(panel.buttons["request_again"], Qt.MouseButton.LeftButton)
    assert case_window.status_label.text() == "Awaiting records"
    assert "Imaging report requested again" in case_window.history.item(0).text()
    detail = cases.get_case(db, case_window.detail.id)
    assert detail.status is CaseStatus.AWAITING_RECORDS and detail.records_complete_at is None


def test_document_changes_keep_the_details_form_saveable(
    qtbot: QtBot, case_window: CaseWindow
) -> None:
    case_window.form.stage.clear()
    qtbot.keyClicks(case_window.form.stage, "IIB")  # an edit in progress
    panel = case_window.documents
    panel.select_document("referral_letter")
    qtbot.mouseClick(panel.buttons["received"], Qt.MouseButton.LeftButton)
    assert case_window.form.stage.text() == "IIB"
    assert case_window.save()
    assert case_window.detail.case.stage == "IIB"


def test_a_new_cancer_type_brings_its_checklist_to_the_documents_tab(
    qtbot: QtBot, case_window: CaseWindow
) -> None:
    case_window.tabs.setCurrentIndex(0)
    form = case_window.form
    form.cancer_type.setCurrentIndex(form.cancer_type.findData("lung"))
    assert case_window.save()
    wanted = {d.document_type: d.required for d in case_window.documents.records.documents}
    assert wanted["molecular_report"] is True  # lung needs EGFR, ALK, PD-L1
    assert "6 missing" in case_window.tabs.tabText(1)


def test_several_files_dropped_at_once_keep_the_details_form_saveable(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    case_window.form.stage.clear()
    qtbot.keyClicks(case_window.form.stage, "IIB")  # an edit in progress
    panel = case_window.documents
    panel.select_document("imaging_report")
    first, second = _pdf(tmp_path, "ct.pdf", "ct"), _pdf(tmp_path, "mri.pdf", "mri")
    panel.add_files([first, second, first])  # the last one is already attached: kept once
    _wait_for_files(qtbot, panel)
    assert [f.name for f in panel.records.documents[_row_of(panel, "imaging_report")].files] == [
        "ct.pdf",
        "mri.pdf",
    ]
    try:
        assert not case_window.conflict.isVisible()
        assert case_window.save()
    finally:
        case_window.reload()  # nothing unsaved left to ask about when the test closes
    assert case_window.detail.case.stage == "IIB"


def _blocking_file(folder: Path, name: str) -> Path:
    """A named pipe: reading it waits until the test writes, so a task can be caught mid-way."""
    path = folder / name
    os.mkfifo(path)
    return path


def _release(pipe: Path, after: float = 0.0) -> None:
    """Soon, from another thread: the reader then sees an empty file and refuses it.

    A daemon thread: if the task was cancelled before it opened the pipe, nothing waits on it.
    """

    def write() -> None:
        time.sleep(after)
        with pipe.open("wb"):
            pass

    threading.Thread(target=write, daemon=True).start()


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


@needs_fifo
def test_cancelling_an_import_keeps_the_files_already_added_and_the_form_saveable(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path, db: Database
) -> None:
    case_window.form.stage.clear()
    qtbot.keyClicks(case_window.form.stage, "IIB")  # an edit in progress
    panel = case_window.documents
    panel.select_document("imaging_report")
    pipe = _blocking_file(tmp_path, "scan.pdf")
    try:
        panel.add_files([_pdf(tmp_path, "ct.pdf", "ct"), pipe, _pdf(tmp_path, "mri.pdf", "mri")])
        qtbot.waitUntil(
            lambda: any(
                d.active_files
                for d in documents.case_records(db, case_window.detail.id).documents
                if d.document_type == "imaging_report"
            )
        )
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        _release(pipe)
        _wait_for_files(qtbot, panel)
        imaging = panel.records.documents[_row_of(panel, "imaging_report")]
        assert [f.name for f in imaging.files] == ["ct.pdf"]
        assert "'ct.pdf' was added" in panel.message.text()
        assert "cancelled" in panel.message.text()
        assert not case_window.conflict.isVisible()
        assert case_window.save()
    finally:
        case_window.reload()  # nothing unsaved left to ask about when the test closes
    assert case_window.detail.case.stage == "IIB"


@needs_fifo
def test_closing_the_case_while_files_are_added_lets_the_import_end_cleanly(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path, db: Database
) -> None:
    panel = case_window.documents
    panel.select_document("imaging_report")
    pipe = _blocking_file(tmp_path, "scan.pdf")
    task = panel.add_files([pipe, _pdf(tmp_path, "ct.pdf", "ct")])
    assert task is not None
    case_id = case_window.detail.id
    _release(pipe, after=0.3)  # the import is still reading on close
    assert case_window.close()
    qtbot.waitUntil(lambda: not shiboken6.isValid(case_window))
    QThreadPool.globalInstance().waitForDone()
    qtbot.wait(50)  # anything the worker sent is delivered (or dropped) now
    imaging = next(
        d
        for d in documents.case_records(db, case_id).documents
        if d.document_type == "imaging_report"
    )
    assert not imaging.files  # cancelled before the second file: nothing half-stored


@needs_fifo
def test_the_text_of_a_pdf_added_just_before_the_case_closed_becomes_searchable(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path, db: Database
) -> None:
    panel = case_window.documents
    panel.select_document("pathology_report")
    pipe = _blocking_file(tmp_path, "scan.pdf")
    panel.add_files([_pdf(tmp_path, "histology.pdf", "her2"), pipe])
    qtbot.waitUntil(lambda: files.pending_text(db) != [])  # the first one is stored
    _release(pipe, after=0.3)
    assert case_window.close()
    qtbot.waitUntil(lambda: files.pending_text(db) == [])  # read in the background all the same


def test_save_a_copy_suggests_a_name_that_opens_as_what_the_file_really_is(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    """A text file sent as 'results.bat' must not be saved, by default, as a runnable script."""
    panel = case_window.documents
    panel.select_document("referral_letter")
    script = tmp_path / "results.bat"
    script.write_bytes(b"del /q C:\\*\r\n")
    panel.add_files([script])
    _wait_for_files(qtbot, panel)
    panel.files_table.selectRow(0)
    suggested: list[str] = []

    def look(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog)
        suggested.extend(Path(f).name for f in dialog.selectedFiles())
        dialog.reject()

    when_modal(qtbot, look)
    assert panel.save_selected_copy() is None
    assert suggested == ["results.bat.txt"]


def test_the_save_a_copy_button_writes_the_file_where_the_user_chose(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    panel = case_window.documents
    panel.select_document("referral_letter")
    source = _pdf(tmp_path, "letter.pdf", "letter")
    panel.add_files([source])
    _wait_for_files(qtbot, panel)
    target = tmp_path / "for the GP.pdf"

    def choose(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog)
        dialog.selectFile(str(target))
        dialog.accept()

    when_modal(qtbot, choose)
    qtbot.mouseClick(panel.save_copy_button, Qt.MouseButton.LeftButton)
    assert target.read_bytes() == source.read_bytes()
    assert f"Saved a copy as {target}" in panel.message.text()


def test_removing_the_last_file_of_a_received_document_says_it_is_still_received(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    panel = case_window.documents
    panel.select_document("imaging_report")
    panel.add_files([_pdf(tmp_path, "ct.pdf", "ct")])
    _wait_for_files(qtbot, panel)
    when_modal(qtbot, lambda dialog: dialog.accept())  # type: ignore[attr-defined]
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert "still marked received" in panel.message.text()
    panel.select_document("referral_letter")
    assert panel.message.isHidden()  # the note was about another document


def test_a_file_no_program_can_open_is_explained(
    qtbot: QtBot, case_window: CaseWindow, tmp_path: Path
) -> None:
    panel = case_window.documents
    panel.select_document("imaging_report")
    panel.add_files([_pdf(tmp_path, "ct.pdf", "ct")])
    _wait_for_files(qtbot, panel)
    panel.open_in_viewer = lambda _path: False  # what QDesktopServices says with no viewer
    assert panel.open_selected_file() is not None
    assert "No program on this computer opens 'ct.pdf'" in panel.message.text()


def test_changing_the_cancer_type_of_a_case_under_review_asks_first(
    qtbot: QtBot, case_window: CaseWindow
) -> None:
    panel = case_window.documents
    for row in range(len(panel.records.documents)):
        panel.table.selectRow(row)
        qtbot.mouseClick(panel.buttons["received"], Qt.MouseButton.LeftButton)
    assert case_window.status_label.text() == "Ready for review"
    form = case_window.form
    form.cancer_type.setCurrentIndex(form.cancer_type.findData("lung"))
    asked: list[str] = []

    def decline(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        box.button(QMessageBox.StandardButton.No).click()

    when_modal(qtbot, decline)
    assert not case_window.save()
    assert "clock stops" in asked[0]
    assert case_window.status_label.text() == "Ready for review"
    assert case_window.detail.case.cancer_type == "breast"


def test_a_manager_reads_the_documents_but_changes_none(
    qtbot: QtBot, db: Database, tmp_path: Path
) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    panel = DocumentsPanel(db, created.id, manager("nadia"))
    qtbot.addWidget(panel)
    panel.show()
    panel.table.selectRow(0)
    changing = [
        panel.add_button,
        panel.request_button,
        panel.checklist_button,
        panel.remove_button,
        *panel.buttons.values(),
    ]
    for button in changing:
        assert not button.isEnabled(), button.objectName()
    assert panel.add_button.toolTip().startswith("A manager cannot change a case's documents")
    # Dropped files are refused at once, with the reason; nothing is stored.
    assert panel.drop_files([_pdf(tmp_path, "scan.pdf", "dropped")]) is None
    assert "A manager cannot" in panel.message.text()
    assert not any(d.files for d in documents.case_records(db, created.id).documents)
