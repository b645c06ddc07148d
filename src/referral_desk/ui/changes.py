"""Tell every open screen when cases changed, here or in another window or program."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from referral_desk.services.change_watch import ChangeWatcher

POLL_MS = 2_000


class ChangeBus(QObject):
    cases_changed = Signal()

    def __init__(self, database_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._watcher = ChangeWatcher(database_file)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def notify(self) -> None:
        """Called after this window saved something."""
        self._watcher.changed()  # our own commit: don't announce it twice
        self.cases_changed.emit()

    def _poll(self) -> None:
        if self._watcher.changed():
            self.cases_changed.emit()

    def close(self) -> None:
        self._timer.stop()
        self._watcher.close()
