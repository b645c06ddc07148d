"""Reads the text of newly stored PDFs in the background, so the case search finds it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from referral_desk.db.engine import Database
from referral_desk.services import files
from referral_desk.ui.background import Task


class TextReader(QObject):
    done = Signal(int)  # how many PDFs were read this round

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._task: Task | None = None
        self._again = False
        self._stopped = False

    @property
    def busy(self) -> bool:
        return self._task is not None and self._task.running

    def start(self) -> None:
        """Read whatever is waiting; called again while busy, it runs once more afterwards."""
        if self._stopped:
            return
        if self.busy:
            self._again = True
            return
        self._again = False
        db = self._db
        task = Task(lambda t: files.extract_pending_text(db, cancelled=lambda: t.cancelled), self)
        task.finished.connect(self._finished)
        task.failed.connect(self._failed)
        self._task = task
        task.start()

    def _finished(self, count: int) -> None:
        if self._stopped:  # the window closed meanwhile: nobody is left to tell
            return
        self.done.emit(count)
        if self._again:
            self.start()

    def _failed(self, exc: BaseException) -> None:
        raise exc  # a bug, not a bad PDF (those are noted on the file): let the hook report it

    def stop(self) -> None:
        """For good: a result still on its way is dropped and no new round starts."""
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
