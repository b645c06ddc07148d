"""What the app checks as it starts: a damaged database (offer the newest good backup, and
overwrite nothing without asking), a database on a network drive (warn once), and, after
sign-in, a backup that is too old (offer to make one now).

The checks themselves are the services' (services/database.health, services/backups,
services/storage_place); this module asks the user and shows the answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain import backups as rules
from referral_desk.domain.access import Actor
from referral_desk.domain.text import size_text
from referral_desk.paths import AppPaths
from referral_desk.services import backups, case_list, storage_place
from referral_desk.services import database as database_service
from referral_desk.services.backups import BackupCheck, BackupMade, Restored
from referral_desk.ui.background import Task, TaskSet
from referral_desk.ui.backups_window import (
    BackupRunner,
    ask_backup_file,
    holds_text,
    problem_text,
)
from referral_desk.ui.case_window import WIDE_MESSAGE
from referral_desk.ui.fields import StatusLine, fit_height
from referral_desk.ui.formatting import local_time
from referral_desk.ui.restore_dialog import upgraded_words

log = logging.getLogger(__name__)
HEADLINE_STYLE = "font-size: 13pt; font-weight: bold;"


def show_warning(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """A warning that does not block: the work on screen carries on behind it."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setStyleSheet(WIDE_MESSAGE)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


# --- a damaged database ------------------------------------------------------------------------


def check_database(paths: AppPaths, parent: QWidget | None = None) -> bool:
    """Before the database is opened: True to carry on (it is sound, or a backup was put in
    its place); False to quit, with nothing changed."""
    found = database_service.health(paths.database)
    if found.ok:
        return True
    assert found.problem is not None
    log.warning("the database %s is damaged: %s", paths.database, found.problem)
    dialog = DamagedDatabaseDialog(paths, found.problem, parent)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()


def backup_description(check: BackupCheck) -> str:
    summary = check.summary
    as_of = local_time(summary.data_as_of) or "unknown"
    return (
        f"Taken {local_time(summary.taken_at)}, data as of {as_of}\n"
        f"{holds_text(summary)}\n"
        f"{summary.path} ({size_text(summary.size)})"
    )


class DamagedDatabaseDialog(QDialog):
    """The database cannot be used: what is wrong, the newest good backup, and a choice.
    Accepted once a backup is in place; rejected (Quit) with nothing changed."""

    def __init__(self, paths: AppPaths, problem: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("damaged_database")
        self.setWindowTitle("Referral Desk: the database cannot be used")
        self._paths = paths
        self._tasks = TaskSet(self)
        self.safety_folder = backups.load_settings(paths).folder
        self.restored: Restored | None = None
        self.restoring = False

        headline = QLabel("The office's database cannot be used.", objectName="damaged_headline")
        headline.setStyleSheet(HEADLINE_STYLE)
        self.problem = QLabel(f"{problem}\nFile: {paths.database}", objectName="damaged_problem")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.offer_title = QLabel(objectName="offer_title")
        self.offer_title.setStyleSheet("font-weight: bold;")
        self.offer = QLabel(objectName="damaged_offer")
        self.offer.setWordWrap(True)
        self.offer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.question = QLabel(objectName="damaged_question")
        self.question.setWordWrap(True)
        self.progress = QProgressBar(objectName="damaged_progress")
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.status = StatusLine("damaged_status")
        self.restore_button = QPushButton("&Restore this backup", objectName="restore_backup")
        self.restore_button.clicked.connect(self.restore)
        self.choose_button = QPushButton(objectName="choose_backup")
        self.choose_button.clicked.connect(self.choose)
        self.quit_button = QPushButton("&Quit", objectName="quit")
        self.quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.quit_button)
        layout = QVBoxLayout(self)
        layout.addWidget(headline)
        layout.addWidget(self.problem)
        layout.addSpacing(8)
        layout.addWidget(self.offer_title)
        layout.addWidget(self.offer)
        layout.addWidget(self.question)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.setMinimumWidth(640)

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.candidate: BackupCheck | None = backups.newest_good_backup(paths)
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._show_candidate(newest=True)

    def _show_candidate(self, *, newest: bool) -> None:
        candidate = self.candidate
        kept = f"The damaged file is not deleted: it is moved to a folder in {self.safety_folder}."
        if candidate is None:
            self.offer_title.setText("No good backup was found.")
            self.offer.setText(
                f"There is no backup in {self.safety_folder} that passes its checks. Nothing "
                f"was changed: the damaged file is still at {self._paths.database}."
            )
            self.question.setText(
                "If you have a backup elsewhere (a USB disk, a synced folder), choose it. "
                "Otherwise quit and ask your support contact before doing anything with the file."
            )
            self.restore_button.hide()
            self.choose_button.setText("&Choose a backup file…")
        elif candidate.ok:
            self.offer_title.setText(
                "The newest good backup:" if newest else "The backup you chose:"
            )
            self.offer.setText(backup_description(candidate))
            as_of = local_time(candidate.summary.data_as_of or candidate.summary.taken_at)
            self.question.setText(
                f"Restore it? Whatever was saved after {as_of} is not in it. {kept}"
            )
            self.restore_button.show()
            self.restore_button.setEnabled(True)
            self.choose_button.setText("&Choose another backup…")
        else:
            self.offer_title.setText(f"{candidate.summary.path.name} cannot be restored:")
            self.offer.setText("\n".join(f"• {p}" for p in candidate.problems))
            self.question.setText("Choose another backup, or quit. Nothing was changed.")
            self.restore_button.show()
            self.restore_button.setEnabled(False)
            self.choose_button.setText("&Choose another backup…")
        self.restore_button.setDefault(self.restore_button.isEnabled())
        fit_height(self)

    def choose(self) -> None:
        chosen = ask_backup_file(self, self.safety_folder)
        if chosen is None:
            return
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.candidate = backups.verify(chosen)
        except backups.BackupError as exc:
            self.candidate = None
            self.status.say(str(exc), problem=True)
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.status.hide()
        self._show_candidate(newest=False)

    def restore(self) -> Task | None:
        candidate = self.candidate
        if candidate is None or not candidate.ok or self.restoring:
            return None
        database, backup, folder = self._paths.database, candidate.summary.path, self.safety_folder

        def work(_task: Task) -> Restored:
            return backups.restore_over_damaged(database, backup, safety_folder=folder)

        task = self._tasks.new(work)
        task.finished.connect(self._restored)
        task.failed.connect(self._failed)
        self._busy(True)
        self.status.say(
            "Restoring… This takes a moment and cannot be cancelled once it has started."
        )
        task.start()
        return task

    def _busy(self, busy: bool) -> None:
        self.restoring = busy
        self.progress.setVisible(busy)
        for button in (self.restore_button, self.choose_button, self.quit_button):
            button.setEnabled(not busy)

    def _restored(self, result: Restored) -> None:
        self._tasks.release(self.sender())
        self._busy(False)
        self.restored = result
        summary = result.summary
        upgraded = upgraded_words(result)
        QMessageBox.information(
            self,
            "Backup restored",
            f"The backup taken {local_time(summary.taken_at)} is in place (data as of "
            f"{local_time(summary.data_as_of or summary.taken_at)}).{upgraded}\n\n"
            f"The damaged file was kept in {result.safety_copy.parent}.\n\n"
            "Sign in to carry on.",
        )
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._tasks.release(self.sender())
        self._busy(False)
        self.restore_button.setEnabled(self.candidate is not None and self.candidate.ok)
        problem = problem_text(exc)
        if problem is None:
            raise exc  # a bug: the exception hook reports it
        self.status.say(f"The backup was not restored: {problem}", problem=True)

    def reject(self) -> None:
        if self.restoring:  # cannot be stopped midway
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.restoring:
            event.ignore()
            return
        super().closeEvent(event)


# --- a database on a network drive -------------------------------------------------------------


def warn_if_on_network(paths: AppPaths, parent: QWidget | None = None) -> str | None:
    """One warning per start when the database lies on a network file system."""
    warning = storage_place.network_warning(paths.database)
    if warning:
        log.warning("database on a network file system: %s", warning)
        QMessageBox.warning(parent, "Referral Desk: database on a network drive", warning)
    return warning


# --- an old backup, after sign-in --------------------------------------------------------------


def stale_backup_text(newest: datetime | None, now: datetime) -> str | None:
    """What to say when the newest backup is too old (None when it is recent enough)."""
    if not rules.is_stale(newest, now):
        return None
    if newest is None:
        return "No backup has been made yet."
    days = (now - newest).days
    return f"The newest backup is from {local_time(newest)} ({days:,} days ago)."


def offer_backup_if_stale(
    window: QMainWindow, db: Database, paths: AppPaths, actor: Actor, now: datetime
) -> QMessageBox | None:
    """After sign-in: a warning with [Back up now] [Later] when the newest backup is more
    than two days old and the office has cases to lose. It does not block."""
    said = stale_backup_text(backups.newest_backup_at(paths), now)
    if said is None or case_list.status_counts(db).total == 0:
        return None
    folder = backups.load_settings(paths).folder
    box = QMessageBox(window)
    box.setObjectName("stale_backup")
    box.setStyleSheet(WIDE_MESSAGE)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Back up the office's data")
    box.setText(said)
    box.setInformativeText(
        "A recent backup is what saves the office's cases when a disk fails or the database "
        f"is damaged. Back up now? The copy goes to the office's backup folder, {folder}."
    )
    now_button = box.addButton("&Back up now", QMessageBox.ButtonRole.AcceptRole)
    now_button.setObjectName("stale_back_up_now")
    later = box.addButton("&Later", QMessageBox.ButtonRole.RejectRole)
    later.setObjectName("stale_later")
    box.setDefaultButton(now_button)
    box.setEscapeButton(later)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    runner = BackupRunner(window)
    runner.setObjectName("stale_backup_runner")

    def clicked(button: object) -> None:
        if button is now_button:
            back_up_for(window, runner, db, paths, actor)

    box.buttonClicked.connect(clicked)
    box.show()
    return box


def back_up_for(
    window: QMainWindow, runner: BackupRunner, db: Database, paths: AppPaths, actor: Actor
) -> Task | None:
    """A backup into the office's folder that someone asked for (any role), with progress."""

    def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> BackupMade:
        made = backups.automatic_backup(db, paths, progress=progress, cancelled=cancelled)
        backups.record_backup(db, actor, made.path)
        return made

    def done(made: BackupMade) -> None:
        window.statusBar().showMessage(f"Backed up to {made.path}.", 15000)

    def failed(problem: str) -> None:
        window.statusBar().showMessage("The backup failed.", 15000)
        show_warning(window, "Backup failed", f"The backup was not made: {problem}")

    runner.succeeded.connect(done)
    runner.failed.connect(failed)
    runner.cancelled.connect(
        lambda: window.statusBar().showMessage("Backup cancelled; nothing was written.", 8000)
    )
    return runner.start(
        work,
        title="Back up now",
        text="Copying the office's database to the backup folder…",
        note="The copy is checked before it is kept; cancelling leaves no file.",
    )
