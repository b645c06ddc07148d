"""The office's accounts, for administrators: who may sign in with which role, passwords
reset by an administrator, and how soon an unattended screen locks.

The window only collects what is typed and shows the services' answers: every rule (the
last administrator, locking yourself out, password length, duplicate names) is decided by
services/accounts, and a refusal is shown as it says it, with nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QCloseEvent, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import (
    MIN_PASSWORD_LENGTH,
    ROLE_DUTIES,
    Actor,
    Permission,
    UserRole,
)
from referral_desk.domain.access import password_problem as password_rule
from referral_desk.services import accounts
from referral_desk.services.accounts import UserInfo
from referral_desk.services.acting import check
from referral_desk.services.errors import ServiceError, ValidationError, environment_problem
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.fields import HINT_STYLE, MISMATCH, MessageField, password_box
from referral_desk.ui.formatting import local_time
from referral_desk.ui.window_state import WindowState

Index = QModelIndex | QPersistentModelIndex
OK_STYLE = "color: #1b5e20;"
PASSWORD_HINT = (
    f"At least {MIN_PASSWORD_LENGTH} characters; a few words in a row are easy to remember."
)
COLUMNS = ("User name", "Full name", "Role", "Status", "Locked until", "Last sign-in")
COLUMN_WIDTHS = (150, 190, 120, 250, 130)
SAVE_DELAY_MS = 800  # the spin box saves once the arrows have stopped


def status_text(user: UserInfo) -> str:
    if not user.active:
        return "Disabled"
    if user.must_change_password:
        return "Active; must choose a new password"
    return "Active"


def locked_text(user: UserInfo, now: datetime) -> str:
    return local_time(user.locked_until) if user.locked_until and user.locked_until > now else ""


class UsersModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users: list[UserInfo] = []
        self.now = datetime.now(UTC)

    def set_users(self, users: list[UserInfo], now: datetime) -> None:
        self.beginResetModel()
        self.users, self.now = users, now
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.users)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.users):
            return None
        user = self.users[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                user.name,
                user.full_name,
                user.role.label,
                status_text(user),
                locked_text(user, self.now),
                local_time(user.last_sign_in_at) or "never",
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 2:
            return ROLE_DUTIES[user.role].capitalize()
        if role == Qt.ItemDataRole.ForegroundRole and not user.active:
            return QColor("#757575")
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None


# --- dialogs ---------------------------------------------------------------------------------


def _role_combo(current: UserRole) -> QComboBox:
    combo = QComboBox(objectName="user_role")
    for role in UserRole:
        combo.addItem(role.label, role.value)
    combo.setCurrentIndex(combo.findData(current.value))
    return combo


class _ServiceDialog(QDialog):
    """A dialog whose OK runs `submit`; a refusal is shown inside it and it stays open."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.submit: Callable[[], object] = lambda: None
        self.message = QLabel(objectName="dialog_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def fields(self) -> dict[str, MessageField]:
        return {}

    def problems(self, *, final: bool) -> dict[str, str]:
        return {}

    def show_problems(self, *, final: bool = False) -> dict[str, str]:
        found = self.problems(final=final)
        for key, field in self.fields().items():
            field.show_problem(found.get(key, ""))
        return found

    def accept(self) -> None:
        if self.show_problems(final=True):
            self.message.hide()
            return
        try:
            self.submit()
        except ValidationError as exc:
            fields = self.fields()
            for key, problem in exc.errors.items():
                if key in fields:
                    fields[key].show_problem(problem)
            others = [p for k, p in exc.errors.items() if k not in fields]
            self._refused(" ".join(others))
            return
        except ServiceError as exc:
            self._refused(str(exc))
            return
        except Exception as exc:
            problem = environment_problem(exc)
            if problem is None:
                raise
            self._refused(problem)
            return
        super().accept()

    def _refused(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


class AddUserDialog(_ServiceDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("add_user_dialog")
        self.setWindowTitle("Add a user")
        self.user_name = QLineEdit(objectName="user_name")
        self.user_name.setPlaceholderText("e.g. maria.garcia")
        self.full_name = QLineEdit(objectName="user_full_name")
        self.full_name.setPlaceholderText("e.g. María García")
        self.role = _role_combo(UserRole.STAFF)
        self.duties = QLabel(objectName="user_role_duties")
        self.duties.setWordWrap(True)
        self.duties.setStyleSheet(HINT_STYLE)
        self.password = password_box("user_password")
        self.repeat = password_box("user_repeat")
        self.name_field = MessageField(
            self.user_name, "How they sign in: letters and digits, no spaces"
        )
        self.password_field = MessageField(self.password, PASSWORD_HINT)
        self.repeat_field = MessageField(self.repeat)
        form = QFormLayout(self)
        form.addRow("&User name:", self.name_field)
        form.addRow("&Full name:", self.full_name)
        form.addRow("&Role:", self.role)
        form.addRow("", self.duties)
        form.addRow("&Password:", self.password_field)
        form.addRow("&Again:", self.repeat_field)
        form.addRow(self.message)
        form.addRow(self.buttons)
        self.role.currentIndexChanged.connect(self._show_duties)
        for box in (self.user_name, self.password, self.repeat):
            box.textEdited.connect(lambda _t: self.show_problems())
        self._show_duties()
        self.setMinimumWidth(480)

    @property
    def chosen_role(self) -> UserRole:
        return UserRole(self.role.currentData())

    def _show_duties(self) -> None:
        self.duties.setText(f"{self.chosen_role.label}: {ROLE_DUTIES[self.chosen_role]}.")

    def fields(self) -> dict[str, MessageField]:
        return {
            "name": self.name_field,
            "password": self.password_field,
            "repeat": self.repeat_field,
        }

    def problems(self, *, final: bool) -> dict[str, str]:
        """While typing (`final` False) an empty box is not a problem yet, nor a repeat
        still shorter than the password."""
        found: dict[str, str] = {}
        name, password, repeat = self.user_name.text(), self.password.text(), self.repeat.text()
        if final or name:
            problem = accounts.name_problem(name)
            if problem:
                found["name"] = problem
        if final or password:
            problem = password_rule(password, name)
            if problem:
                found["password"] = problem
        if (final or len(repeat) >= len(password)) and repeat != password and password:
            found.setdefault("repeat", MISMATCH)
        return found


class ResetPasswordDialog(_ServiceDialog):
    def __init__(self, name: str, *, own: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reset_password_dialog")
        self.setWindowTitle(f"Reset the password of {name}")
        self._name = name
        self.password = password_box("reset_password")
        self.repeat = password_box("reset_repeat")
        self.password_field = MessageField(self.password, PASSWORD_HINT)
        self.repeat_field = MessageField(self.repeat)
        if own:
            note = "This becomes your password at once."
        else:
            note = (
                f"A temporary password: tell it to {name} in person. It also unlocks the "
                "account; at the next sign-in they must choose their own."
            )
        self.note = QLabel(note, objectName="reset_note")
        self.note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.note)
        form.addRow("&New password:", self.password_field)
        form.addRow("&Again:", self.repeat_field)
        form.addRow(self.message)
        form.addRow(self.buttons)
        for box in (self.password, self.repeat):
            box.textEdited.connect(lambda _t: self.show_problems())
        self.setMinimumWidth(440)

    def fields(self) -> dict[str, MessageField]:
        return {"password": self.password_field, "repeat": self.repeat_field}

    def problems(self, *, final: bool) -> dict[str, str]:
        found: dict[str, str] = {}
        password, repeat = self.password.text(), self.repeat.text()
        if final or password:
            problem = password_rule(password, self._name)
            if problem:
                found["password"] = problem
        if (final or len(repeat) >= len(password)) and repeat != password and password:
            found["repeat"] = MISMATCH
        return found


class ChangeRoleDialog(_ServiceDialog):
    def __init__(self, name: str, current: UserRole, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("change_role_dialog")
        self.setWindowTitle(f"Change the role of {name}")
        self.role = _role_combo(current)
        self.duties = QLabel(objectName="role_duties")
        self.duties.setWordWrap(True)
        self.duties.setStyleSheet(HINT_STYLE)
        form = QFormLayout(self)
        form.addRow(QLabel(f"{name} is now {current.person}."))
        form.addRow("&Role:", self.role)
        form.addRow("", self.duties)
        form.addRow(self.message)
        form.addRow(self.buttons)
        self.role.currentIndexChanged.connect(self._show_duties)
        self._show_duties()
        self.setMinimumWidth(440)

    @property
    def chosen_role(self) -> UserRole:
        return UserRole(self.role.currentData())

    def _show_duties(self) -> None:
        self.duties.setText(f"{self.chosen_role.label}: {ROLE_DUTIES[self.chosen_role]}.")


# --- the window ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Selected:
    name: str
    active: bool
    role: UserRole


class UsersWindow(QWidget):
    """Non-modal; the main window keeps one and shows it again."""

    @staticmethod
    def may_open(actor: Actor) -> bool:
        return actor.may(Permission.MANAGE_USERS)

    def __init__(
        self,
        db: Database,
        actor: Actor,
        parent: QWidget | None = None,
        *,
        window_state: WindowState | None = None,
    ) -> None:
        check(actor, Permission.MANAGE_USERS, "manage accounts")
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setObjectName("users_window")
        self.setWindowTitle("Users · Referral Desk")
        self._db, self._actor, self._state = db, actor, window_state

        self.model = UsersModel(self)
        self.table = QTableView(objectName="users_table")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        vertical = self.table.verticalHeader()
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vertical.hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.resizeSection(column, width)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _i: self.change_role())

        self.add_button = QPushButton("&Add user…", objectName="add_user")
        self.add_button.clicked.connect(self.add_user)
        self.role_button = QPushButton("Change &role…", objectName="change_role")
        self.role_button.clicked.connect(self.change_role)
        self.active_button = QPushButton("&Disable", objectName="toggle_active")
        self.active_button.setToolTip(
            "A disabled account cannot sign in and its open windows can change nothing more; "
            "its entries in the audit trail stay"
        )
        self.active_button.clicked.connect(self.toggle_active)
        self.reset_button = QPushButton("Reset &password…", objectName="reset_password")
        self.reset_button.setToolTip(
            "Set a temporary password (this also unlocks the account); the person chooses "
            "their own at the next sign-in"
        )
        self.reset_button.clicked.connect(self.reset_password)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.role_button, self.active_button, self.reset_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.message = QLabel(objectName="users_message")
        self.message.setWordWrap(True)
        self.message.hide()

        low, high = accounts.IDLE_LOCK_RANGE
        self.idle_lock = QSpinBox(objectName="idle_lock_minutes")
        self.idle_lock.setRange(low, high)
        self.idle_lock.setToolTip(
            "After this long without a key press or a click, Referral Desk covers its windows "
            "and asks for the password again; unsaved edits stay."
        )
        self._saved_idle_lock = accounts.idle_lock_minutes(db)
        self.idle_lock.setValue(self._saved_idle_lock)
        self._idle_timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._idle_timer.timeout.connect(self.save_idle_lock)
        self.idle_lock.valueChanged.connect(lambda _v: self._idle_timer.start())
        self.idle_lock.editingFinished.connect(self.save_idle_lock)
        lock_label = QLabel("&Lock the screen after")
        lock_label.setBuddy(self.idle_lock)
        lock_row = QHBoxLayout()
        lock_row.addWidget(lock_label)
        lock_row.addWidget(self.idle_lock)
        lock_row.addWidget(QLabel("minutes without use"))
        lock_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(lock_row)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)

        self.resize(1000, 480)
        if self._state is not None:
            self._state.restore("users_window", self)
        self.refresh()

    # --- the list ----------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        """Read the accounts again, keeping (or moving to) a selection."""
        keep = select or (self.selected.name if self.selected else None)
        self.model.set_users(accounts.list_users(self._db), datetime.now(UTC))
        if keep is not None:
            self.select_user(keep)
        self._update_buttons()

    def select_user(self, name: str) -> bool:
        for row, user in enumerate(self.model.users):
            if user.name.casefold() == name.casefold():
                self.table.selectRow(row)
                return True
        return False

    @property
    def selected(self) -> _Selected | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        user = self.model.users[rows[0].row()]
        return _Selected(user.name, user.active, user.role)

    def _update_buttons(self) -> None:
        chosen = self.selected
        for button in (self.role_button, self.active_button, self.reset_button):
            button.setEnabled(chosen is not None)
        self.active_button.setText("&Enable" if chosen and not chosen.active else "&Disable")

    # --- what an administrator does ------------------------------------------------------------
    def add_user(self) -> bool:
        dialog = AddUserDialog(self)

        def submit() -> object:
            return accounts.add_user(
                self._db,
                dialog.user_name.text(),
                dialog.chosen_role,
                dialog.password.text(),
                actor=self._actor,
                full_name=dialog.full_name.text(),
            )

        dialog.submit = submit
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        name = dialog.user_name.text().strip()
        self.refresh(select=name)
        self.say(
            f"Added {name} as {dialog.chosen_role.person}. Tell them the password in person; "
            "they can change it once signed in.",
            good=True,
        )
        return True

    def change_role(self) -> bool:
        chosen = self.selected
        if chosen is None:
            return False
        dialog = ChangeRoleDialog(chosen.name, chosen.role, self)
        dialog.submit = lambda: accounts.change_role(
            self._db, chosen.name, dialog.chosen_role, actor=self._actor
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.refresh()
        self.say(f"{chosen.name} is now {dialog.chosen_role.person}.", good=True)
        return True

    def toggle_active(self) -> bool:
        """Disable the selected account, or enable it again. Refusals are shown here."""
        chosen = self.selected
        if chosen is None:
            return False
        try:
            if chosen.active:
                accounts.disable_user(self._db, chosen.name, actor=self._actor)
            else:
                accounts.enable_user(self._db, chosen.name, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return False
        self.refresh()
        if chosen.active:
            self.say(
                f"{chosen.name} is disabled: they can no longer sign in, and their entries in "
                "the audit trail stay. Enable brings the account back.",
                good=True,
            )
        else:
            self.say(f"{chosen.name} can sign in again.", good=True)
        return True

    def reset_password(self) -> bool:
        chosen = self.selected
        if chosen is None:
            return False
        own = chosen.name.casefold() == self._actor.name.casefold()
        dialog = ResetPasswordDialog(chosen.name, own=own, parent=self)
        dialog.submit = lambda: accounts.reset_password(
            self._db, chosen.name, dialog.password.text(), actor=self._actor
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.refresh()
        if own:
            self.say("Your password is changed.", good=True)
        else:
            self.say(
                f"The password of {chosen.name} is reset and the account unlocked. Tell them "
                "the temporary password in person: at the next sign-in they must choose their "
                "own.",
                good=True,
            )
        return True

    def save_idle_lock(self) -> bool:
        """Store the spin box's value, if it changed; a refusal puts the stored one back."""
        self._idle_timer.stop()
        minutes = self.idle_lock.value()
        if minutes == self._saved_idle_lock:
            return False
        try:
            accounts.set_idle_lock_minutes(self._db, minutes, actor=self._actor)
        except ServiceError as exc:
            self.idle_lock.blockSignals(True)
            self.idle_lock.setValue(self._saved_idle_lock)
            self.idle_lock.blockSignals(False)
            self.say(str(exc), problem=True)
            return False
        self._saved_idle_lock = minutes
        self.say(
            f"Saved: the screen locks after {minutes} minute{'s' if minutes != 1 else ''} "
            "without use.",
            good=True,
        )
        return True

    def say(self, text: str, *, problem: bool = False, good: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if problem else OK_STYLE if good else "")
        self.message.setText(text)
        self.message.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_idle_lock()
        if self._state is not None:
            self._state.save("users_window", self)
        super().closeEvent(event)
