"""The Letters tab of the case screen: every letter made for the case, as it was archived;
make a new one, open or save it, and record that it was sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.letters import LetterKind
from referral_desk.services import letters
from referral_desk.services.errors import ServiceError
from referral_desk.services.letters import LetterInfo
from referral_desk.ui.background import Task
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.documents_panel import combined_change, viewing_folder
from referral_desk.ui.formatting import local_time
from referral_desk.ui.money import user_locale
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.tables import row_table

COLUMNS = ("Letter", "Made", "By", "Template", "Large print", "Pages", "Sent")
UNSENT_TEXT = QColor("#8a4b00")


def documents_folder() -> Path:
    """Where the user keeps their files: suggested for copies and batches."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found else Path.home()


def letter_file_name(info: LetterInfo) -> str:
    """'RD-2026-00042 summary letter 2026-11-23.pdf': says what it is in a folder listing."""
    made = info.created_at.astimezone().date().isoformat()
    return f"{info.reference} {info.kind.label.lower()} {made}.pdf"


def sent_text(info: LetterInfo) -> str:
    if info.sent_at is None:
        return "not sent"
    return f"{local_time(info.sent_at)} · {info.sent_by or ''}".rstrip(" ·")


class LettersPanel(QWidget):
    changed = Signal(object)  # a CaseChange: marking a summary letter sent moves the case
    listed = Signal()  # the list was read again: the tab's title counts the unsent letters

    def __init__(
        self, db: Database, case_id: int, actor: Actor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._db, self._case_id, self._actor = db, case_id, actor
        # Everyone may read a case's letters; making, copying and sending them is the
        # coordinator's.
        self._letters_refused = refusal(actor, Permission.LETTERS, "make or send letters")
        self._letters: list[LetterInfo] = []
        self._status: CaseStatus | None = None
        self._task: Task | None = None
        # How a letter is shown: the system's PDF viewer (tests put something else here).
        self.open_in_viewer: Callable[[Path], object] = lambda path: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(path))
        )

        self.message = QLabel(objectName="letters_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        self.table = row_table(COLUMNS, "letters_table")
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.empty = QLabel(objectName="letters_empty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty.setStyleSheet("color: #555555; padding: 12px 4px;")

        self.new_menu = QMenu(self)
        self.new_menu.setToolTipsVisible(True)  # why a kind cannot be made yet
        self.new_menu.aboutToShow.connect(self.refresh_kinds)
        self.kind_actions: dict[LetterKind, QAction] = {}
        for kind in LetterKind:
            action = self.new_menu.addAction(kind.label)
            action.setObjectName(f"new_{kind.value}")
            action.triggered.connect(lambda _=False, k=kind: self.make_letter(k))
            self.kind_actions[kind] = action
        self.new_button = QPushButton("&New letter", objectName="new_letter")  # ▾ is Qt's
        if self._letters_refused is None:  # a button that cannot be pressed still opens a menu
            self.new_button.setMenu(self.new_menu)
        self.large_print = QCheckBox("&Large print", objectName="large_print")
        allow(
            self.large_print,
            self._letters_refused,
            tooltip="Bigger type, for readers with low vision",
        )
        self.open_button = QPushButton("Op&en", objectName="open_letter")
        self.open_button.setToolTip("Show the letter in the PDF viewer, to check and print it")
        self.open_button.clicked.connect(lambda: self.open_selected())
        self.save_button = QPushButton("Save a cop&y…", objectName="save_letter")
        self.save_button.clicked.connect(lambda: self.save_selected_copy())
        self.sent_button = QPushButton("&Mark sent", objectName="mark_sent")
        self.sent_button.clicked.connect(lambda: self.mark_selected_sent())
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.large_print)
        buttons.addStretch(1)
        for button in (self.open_button, self.save_button, self.sent_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.reload()

    # --- showing ---------------------------------------------------------------------------
    @property
    def rows(self) -> list[LetterInfo]:
        return self._letters

    @property
    def unsent(self) -> int:
        return sum(1 for info in self._letters if info.sent_at is None)

    def show_case(self, status: CaseStatus) -> None:
        """Called by the case screen whenever it reloads: the status says what sending does."""
        self._status = status
        self.reload()

    def reload(self) -> None:
        selected = self.selected_letter()
        self._letters = letters.list_letters(self._db, self._case_id)
        self.table.setRowCount(len(self._letters))
        for row, info in enumerate(self._letters):
            cells = (
                info.kind.label,
                local_time(info.created_at),
                info.created_by,
                f"version {info.template_version}",
                "yes" if info.large_print else "",
                str(info.pages),
                sent_text(info),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                if column == 0:
                    item.setToolTip(f"SHA-256 {info.sha256}")
                if column == len(cells) - 1 and info.sent_at is None:
                    item.setForeground(UNSENT_TEXT)
                self.table.setItem(row, column, item)
        self.table.setVisible(bool(self._letters))
        self.empty.setVisible(not self._letters)
        self.refresh_kinds()
        if selected is not None:
            self.select_letter(selected.id)
        elif self._letters:
            self.table.selectRow(0)
        self._update_buttons()
        self.listed.emit()

    def refresh_kinds(self) -> None:
        """Which letters can be made now; the others say why not."""
        available = letters.available_kinds(self._db, self._case_id)
        lines: list[str] = []
        for kind, action in self.kind_actions.items():
            reason = available.get(kind, "This letter cannot be made for this case.")
            action.setEnabled(reason is None)
            action.setToolTip(reason or f"Make the {kind.label.lower()} now")
            lines.append(f"• {kind.label}: " + (reason or "can be made now."))
        if not self._letters:  # with nothing listed yet, say what can be made
            self.empty.setText(
                "No letter has been made for this case yet. Choose New letter to make one; "
                "every letter made is kept here exactly as it was printed.\n\n" + "\n".join(lines)
            )

    def selected_letter(self) -> LetterInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._letters):
            return None
        return self._letters[rows[0].row()]

    def select_letter(self, letter_id: int) -> None:
        for row, info in enumerate(self._letters):
            if info.id == letter_id:
                self.table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        info = self.selected_letter()
        self.open_button.setEnabled(info is not None)
        refused = self._letters_refused
        allow(
            self.save_button,
            refused,
            enabled=info is not None,
            tooltip="Save the letter as a PDF file, e.g. to send it by e-mail",
        )
        allow(
            self.sent_button,
            refused,
            enabled=info is not None and info.sent_at is None,
            tooltip="Record that this letter went out (today, by you)"
            if info is None or info.sent_at is None
            else f"Sent {sent_text(info)}",
        )
        busy = self._task is not None and self._task.running
        allow(
            self.new_button,
            refused,
            enabled=not busy,
            tooltip="Make a letter from the case and the office's current wording",
        )

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if problem else "")
        self.message.setVisible(bool(text))

    # --- making a letter -----------------------------------------------------------------
    def make_letter(self, kind: LetterKind) -> Task | None:
        """Compose, render and archive in the background (the first letter loads the fonts),
        then show it in the viewer."""
        if self._task is not None and self._task.running:
            return None
        if not self._may_handle_letters():
            return None
        db, case_id, actor = self._db, self._case_id, self._actor
        large_print, locale = self.large_print.isChecked(), user_locale()

        def work(_task: Task) -> LetterInfo:
            return letters.generate(
                db, case_id, kind, actor=actor, large_print=large_print, locale=locale
            )

        task = Task(work, self)
        task.finished.connect(self._made)
        task.failed.connect(self._not_made)
        self._task = task
        self.say(f"Making the {kind.label.lower()}…")
        task.start()
        self._update_buttons()
        return task

    def _made(self, info: LetterInfo) -> None:
        self.reload()
        self.select_letter(info.id)
        pages = f"{info.pages} page{'s' if info.pages != 1 else ''}"
        self.say(
            f"{info.kind.label} made ({pages}) and kept with the case. It opens in the PDF "
            "viewer to check and print; mark it sent once it has gone out."
        )
        self._update_buttons()
        self.open_selected()

    def _not_made(self, exc: BaseException) -> None:
        self.reload()
        if isinstance(exc, ServiceError):
            self.say(str(exc), problem=True)
            return
        raise exc  # a bug: the exception hook reports it

    def wait_for_task(self) -> None:
        """For closing: a letter being made is finished and archived first (it is quick)."""
        if self._task is not None:
            self._task.wait()

    # --- one letter ------------------------------------------------------------------------
    def open_selected(self) -> Path | None:
        info = self.selected_letter()
        if info is None:
            return None
        try:
            path = letters.export_for_viewing(
                self._db, info.id, viewing_folder(), actor=self._actor
            )
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return None
        if self.open_in_viewer(path) is False:
            self.say(
                "No PDF viewer is set up on this computer. Use Save a copy… and open the "
                "letter with the program you print PDFs from.",
                problem=True,
            )
        return path

    def _may_handle_letters(self) -> bool:
        if self._letters_refused:
            self.say(self._letters_refused, problem=True)
        return self._letters_refused is None

    def save_selected_copy(self, target: Path | None = None) -> Path | None:
        info = self.selected_letter()
        if info is None or not self._may_handle_letters():
            return None
        if target is None:
            suggested = documents_folder() / letter_file_name(info)
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Save a copy of the letter", str(suggested), "PDF documents (*.pdf)"
            )
            if not chosen:
                return None
            target = Path(chosen)
        try:
            letters.save_copy(self._db, info.id, target, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return None
        self.say(f"Saved a copy as {target}.")
        return target

    def mark_selected_sent(self) -> bool:
        info = self.selected_letter()
        if info is None or info.sent_at is not None or not self._may_handle_letters():
            return False
        moves = info.kind is LetterKind.SUMMARY and self._status is CaseStatus.OPINION_RECEIVED
        made = local_time(info.created_at)
        question = f"Record that the {info.kind.label.lower()} made {made} was sent today?"
        if moves:
            question += f"\n\n{info.reference} then moves to {CaseStatus.LETTER_SENT.label}."
        answer = QMessageBox.question(
            self,
            "Mark sent",
            question,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            changes = letters.mark_sent(self._db, [info.id], actor=self._actor)
        except ServiceError as exc:
            self.reload()
            self.say(str(exc), problem=True)
            return False
        self.reload()
        moved = next((c.moved_to for c in changes if c.moved_to is not None), None)
        self.say(
            f"Marked sent. {info.reference} is now {moved.label}."
            if moved is not None
            else "Marked sent."
        )
        if changes:
            self.changed.emit(combined_change(changes))
        return True
