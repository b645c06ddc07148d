"""Start the application: sign in (or create the first administrator), then the main window."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from referral_desk import APP_NAME, __version__
from referral_desk.db.engine import Database
from referral_desk.paths import AppPaths
from referral_desk.resource_files import resource_path
from referral_desk.services import accounts
from referral_desk.services import demo as demo_data
from referral_desk.services.accounts import SignedIn
from referral_desk.services.database import open_database
from referral_desk.services.errors import ServiceError
from referral_desk.ui import startup_checks
from referral_desk.ui.backup_schedule import BackupSchedule, back_up_on_close
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.child_environment import hand_back_system_paths
from referral_desk.ui.errors import configure_logging, install_exception_hook
from referral_desk.ui.main_window import QUIT, MainWindow
from referral_desk.ui.sign_in import ChangePasswordDialog, FirstRunDialog, SignInDialog
from referral_desk.ui.window_state import WindowState

DEMO_CASES = 400
log = logging.getLogger("referral_desk")


def open_demo_office() -> None:
    """A separate window on a throwaway database, so the office's data is never mixed in."""
    if getattr(sys, "frozen", False):
        # The installed app starts itself again: as an app of its own, which may stay open
        # after this one quits (PyInstaller would otherwise treat it as this one's helper).
        env = {**os.environ, "PYINSTALLER_RESET_ENVIRONMENT": "1"}
        subprocess.Popen([sys.executable, "--demo"], env=env)
    else:
        subprocess.Popen([sys.executable, "-m", "referral_desk", "--demo"])


class Desk:
    """One seat, one person at a time: sign in (the first run creates the administrator), a
    main window for whoever signed in, and back to sign-in on a switch of user or a sign-out.
    Cancelling the sign-in, or closing the main window, quits.

    Each step shows its dialog without blocking (show(), not exec()): a sign-out can come from
    the lock prompt while a modal dialog's exec() is still on the stack, and a nested
    sign-in loop there would keep that dialog's caller waiting under the next person's session.

    With `paths` (the app, not a test of signing in alone) the first sign-in of a run warns
    when the newest backup is too old, and automatic backups that fail are reported here.
    """

    def __init__(
        self,
        db: Database,
        window_state: WindowState,
        changes: ChangeBus,
        *,
        quit_app: Callable[[], None],
        demo: bool = False,
        on_open_demo: Callable[[], None] | None = None,
        paths: AppPaths | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db, self._state, self._changes = db, window_state, changes
        self._quit, self._demo, self._on_open_demo = quit_app, demo, on_open_demo
        self._paths, self._clock = paths, clock
        # The old-backup warning: once a run, at the first sign-in (not at every switch).
        self._backup_age_checked = paths is None or demo
        self.backup_prompt: QMessageBox | None = None
        # A failed automatic backup is retried; the warning comes once until one succeeds.
        self._backup_failure_told = False
        self.dialog: QDialog | None = None  # the sign-in step on screen now
        self.window: MainWindow | None = None
        # Filled in only when the same person signs in again at once (no new password
        # chosen): after a switch of user the next person types their own name, and their
        # password never counts as a failure against the last person's account.
        self._same_person = ""

    def start(self) -> None:
        """Ask who is at the keyboard: the first administrator on a database without
        accounts (a new one, or one made before accounts existed), otherwise a sign-in."""
        if accounts.has_accounts(self._db):
            dialog: QDialog = SignInDialog(self._db, demo=self._demo, name=self._same_person)
            self._same_person = ""
        else:
            dialog = FirstRunDialog(self._db)
        self._open(dialog, self._identified)

    def _open(self, dialog: QDialog, then: Callable[[QDialog, int], None]) -> None:
        self.dialog = dialog
        # Application-modal (open() would make it window-modal, which with no parent blocks
        # nothing): a window still closing from the last session takes no input.
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
        dialog.finished.connect(lambda code: self._step_done(dialog, code, then))
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _step_done(self, dialog: QDialog, code: int, then: Callable[[QDialog, int], None]) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()  # after this handler: its answers are read first
        then(dialog, code)

    def _identified(self, dialog: QDialog, code: int) -> None:
        if code != QDialog.DialogCode.Accepted:
            # A first run whose account another seat created meanwhile asks for a sign-in.
            if isinstance(dialog, FirstRunDialog) and accounts.has_accounts(self._db):
                self.start()
            else:
                self._quit()
            return
        assert isinstance(dialog, (SignInDialog, FirstRunDialog))
        signed = dialog.signed_in
        assert signed is not None
        if signed.must_change_password:
            current = dialog.typed_password if isinstance(dialog, SignInDialog) else None
            change = ChangePasswordDialog(self._db, signed.actor, current=current)
            self._open(change, lambda _d, c: self._password_chosen(signed, c))
            return
        self._open_main(signed)

    def _password_chosen(self, signed: SignedIn, code: int) -> None:
        if code != QDialog.DialogCode.Accepted:  # no new password: no session
            accounts.record_sign_out(self._db, signed.actor, detail="did not choose a new password")
            self._same_person = signed.actor.name
            self.start()
            return
        self._open_main(signed)

    def _open_main(self, signed: SignedIn) -> None:
        window = MainWindow(
            self._db,
            signed.actor,
            self._state,
            self._changes,
            full_name=signed.full_name,
            on_open_demo=self._on_open_demo,
            demo=self._demo,
            paths=self._paths,
        )
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # with every child window
        window.closed.connect(lambda why: self._main_closed(window, why))
        self.window = window
        window.show()
        window.raise_()
        window.activateWindow()
        if not self._backup_age_checked and self._paths is not None:
            self._backup_age_checked = True
            self.backup_prompt = startup_checks.offer_backup_if_stale(
                window, self._db, self._paths, signed.actor, self._clock()
            )

    def backup_failed(self, problem: str) -> None:
        """An automatic backup failed: said on the status bar, and once in a warning that
        does not block (until a backup succeeds again)."""
        if self.window is not None:
            self.window.statusBar().showMessage("The automatic backup failed.", 60_000)
        if not self._backup_failure_told:
            self._backup_failure_told = True
            startup_checks.show_warning(self.window, "Automatic backup failed", problem)

    def backup_made(self) -> None:
        self._backup_failure_told = False
        if self.window is not None:
            self.window.statusBar().showMessage("Automatic backup made.", 8000)

    def _main_closed(self, window: MainWindow, why: str) -> None:
        if self.window is window:
            self.window = None
        accounts.record_sign_out(self._db, window.actor, detail=why)
        if why == QUIT:
            self._quit()
        else:
            self.start()


def run(paths: AppPaths, *, demo: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    # The Wayland app id: the dock finds the menu entry (installer/linux) and its icon.
    app.setDesktopFileName("referral-desk")
    app.setWindowIcon(QIcon(str(resource_path("icons/referral-desk.svg"))))
    hand_back_system_paths()  # the installed app's PDF viewer gets the system's libraries
    paths.ensure()
    log_path = configure_logging(paths.log_dir)
    install_exception_hook(log_path)
    log.info("starting %s %s on %s", APP_NAME, __version__, paths.database)
    # Before anything opens the file: a damaged database is offered its newest good backup,
    # and nothing is overwritten unless the user says so.
    if not startup_checks.check_database(paths):
        return 1
    startup_checks.warn_if_on_network(paths)
    try:
        db = open_database(paths)
    except ServiceError as exc:
        QMessageBox.critical(None, APP_NAME, str(exc))
        return 1
    if demo:
        demo_data.generate(db, DEMO_CASES, seed=1)
        accounts.create_demo_accounts(db)
    changes = ChangeBus(db.path)
    # Between two people no window is open; the desk quits when it is time.
    app.setQuitOnLastWindowClosed(False)
    desk = Desk(
        db,
        WindowState(paths.settings_file),
        changes,
        quit_app=app.quit,
        demo=demo,
        on_open_demo=None if demo else open_demo_office,
        paths=paths,
    )
    # The demo's throwaway folder is removed on close: no backups of it.
    schedule = None if demo else BackupSchedule(db, paths)
    if schedule is not None:
        schedule.failed.connect(desk.backup_failed)
        schedule.made.connect(lambda _made: desk.backup_made())
        schedule.start()
    desk.start()
    code = app.exec()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the last windows, on this thread
    if schedule is not None:
        schedule.stop()
        back_up_on_close(db, paths)
    changes.close()
    db.dispose()
    return code
