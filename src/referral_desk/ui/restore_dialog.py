"""Restore a backup, for administrators: first what the backup holds and what restoring it
means, then a deliberate confirmation, then the restore itself off the GUI thread.

services/backups decides everything (who may, whether the file is sound, the safety copy,
the upgrade of an older schema); this dialog shows its answers in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor
from referral_desk.domain.text import size_text
from referral_desk.paths import AppPaths
from referral_desk.services import backups
from referral_desk.services.backups import BackupCheck, BackupSummary, Restored
from referral_desk.ui.background import Task, TaskSet
from referral_desk.ui.backups_window import holds_text, problem_text
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.fields import StatusLine, fit_height
from referral_desk.ui.formatting import local_time

CONSEQUENCE_STYLE = (
    "background: #fff3cd; color: #5c3c00; border: 1px solid #e0b252; border-radius: 4px;"
    "padding: 8px;"
)
UNDERSTAND = "I understand that the office's current data will be replaced by this backup's"


def schema_text(summary: BackupSummary) -> str:
    """The backup's schema against this version's, and what that means for a restore."""
    if summary.schema == "current":
        return f"{summary.revision}, this version's"
    if summary.schema == "older":
        return f"{summary.revision}, older: it will be upgraded after the restore"
    if summary.schema == "newer":
        return f"{summary.revision}, newer: made by a newer Referral Desk, it cannot be restored"
    return "unknown: not a Referral Desk backup"


def consequence_text(summary: BackupSummary, safety_folder: Path) -> str:
    as_of = local_time(summary.data_as_of or summary.taken_at)
    return (
        "<b>Restoring replaces all of the office's current data with this backup's.</b> "
        f"Whatever was saved after {as_of} is not in it.<br><br>"
        "First a safety copy of the current database is kept in "
        f"<b>{_escape(str(safety_folder))}</b>, so nothing is lost for good.<br><br>"
        "Afterwards this window closes and everyone signs in again: the accounts and "
        "passwords are those in the backup."
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def upgraded_words(result: Restored) -> str:
    """The sentence that says an older backup was brought up to this version ("" if not)."""
    if not result.upgraded_from:
        return ""
    return (
        " It was made by an older version and has been upgraded (from schema "
        f"{result.upgraded_from})."
    )


class RestoreDialog(QDialog):
    """The preview of one backup file; Restore once the administrator confirmed."""

    restored = Signal(object)  # Restored: the main window says where the safety copy is

    def __init__(
        self,
        db: Database,
        actor: Actor,
        paths: AppPaths,
        backup: Path,
        parent: QWidget | None = None,
        *,
        before_restore: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("restore_dialog")
        self.setWindowTitle("Restore from a backup")
        self._db, self._actor, self._paths, self.backup = db, actor, paths, Path(backup)
        self._before_restore = before_restore
        self._tasks = TaskSet(self)
        self.check: BackupCheck | None = None
        self.restoring = False
        self.safety_folder = backups.load_settings(paths).folder

        self.intro = QLabel(f"Checking {self.backup.name}…", objectName="restore_intro")
        self.intro.setWordWrap(True)
        self.fields = {
            name: QLabel(objectName=f"restore_{name}")
            for name in ("file", "taken", "as_of", "schema", "holds", "size")
        }
        for label in self.fields.values():
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields["file"].setText(str(self.backup))
        form = QFormLayout()
        form.addRow("File", self.fields["file"])
        form.addRow("Taken", self.fields["taken"])
        form.addRow("Data as of", self.fields["as_of"])
        form.addRow("Schema", self.fields["schema"])
        form.addRow("Holds", self.fields["holds"])
        form.addRow("File size", self.fields["size"])
        self.problems = QLabel(objectName="restore_problems")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(ERROR_STYLE)
        self.problems.hide()
        self.consequence = QLabel(objectName="restore_consequence")
        self.consequence.setWordWrap(True)
        self.consequence.setTextFormat(Qt.TextFormat.RichText)
        self.consequence.setStyleSheet(CONSEQUENCE_STYLE)
        self.consequence.hide()
        self.understand = QCheckBox(UNDERSTAND, objectName="restore_understand")
        self.understand.setEnabled(False)
        self.understand.toggled.connect(self._update_buttons)
        self.progress = QProgressBar(objectName="restore_progress")
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.status = StatusLine("restore_status")
        self.restore_button = QPushButton("&Restore", objectName="restore_button")
        self.restore_button.clicked.connect(self.start_restore)
        self.cancel_button = QPushButton("Cancel", objectName="restore_cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.cancel_button)
        self.cancel_button.setDefault(True)  # Enter does not restore by accident
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.consequence)
        layout.addWidget(self.understand)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.setMinimumWidth(620)
        self._update_buttons()

        path = self.backup
        task = self._tasks.new(lambda _task: backups.verify(path))
        task.finished.connect(self._checked)
        task.failed.connect(self._check_failed)
        self.check_task: Task | None = task
        task.start()

    # --- the preview ---------------------------------------------------------------------------
    def _checked(self, check: BackupCheck) -> None:
        self._tasks.release(self.sender())
        self.check_task = None
        self.check = check
        summary = check.summary
        self.fields["taken"].setText(local_time(summary.taken_at))
        self.fields["as_of"].setText(local_time(summary.data_as_of) or "—")
        self.fields["schema"].setText(schema_text(summary))
        self.fields["holds"].setText("—" if summary.error else holds_text(summary))
        self.fields["size"].setText(size_text(summary.size))
        if check.ok:
            self.intro.setText(
                f"{self.backup.name} is a sound backup. Check that it is the one you want."
            )
            self.consequence.setText(consequence_text(summary, self.safety_folder))
            self.consequence.show()
            self.understand.setEnabled(True)
        else:
            self.intro.setText(f"{self.backup.name} cannot be restored:")
            self.problems.setText("\n".join(f"• {problem}" for problem in check.problems))
            self.problems.show()
            self.understand.hide()
        self._update_buttons()
        fit_height(self)

    def _check_failed(self, exc: BaseException) -> None:
        self._tasks.release(self.sender())
        self.check_task = None
        problem = problem_text(exc)
        if problem is None:
            raise exc  # a bug: the exception hook reports it
        self.intro.setText(f"{self.backup.name} cannot be restored:")
        self.problems.setText(f"• {problem}")
        self.problems.show()
        self.understand.hide()
        self._update_buttons()
        fit_height(self)

    def _update_buttons(self) -> None:
        ready = self.check is not None and self.check.ok and self.understand.isChecked()
        self.restore_button.setEnabled(ready and not self.restoring)
        self.cancel_button.setEnabled(not self.restoring)

    # --- the restore ---------------------------------------------------------------------------
    def start_restore(self) -> Task | None:
        if self.check is None or not self.check.ok or not self.understand.isChecked():
            return None
        if self.restoring:
            return None
        if not self._before_restore():  # open windows with unsaved edits, and a Cancel
            self.status.say(
                "The restore did not start: save or discard the edits in the open windows first.",
                problem=True,
            )
            return None
        db, actor, backup, folder = self._db, self._actor, self.backup, self.safety_folder

        def work(task: Task) -> Restored:
            return backups.restore(
                db,
                backup,
                actor=actor,
                safety_folder=folder,
                progress=lambda done, total: task.progress.emit(done, total),
            )

        task = self._tasks.new(work)
        task.finished.connect(self._restored)
        task.failed.connect(self._restore_failed)
        self.restoring = True
        self.understand.setEnabled(False)
        self.progress.show()
        self.status.say(
            "Restoring… This cannot be cancelled once it has started. The current database "
            "stays as it is until the very last step, so even a power cut now loses nothing."
        )
        self._update_buttons()
        task.start()
        return task

    def _restored(self, result: Restored) -> None:
        self._tasks.release(self.sender())
        self.restoring = False
        self.progress.hide()
        self.accept()
        self.restored.emit(result)

    def _restore_failed(self, exc: BaseException) -> None:
        self._tasks.release(self.sender())
        self.restoring = False
        self.progress.hide()
        self.understand.setEnabled(True)
        self._update_buttons()
        problem = problem_text(exc)
        if problem is None:
            raise exc  # a bug: the exception hook reports it
        self.status.say(f"The restore did not happen: {problem}", problem=True)

    # --- closing -------------------------------------------------------------------------------
    def reject(self) -> None:
        if self.restoring:  # cannot be stopped midway: the dialog stays until it ends
            return
        self._tasks.stop_all()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.restoring:
            event.ignore()
            return
        self._tasks.stop_all()
        super().closeEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.reject()
            return
        super().keyPressEvent(event)
