"""Run slow work (large files, PDF text) on a worker thread, reporting back on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


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
