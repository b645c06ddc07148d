"""One place for unexpected errors: log them, write a report, show what the user can act on."""

from __future__ import annotations

import logging
import platform
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from referral_desk import __version__
from referral_desk.services.errors import environment_problem

log = logging.getLogger("referral_desk")
LOG_FILE = "referral-desk.log"


def configure_logging(log_dir: Path) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("referral_desk")
    root.handlers = [h for h in root.handlers if not isinstance(h, RotatingFileHandler)]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def error_report(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    lines = "".join(traceback.format_exception(exc_type, exc, tb))
    return (
        f"Referral Desk {__version__} on Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}\n\n{lines}"
    )


class ErrorDialog(QDialog):
    """A bug happened: say so plainly and give a report the user can copy to support."""

    def __init__(self, report: str, log_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Referral Desk: something went wrong")
        layout = QVBoxLayout(self)
        where = f" It was also written to {log_path}." if log_path else ""
        intro = QLabel(
            "Referral Desk hit an unexpected error. What you saved before is safe. "
            f"Please send the report below to your support contact.{where}"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.report = QPlainTextEdit(report)
        self.report.setReadOnly(True)
        layout.addWidget(self.report)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy report", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(report))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 420)


def install_exception_hook(log_path: Path | None) -> None:
    # Timers keep retrying while a disk or file is unavailable: one box at a time is enough.
    showing = False

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        nonlocal showing
        message = environment_problem(exc)
        if message is not None:
            log.warning("database environment problem: %s", exc)
            if QApplication.instance() is not None and not showing:
                showing = True
                try:
                    QMessageBox.warning(QApplication.activeWindow(), "Referral Desk", message)
                finally:
                    showing = False
            return
        report = error_report(exc_type, exc, tb)
        log.error("unexpected error\n%s", report)
        if QApplication.instance() is not None:
            ErrorDialog(report, log_path, QApplication.activeWindow()).exec()
        else:
            sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = hook
