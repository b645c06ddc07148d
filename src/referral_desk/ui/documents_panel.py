"""The Documents tab of the case screen: what the case needs, what came in, and its files."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import cache
from itertools import pairwise
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QDragEnterEvent, QDropEvent, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.workflow import CLOCK_RUNNING_STATUSES
from referral_desk.services import audit_log, checklists, documents, files
from referral_desk.services.case_state import CaseChange
from referral_desk.services.documents import CaseDocumentInfo, CaseRecords
from referral_desk.services.errors import ServiceError
from referral_desk.services.files import FileAdded
from referral_desk.ui.background import Cancelled, Task
from referral_desk.ui.formatting import local_time
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.reason_dialog import ReasonDialog
from referral_desk.ui.tables import row_table

MISSING_BACKGROUND = QColor("#fff3cd")
DONE_STYLE = "color: #1e5e2a;"
PROBLEM_STYLE = "color: #8e1b10;"
DOCUMENT_COLUMNS = ("Document", "Required", "Status", "Since", "By", "Files", "Notes")
FILE_COLUMNS = ("File", "Kind", "Size", "Added", "By", "Search text")
TEXT_STATES = {
    "pending": "being read…",
    "done": "searchable",
    "skipped": "not readable",
    "none": "—",
}


VIEW_PREFIX = "referral-desk-view-"
STALE_VIEW_SECONDS = 24 * 3600  # older than any session that could still be showing them


@cache
def viewing_folder() -> Path:
    """Private copies for the system viewer, removed when the program ends."""
    # Copies left by a session that crashed are patients' records: clear them out.
    for stale in Path(tempfile.gettempdir()).glob(f"{VIEW_PREFIX}*"):
        try:
            if time.time() - stale.stat().st_mtime > STALE_VIEW_SECONDS:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass
    folder = Path(tempfile.mkdtemp(prefix=VIEW_PREFIX))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def combined_change(changes: list[CaseChange]) -> CaseChange:
    """One change for files added one after another: it started from the first one's version
    when each began where the one before ended (nobody else's change in between)."""
    made = [c for c in changes if c.version_before is not None]  # not "already attached"
    if not made:
        return changes[-1]
    start = made[0].version_before
    if any(b.version_before != a.case_version for a, b in pairwise(made)):
        start = None
    moved_to = next((c.moved_to for c in reversed(made) if c.moved_to is not None), None)
    return CaseChange(made[-1].case_version, moved_to, "", start)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class DocumentsPanel(QWidget):
    """Lists the case's documents; files can be added with the button or dropped anywhere."""

    changed = Signal(object)  # CaseChange: the case screen reloads and keeps in step
    files_added = Signal()  # new PDFs wait for their text to be read

    def __init__(
        self, db: Database, case_id: int, actor: Actor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._db, self._case_id, self._actor = db, case_id, actor
        # Managers read the documents and open their files; they change nothing.
        self._edit_refused = refusal(actor, Permission.EDIT_CASES, "change a case's documents")
        self._records: CaseRecords | None = None
        self._shown_document: int | None = None
        self._task: Task | None = None
        # How a file is shown: the system viewer (tests put something else here).
        self.open_in_viewer: Callable[[Path], object] = lambda path: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(path))
        )
        self.setAcceptDrops(True)

        self.summary = QLabel(objectName="records_summary")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-weight: bold;")
        self.message = QLabel(objectName="documents_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        self.table = row_table(DOCUMENT_COLUMNS, "documents_table")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(len(DOCUMENT_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.table.doubleClicked.connect(lambda _index: self.choose_files())

        self.add_button = QPushButton("Add files…", objectName="add_files")
        allow(
            self.add_button,
            self._edit_refused,
            tooltip="Or drag files from your desktop onto the case (Ctrl+O)",
        )
        self.add_button.setShortcut("Ctrl+O")
        self.add_button.clicked.connect(self.choose_files)
        self.buttons: dict[str, QPushButton] = {}
        actions: list[tuple[str, str, Callable[[], object]]] = [
            ("received", "Received", lambda: self.set_status(DocumentStatus.RECEIVED)),
            (
                "not_available",
                "Not available…",
                lambda: self.set_status(DocumentStatus.NOT_AVAILABLE),
            ),
            ("waive", "Waive…", lambda: self.set_status(DocumentStatus.WAIVED)),
            ("request_again", "Request again", lambda: self.set_status(DocumentStatus.REQUESTED)),
            ("notes", "Notes…", self.edit_notes),
        ]
        action_row = QHBoxLayout()
        action_row.addWidget(self.add_button)
        for name, text, slot in actions:
            button = QPushButton(text, objectName=name)
            button.clicked.connect(slot)
            self.buttons[name] = button
            action_row.addWidget(button)
        action_row.addStretch(1)
        self.request_button = QPushButton("Request another…", objectName="request_document")
        self.request_button.clicked.connect(self.request_another)
        self.checklist_button = QPushButton("Apply checklist", objectName="apply_checklist")
        allow(
            self.checklist_button,
            self._edit_refused,
            tooltip="Add what the checklist of this cancer type requires and the case does not "
            "have yet",
        )
        self.checklist_button.clicked.connect(self.apply_checklist)
        allow(self.request_button, self._edit_refused)
        action_row.addWidget(self.request_button)
        action_row.addWidget(self.checklist_button)

        self.progress = QProgressBar(objectName="add_progress")
        self.cancel_button = QPushButton("Cancel", objectName="cancel_add")
        self.cancel_button.clicked.connect(self._cancel_task)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()

        # Below: the selected document's files and its history.
        self.files_table = row_table(FILE_COLUMNS, "files_table")
        files_header = self.files_table.horizontalHeader()
        files_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.files_table.itemSelectionChanged.connect(self._update_file_buttons)
        self.files_table.doubleClicked.connect(lambda _index: self.open_selected_file())
        self.open_button = QPushButton("Open", objectName="open_file")
        self.open_button.clicked.connect(self.open_selected_file)
        self.save_copy_button = QPushButton("Save a copy…", objectName="save_copy")
        # A lambda: clicked(bool) would otherwise arrive as the target path.
        self.save_copy_button.clicked.connect(lambda: self.save_selected_copy())
        self.remove_button = QPushButton("Remove…", objectName="remove_file")
        self.remove_button.clicked.connect(self.remove_selected_file)
        file_buttons = QHBoxLayout()
        for button in (self.open_button, self.save_copy_button, self.remove_button):
            file_buttons.addWidget(button)
        file_buttons.addStretch(1)
        files_box = QGroupBox("Files of the selected document")
        files_layout = QVBoxLayout(files_box)
        files_layout.addWidget(self.files_table)
        files_layout.addLayout(file_buttons)

        self.history = QListWidget(objectName="document_history")
        self.history.setWordWrap(True)
        self.history.setAlternatingRowColors(True)
        history_box = QGroupBox("History of the selected document")
        QVBoxLayout(history_box).addWidget(self.history)

        lower = QSplitter()
        lower.addWidget(files_box)
        lower.addWidget(history_box)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(self.table)
        upper_layout.addLayout(action_row)
        upper_layout.addWidget(self.progress_box)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        self.reload()

    # --- showing -----------------------------------------------------------------------
    @property
    def records(self) -> CaseRecords:
        assert self._records is not None
        return self._records

    def reload(self) -> None:
        selected = self.selected_document()
        selected_file = self.selected_file_id()
        records = documents.case_records(self._db, self._case_id)
        self._records = records
        missing = records.missing
        required = [d for d in records.documents if d.required]
        if not records.documents:
            self.summary.setText(
                "No documents are recorded for this case. Apply the checklist of its cancer "
                "type, request a document, or add files."
            )
        elif missing:
            names = ", ".join(d.label for d in missing)
            self.summary.setText(
                f"{len(missing)} of {len(required)} required documents missing: {names}."
            )
        else:
            since = local_time(records.records_complete_at)
            self.summary.setText("Records complete" + (f" since {since}." if since else "."))
        self.summary.setStyleSheet(
            "font-weight: bold;" + (PROBLEM_STYLE if missing else DONE_STYLE)
        )
        self.table.setRowCount(len(records.documents))
        for row, doc in enumerate(records.documents):
            reason = doc.status_reason or doc.comment
            cells = (
                doc.label + (f" ({doc.note})" if doc.note else ""),
                "required" if doc.required else "optional",
                doc.status.label,
                local_time(doc.status_at),
                doc.status_by,
                str(len(doc.active_files)) if doc.active_files else "",
                reason,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, doc.id)
                if doc.missing:
                    item.setBackground(MISSING_BACKGROUND)
                if column == 6 and doc.comment and doc.status_reason:
                    item.setToolTip(f"{doc.status_reason}\n\nNotes: {doc.comment}")
                self.table.setItem(row, column, item)
        if selected is not None:
            self.select_document(selected.document_type)
        elif records.documents:
            self.table.selectRow(0)
        self._show_selected()
        if selected_file is not None:
            self._select_file(selected_file)

    def selected_document(self) -> CaseDocumentInfo | None:
        if self._records is None:
            return None
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self._records.documents[rows[0].row()]

    def select_document(self, document_type: str) -> None:
        for row, doc in enumerate(self.records.documents):
            if doc.document_type == document_type:
                self.table.selectRow(row)
                return

    def _show_selected(self) -> None:
        doc = self.selected_document()
        shown = doc.id if doc else None
        if shown != self._shown_document:  # a message about another document would mislead
            self.say("")
        self._shown_document = shown
        now_is = {
            "received": DocumentStatus.RECEIVED,
            "not_available": DocumentStatus.NOT_AVAILABLE,
            "waive": DocumentStatus.WAIVED,
            "request_again": DocumentStatus.REQUESTED,
        }
        for name, button in self.buttons.items():
            already = doc is not None and name in now_is and doc.status is now_is[name]
            allow(button, self._edit_refused, enabled=doc is not None and not already)
        shown = doc.files if doc else ()
        self.files_table.setRowCount(len(shown))
        for row, info in enumerate(shown):
            removed = (
                f"removed {local_time(info.removed_at)} by {info.removed_by}"
                + (f": {info.removal_reason}" if info.removal_reason else "")
                if info.removed
                else ""
            )
            text_state = TEXT_STATES.get(info.text_state, info.text_state)
            cells = (
                info.name + (f"  ({removed})" if removed else ""),
                info.kind,
                _size(info.size),
                local_time(info.added_at),
                info.added_by,
                text_state,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                if info.removed:
                    item.setForeground(QColor("#777777"))
                    font = QFont(item.font())
                    font.setStrikeOut(column == 0)
                    item.setFont(font)
                if column == 5 and info.text_note:
                    item.setToolTip(info.text_note)
                if column == 0:
                    item.setToolTip(f"SHA-256 {info.sha256}")
                self.files_table.setItem(row, column, item)
        first_kept = next((i for i, f in enumerate(shown) if not f.removed), None)
        if first_kept is not None:  # Open and Save a copy work at once
            self.files_table.selectRow(first_kept)
        self.history.clear()
        for entry in reversed(doc.history if doc else ()):
            text = f"{local_time(entry.at)} · {entry.actor}\n{entry.label}"
            if entry.detail:
                text += f": {entry.detail}"
            self.history.addItem(text)
        self._update_file_buttons()

    def selected_file_id(self) -> int | None:
        rows = self.files_table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.files_table.item(rows[0].row(), 0)
        return int(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def _selected_file_removed(self) -> bool:
        doc, file_id = self.selected_document(), self.selected_file_id()
        return bool(doc) and any(f.id == file_id and f.removed for f in doc.files)  # type: ignore[union-attr]

    def _select_file(self, file_id: int) -> None:
        for row in range(self.files_table.rowCount()):
            item = self.files_table.item(row, 0)
            if item and item.data(Qt.ItemDataRole.UserRole) == file_id:
                self.files_table.selectRow(row)
                return

    def _update_file_buttons(self) -> None:
        chosen = self.selected_file_id() is not None
        self.open_button.setEnabled(chosen)
        self.save_copy_button.setEnabled(chosen)
        allow(
            self.remove_button,
            self._edit_refused,
            enabled=chosen and not self._selected_file_removed(),
        )

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(PROBLEM_STYLE if problem else DONE_STYLE)
        self.message.setVisible(bool(text))

    def _after(self, change: CaseChange) -> None:
        self.reload()
        if change.message:
            self.say(change.message)
        self.changed.emit(change)

    # --- document status -----------------------------------------------------------------
    def set_status(self, status: DocumentStatus) -> bool:
        doc = self.selected_document()
        if doc is None:
            return False

        def apply(reason: str) -> str | None:
            try:
                change = documents.set_document_status(
                    self._db, doc.id, status, reason=reason, actor=self._actor
                )
            except ServiceError as exc:
                return str(exc)
            self._after(change)
            return None

        if status in (DocumentStatus.RECEIVED, DocumentStatus.REQUESTED):
            refusal = apply("")
            if refusal:
                self.say(refusal, problem=True)
            return refusal is None
        question = (
            f"Go ahead without <b>{doc.label}</b>? The case counts it as settled."
            if status is DocumentStatus.WAIVED
            else f"Record that <b>{doc.label}</b> is not available?"
        )
        dialog = ReasonDialog(
            f"{self.records.reference}: {doc.label}",
            question,
            apply,
            required=status is DocumentStatus.WAIVED,
            ok_text="Waive" if status is DocumentStatus.WAIVED else "Not available",
            parent=self,
        )
        return dialog.exec() == QDialog.DialogCode.Accepted

    def edit_notes(self) -> bool:
        doc = self.selected_document()
        if doc is None:
            return False

        def apply(text: str) -> str | None:
            try:
                change = documents.set_comment(self._db, doc.id, text, actor=self._actor)
            except ServiceError as exc:
                return str(exc)
            self._after(change)
            return None

        dialog = ReasonDialog(
            f"{self.records.reference}: {doc.label}",
            f"Notes on <b>{doc.label}</b> (who has it, what was promised…)",
            apply,
            required=False,
            ok_text="Save notes",
            text=doc.comment,
            parent=self,
        )
        return dialog.exec() == QDialog.DialogCode.Accepted

    def request_another(self) -> bool:
        on_case = {d.document_type: d for d in self.records.documents}
        choices = [
            t
            for t in checklists.document_types(self._db, active_only=True, with_usage=False)
            if t.code not in on_case or not on_case[t.code].required
        ]
        dialog = RequestDialog(self.records.reference, [(t.code, t.label) for t in choices], self)

        def apply() -> str | None:
            try:
                change = documents.request_document(
                    self._db,
                    self._case_id,
                    dialog.document_type(),
                    required=dialog.required.isChecked(),
                    note=dialog.note.text(),
                    actor=self._actor,
                )
            except ServiceError as exc:
                return str(exc)
            self._after(change)
            self.select_document(dialog.document_type())
            return None

        dialog.apply = apply
        return dialog.exec() == QDialog.DialogCode.Accepted

    def apply_checklist(self) -> None:
        status = self.records.status
        if status in CLOCK_RUNNING_STATUSES:
            answer = QMessageBox.question(
                self,
                "Apply checklist",
                f"{self.records.reference} is {status.label.lower()}. If the checklist asks for "
                "documents the case does not have, it goes back to Awaiting records and its "
                "clock stops. Apply the checklist?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            change = documents.reapply_checklist(self._db, self._case_id, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return
        self._after(change)

    # --- files -----------------------------------------------------------------------------
    def choose_files(self) -> None:
        if self._edit_refused:  # a double-click on a document, or Ctrl+O
            self.say(self._edit_refused, problem=True)
            return
        names, _ = QFileDialog.getOpenFileNames(
            self,
            "Add files to the case",
            "",
            "Documents and images (*.pdf *.jpg *.jpeg *.png *.tif *.tiff *.dcm *.docx *.odt "
            "*.txt);;All files (*)",
        )
        if names:
            self.add_files([Path(n) for n in names])

    def add_files(self, paths: list[Path], document_type: str | None = None) -> Task | None:
        """Attach files to the given (or selected) document in the background."""
        if self._edit_refused:  # dropped on the case
            self.say(self._edit_refused, problem=True)
            return None
        if self._task is not None and self._task.running:
            self.say("Files are still being added; wait for them to finish.", problem=True)
            return None
        if document_type is None:
            selected = self.selected_document()
            document_type = selected.document_type if selected else self._ask_type()
        if document_type is None:
            return None
        db, case_id, actor = self._db, self._case_id, self._actor

        def work(task: Task) -> tuple[list[FileAdded], list[str], bool]:
            added: list[FileAdded] = []
            refused: list[str] = []
            try:
                for index, path in enumerate(paths):
                    task.report(index, len(paths))
                    try:
                        added.append(
                            files.add_file(
                                db,
                                case_id,
                                document_type,
                                path,
                                actor=actor,
                                progress=lambda done, total, i=index: task.report(
                                    i * 1000 + done * 1000 // max(total, 1), len(paths) * 1000
                                ),
                            )
                        )
                    except ServiceError as exc:
                        refused.append(str(exc))
            except Cancelled:  # the files added before it are stored: the screen must know
                return added, refused, True
            return added, refused, False

        task = Task(work, self)
        task.progress.connect(self._show_progress)
        task.finished.connect(lambda result: self._files_done(document_type, *result))
        task.failed.connect(self._files_failed)
        self._task = task
        self.progress.setRange(0, 0)
        self.progress_box.show()
        self.add_button.setEnabled(False)
        self.say(f"Adding {len(paths)} file{'s' if len(paths) != 1 else ''}…")
        task.start()
        return task

    def _ask_type(self) -> str | None:
        types = checklists.document_types(self._db, active_only=True, with_usage=False)
        missing = [d.document_type for d in self.records.missing]
        dialog = ChooseTypeDialog([(t.code, t.label) for t in types], missing[:1], self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.document_type()

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _finish_task(self) -> None:
        self.progress_box.hide()
        self.add_button.setEnabled(self._edit_refused is None)

    def _files_done(
        self,
        document_type: str,
        added: list[FileAdded],
        refused: list[str],
        cancelled: bool = False,
    ) -> None:
        self._finish_task()
        self.reload()
        self.select_document(document_type)
        lines = [a.message for a in added] + refused
        if cancelled:
            lines.append("Adding files was cancelled; the files already added are kept.")
        self.say("\n".join(lines), problem=bool(refused))
        if added:
            self.changed.emit(combined_change([a.change for a in added]))
            self.files_added.emit()

    def _files_failed(self, exc: BaseException) -> None:
        self._finish_task()
        self.reload()
        raise exc  # an unexpected error: the exception hook reports it

    def _cancel_task(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def wait_for_task(self) -> None:
        """For closing: a running import ends cleanly before the window goes."""
        if self._task is not None:
            self._task.cancel()
            self._task.wait()  # stops at the next chunk; the task must not outlive the panel

    def open_selected_file(self) -> Path | None:
        file_id = self.selected_file_id()
        if file_id is None:
            return None
        doc = self.selected_document()
        try:
            path = files.export_for_viewing(self._db, file_id, viewing_folder())
            if doc is not None:  # who looked at which patient's record
                name = next((f.name for f in doc.files if f.id == file_id), path.name)
                audit_log.opened_document(self._db, doc.id, actor=self._actor, file_name=name)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return None
        if self.open_in_viewer(path) is False:
            self.say(
                f"No program on this computer opens '{path.name}'. Use Save a copy… and open it "
                "with the program you use for such files.",
                problem=True,
            )
        return path

    def save_selected_copy(self, target: Path | None = None) -> Path | None:
        file_id, doc = self.selected_file_id(), self.selected_document()
        if file_id is None or doc is None:
            return None
        if target is None:
            info = next((f for f in doc.files if f.id == file_id), None)
            # Suggested with the extension of what the bytes are: "results.bat" holding text
            # is offered as "results.bat.txt", so a double-click never runs it.
            name = files.viewer_name(info.name, info.mime) if info else "file"
            chosen, _ = QFileDialog.getSaveFileName(self, "Save a copy", str(Path.home() / name))
            if not chosen:
                return None
            target = Path(chosen)
        try:
            files.save_copy(self._db, file_id, target, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return None
        self.say(f"Saved a copy as {target}.")
        return target

    def remove_selected_file(self) -> bool:
        file_id, doc = self.selected_file_id(), self.selected_document()
        if file_id is None or doc is None:
            return False
        name = next((f.name for f in doc.files if f.id == file_id), "the file")

        def apply(reason: str) -> str | None:
            try:
                change = files.remove_file(self._db, file_id, reason=reason, actor=self._actor)
            except ServiceError as exc:
                return str(exc)
            self._after(change)
            if doc.status is DocumentStatus.RECEIVED and len(doc.active_files) == 1:
                self.say(
                    f"{doc.label} has no file now but is still marked received. If it is still "
                    "needed, use Request again.",
                    problem=True,
                )
            return None

        dialog = ReasonDialog(
            f"{self.records.reference}: remove a file",
            f"Remove <b>{name}</b> from {doc.label}? It stays in the document's history and "
            "can still be opened from there.",
            apply,
            required=False,
            ok_text="Remove",
            parent=self,
        )
        return dialog.exec() == QDialog.DialogCode.Accepted

    # --- drag and drop -------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.drop_files(paths, event.position().toPoint())

    def drop_files(self, paths: list[Path], at: QPoint | None = None) -> Task | None:
        """Files dropped on a document's row go to that document; elsewhere, to the selected."""
        if at is not None:
            viewport = self.table.viewport()
            local = viewport.mapFrom(self, at)
            index = self.table.indexAt(local)
            if viewport.rect().contains(local) and index.isValid():
                self.table.selectRow(index.row())
        return self.add_files(paths)


class ChooseTypeDialog(QDialog):
    """Which document the files are, when dropped with no document chosen."""

    def __init__(
        self, types: list[tuple[str, str]], preferred: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Which document is this?")
        self.combo = QComboBox(objectName="document_type_choice")
        for code, label in types:
            self.combo.addItem(label, code)
        if preferred:
            self.combo.setCurrentIndex(max(self.combo.findData(preferred[0]), 0))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QFormLayout(self)
        layout.addRow("Document", self.combo)
        layout.addRow(buttons)

    def document_type(self) -> str:
        return str(self.combo.currentData())


class RequestDialog(QDialog):
    """Ask for a document the checklist did not require."""

    def __init__(
        self, reference: str, types: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.apply: Callable[[], str | None] = lambda: None
        self.setWindowTitle(f"{reference}: request a document")
        self.combo = QComboBox(objectName="request_type")
        for code, label in types:
            self.combo.addItem(label, code)
        self.required = QCheckBox(
            "Required before the review starts", objectName="request_required"
        )
        self.required.setChecked(True)
        self.note = QLineEdit(objectName="request_note")
        self.note.setPlaceholderText("What exactly is needed, e.g. 'PET-CT from October'")
        self.message = QLabel(objectName="request_message")
        self.message.setStyleSheet(PROBLEM_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Request")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QFormLayout(self)
        layout.addRow("Document", self.combo)
        layout.addRow("", self.required)
        layout.addRow("What is needed", self.note)
        layout.addRow(self.message)
        layout.addRow(buttons)

    def document_type(self) -> str:
        return str(self.combo.currentData())

    def accept(self) -> None:
        if self.combo.currentIndex() < 0:
            self.message.setText("Every document type is already on the case.")
            self.message.show()
            return
        refusal = self.apply()
        if refusal:
            self.message.setText(refusal)
            self.message.show()
            return
        super().accept()
