"""Administration: the office currency, whether assigning a specialist quotes their fee, and
the fee schedule (the services the office charges for, with their prices).

The screen turns what is typed into drafts and shows messages; the services decide and save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain import money as domain_money
from referral_desk.domain.access import Actor, Permission
from referral_desk.services import fee_schedule, office
from referral_desk.services.errors import ServiceError, ValidationError
from referral_desk.services.fee_schedule import ServiceDraft, ServiceInfo
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.money import amount_text, editable_text, parse_amount, user_locale
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.specialists_window import FieldWithMessage
from referral_desk.ui.window_state import WindowState

Index = QModelIndex | QPersistentModelIndex
SERVICE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
INACTIVE_TEXT = QColor("#757575")
NO_PRICE_TEXT = QColor("#8a4b00")
NO_PRICE = "no price set"
NO_PRICE_TIP = (
    "Lines from this service start at 0 until a price is set (a specialist's consultation "
    "is quoted at their own fee when they have one)."
)
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
CENTRE = int(Qt.AlignmentFlag.AlignCenter)


def currency_label(code: str) -> str:
    """'EUR (Euro)', the name in the user's language."""
    return f"{code} ({domain_money.currency_name(code, user_locale())})"


def _price(info: ServiceInfo, currency: str) -> str:
    return amount_text(info.draft.price_minor, currency) if info.draft.price_minor else NO_PRICE


def _used_by(info: ServiceInfo) -> str:
    n = info.cases_using
    return f"{n:,} case{'s' if n != 1 else ''}" if n else ""


COLUMNS: tuple[tuple[str, Callable[[ServiceInfo, str], str]], ...] = (
    ("Code", lambda s, _c: s.code),
    ("Name", lambda s, _c: s.name),
    ("Price", _price),
    ("Needs approval", lambda s, _c: "Yes" if s.draft.needs_approval else ""),
    ("Status", lambda s, _c: "Active" if s.draft.active else "Inactive"),
    ("Used by", lambda s, _c: _used_by(s)),
)
NAME_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Name")
PRICE_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Price")
APPROVAL_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Needs approval")
USED_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Used by")


class FeeScheduleModel(QAbstractTableModel):
    """The services as handed over by the screen; it never queries."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ServiceInfo] = []
        self.currency = "EUR"
        self._italic = QFont()
        self._italic.setItalic(True)

    def set_rows(self, rows: list[ServiceInfo], currency: str) -> None:
        self.beginResetModel()
        self.rows, self.currency = rows, currency
        self.endResetModel()

    def row_for(self, service_id: int) -> int | None:
        return next((i for i, s in enumerate(self.rows) if s.id == service_id), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        info = self.rows[index.row()]
        column = index.column()
        unpriced = column == PRICE_COLUMN and not info.draft.price_minor
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[column][1](info, self.currency)
        if role == SERVICE_ID_ROLE:
            return info.id
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column in (PRICE_COLUMN, USED_COLUMN):
                return RIGHT
            return CENTRE if column == APPROVAL_COLUMN else None
        if role == Qt.ItemDataRole.ForegroundRole:
            if not info.draft.active:
                return INACTIVE_TEXT
            return NO_PRICE_TEXT if unpriced else None
        if role == Qt.ItemDataRole.FontRole and unpriced:
            return self._italic
        if role == Qt.ItemDataRole.ToolTipRole:
            if unpriced:
                return NO_PRICE_TIP
            if column == APPROVAL_COLUMN and info.draft.needs_approval:
                return "Lines from this service wait for the patient to agree to the cost"
            if column == USED_COLUMN and info.cases_using:
                return f"On the costs of {_used_by(info)}: it can be deactivated, not deleted"
            if column == NAME_COLUMN:
                return info.name
            if not info.draft.active:
                return "Inactive: no longer offered for new cost lines"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in (PRICE_COLUMN, USED_COLUMN):
            return RIGHT
        return None


# --- one service -----------------------------------------------------------------------
class ServiceDialog(QDialog):
    """Add or edit one service; stays open with the reasons while it cannot be saved."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        currency: str,
        info: ServiceInfo | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._db, self._actor, self._currency, self._info = db, actor, currency, info
        self.saved_id: int | None = None
        self.setObjectName("service_dialog")
        self.setWindowTitle(f"Edit {info.code}" if info else "New service")
        self._fields: dict[str, FieldWithMessage] = {}

        self.code = QLineEdit(objectName="service_code", placeholderText="e.g. PATH")
        self.code.setMaxLength(20)
        self.code.setToolTip("A short code: letters, digits, '-' or '_' (stored in capitals)")
        self.name = QLineEdit(objectName="service_name")
        self.name.setPlaceholderText("as the patient reads it on the costs")
        self.price = QLineEdit(objectName="service_price")
        self.price.setPlaceholderText(f"e.g. {editable_text(25_000, currency)}")
        self.price.setToolTip(
            f"The price in {currency_label(currency)}, typed as usual here "
            f"(e.g. {editable_text(123_450, currency)}); 0 while it is not known"
        )
        price_row = QWidget()
        price_layout = QHBoxLayout(price_row)
        price_layout.setContentsMargins(0, 0, 0, 0)
        price_layout.addWidget(self.price, 1)
        price_layout.addWidget(QLabel(currency))
        price_row.setFocusProxy(self.price)
        self.needs_approval = QCheckBox(
            "Needs the patient's approval (additional tests)", objectName="service_needs_approval"
        )
        self.needs_approval.setToolTip(
            "Lines from this service are quoted first and wait for the patient's yes or no"
        )
        self.active = QCheckBox("Active: offered for new cost lines", objectName="service_active")

        form = QFormLayout()
        form.addRow("&Code", self._field("code", self.code))
        form.addRow("&Name", self._field("name", self.name))
        form.addRow("&Price", self._field("price", price_row))
        form.addRow("", self.needs_approval)
        form.addRow("", self._field("active", self.active))
        self.message = QLabel(objectName="service_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        draft = info.draft if info else ServiceDraft("", "", 0)
        self.code.setText(draft.code)
        self.name.setText(draft.name)
        self.price.setText(editable_text(draft.price_minor, currency) if info else "")
        self.needs_approval.setChecked(draft.needs_approval)
        self.active.setChecked(draft.active)
        self.setMinimumWidth(480)

    def _field(self, name: str, editor: QWidget) -> FieldWithMessage:
        field = FieldWithMessage(editor)
        self._fields[name] = field
        return field

    def error_text(self, name: str) -> str:
        field = self._fields[name]
        return field.message.text() if field.message.isVisibleTo(self) else ""

    def _show_errors(self, errors: dict[str, str]) -> None:
        for name, field in self._fields.items():
            field.show_message(errors.get(name, ""))
        elsewhere = [text for name, text in errors.items() if name not in self._fields]
        self.message.setText(" ".join(elsewhere))
        self.message.setVisible(bool(elsewhere))
        first = next((self._fields[n] for n in self._fields if n in errors), None)
        if first is not None:
            first.setFocus()

    def save(self) -> bool:
        errors: dict[str, str] = {}
        price_minor = 0
        typed = self.price.text().strip()
        if not typed:
            errors["price"] = "Enter the price; 0 while it is not known yet."
        else:
            try:
                price_minor = parse_amount(typed, self._currency)
            except domain_money.MoneyError as exc:
                errors["price"] = str(exc)
        if errors:
            self._show_errors(errors)
            return False
        draft = ServiceDraft(
            self.code.text(),
            self.name.text(),
            price_minor,
            self.needs_approval.isChecked(),
            self.active.isChecked(),
        )
        try:
            if self._info is None:
                self.saved_id = fee_schedule.create_service(self._db, draft, actor=self._actor)
            else:
                fee_schedule.update_service(
                    self._db,
                    self._info.id,
                    draft,
                    expected_version=self._info.version,
                    actor=self._actor,
                )
                self.saved_id = self._info.id
        except ValidationError as exc:
            self._show_errors(exc.errors)
            return False
        except ServiceError as exc:
            self._show_errors({"": str(exc)})
            return False
        self.accept()
        return True


# --- the window --------------------------------------------------------------------------
class FeeScheduleWindow(QWidget):
    """A window of its own, not a dialog: Enter in the table edits a service rather than
    pressing a default button."""

    changed = Signal()  # currency or prices saved: screens that show amounts read them again

    def __init__(
        self,
        db: Database,
        actor: Actor,
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self._db, self._actor, self._state = db, actor, window_state
        # Prices and the currency are the administrator's; others may look them up.
        self._refused = refusal(actor, Permission.OFFICE_SETTINGS, "change the fee schedule")
        self.setObjectName("fee_schedule_window")
        self.setWindowTitle("Fee schedule and office · Referral Desk")
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self._profile = office.get_profile(db)

        # The office
        self.currency = QLineEdit(objectName="office_currency")
        self.currency.setMaxLength(3)
        self.currency.setFixedWidth(self.fontMetrics().horizontalAdvance("WWWW") + 16)
        self.currency.setToolTip("The ISO 4217 code of the office currency, e.g. EUR, USD, CHF")
        self.currency.setReadOnly(self._refused is not None)
        self.currency.textEdited.connect(self._currency_typed)
        self.currency.returnPressed.connect(self.change_currency)
        self.currency_name = QLabel(objectName="currency_name")
        self.change_currency_button = QPushButton("C&hange currency…", objectName="change_currency")
        self.change_currency_button.clicked.connect(self.change_currency)
        self.currency_note = QLabel(objectName="currency_note")
        self.currency_note.setWordWrap(True)
        self.currency_message = QLabel(objectName="currency_message")
        self.currency_message.setWordWrap(True)
        self.currency_message.setStyleSheet(ERROR_STYLE)
        self.currency_message.hide()
        currency_label_widget = QLabel("Office &currency")
        currency_label_widget.setBuddy(self.currency)
        currency_row = QHBoxLayout()
        currency_row.addWidget(currency_label_widget)
        currency_row.addWidget(self.currency)
        currency_row.addWidget(self.currency_name)
        currency_row.addWidget(self.change_currency_button)
        currency_row.addStretch(1)
        self.fee_estimate = QCheckBox(
            "Assigning a specialist adds their fee as an &estimate",
            objectName="specialist_fee_estimate",
        )
        allow(
            self.fee_estimate,
            self._refused,
            tooltip="Quote the specialist's fee (or the consultation price) on the case's costs "
            "when they are assigned; reassigning or declining takes the estimate off again",
        )
        self.fee_estimate.clicked.connect(self.set_fee_estimate)
        office_box = QGroupBox("Office")
        office_layout = QVBoxLayout(office_box)
        office_layout.addLayout(currency_row)
        office_layout.addWidget(self.currency_note)
        office_layout.addWidget(self.currency_message)
        office_layout.addWidget(self.fee_estimate)

        # The fee schedule
        self.model = FeeScheduleModel()
        self.table = QTableView(objectName="fee_schedule_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vertical.hide()
        header = self.table.horizontalHeader()
        # A fee schedule has tens of rows, not thousands: measuring them costs nothing.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(lambda _i: self.edit_service())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        QShortcut(QKeySequence.StandardKey.Delete, self.table, self.delete_service)
        self.add_button = QPushButton("&Add service…", objectName="add_service")
        self.add_button.clicked.connect(lambda: self.add_service())
        self.edit_button = QPushButton("E&dit…", objectName="edit_service")
        self.edit_button.clicked.connect(lambda: self.edit_service())
        self.active_button = QPushButton("Deac&tivate", objectName="toggle_service")
        self.active_button.clicked.connect(self.toggle_active)
        self.delete_button = QPushButton("De&lete…", objectName="delete_service")
        self.delete_button.clicked.connect(self.delete_service)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.active_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        note = QLabel(
            "Prices are what new cost lines start with; lines already on cases keep the price "
            "they were given."
        )
        note.setWordWrap(True)
        schedule_box = QGroupBox("Fee schedule")
        schedule_layout = QVBoxLayout(schedule_box)
        schedule_layout.addWidget(note)
        schedule_layout.addWidget(self.table, 1)
        schedule_layout.addLayout(buttons)

        self.message = QLabel(objectName="fee_schedule_message")
        self.message.setWordWrap(True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(office_box)
        layout.addWidget(schedule_box, 1)
        layout.addWidget(self.message)
        layout.addWidget(close)
        self.resize(860, 640)
        if self._state:
            self._state.restore("fee_schedule_window", self)
        self.refresh()
        if self.model.rows:
            self.select_service(self.model.rows[0].id)
        self.table.setFocus()

    # --- what is shown ------------------------------------------------------------------
    @property
    def office_currency(self) -> str:
        return self._profile.currency

    def refresh(self) -> None:
        chosen = self.selected_service()
        self._profile = office.get_profile(self._db)
        if not self.currency.isModified():  # a code being typed is not taken away
            self.currency.setText(self._profile.currency)
        self._currency_typed(self.currency.text())
        self.currency_note.setText(
            "Every amount in the office is in this currency."
            if self._profile.currency_is_set
            else "Taken from this computer's settings; it is fixed when the first cost or "
            "payment is recorded."
        )
        self.fee_estimate.setChecked(self._profile.specialist_fee_estimate)
        self.model.set_rows(fee_schedule.list_services(self._db), self._profile.currency)
        unpriced = sum(1 for s in self.model.rows if s.draft.active and not s.draft.price_minor)
        self.table.setToolTip(
            f"{unpriced} active service{'s have' if unpriced != 1 else ' has'} no price set yet"
            if unpriced
            else ""
        )
        if chosen is not None:
            self.select_service(chosen.id)
        self._update_buttons()

    def _currency_typed(self, text: str) -> None:
        try:
            code = domain_money.check_currency(text)
        except domain_money.MoneyError as exc:
            self.currency_name.setText(str(exc) if text.strip() else "")
            self.currency_name.setStyleSheet(ERROR_STYLE)
            allow(self.change_currency_button, self._refused, enabled=False)
            return
        self.currency_name.setText(domain_money.currency_name(code, user_locale()))
        self.currency_name.setStyleSheet("")
        allow(self.change_currency_button, self._refused, enabled=code != self._profile.currency)

    def selected_service(self) -> ServiceInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def select_service(self, service_id: int) -> None:
        row = self.model.row_for(service_id)
        if row is not None:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _update_buttons(self) -> None:
        info = self.selected_service()
        active = info is None or info.draft.active
        self.active_button.setText("Deac&tivate" if active else "Ac&tivate")
        allow(self.add_button, self._refused)
        allow(
            self.edit_button,
            self._refused,
            enabled=info is not None,
            tooltip="Edit the chosen service (Enter or a double click)",
        )
        allow(
            self.active_button,
            self._refused,
            enabled=info is not None,
            tooltip="Stop offering it for new cost lines; cases that have it keep it"
            if active
            else "Offer it again for new cost lines",
        )
        allow(
            self.delete_button,
            self._refused,
            enabled=info is not None,
            tooltip="Delete a service no case uses (Del)",
        )

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if problem else "")
        self.message.setText(text)

    # --- the office -----------------------------------------------------------------------
    def change_currency(self) -> bool:
        if self._refused:  # Enter in the field
            return False
        try:
            new = domain_money.check_currency(self.currency.text())
        except domain_money.MoneyError as exc:
            self._currency_refused(str(exc))
            return False
        current = self._profile.currency
        if new == current:
            return False
        answer = QMessageBox.question(
            self,
            "Change the office currency",
            f"Change the office currency from {currency_label(current)} to "
            f"{currency_label(new)}?\n\nPrices in the fee schedule and the specialists' fees "
            "keep their amounts: they are not converted at an exchange rate. Check them "
            "afterwards.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.currency.setText(current)
            self._currency_typed(current)
            return False
        try:
            office.set_currency(self._db, new, actor=self._actor)
        except ValidationError as exc:
            self._currency_refused(exc.errors.get("currency") or str(exc))
            return False
        except ServiceError as exc:
            self._currency_refused(str(exc))
            return False
        self.currency_message.hide()
        self.currency.setText(new)
        self.refresh()
        self.say(f"The office currency is now {currency_label(new)}.")
        self.changed.emit()
        return True

    def _currency_refused(self, text: str) -> None:
        """The refusal as the service words it; the field shows the stored currency again."""
        self.currency_message.setText(text)
        self.currency_message.show()
        self.currency.setText(self._profile.currency)
        self._currency_typed(self._profile.currency)

    def set_fee_estimate(self, enabled: bool) -> None:
        try:
            office.set_specialist_fee_estimate(self._db, enabled, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            self.fee_estimate.setChecked(not enabled)
            return
        self.say(
            "Assigning a specialist now adds their fee to the case's costs as an estimate."
            if enabled
            else "Assigning a specialist no longer adds their fee to the case's costs."
        )

    # --- the fee schedule -------------------------------------------------------------------
    def _edit(self, info: ServiceInfo | None) -> int | None:
        if self._refused:  # Enter or a double click in the table
            self.say(self._refused, problem=True)
            return None
        dialog = ServiceDialog(self._db, self._actor, self._profile.currency, info, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.saved_id is None:
            return None
        self.refresh()
        self.select_service(dialog.saved_id)
        saved = self.selected_service()
        if saved is not None:
            self.say(f"{saved.code} {saved.name} saved.")
        self.changed.emit()
        return dialog.saved_id

    def add_service(self) -> int | None:
        return self._edit(None)

    def edit_service(self) -> int | None:
        info = self.selected_service()
        return self._edit(info) if info is not None else None

    def toggle_active(self) -> bool:
        info = self.selected_service()
        if info is None:
            return False
        draft = replace(info.draft, active=not info.draft.active)
        try:
            fee_schedule.update_service(
                self._db, info.id, draft, expected_version=info.version, actor=self._actor
            )
        except ServiceError as exc:
            self.refresh()
            self.say(str(exc), problem=True)
            return False
        self.refresh()
        self.say(
            f"{info.code} is offered again for new cost lines."
            if draft.active
            else f"{info.code} is no longer offered for new cost lines; cases that have it keep it."
        )
        self.changed.emit()
        return True

    def delete_service(self) -> bool:
        info = self.selected_service()
        if info is None or self._refused:
            return False
        answer = QMessageBox.question(
            self,
            "Delete service",
            f"Delete {info.code} {info.name} from the fee schedule?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            fee_schedule.delete_service(self._db, info.id, actor=self._actor)
        except ValidationError as exc:
            self.say(exc.errors.get("service") or str(exc), problem=True)
            return False
        except ServiceError as exc:
            self.refresh()
            self.say(str(exc), problem=True)
            return False
        self.refresh()
        self.say(f"{info.code} {info.name} deleted.")
        self.changed.emit()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._state:
            self._state.save("fee_schedule_window", self)
        super().closeEvent(event)
