"""Who is at the keyboard: the first run's administrator, signing in, and choosing a password.

The dialogs only collect what is typed and show the services' answers; the rules (names,
password length, slow-downs and lockouts) live in domain/access and services/accounts.
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import replace
from datetime import timedelta

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from referral_desk import APP_NAME
from referral_desk.db.engine import Database
from referral_desk.domain.access import MIN_PASSWORD_LENGTH, Actor, password_problem
from referral_desk.services import accounts, case_list, office
from referral_desk.services.accounts import SignedIn, SignInRefused
from referral_desk.services.errors import ServiceError, ValidationError
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.fields import MISMATCH, MessageField, fit_height, password_box

DEMO_STYLE = "background: #fff3cd; border: 1px solid #e0b252; border-radius: 4px; padding: 6px;"
WAIT_HINT = "After several wrong tries the next one waits a little (counted on the button)."


class Countdown(QObject):
    """Keeps a button disabled for a while, counting the seconds down on it, after the
    services asked for a pause between sign-in attempts."""

    def __init__(self, button: QPushButton, parent: QObject) -> None:
        super().__init__(parent)
        self._button = button
        self._label = button.text()
        self._deadline = 0.0
        self._timer = QTimer(self, interval=250)  # a quarter second: the count never lags
        self._timer.timeout.connect(self._tick)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self, wait: timedelta) -> None:
        self._deadline = time.monotonic() + wait.total_seconds()
        self._button.setEnabled(False)
        self._timer.start()
        self._tick()

    def _tick(self) -> None:
        left = math.ceil(self._deadline - time.monotonic())
        if left <= 0:
            self._timer.stop()
            self._button.setText(self._label)
            self._button.setEnabled(True)
            return
        self._button.setText(f"{self._label} ({left} s)")


def _message_label(name: str) -> QLabel:
    label = QLabel(objectName=name)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


class SignInDialog(QDialog):
    """User name and password. A refusal says why and, after repeated failures, the Sign in
    button waits as long as the services ask."""

    def __init__(
        self,
        db: Database,
        parent: QWidget | None = None,
        *,
        demo: bool = False,
        name: str = "",
    ) -> None:
        super().__init__(parent)
        self._db = db
        self.signed_in: SignedIn | None = None
        # Kept only when the password must be changed now, so it is not asked for twice.
        self.typed_password = ""
        self.setObjectName("sign_in_dialog")
        self.setWindowTitle(f"Sign in · {APP_NAME}")
        layout = QVBoxLayout(self)
        office_name = office.get_profile(db).name
        heading = QLabel(
            f"<b>{html.escape(office_name or APP_NAME)}</b>", objectName="sign_in_heading"
        )
        heading.setTextFormat(Qt.TextFormat.RichText)
        heading.setStyleSheet("font-size: 14pt;")
        layout.addWidget(heading)
        layout.addWidget(QLabel("Sign in with your own account."))

        self.user_name = QLineEdit(name, objectName="user_name")
        self.password = password_box("password")
        form = QFormLayout()
        form.addRow("&User name:", self.user_name)
        form.addRow("&Password:", self.password)
        layout.addLayout(form)
        self.message = _message_label("sign_in_message")
        layout.addWidget(self.message)
        if demo:
            layout.addWidget(self._demo_hint())

        buttons = QDialogButtonBox()
        self.sign_in_button = buttons.addButton("&Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setObjectName("sign_in_button")
        self.sign_in_button.setDefault(True)
        quit_button = buttons.addButton("&Quit", QDialogButtonBox.ButtonRole.RejectRole)
        quit_button.setObjectName("quit_button")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.countdown = Countdown(self.sign_in_button, self)
        (self.password if name else self.user_name).setFocus()
        self.setMinimumWidth(380)

    def _demo_hint(self) -> QLabel:
        rows = "".join(
            f'<tr><td><a href="{name}">{name}</a></td><td>&nbsp;{role.label}</td></tr>'
            for name, _full_name, role in accounts.DEMO_ACCOUNTS
        )
        # Lines broken by hand, no word wrap: the dialog then sizes itself to the whole hint.
        hint = QLabel(
            "<b>Demo office.</b> Sign in as any of these, each with the<br>password "
            f"<b>{accounts.DEMO_PASSWORD}</b> (click a name to fill it in):"
            f"<table>{rows}</table>",
            objectName="demo_hint",
        )
        hint.setTextFormat(Qt.TextFormat.RichText)
        hint.setStyleSheet(DEMO_STYLE)
        hint.linkActivated.connect(self._use_demo_account)
        return hint

    def _use_demo_account(self, name: str) -> None:
        self.user_name.setText(name)
        self.password.setText(accounts.DEMO_PASSWORD)
        self.sign_in_button.setFocus()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        fit_height(self)

    def accept(self) -> None:
        if self.countdown.running:
            return
        name, password = self.user_name.text(), self.password.text()
        if not name.strip():
            self.show_message("Type your user name.")
            self.user_name.setFocus()
            return
        try:
            signed = accounts.sign_in(self._db, name, password)
        except SignInRefused as refused:
            self.show_message(f"{refused} {WAIT_HINT}" if refused.wait else str(refused))
            self.password.clear()
            self.password.setFocus()
            if refused.wait:
                self.countdown.start(refused.wait)
            return
        except ServiceError as exc:  # the database is locked or unreadable: say so, stay
            self.show_message(str(exc))
            return
        self.signed_in = signed
        self.typed_password = password if signed.must_change_password else ""
        super().accept()


class FirstRunDialog(QDialog):
    """The office's name and its first administrator, on a database with no accounts (a new
    office, or one whose data was made before accounts existed: its cases stay)."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.signed_in: SignedIn | None = None
        self.setObjectName("first_run_dialog")
        self.setWindowTitle(f"Welcome · {APP_NAME}")
        self._profile = office.get_profile(db)
        existing = case_list.status_counts(db).total
        layout = QVBoxLayout(self)
        heading = QLabel(f"<b>Welcome to {APP_NAME}</b>")
        heading.setStyleSheet("font-size: 14pt;")
        layout.addWidget(heading)
        if existing:
            text = (
                f"This office's {existing:,} case{'s' if existing != 1 else ''} stay as they "
                "are. From now on everyone signs in with their own account, and the audit "
                "trail records who did what. Create the first administrator: they add "
                "everyone else under Settings ▸ Users."
            )
        else:
            text = (
                "Give your office's name and create the first administrator. Everyone signs "
                "in with their own account; the administrator adds the others under "
                "Settings ▸ Users."
            )
        intro = QLabel(text, objectName="first_run_intro")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.office_name = QLineEdit(self._profile.name, objectName="office_name")
        self.office_field = MessageField(
            self.office_name,
            "Heads every letter. Address, logo and signature: Settings ▸ Office profile, later.",
        )
        office_box = QGroupBox("Office")
        office_form = QFormLayout(office_box)
        office_form.addRow("Office &name:", self.office_field)
        layout.addWidget(office_box)

        self.user_name = QLineEdit(objectName="user_name")
        self.user_name.setPlaceholderText("e.g. maria.garcia")
        self.full_name = QLineEdit(objectName="full_name")
        self.password = password_box("password")
        self.repeat = password_box("repeat")
        self.name_field = MessageField(self.user_name, "What they type to sign in: no spaces.")
        self.password_field = MessageField(
            self.password, f"At least {MIN_PASSWORD_LENGTH} characters; a few words work well."
        )
        self.repeat_field = MessageField(self.repeat)
        admin_box = QGroupBox("First administrator")
        admin_form = QFormLayout(admin_box)
        admin_form.addRow("&User name:", self.name_field)
        admin_form.addRow("&Full name:", self.full_name)
        admin_form.addRow("&Password:", self.password_field)
        admin_form.addRow("&Repeat password:", self.repeat_field)
        layout.addWidget(admin_box)
        self.message = _message_label("first_run_message")
        layout.addWidget(self.message)

        buttons = QDialogButtonBox()
        self.create_button = buttons.addButton(
            "&Create and sign in", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setObjectName("create_button")
        self.create_button.setDefault(True)
        buttons.addButton("&Quit", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        for box in (self.office_name, self.user_name, self.password, self.repeat):
            box.textChanged.connect(lambda _text: self._show_problems(final=False))
        (self.user_name if self._profile.name else self.office_name).setFocus()
        self.setMinimumWidth(460)

    def problems(self, *, final: bool) -> dict[str, str]:
        """What stops the administrator being created. While typing (`final` False) an empty
        box is not a problem yet, nor a repeat still shorter than the password."""
        found: dict[str, str] = {}
        name, password, repeat = self.user_name.text(), self.password.text(), self.repeat.text()
        details = replace(self._profile.details, name=self.office_name.text())
        if final or self.office_name.text():
            office_problem = office.check_details(details)[1].get("name")
            if office_problem:
                found["office"] = office_problem
        if final or name:
            name_problem = accounts.name_problem(name)
            if name_problem:
                found["name"] = name_problem
        if final or password:
            problem = password_problem(password, name)
            if problem:
                found["password"] = problem
        if (
            (final or len(repeat) >= len(password))
            and repeat != password
            and "password" not in found
        ):
            found["repeat"] = MISMATCH
        return found

    def _show_problems(self, *, final: bool) -> dict[str, str]:
        found = self.problems(final=final)
        self.office_field.show_problem(found.get("office", ""))
        self.name_field.show_problem(found.get("name", ""))
        self.password_field.show_problem(found.get("password", ""))
        self.repeat_field.show_problem(found.get("repeat", ""))
        return found

    def accept(self) -> None:
        found = self._show_problems(final=True)
        if found:
            first = {"office": self.office_name, "name": self.user_name}
            first |= {"password": self.password, "repeat": self.repeat}
            first[next(iter(found))].setFocus()
            return
        name, password = self.user_name.text(), self.password.text()
        try:
            actor = accounts.create_first_administrator(
                self._db, name, self.full_name.text(), password
            )
        except ValidationError as exc:
            self.name_field.show_problem(exc.errors.get("name", ""))
            self.password_field.show_problem(exc.errors.get("password", ""))
            return
        except ServiceError as exc:  # another seat created the first account meanwhile
            self.message.setText(f"{exc} Quit, then sign in with the account you were given.")
            self.message.show()
            self.create_button.setEnabled(False)
            return
        details = replace(self._profile.details, name=self.office_name.text())
        office.set_office_details(self._db, details, actor=actor)
        # Signing in (rather than trusting the new account) puts the first sign-in in the trail.
        self.signed_in = accounts.sign_in(self._db, name, password)
        super().accept()


class ChangePasswordDialog(QDialog):
    """The signed-in person chooses a new password. `current` given: the password they have
    just signed in with, which an administrator set and which must be replaced now (the
    dialog cannot be skipped: its Cancel signs out)."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        parent: QWidget | None = None,
        *,
        current: str | None = None,
    ) -> None:
        super().__init__(parent)
        self._db, self._actor = db, actor
        self._forced = current is not None
        self.setObjectName("change_password_dialog")
        self.setWindowTitle(f"Change my password · {APP_NAME}")
        layout = QVBoxLayout(self)
        if self._forced:
            intro = QLabel(
                f"{actor.name}: an administrator set a temporary password for you. Choose "
                "your own to go on; only you will know it."
            )
            intro.setWordWrap(True)
            layout.addWidget(intro)
        self.current = password_box("current_password")
        self.current.setText(current or "")
        self.new = password_box("new_password")
        self.repeat = password_box("repeat_password")
        self.current_field = MessageField(self.current)
        self.new_field = MessageField(
            self.new, f"At least {MIN_PASSWORD_LENGTH} characters; a few words work well."
        )
        self.repeat_field = MessageField(self.repeat)
        form = QFormLayout()
        form.addRow("&Current password:", self.current_field)
        form.addRow("&New password:", self.new_field)
        form.addRow("&Repeat new password:", self.repeat_field)
        form.setRowVisible(self.current_field, not self._forced)
        layout.addLayout(form)

        buttons = QDialogButtonBox()
        self.change_button = buttons.addButton(
            "&Change password", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.change_button.setObjectName("change_button")
        self.change_button.setDefault(True)
        cancel = buttons.addButton(
            "Sign &out" if self._forced else "Cancel", QDialogButtonBox.ButtonRole.RejectRole
        )
        cancel.setObjectName("cancel_button")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for box in (self.new, self.repeat):
            box.textChanged.connect(lambda _text: self._show_problems(final=False))
        (self.new if self._forced else self.current).setFocus()
        self.setMinimumWidth(420)

    def problems(self, *, final: bool) -> dict[str, str]:
        found: dict[str, str] = {}
        new, repeat = self.new.text(), self.repeat.text()
        if final and not self.current.text():
            found["current"] = "Type your current password."
        if final or new:
            problem = password_problem(new, self._actor.name)
            if problem:
                found["new"] = problem
        if (final or len(repeat) >= len(new)) and repeat != new and "new" not in found:
            found["repeat"] = MISMATCH
        return found

    def _show_problems(self, *, final: bool) -> dict[str, str]:
        found = self.problems(final=final)
        self.current_field.show_problem(found.get("current", ""))
        self.new_field.show_problem(found.get("new", ""))
        self.repeat_field.show_problem(found.get("repeat", ""))
        return found

    def accept(self) -> None:
        found = self._show_problems(final=True)
        if found:
            boxes = {"current": self.current, "new": self.new, "repeat": self.repeat}
            boxes[next(iter(found))].setFocus()
            return
        try:
            accounts.change_own_password(
                self._db, self._actor, self.current.text(), self.new.text()
            )
        except ValidationError as exc:
            current_problem = exc.errors.get("current", "")
            if self._forced and current_problem:  # its box is hidden: show it where it is read
                self.new_field.show_problem(f"{current_problem} Sign out and sign in again.")
                return
            self.current_field.show_problem(current_problem)
            self.new_field.show_problem(exc.errors.get("new", ""))
            (self.current if current_problem else self.new).setFocus()
            return
        super().accept()
