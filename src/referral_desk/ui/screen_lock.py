"""The automatic screen lock: after a while without input every window of the app is covered,
and only the signed-in person's password uncovers them, with everything as it was left.

Nothing is closed or reloaded while locked: windows are only covered, so a half-typed case or
payment survives. The unlock prompt is an application-modal window shown after every other
one, so it takes input even over a modal dialog that was open when the lock came.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QMouseEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from referral_desk import APP_NAME
from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor
from referral_desk.services import accounts
from referral_desk.services.accounts import SignInRefused
from referral_desk.services.errors import ServiceError
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.fields import fit_height
from referral_desk.ui.sign_in import WAIT_HINT, Countdown

log = logging.getLogger("referral_desk")

# Input that shows someone is at the keyboard. A mouse move counts only once the pointer has
# travelled a little (MOVE_COUNTS_AFTER_PX): a nudged desk or a jittery optical mouse must not
# keep patient records on an unattended screen, while someone pointing along a letter as they
# read it is clearly there.
ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)
MOVE_COUNTS_AFTER_PX = 24
# Windows that can show data. Menus, combo lists and tooltips are closed instead.
COVERED_TYPES = frozenset(
    {
        Qt.WindowType.Window,
        Qt.WindowType.Dialog,
        Qt.WindowType.Sheet,
        Qt.WindowType.Drawer,
        Qt.WindowType.Tool,
    }
)
LOCKED_TITLE = f"{APP_NAME} · locked"
OVERLAY_COLOUR = "#263238"


def who(actor: Actor, full_name: str = "") -> str:
    """The signed-in person as the lock shows them: "María Intake (maria.intake), staff"."""
    named = f"{full_name} ({actor.name})" if full_name and full_name != actor.name else actor.name
    return f"{named}, {actor.role.label.lower()}"


class LockOverlay(QWidget):
    """Covers one window while locked: opaque, above every other child, following the
    window's size. The window's title (a case window's names the patient) is replaced too."""

    def __init__(self, window: QWidget, text: str) -> None:
        super().__init__(window)
        self.setObjectName("screen_lock_overlay")
        # No Python reference to the window (parentWidget() instead): a child's wrapper that
        # holds its parent's crashed PySide 6.12 when deleted from inside a modal dialog.
        self.saved_title = window.windowTitle()
        self._retitling = False
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(OVERLAY_COLOUR))
        palette.setColor(QPalette.ColorRole.WindowText, QColor("#ffffff"))
        self.setPalette(palette)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        heading = QLabel(f"{APP_NAME} is locked", objectName="screen_lock_heading")
        # A style sheet drops the inherited palette: the colour is given again here.
        heading.setStyleSheet("font-size: 16pt; font-weight: bold; color: #ffffff;")
        self.text = QLabel(text, objectName="screen_lock_text")
        self.text.setWordWrap(True)
        for label in (heading, self.text):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        layout.addStretch(1)
        self._set_title(LOCKED_TITLE)
        window.installEventFilter(self)
        self.setGeometry(window.rect())
        self.show()
        self.raise_()

    def _set_title(self, title: str) -> None:
        self._retitling = True
        try:
            self.parentWidget().setWindowTitle(title)
        finally:
            self._retitling = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget():
            kind = event.type()
            if kind == QEvent.Type.Resize:
                self.setGeometry(self.parentWidget().rect())
            elif kind == QEvent.Type.ChildAdded:
                # A child added later would stack above the cover: raise it again.
                QTimer.singleShot(0, self, self.raise_)
            elif kind == QEvent.Type.WindowTitleChange and not self._retitling:
                # A refresh behind the cover renamed the window: keep the new name for later.
                self.saved_title = self.parentWidget().windowTitle()
                self._set_title(LOCKED_TITLE)
        return super().eventFilter(watched, event)

    def remove(self) -> None:
        self.parentWidget().removeEventFilter(self)
        self._set_title(self.saved_title)
        self.hide()
        self.deleteLater()

    # Clicks and the wheel stop here, never reaching what lies under the cover.
    def mousePressEvent(self, event: QMouseEvent) -> None:
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        event.accept()


class UnlockDialog(QDialog):
    """The password of the person who is signed in, or signing out (unsaved work is lost)."""

    unlock_requested = Signal(str)
    sign_out_requested = Signal()

    def __init__(self, name: str, text: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("unlock_dialog")
        self.setWindowTitle(LOCKED_TITLE)
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        self._finished = False
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"{text} Type your password to go on:\nevery window is as you left it.",
            objectName="unlock_intro",
        )
        layout.addWidget(intro)
        user = QLineEdit(name, objectName="unlock_user")
        user.setReadOnly(True)  # only the person signed in can unlock: switching is signing out
        self.password = QLineEdit(objectName="unlock_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow("User name:", user)
        form.addRow("&Password:", self.password)
        layout.addLayout(form)
        self.message = QLabel(objectName="unlock_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.unlock_button = buttons.addButton("&Unlock", QDialogButtonBox.ButtonRole.AcceptRole)
        self.unlock_button.setObjectName("unlock_button")
        self.unlock_button.setDefault(True)
        self.sign_out_button = buttons.addButton(
            "Sign &out…", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.sign_out_button.setObjectName("sign_out_button")
        self.sign_out_button.setToolTip(
            "For someone else to sign in. Unsaved work in the open windows is lost."
        )
        self.sign_out_button.clicked.connect(self._confirm_sign_out)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.countdown = Countdown(self.unlock_button, self)
        self.setMinimumWidth(400)

    def accept(self) -> None:
        if not self.countdown.running:
            self.unlock_requested.emit(self.password.text())

    def reject(self) -> None:
        """Esc leaves the screen locked."""

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._finished:  # the window manager's close button: stay locked
            event.ignore()
            return
        super().closeEvent(event)

    def refuse(self, message: str, wait: timedelta | None) -> None:
        self.message.setText(f"{message} {WAIT_HINT}" if wait else message)
        self.message.show()
        fit_height(self)
        self.password.clear()
        self.password.setFocus()
        if wait:
            self.countdown.start(wait)

    def finish(self) -> None:
        self._finished = True
        self.hide()
        self.deleteLater()

    def _confirm_sign_out(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Sign out",
            "Sign out now? Anything not saved in the open windows (a case being edited, a "
            "payment half typed in) is lost. To keep it, unlock with your password and save.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("confirm_sign_out_box")
        confirm = box.addButton("Sign out, lose unsaved work", QMessageBox.ButtonRole.AcceptRole)
        confirm.setObjectName("confirm_sign_out")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        chosen = box.clickedButton() is confirm
        box.deleteLater()
        if chosen:
            self.sign_out_requested.emit()


class ScreenLock(QObject):
    """Watches the whole application's input; after `minutes` without any, or on `lock()`,
    covers every window and asks for `actor`'s password."""

    locked = Signal()
    unlocked = Signal()
    sign_out_requested = Signal()  # from the prompt, confirmed: unsaved work may be dropped

    def __init__(
        self,
        db: Database,
        actor: Actor,
        window: QWidget,
        *,
        minutes: int,
        full_name: str = "",
    ) -> None:
        super().__init__(window)  # parent() is the window: no second reference to it
        self._db, self._actor = db, actor
        self._who = who(actor, full_name)
        self._locked = False
        self._overlays: list[LockOverlay] = []
        self._was_active: QWidget | None = None
        self._last_move: QPointF | None = None
        self.prompt: UnlockDialog | None = None
        self.idle_timer = QTimer(self, singleShot=True)
        self.idle_timer.timeout.connect(lambda: self.lock("idle"))
        self.set_minutes(minutes)
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)  # removed by Qt when this object goes

    @property
    def is_locked(self) -> bool:
        return self._locked

    @property
    def overlays(self) -> list[LockOverlay]:
        return [o for o in self._overlays if shiboken6.isValid(o)]

    def set_minutes(self, minutes: int) -> None:
        self.idle_timer.setInterval(minutes * 60_000)
        if not self._locked:
            self.idle_timer.start()

    # --- watching for input ----------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if self._locked:
            if kind == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
                self._window_shown(watched)
        elif kind in ACTIVITY:
            self.idle_timer.start()
        elif kind == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
            where = event.globalPosition()
            if (
                self._last_move is None
                or (where - self._last_move).manhattanLength() > MOVE_COUNTS_AFTER_PX
            ):
                self._last_move = where
                self.idle_timer.start()
        return False

    def _window_shown(self, window: QWidget) -> None:
        """A window opened behind the lock (a message from a background task): cover it
        too, and keep the prompt in front, above a new modal window as well."""
        if self._covers(window):
            self._cover(window)
            QTimer.singleShot(0, self, self._bring_prompt_forward)

    def _covers(self, widget: QWidget) -> bool:
        if widget.windowType() not in COVERED_TYPES:
            return False
        ancestor: QWidget | None = widget
        while ancestor is not None:  # the prompt and its confirmation stay uncovered
            if ancestor is self.prompt:
                return False
            ancestor = ancestor.parentWidget()
        return True

    def _cover(self, window: QWidget) -> None:
        if any(overlay.parentWidget() is window for overlay in self.overlays):
            return
        self._overlays.append(LockOverlay(window, f"Signed in: {self._who}."))

    # --- locking and unlocking -------------------------------------------------------
    def lock(self, detail: str = "idle") -> None:
        if self._locked:
            return
        self._locked = True
        self.idle_timer.stop()
        self._was_active = QApplication.activeWindow()
        for _ in range(10):  # menus and combo lists open over each other
            popup = QApplication.activePopupWidget()
            if popup is None:
                break
            popup.close()
        QToolTip.hideText()
        for widget in QApplication.topLevelWidgets():
            if widget.isVisible() and self._covers(widget):
                self._cover(widget)
        since = datetime.now().strftime("%H:%M")
        window = self.parent()
        assert isinstance(window, QWidget)
        self.prompt = UnlockDialog(self._actor.name, f"Locked at {since}.", window)
        self.prompt.unlock_requested.connect(self.unlock)
        self.prompt.sign_out_requested.connect(self.sign_out_requested)
        self._bring_prompt_forward()
        try:
            accounts.record_lock(self._db, self._actor, detail=detail)
        except ServiceError:  # the cover matters more than the entry: lock all the same
            log.exception("could not record the screen lock in the audit trail")
        self.locked.emit()

    def _bring_prompt_forward(self) -> None:
        prompt = self.prompt
        if not self._locked or prompt is None:
            return
        if prompt.isVisible():
            prompt.hide()  # shown again below: on top of every modal window opened since
        prompt.show()
        prompt.raise_()
        prompt.activateWindow()
        prompt.password.setFocus()

    def unlock(self, password: str) -> bool:
        """Uncover everything if `password` is the signed-in person's; the prompt says why not."""
        if not self._locked:
            return True
        try:
            accounts.sign_in(self._db, self._actor.name, password, unlocking=True)
        except SignInRefused as refused:
            if self.prompt is not None:
                self.prompt.refuse(str(refused), refused.wait)
            return False
        except ServiceError as exc:
            if self.prompt is not None:
                self.prompt.refuse(str(exc), None)
            return False
        was_active = self._was_active
        self._uncover()
        self.idle_timer.start()
        if was_active is not None and shiboken6.isValid(was_active):
            was_active.activateWindow()  # back to the window the person was working in
        self.unlocked.emit()
        return True

    def _uncover(self) -> None:
        self._locked = False
        for overlay in self.overlays:
            overlay.remove()
        self._overlays.clear()
        self._was_active = None
        if self.prompt is not None:
            self.prompt.finish()
            self.prompt = None

    def shut_down(self) -> None:
        """Signing out: stop watching and take the cover and prompt away (the windows are
        closing behind them)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.idle_timer.stop()
        self._uncover()
