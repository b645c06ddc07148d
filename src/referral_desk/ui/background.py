"""Run slow work (large files, PDF text) on a worker thread, reporting back on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from referral_desk.ui.fields import HINT_STYLE


class Cancelled(Exception):
    """Raised inside the work when the user pressed Cancel; nothing half-done is kept."""


class Task(QObject):
    """One piece of work: `work(task)` runs on a pool thread and may call `task.report`."""

    progress = Signal(int, int)  # done, total
    finished = Signal(object)  # what the work returned
    failed = Signal(object)  # the exception it raised (Cancelled included)

    def __init__(self, work: Callable[[Task], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self.running = False

    def start(self) -> None:
        self.running = True
        self._done.clear()
        QThreadPool.globalInstance().start(_Runner(self))

    def wait(self) -> None:
        """Block until the work has returned and said so (at once if it is not running)."""
        self._done.wait()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, done: int, total: int) -> None:
        """From the work: show progress, and stop here if the user cancelled."""
        if self._cancel.is_set():
            raise Cancelled
        self.progress.emit(done, total)

    def _run(self) -> None:
        try:
            try:
                result = self._work(self)
            except BaseException as exc:  # handed to the GUI thread, which decides what to show
                self.running = False
                self.failed.emit(exc)
            else:
                self.running = False
                self.finished.emit(result)
        finally:
            self._done.set()  # after the last signal: the owner may now delete this object


class _Runner(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task = task

    def run(self) -> None:
        self._task._run()


class TaskSet:
    """A window's tasks, each kept until it has sent its last signal and only then deleted,
    so nothing a worker thread still touches is collected under it."""

    def __init__(self, owner: QObject) -> None:
        self._owner = owner
        self._running: set[Task] = set()  # every task not yet released, stale ones included

    def new(self, work: Callable[[Task], Any]) -> Task:
        task = Task(work, self._owner)
        self._running.add(task)
        return task

    def release(self, sender: QObject | None) -> Task | None:
        """From a task's last signal (pass `self.sender()`): the task, now safe to drop."""
        if not isinstance(sender, Task):
            return None
        self._running.discard(sender)
        sender.wait()
        sender.deleteLater()
        return sender

    def stop_all(self) -> None:
        """Cancel whatever runs and wait for it: nothing may outlive the window."""
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            task.wait()


class ProgressDialog(QDialog):
    """Progress with Cancel. Closing the window or Esc means Cancel, and the dialog stays until
    the work has stopped and calls finish(): nothing is left half-done behind a closed dialog.
    Without Cancel, closing simply waits for the end."""

    cancel_requested = Signal()

    def __init__(
        self,
        title: str,
        text: str,
        parent: QWidget | None,
        *,
        note: str = "",
        cancellable: bool = True,
        min_width: int = 380,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self._done = False
        self.label = QLabel(text)
        self.label.setMinimumWidth(min_width)
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the first step says how far
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(HINT_STYLE)
        self.note.setVisible(bool(note))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.request_cancel)
        self.cancel_button.setVisible(cancellable)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.note)
        layout.addLayout(buttons)

    def show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(done)

    def follow(self, task: Task) -> None:
        """Show `task`'s progress, let Cancel stop it, and start it (its finished and failed
        signals are the caller's to connect first)."""
        task.progress.connect(self.show_progress)
        self.cancel_requested.connect(task.cancel)
        self.open()
        task.start()

    @property
    def cancelling(self) -> bool:
        return not self.cancel_button.isEnabled()

    def request_cancel(self) -> None:
        if not self.cancel_button.isVisible() or self.cancelling:
            return
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self.cancel_requested.emit()

    def finish(self) -> None:
        self._done = True
        self.accept()

    def reject(self) -> None:  # Esc
        if self._done:
            super().reject()
        else:
            self.request_cancel()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._done:
            super().closeEvent(event)
            return
        event.ignore()
        self.request_cancel()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.reject()
            return
        super().keyPressEvent(event)
