"""Settings ▸ Backups, for administrators: where the automatic backups go and how often, the
backups kept in that folder, a backup to a file of one's choice, and the way into a restore.

Every rule (who may, which folder is usable, the interval's range, how a copy is made and
checked) is the services' (services/backups): the window collects what is typed, runs the
copying off the GUI thread and shows the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain import backups as rules
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.text import size_text
from referral_desk.paths import AppPaths
from referral_desk.services import backups
from referral_desk.services.backups import BackupCancelled, BackupSummary
from referral_desk.services.errors import ServiceError, environment_problem
from referral_desk.ui.background import ProgressDialog, Task, TaskSet
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.fields import HINT_STYLE
from referral_desk.ui.formatting import local_time
from referral_desk.ui.letters_panel import documents_folder
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.window_state import WindowState

OK_STYLE = "color: #1b5e20;"
BACKUP_FILTER = "Referral Desk backups (*.sqlite);;All files (*)"
TAKEN, KIND, CASES, SIZE, FILE = range(5)
HEADERS = ("Taken", "Kind", "Cases", "Size", "File")
COLUMN_WIDTHS = (140, 205, 60, 80)
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
# The rule itself lives in domain/backups; the window only says it.
ROTATION_NOTE = (
    f"Automatic backups are made every few hours while Referral Desk is open and when it "
    f"closes; each one is checked before it is kept. The folder keeps every one of the "
    f"last day, then {rules.DAILY} daily, {rules.WEEKLY} weekly and {rules.MONTHLY} monthly "
    "copies. A folder on a second disk or a synced folder keeps them safe when this "
    "computer's disk fails."
)


# How the list names each kind of file.
KIND_WORDS = {
    rules.BackupKind.AUTOMATIC: "automatic",
    rules.BackupKind.BEFORE_UPGRADE: "safety copy before an upgrade",
    rules.BackupKind.BEFORE_RESTORE: "safety copy before a restore",
    rules.BackupKind.OTHER: "other copy",
}


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def holds_text(summary: BackupSummary) -> str:
    """ "12 cases, 11 patients, 30 documents (stored files), 8 letters"."""
    return (
        f"{_plural(summary.cases, 'case')}, {_plural(summary.patients, 'patient')}, "
        f"{_plural(summary.documents, 'document')} (stored files), "
        f"{_plural(summary.letters, 'letter')}"
    )


def problem_text(exc: BaseException) -> str | None:
    """What to tell the user about a failed backup or restore; None for a bug."""
    if isinstance(exc, ServiceError):
        return str(exc)
    problem = environment_problem(exc)
    if problem is not None:
        return problem
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return None


# The work of one copy: given (progress, cancelled), returns what the caller wants back.
CopyWork = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]


class BackupRunner(QObject):
    """One backup at a time in the background, with a progress dialog and Cancel; the result
    or the problem comes back on the GUI thread."""

    succeeded = Signal(object)  # what the work returned
    failed = Signal(str)  # the problem in words; nothing was kept
    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._window = parent
        self._tasks = TaskSet(self)
        self.task: Task | None = None
        self.dialog: ProgressDialog | None = None

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, work: CopyWork, *, title: str, text: str, note: str = "") -> Task | None:
        if self.task is not None:
            return None

        def run(task: Task) -> Any:
            return work(lambda done, total: task.progress.emit(done, total), lambda: task.cancelled)

        dialog = ProgressDialog(title, text, self._window, note=note, min_width=420)
        task = self._tasks.new(run)
        task.finished.connect(self._finished)
        task.failed.connect(self._failed)
        self.task, self.dialog = task, dialog
        dialog.follow(task)
        return task

    def stop(self) -> None:
        """Cancel and wait (the window closes): the copy is removed, nothing is kept."""
        self._tasks.stop_all()

    def _ended(self) -> None:
        self._tasks.release(self.sender())
        self.task = None
        if self.dialog is not None:
            self.dialog.finish()
            self.dialog.deleteLater()
            self.dialog = None

    def _finished(self, result: object) -> None:
        self._ended()
        self.succeeded.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self._ended()
        if isinstance(exc, BackupCancelled):
            self.cancelled.emit()
            return
        problem = problem_text(exc)
        if problem is None:
            raise exc  # a bug: the exception hook reports it
        self.failed.emit(problem)


class BackupsWindow(QWidget):
    """The backup folder and interval, the backups in that folder, Back up now and Restore."""

    restore_requested = Signal(object)  # the backup file (Path) to preview and restore

    def __init__(
        self,
        db: Database,
        actor: Actor,
        paths: AppPaths,
        parent: QWidget | None = None,
        *,
        window_state: WindowState | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setObjectName("backups_window")
        self.setWindowTitle("Backups · Referral Desk")
        self._db, self._actor, self._paths, self._state = db, actor, paths, window_state
        self._refused = refusal(actor, Permission.BACKUPS, "change the backups or restore one")
        self.runner = BackupRunner(self)
        self.runner.succeeded.connect(self._backed_up)
        self.runner.failed.connect(lambda problem: self.say(problem, problem=True))
        self.runner.cancelled.connect(
            lambda: self.say("The backup was cancelled; nothing was written.")
        )
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)

        # Where and how often
        self.folder_edit = QLineEdit(objectName="backup_folder")
        self.folder_edit.setMinimumWidth(420)
        self.choose_button = QPushButton("Choose…", objectName="choose_folder")
        self.choose_button.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.choose_button)
        self.interval = QSpinBox(objectName="backup_interval")
        self.interval.setRange(*rules.INTERVAL_HOURS_RANGE)
        self.interval.setSuffix(" hours")
        self.interval.setToolTip(
            "How often an automatic backup is made while Referral Desk is open "
            f"({rules.INTERVAL_HOURS_RANGE[0]} to {rules.INTERVAL_HOURS_RANGE[1]} hours)"
        )
        self.save_button = QPushButton("Save", objectName="save_backup_settings")
        self.save_button.clicked.connect(self.save_settings)
        interval_row = QHBoxLayout()
        interval_row.addWidget(self.interval)
        interval_row.addStretch(1)
        interval_row.addWidget(self.save_button)
        self.settings_message = QLabel(objectName="backup_settings_message")
        self.settings_message.setWordWrap(True)
        self.settings_message.hide()
        note = QLabel(ROTATION_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet(HINT_STYLE)
        settings_box = QGroupBox("Automatic backups")
        form = QFormLayout(settings_box)
        form.addRow("Backup folder", folder_row)
        form.addRow("Back up every", interval_row)
        form.addRow(self.settings_message)
        form.addRow(note)

        # The backups in the folder
        self.list_label = QLabel(objectName="backup_list_label")
        self.list_label.setWordWrap(True)
        self.table = QTreeWidget(objectName="backup_list")
        self.table.setColumnCount(len(HEADERS))
        self.table.setHeaderLabels(list(HEADERS))
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setUniformRowHeights(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.resizeSection(column, width)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemActivated.connect(lambda _item, _col: self.restore_selected())

        self.back_up_button = QPushButton("&Back up now…", objectName="back_up_now")
        self.back_up_button.clicked.connect(lambda: self.back_up_now())
        self.restore_button = QPushButton("&Restore selected…", objectName="restore_selected")
        self.restore_button.clicked.connect(self.restore_selected)
        self.restore_file_button = QPushButton(
            "Restore from a &file…", objectName="restore_from_file"
        )
        self.restore_file_button.clicked.connect(self.restore_from_file)
        self.refresh_button = QPushButton("Refresh", objectName="backups_refresh")
        self.refresh_button.clicked.connect(self.refresh)
        actions = QHBoxLayout()
        actions.addWidget(self.back_up_button)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)
        actions.addWidget(self.restore_button)
        actions.addWidget(self.restore_file_button)
        self.message = QLabel(objectName="backups_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        list_box = QGroupBox("Backups in the folder")
        list_layout = QVBoxLayout(list_box)
        list_layout.addWidget(self.list_label)
        list_layout.addWidget(self.table, 1)
        list_layout.addLayout(actions)
        list_layout.addWidget(self.message)

        layout = QVBoxLayout(self)
        layout.addWidget(settings_box)
        layout.addWidget(list_box, 1)

        self.resize(920, 580)
        if self._state is not None:
            self._state.restore("backups_window", self)
        self.refresh()

    # --- settings ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """The settings as stored and the backups in the folder, read again."""
        settings = backups.load_settings(self._paths)
        self.folder_edit.setText(str(settings.folder))
        self.interval.setValue(settings.interval_hours)
        self._fill(settings.folder)

    def choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(
            self, "Folder for the automatic backups", self.folder_edit.text()
        )
        if chosen:
            self.folder_edit.setText(chosen)

    def save_settings(self) -> bool:
        folder = Path(self.folder_edit.text().strip()).expanduser()
        settings = replace(
            backups.load_settings(self._paths),
            folder=folder,
            interval_hours=self.interval.value(),
        )
        try:
            backups.save_settings(self._paths, settings, actor=self._actor)
        except ServiceError as exc:
            self._say_settings(str(exc), problem=True)
            return False
        self._say_settings(
            f"Saved. Automatic backups go to {folder}, every "
            f"{_plural(settings.interval_hours, 'hour')} while Referral Desk is open."
        )
        self._fill(folder)
        return True

    def _say_settings(self, text: str, *, problem: bool = False) -> None:
        self.settings_message.setStyleSheet(ERROR_STYLE if problem else OK_STYLE)
        self.settings_message.setText(text)
        self.settings_message.show()

    # --- the list ----------------------------------------------------------------------------
    def _fill(self, folder: Path) -> None:
        found = backups.list_backups(folder)
        self.table.clear()
        for summary in found:
            item = QTreeWidgetItem(
                [
                    local_time(summary.taken_at),
                    KIND_WORDS[summary.kind],
                    "unreadable" if summary.error else f"{summary.cases:,}",
                    size_text(summary.size),
                    summary.path.name,
                ]
            )
            item.setData(TAKEN, Qt.ItemDataRole.UserRole, str(summary.path))
            for column in (CASES, SIZE):
                item.setTextAlignment(column, RIGHT)
            tip = str(summary.path)
            if summary.error:
                tip += f"\n{summary.error}"
            elif summary.data_as_of is not None:
                tip += f"\nData as of {local_time(summary.data_as_of)}"
            for column in range(len(HEADERS)):
                item.setToolTip(column, tip)
            self.table.addTopLevelItem(item)
        if found:
            self.list_label.setText(f"{_plural(len(found), 'backup')} in {folder}, newest first.")
        else:
            self.list_label.setText(f"No backups in {folder} yet.")
        self._update_buttons()

    def backup_paths(self) -> list[Path]:
        """The files listed, top to bottom (newest first)."""
        return [
            Path(self.table.topLevelItem(row).data(TAKEN, Qt.ItemDataRole.UserRole))
            for row in range(self.table.topLevelItemCount())
        ]

    def selected_path(self) -> Path | None:
        items = self.table.selectedItems()
        return Path(items[0].data(TAKEN, Qt.ItemDataRole.UserRole)) if items else None

    def _update_buttons(self) -> None:
        busy = self.runner.running
        allow(self.back_up_button, self._refused, enabled=not busy)
        allow(
            self.restore_button,
            self._refused,
            enabled=self.selected_path() is not None and not busy,
            tooltip="Preview the selected backup, then restore it",
        )
        allow(self.restore_file_button, self._refused, enabled=not busy)
        for control in (self.folder_edit, self.choose_button, self.interval, self.save_button):
            allow(control, self._refused)

    # --- back up now ---------------------------------------------------------------------------
    def ask_target(self) -> Path | None:
        suggested = documents_folder() / f"Referral Desk backup {date.today().isoformat()}.sqlite"
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Save a backup of the whole office database", str(suggested), BACKUP_FILTER
        )
        if not chosen:
            return None
        path = Path(chosen)
        return path if path.suffix.lower() == rules.SUFFIX else Path(f"{path}{rules.SUFFIX}")

    def back_up_now(self, target: Path | None = None) -> Task | None:
        """Ask where (unless told), then copy the database there in the background."""
        if self.runner.running:
            return None
        if self._refused:
            self.say(self._refused, problem=True)
            return None
        target = target or self.ask_target()
        if target is None:
            return None
        db, actor, paths = self._db, self._actor, self._paths

        def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Path:
            return backups.back_up_now(
                db, target, actor=actor, paths=paths, progress=progress, cancelled=cancelled
            )

        self.message.hide()
        task = self.runner.start(
            work,
            title="Back up now",
            text=f"Copying the office database to {target}…",
            note="The copy is checked before it gets its name; cancelling leaves no file.",
        )
        self._update_buttons()
        return task

    def _backed_up(self, target: Path) -> None:
        summary = backups.describe(target)
        self.say(
            f"Saved and checked: {target} ({size_text(summary.size)}, "
            f"{_plural(summary.cases, 'case')}). Keep it away from this computer, e.g. on a "
            "USB disk you take home.",
        )
        self._fill(Path(self.folder_edit.text()))
        self._update_buttons()

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if problem else OK_STYLE)
        self.message.setText(text)
        self.message.show()
        self._update_buttons()

    # --- restore -----------------------------------------------------------------------------
    def restore_selected(self) -> None:
        path = self.selected_path()
        if path is not None and not self._refused:
            self.restore_requested.emit(path)

    def restore_from_file(self) -> None:
        chosen = ask_backup_file(self, backups.load_settings(self._paths).folder)
        if chosen is not None:
            self.restore_requested.emit(chosen)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runner.stop()  # closing the window is Cancel: no half-written file is kept
        if self._state is not None:
            self._state.save("backups_window", self)
        super().closeEvent(event)


def ask_backup_file(parent: QWidget | None, folder: Path) -> Path | None:
    """A backup file to restore, starting in the backup folder."""
    chosen, _ = QFileDialog.getOpenFileName(
        parent, "Choose the backup to restore", str(folder), BACKUP_FILTER
    )
    return Path(chosen) if chosen else None
