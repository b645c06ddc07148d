"""Documents to chase: every missing required record of open cases, urgent and oldest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.enums import Urgency
from referral_desk.services import documents
from referral_desk.services.documents import ChaseRow
from referral_desk.services.errors import ServiceError
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.formatting import local_time
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.window_state import WindowState

Index = QModelIndex | QPersistentModelIndex


def waiting(row: ChaseRow, now: datetime) -> str:
    """Hours for the first two days (the promise is counted in hours), then days."""
    hours = max(int((now - row.requested_at).total_seconds() // 3600), 0)
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


COLUMNS: tuple[tuple[str, Callable[[ChaseRow, datetime], str]], ...] = (
    ("Urgency", lambda r, _n: r.urgency.label),
    ("Case", lambda r, _n: r.reference),
    ("Patient", lambda r, _n: r.patient_name),
    ("Document", lambda r, _n: r.document_label + (f" ({r.note})" if r.note else "")),
    ("Status", lambda r, _n: r.status.label),
    ("Waiting", waiting),
    ("Last chased", lambda r, _n: local_time(r.chased_at) or "never"),
    ("Chases", lambda r, _n: str(r.chase_count) if r.chase_count else ""),
    ("Referrer", lambda r, _n: r.referrer or "—"),
    ("Phone", lambda r, _n: r.referrer_phone),
    ("E-mail", lambda r, _n: r.referrer_email),
    ("Treatment start", lambda r, _n: r.treatment_start.isoformat() if r.treatment_start else ""),
)


class ChaseModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ChaseRow] = []
        self.now = datetime.now(UTC)

    def set_rows(self, rows: list[ChaseRow], now: datetime) -> None:
        self.beginResetModel()
        self.rows, self.now = rows, now
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[index.column()][1](row, self.now)
        if role == Qt.ItemDataRole.FontRole and row.urgency is Urgency.URGENT:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole and row.urgency is Urgency.URGENT:
            return QColor("#fdecea")
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return None


class ChaseWindow(QWidget):
    chased = Signal()

    def __init__(
        self,
        db: Database,
        actor: Actor,
        open_case: Callable[[int], object],
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("Documents to chase · Referral Desk")
        self.setObjectName("chase_window")
        self._db, self._actor, self._open_case = db, actor, open_case
        # A manager follows up on the list; chasing is the office staff's.
        self._edit_refused = refusal(actor, Permission.EDIT_CASES, "record a chase")
        self._state = window_state
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)

        self.summary = QLabel(objectName="chase_summary")
        self.summary.setStyleSheet("font-weight: bold;")
        self.message = QLabel(objectName="chase_message")
        self.message.setWordWrap(True)
        self.model = ChaseModel()
        self.table = QTableView(objectName="chase_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column, width in enumerate((66, 112, 150, 220, 92, 60, 125, 56, 180, 130, 200)):
            header.resizeSection(column, width)
        self.table.activated.connect(
            lambda index: self._open_case(self.model.rows[index.row()].case_id)
        )

        self.chase_button = QPushButton("Mark chased", objectName="mark_chased")
        self.chase_button.setShortcut("Ctrl+K")
        self.chase_button.clicked.connect(self.mark_selected_chased)
        self.case_button = QPushButton("Open case", objectName="open_chase_case")
        self.case_button.clicked.connect(self._open_selected_case)
        self.contact_button = QPushButton("Referrer contact…", objectName="edit_contact")
        self.contact_button.clicked.connect(self.edit_contact)
        buttons = QHBoxLayout()
        for button in (self.chase_button, self.case_button, self.contact_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.resize(1450, 640)
        if self._state:
            self._state.restore("chase_window", self)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.refresh()

    def refresh(self) -> None:
        chosen = {r.document_id for r in self.selected_rows()}
        rows = documents.chase_list(self._db)
        self.model.set_rows(rows, datetime.now(UTC))
        cases = len({r.case_id for r in rows})
        self.summary.setText(
            f"{len(rows)} required document{'s' if len(rows) != 1 else ''} missing across "
            f"{cases} open case{'s' if cases != 1 else ''}. Urgent cases first, then the "
            "longest wait."
            if rows
            else "Nothing to chase: every open case has its required records."
        )
        for row, item in enumerate(rows):
            if item.document_id in chosen:
                self.table.selectionModel().select(
                    self.model.index(row, 0),
                    self.table.selectionModel().SelectionFlag.Select
                    | self.table.selectionModel().SelectionFlag.Rows,
                )
        self._update_buttons()

    def selected_rows(self) -> list[ChaseRow]:
        return [self.model.rows[i.row()] for i in self.table.selectionModel().selectedRows()]

    def _update_buttons(self) -> None:
        chosen = self.selected_rows()
        allow(
            self.chase_button,
            self._edit_refused,
            enabled=bool(chosen),
            tooltip="Record today's chase for the selected documents (Ctrl+K)",
        )
        self.case_button.setEnabled(len(chosen) == 1)
        allow(
            self.contact_button,
            self._edit_refused,
            enabled=len({r.referrer for r in chosen}) == 1 and bool(chosen[0].referrer),
        )

    def mark_selected_chased(self) -> int:
        chosen = self.selected_rows()
        try:
            count = documents.mark_chased(
                self._db, [r.document_id for r in chosen], actor=self._actor
            )
        except ServiceError as exc:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(str(exc))
            return 0
        self.message.setStyleSheet("")
        self.message.setText(f"Chase recorded for {count} document{'s' if count != 1 else ''}.")
        self.refresh()
        self.chased.emit()
        return count

    def _open_selected_case(self) -> None:
        chosen = self.selected_rows()
        if chosen:
            self._open_case(chosen[0].case_id)

    def edit_contact(self) -> bool:
        chosen = self.selected_rows()
        if not chosen or not chosen[0].referrer:
            return False
        row = chosen[0]
        dialog = ContactDialog(row.referrer, row.referrer_phone, row.referrer_email, self)

        def apply(phone: str, email: str) -> str | None:
            try:
                documents.set_referrer_contact(
                    self._db, row.referrer, phone=phone, email=email, actor=self._actor
                )
            except ServiceError as exc:
                return str(exc)
            return None

        dialog.apply = apply
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.refresh()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._state:
            self._state.save("chase_window", self)
        super().closeEvent(event)


class ContactDialog(QDialog):
    def __init__(self, name: str, phone: str, email: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.apply: Callable[[str, str], str | None] = lambda _p, _e: None
        self.setWindowTitle(f"Contact for {name}")
        self.phone = QLineEdit(phone, objectName="contact_phone")
        self.email = QLineEdit(email, objectName="contact_email")
        self.message = QLabel(objectName="contact_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QFormLayout(self)
        layout.addRow("Referrer", QLabel(name))
        layout.addRow("Phone", self.phone)
        layout.addRow("E-mail", self.email)
        layout.addRow(self.message)
        layout.addRow(buttons)

    def accept(self) -> None:
        refusal = self.apply(self.phone.text(), self.email.text())
        if refusal:
            self.message.setText(refusal)
            self.message.show()
            return
        super().accept()
