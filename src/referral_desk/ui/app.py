"""Start the application window on a data folder."""

from __future__ import annotations

import logging
import subprocess
import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from referral_desk import APP_NAME, __version__
from referral_desk.identity import current_user
from referral_desk.paths import AppPaths
from referral_desk.resource_files import resource_path
from referral_desk.services import demo as demo_data
from referral_desk.services.database import open_database
from referral_desk.services.errors import ServiceError
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.errors import configure_logging, install_exception_hook
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.window_state import WindowState

DEMO_CASES = 400
log = logging.getLogger("referral_desk")


def open_demo_office() -> None:
    """A separate window on a throwaway database, so the office's data is never mixed in."""
    command = (
        [sys.executable, "--demo"]
        if getattr(sys, "frozen", False)
        else [sys.executable, "-m", "referral_desk", "--demo"]
    )
    subprocess.Popen(command)


def run(paths: AppPaths, *, demo: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons/referral-desk.svg"))))
    paths.ensure()
    log_path = configure_logging(paths.log_dir)
    install_exception_hook(log_path)
    log.info("starting %s %s on %s", APP_NAME, __version__, paths.database)
    try:
        db = open_database(paths)
    except ServiceError as exc:
        QMessageBox.critical(None, APP_NAME, str(exc))
        return 1
    if demo:
        demo_data.generate(db, DEMO_CASES, seed=1)
    changes = ChangeBus(db.path)
    window = MainWindow(
        db,
        current_user(),
        WindowState(paths.settings_file),
        changes,
        on_open_demo=None if demo else open_demo_office,
    )
    if demo:
        window.setWindowTitle(f"{APP_NAME} · DEMO OFFICE (throwaway data)")
    window.show()
    code = app.exec()
    changes.close()
    db.dispose()
    return code
