"""Automatic backups while the app is open, and one when it closes.

Every few minutes the schedule asks whether a backup is due (domain/backups.is_due, with the
interval from the backup settings) and, if so, makes one off the GUI thread. Nobody is
interrupted: a backup that fails is reported once (a status-bar message and a warning that
does not block), and retried at the next check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from referral_desk.db.engine import Database
from referral_desk.domain import backups as rules
from referral_desk.paths import AppPaths
from referral_desk.services import backups
from referral_desk.services.backups import BackupMade
from referral_desk.ui.background import Task, TaskSet
from referral_desk.ui.backups_window import problem_text

log = logging.getLogger(__name__)

CHECK_EVERY_MS = 5 * 60_000
# After a failure (a disk unplugged, a full folder) the next try waits a while: a copy and
# its integrity check are not repeated every few minutes against the same problem.
RETRY_AFTER_FAILURE = timedelta(minutes=30)


def _now() -> datetime:
    return datetime.now(UTC)


def failure_text(folder: Path, problem: str) -> str:
    """The warning: what failed, where, and that the work itself is safe."""
    text = f"The automatic backup failed: {problem}"
    if str(folder) not in problem:
        text += f" (backup folder: {folder})"
    if "Settings ▸ Backups" not in problem:
        text += " An administrator can choose another folder in Settings ▸ Backups."
    return f"{text}\n\nYour work is saved as usual; only the backup copy is missing."


class BackupSchedule(QObject):
    made = Signal(object)  # BackupMade
    failed = Signal(str)  # what went wrong, naming the folder

    def __init__(
        self,
        db: Database,
        paths: AppPaths,
        parent: QObject | None = None,
        *,
        clock: Callable[[], datetime] = _now,
        interval_ms: int = CHECK_EVERY_MS,
    ) -> None:
        super().__init__(parent)
        self._db, self._paths, self._clock = db, paths, clock
        self._tasks = TaskSet(self)
        self.task: Task | None = None
        self._folder: Path = paths.backup_dir
        self._retry_at: datetime | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check_now)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        """Before the app closes: a backup still running is cancelled (nothing half-written
        is kept) and waited for."""
        self._timer.stop()
        self._tasks.stop_all()

    def check_now(self) -> Task | None:
        """Make a backup in the background if one is due; None when not (or one runs)."""
        if self.task is not None:
            return None
        now = self._clock()
        if self._retry_at is not None and now < self._retry_at:
            return None
        settings = backups.load_settings(self._paths)
        automatic = backups.list_automatic(settings.folder)
        newest = automatic[0][0] if automatic else None
        if not rules.is_due(newest, now, settings.interval_hours):
            return None
        db, paths = self._db, self._paths
        self._folder = settings.folder

        def work(task: Task) -> BackupMade:
            return backups.automatic_backup(db, paths, now=now, cancelled=lambda: task.cancelled)

        task = self._tasks.new(work)
        task.finished.connect(self._made)
        task.failed.connect(self._failed)
        self.task = task
        task.start()
        return task

    def _made(self, made: BackupMade) -> None:
        self._tasks.release(self.sender())
        self.task = None
        self._retry_at = None
        log.info("automatic backup %s (rotation removed %d)", made.path, len(made.removed))
        self.made.emit(made)

    def _failed(self, exc: BaseException) -> None:
        self._tasks.release(self.sender())
        self.task = None
        if isinstance(exc, backups.BackupCancelled):
            return
        self._retry_at = self._clock() + RETRY_AFTER_FAILURE
        problem = problem_text(exc)
        if problem is None:  # a bug: logged, never a crash in the middle of someone's work
            log.error("automatic backup failed unexpectedly", exc_info=exc)
            problem = f"an unexpected error ({type(exc).__name__}); see the log."
        log.warning("automatic backup to %s failed: %s", self._folder, problem)
        self.failed.emit(failure_text(self._folder, problem))


def back_up_on_close(db: Database, paths: AppPaths) -> Path | None:
    """The backup made as the app closes, waited for (well under a second for an office);
    a failure is logged, the app still closes normally."""
    try:
        made = backups.automatic_backup(db, paths)
    except Exception:
        log.warning("the backup on close failed", exc_info=True)
        return None
    log.info("backup on close: %s", made.path)
    return made.path
