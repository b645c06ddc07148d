"""The Specialists screen: the roster with each one's load, their details, and absences.

The screen turns widgets into drafts and shows messages; the services decide and save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.clock import Pace
from referral_desk.domain.enums import CANCER_TYPES, cancer_type_label
from referral_desk.domain.money import MoneyError
from referral_desk.domain.specialists import Discipline
from referral_desk.services import office, specialists
from referral_desk.services.errors import ConflictError, ServiceError, ValidationError
from referral_desk.services.specialists import AbsenceInfo, SpecialistDraft, SpecialistInfo
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.formatting import PACE_COLOURS
from referral_desk.ui.money import amount_text, editable_text, parse_amount
from referral_desk.ui.permissions import allow, make_read_only, refusal
from referral_desk.ui.window_state import WindowState

Index = QModelIndex | QPersistentModelIndex
SPECIALIST_ID_ROLE = Qt.ItemDataRole.UserRole + 1
DEFAULT_CAPACITY = 3
MAX_CAPACITY = 99
INACTIVE_TEXT = QColor("#757575")


# --- how the roster reads --------------------------------------------------------------
def next_absence(absences: tuple[AbsenceInfo, ...], today: date) -> str:
    """The absence that is running or comes next, in words; empty when none is planned."""
    upcoming = sorted((a for a in absences if a.last_day >= today), key=lambda a: a.first_day)
    if not upcoming:
        return ""
    first = upcoming[0]
    note = f" ({first.note})" if first.note else ""
    if first.first_day <= today:
        return f"away until {first.last_day.isoformat()}{note}"
    if first.first_day == first.last_day:
        return f"{first.first_day.isoformat()}{note}"
    return f"{first.first_day.isoformat()} to {first.last_day.isoformat()}{note}"


def absence_text(absence: AbsenceInfo) -> str:
    span = (
        absence.first_day.isoformat()
        if absence.first_day == absence.last_day
        else f"{absence.first_day.isoformat()} to {absence.last_day.isoformat()}"
    )
    days = (absence.last_day - absence.first_day).days + 1
    if days > 0:
        span += f"  ({days} day{'s' if days != 1 else ''})"
    return span + (f" · {absence.note}" if absence.note else "")


def _sub_specialties(info: SpecialistInfo) -> str:
    return ", ".join(sorted(cancer_type_label(c) for c in info.draft.cancer_types))


COLUMNS: tuple[tuple[str, Callable[[SpecialistInfo, date, str], str]], ...] = (
    ("Name", lambda s, _t, _c: s.name),
    ("Title", lambda s, _t, _c: s.draft.title),
    ("Discipline", lambda s, _t, _c: s.draft.discipline.label),
    ("Sub-specialties", lambda s, _t, _c: _sub_specialties(s)),
    ("Active cases", lambda s, _t, _c: f"{s.active_cases} of {s.draft.capacity}"),
    ("Due soon", lambda s, _t, _c: str(s.due_soon) if s.due_soon else ""),
    ("Overdue", lambda s, _t, _c: str(s.overdue) if s.overdue else ""),
    ("Fee", lambda s, _t, c: amount_text(s.draft.fee_minor, c) if s.draft.fee_minor else ""),
    ("Status", lambda s, _t, _c: "Active" if s.draft.active else "Inactive"),
    ("Next absence", lambda s, t, _c: next_absence(s.absences, t)),
)
COLUMN_WIDTHS = (160, 70, 125, 170, 84, 66, 60, 96, 58, 200)
DUE_SOON_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Due soon")
OVERDUE_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Overdue")
LOAD_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Active cases")
FEE_COLUMN = next(i for i, c in enumerate(COLUMNS) if c[0] == "Fee")
LONG_TEXT_COLUMNS = frozenset(
    i for i, c in enumerate(COLUMNS) if c[0] in ("Sub-specialties", "Next absence")
)
NUMBER_COLUMNS = frozenset({LOAD_COLUMN, DUE_SOON_COLUMN, OVERDUE_COLUMN, FEE_COLUMN})


class SpecialistsModel(QAbstractTableModel):
    """The roster as handed over by the screen; it never queries."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[SpecialistInfo] = []
        self.today = date.today()
        self.currency = "EUR"
        self._bold = QFont()
        self._bold.setBold(True)

    def set_rows(self, rows: list[SpecialistInfo], today: date, currency: str) -> None:
        self.beginResetModel()
        self.rows, self.today, self.currency = rows, today, currency
        self.endResetModel()

    def row_for(self, specialist_id: int) -> int | None:
        return next((i for i, s in enumerate(self.rows) if s.id == specialist_id), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        info = self.rows[index.row()]
        column = index.column()
        full = info.active_cases >= info.draft.capacity
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[column][1](info, self.today, self.currency)
        if role == SPECIALIST_ID_ROLE:
            return info.id
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMBER_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        pace = {
            DUE_SOON_COLUMN: (Pace.DUE_SOON, info.due_soon),
            OVERDUE_COLUMN: (Pace.OVERDUE, info.overdue),
        }.get(column)
        if pace is not None and pace[1]:
            foreground, background = PACE_COLOURS[pace[0]]
            if role == Qt.ItemDataRole.ForegroundRole:
                return foreground
            if role == Qt.ItemDataRole.BackgroundRole:
                return background
        if role == Qt.ItemDataRole.ForegroundRole and not info.draft.active:
            return INACTIVE_TEXT
        if role == Qt.ItemDataRole.FontRole and column == LOAD_COLUMN and full:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            if column in LONG_TEXT_COLUMNS:  # may be cut off: the whole text on hover
                return COLUMNS[column][1](info, self.today, self.currency) or None
            if column == LOAD_COLUMN:
                return (
                    f"{info.active_cases} active case{'s' if info.active_cases != 1 else ''} "
                    f"for a capacity of {info.draft.capacity}"
                    + (": full, new cases need a stated override" if full else "")
                )
            if column == FEE_COLUMN and not info.draft.fee_minor:
                return "No fee of their own: the fee schedule's price for the role is quoted"
            if column == DUE_SOON_COLUMN and info.due_soon:
                return "Cases of this specialist whose answer is due soon"
            if column == OVERDUE_COLUMN and info.overdue:
                return "Cases of this specialist past their promised answer time"
            if not info.draft.active:
                return "Inactive: not suggested for new cases"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return None


# --- the edit form -----------------------------------------------------------------------
class FieldWithMessage(QWidget):
    """An input with its validation message right underneath."""

    def __init__(self, editor: QWidget) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.editor = editor
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(editor)
        layout.addWidget(self.message)
        self.setFocusProxy(editor)  # the label's shortcut reaches the input

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


class SpecialistForm(QWidget):
    changed = Signal()  # the user edited something

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, FieldWithMessage] = {}
        self._loading = False
        self.name = QLineEdit(objectName="specialist_name")
        self.title = QLineEdit(objectName="specialist_title", placeholderText="e.g. Prof. Dr. med.")
        self.discipline = QComboBox(objectName="specialist_discipline")
        for discipline in Discipline:
            self.discipline.addItem(discipline.label, discipline)
        self.cancer_types = QListWidget(objectName="specialist_cancer_types")
        self.cancer_types.setFlow(QListWidget.Flow.TopToBottom)
        self.cancer_types.setWrapping(True)
        self.cancer_types.setResizeMode(QListWidget.ResizeMode.Adjust)
        metrics = self.fontMetrics()
        widest = max(metrics.horizontalAdvance(label) for label in CANCER_TYPES.values())
        row_height = metrics.height() + 6
        self.cancer_types.setGridSize(QSize(widest + 34, row_height))  # room for the tick box
        rows = (len(CANCER_TYPES) + 1) // 2  # two columns
        frame = 2 * self.cancer_types.frameWidth()
        self.cancer_types.setFixedHeight(row_height * rows + frame + 6)
        self.cancer_types.setMinimumWidth(2 * (widest + 34) + frame + 6)
        self.cancer_types.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cancer_types.setToolTip("The cancer types this specialist reviews (space ticks one)")
        for code, label in sorted(CANCER_TYPES.items(), key=lambda kv: kv[1]):
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.cancer_types.addItem(item)
        self.phone = QLineEdit(objectName="specialist_phone")
        self.email = QLineEdit(objectName="specialist_email")
        self.fee = QLineEdit(objectName="specialist_fee")
        self.fee_currency = QLabel(objectName="specialist_fee_currency")
        fee_row = QWidget()
        fee_layout = QHBoxLayout(fee_row)
        fee_layout.setContentsMargins(0, 0, 0, 0)
        fee_layout.addWidget(self.fee, 1)
        fee_layout.addWidget(self.fee_currency)
        fee_row.setFocusProxy(self.fee)
        self._currency = ""
        self.set_currency("EUR")
        self.capacity = QSpinBox(objectName="specialist_capacity")
        self.capacity.setRange(1, MAX_CAPACITY)
        self.capacity.setSuffix(" active cases at once")
        self.active = QCheckBox("Active: suggested for new cases", objectName="specialist_active")

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Na&me", self._field("name", self.name))
        form.addRow("&Title", self.title)
        form.addRow("&Discipline", self._field("discipline", self.discipline))
        form.addRow("Sub-specialties", self._field("cancer_types", self.cancer_types))
        form.addRow("&Phone", self._field("phone", self.phone))
        form.addRow("&E-mail", self._field("email", self.email))
        form.addRow("&Fee", self._field("fee", fee_row))
        form.addRow("&Capacity", self._field("capacity", self.capacity))
        form.addRow("", self._field("active", self.active))

        for line in (self.name, self.title, self.phone, self.email, self.fee):
            line.textEdited.connect(self._edited)
        self.discipline.activated.connect(self._edited)
        self.cancer_types.itemChanged.connect(self._edited)
        self.capacity.valueChanged.connect(self._edited)
        self.active.clicked.connect(self._edited)
        self.set_draft(None)

    def set_currency(self, currency: str) -> None:
        """The office currency the fee is typed in (in the user's locale: 1.234,50 in German)."""
        if currency == self._currency:
            return
        self._currency = currency
        self.fee_currency.setText(currency)
        self.fee.setPlaceholderText(f"e.g. {editable_text(25_000, currency)}")
        self.fee.setToolTip(
            f"Consultation fee in {currency}, typed as usual here "
            f"(e.g. {editable_text(123_450, currency)}); empty: no fee of their own"
        )

    def _field(self, name: str, editor: QWidget) -> FieldWithMessage:
        field = FieldWithMessage(editor)
        self._fields[name] = field
        return field

    def _edited(self, *_args: object) -> None:
        if not self._loading:
            self.changed.emit()

    def set_draft(self, draft: SpecialistDraft | None) -> None:
        """Show a specialist's stored details; None: an empty form for a new one."""
        self._loading = True
        try:
            self.name.setText(draft.name if draft else "")
            self.title.setText(draft.title if draft else "")
            discipline = draft.discipline if draft else Discipline.MEDICAL_ONCOLOGY
            self.discipline.setCurrentIndex(self.discipline.findData(discipline))
            wanted = draft.cancer_types if draft else frozenset()
            for row in range(self.cancer_types.count()):
                item = self.cancer_types.item(row)
                checked = item.data(Qt.ItemDataRole.UserRole) in wanted
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.phone.setText(draft.phone if draft else "")
            self.email.setText(draft.email if draft else "")
            fee = draft.fee_minor if draft else 0
            self.fee.setText(editable_text(fee, self._currency) if fee else "")
            self.capacity.setValue(draft.capacity if draft else DEFAULT_CAPACITY)
            self.active.setChecked(draft.active if draft else True)
            self.show_errors({})
        finally:
            self._loading = False

    def checked_cancer_types(self) -> frozenset[str]:
        return frozenset(
            self.cancer_types.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.cancer_types.count())
            if self.cancer_types.item(row).checkState() == Qt.CheckState.Checked
        )

    def draft(self, errors: dict[str, str]) -> SpecialistDraft:
        """The specialist as typed; a fee that cannot be read is added to `errors` (fee 0)."""
        fee_minor = 0
        if self.fee.text().strip():
            try:  # a negative fee is read as typed: the service refuses it in its own words
                fee_minor = parse_amount(self.fee.text(), self._currency, allow_negative=True)
            except MoneyError as exc:
                errors["fee"] = str(exc)
        return SpecialistDraft(
            name=self.name.text(),
            discipline=Discipline(self.discipline.currentData()),  # Qt hands back a str
            capacity=self.capacity.value(),
            title=self.title.text(),
            cancer_types=self.checked_cancer_types(),
            phone=self.phone.text(),
            email=self.email.text(),
            fee_minor=fee_minor,
            active=self.active.isChecked(),
        )

    def show_errors(self, errors: dict[str, str]) -> list[str]:
        """Each message next to its field; returns the messages that belong to no field."""
        for name, field in self._fields.items():
            field.show_message(errors.get(name, ""))
        first = next((self._fields[n].editor for n in self._fields if n in errors), None)
        if first is not None:
            first.setFocus()
        return [text for name, text in errors.items() if name not in self._fields]

    def error_text(self, name: str) -> str:
        field = self._fields[name]
        return field.message.text() if field.message.isVisibleTo(self) else ""


# --- the window --------------------------------------------------------------------------
class SpecialistsWindow(QWidget):
    changed = Signal()  # something was saved: other screens refresh their counts and filters

    def __init__(
        self,
        db: Database,
        actor: Actor,
        show_cases: Callable[[int], object] | None = None,
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("Specialists · Referral Desk")
        self.setObjectName("specialists_window")
        self._db, self._actor = db, actor
        self._show_cases, self._state = show_cases, window_state
        # A manager looks up the roster and its load; keeping it is the office staff's.
        self._edit_refused = refusal(actor, Permission.EDIT_CASES, "change the specialists' roster")
        self._current: SpecialistInfo | None = None  # None: a new specialist being typed
        self._version: int | None = None  # as shown in the form: saving checks it
        self._dirty = False
        self._selecting = False
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)

        # The roster
        self.summary = QLabel(objectName="specialists_summary")
        self.summary.setStyleSheet("font-weight: bold;")
        self.model = SpecialistsModel()
        self.table = QTableView(objectName="specialists_table")
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
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.resizeSection(column, width)
        self.new_button = QPushButton("&New specialist", objectName="new_specialist")
        self.new_button.clicked.connect(self.new_specialist)
        allow(self.new_button, self._edit_refused)
        self.show_cases_button = QPushButton("Sh&ow cases", objectName="show_cases")
        self.show_cases_button.setToolTip("Show this specialist's cases in the case list")
        self.show_cases_button.clicked.connect(self.show_cases)
        self.show_cases_button.setVisible(show_cases is not None)
        roster_buttons = QHBoxLayout()
        roster_buttons.addWidget(self.new_button)
        roster_buttons.addWidget(self.show_cases_button)
        roster_buttons.addStretch(1)
        roster = QWidget()
        roster_layout = QVBoxLayout(roster)
        roster_layout.setContentsMargins(0, 0, 0, 0)
        roster_layout.addWidget(self.summary)
        roster_layout.addWidget(self.table, 1)
        roster_layout.addLayout(roster_buttons)

        # The selected specialist
        self.form = SpecialistForm()
        if self._edit_refused:
            make_read_only(self.form, self._edit_refused)
            for row in range(self.form.cancer_types.count()):
                item = self.form.cancer_types.item(row)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
        self.form.changed.connect(self._mark_dirty)
        self.save_button = QPushButton("&Save", objectName="save_specialist")
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        allow(
            self.save_button, self._edit_refused, tooltip="Save this specialist's details (Ctrl+S)"
        )
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Re&vert", objectName="revert_specialist")
        self.revert_button.clicked.connect(self.revert)
        self.message = QLabel(objectName="specialist_message")
        self.message.setWordWrap(True)
        form_buttons = QHBoxLayout()
        form_buttons.addWidget(self.save_button)
        form_buttons.addWidget(self.revert_button)
        form_buttons.addStretch(1)
        self.details_box = QGroupBox("New specialist")
        details_layout = QVBoxLayout(self.details_box)
        details_layout.addWidget(self.form)
        details_layout.addLayout(form_buttons)
        details_layout.addWidget(self.message)

        # Absences
        self.absences = QListWidget(objectName="absences")
        self.absences.setFixedHeight(self.fontMetrics().height() * 5 + 12)
        self.absences.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.absence_from = QDateEdit(objectName="absence_from", calendarPopup=True)
        self.absence_to = QDateEdit(objectName="absence_to", calendarPopup=True)
        for edit in (self.absence_from, self.absence_to):
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(QDate.currentDate())
        self.absence_note = QLineEdit(
            objectName="absence_note", placeholderText="e.g. holiday, congress"
        )
        self.add_absence_button = QPushButton("&Add absence", objectName="add_absence")
        self.add_absence_button.clicked.connect(self.add_absence)
        self.remove_absence_button = QPushButton("&Remove", objectName="remove_absence")
        self.remove_absence_button.clicked.connect(self.remove_absence)
        self.absence_message = QLabel(objectName="absence_message")
        self.absence_message.setStyleSheet(ERROR_STYLE)
        self.absence_message.setWordWrap(True)
        self.absence_message.hide()
        dates = QHBoxLayout()
        dates.addWidget(QLabel("From"))
        dates.addWidget(self.absence_from)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.absence_to)
        dates.addWidget(self.absence_note, 1)
        absence_buttons = QHBoxLayout()
        absence_buttons.addWidget(self.add_absence_button)
        absence_buttons.addWidget(self.remove_absence_button)
        absence_buttons.addStretch(1)
        self.absences_box = QGroupBox("Absences (first and last day away)")
        absences_layout = QVBoxLayout(self.absences_box)
        absences_layout.addWidget(self.absences)
        absences_layout.addLayout(dates)
        absences_layout.addLayout(absence_buttons)
        absences_layout.addWidget(self.absence_message)

        side_content = QWidget()
        side_layout = QVBoxLayout(side_content)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.details_box)
        side_layout.addWidget(self.absences_box)
        side_layout.addStretch(1)
        side = QScrollArea(objectName="specialist_side")  # messages may need more room
        side.setWidget(side_content)
        side.setWidgetResizable(True)
        side.setFrameShape(QScrollArea.Shape.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setMinimumWidth(
            side_content.minimumSizeHint().width() + side.verticalScrollBar().sizeHint().width()
        )

        self.splitter = QSplitter(objectName="specialists_splitter")
        self.splitter.addWidget(roster)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([1040, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)
        self.resize(1600, 800)
        if self._state:
            self._state.restore("specialists_window", self)
            self._state.restore("specialists_splitter", self.splitter)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.refresh()
        if self.model.rows:
            self.select_specialist(self.model.rows[0].id)
        else:
            self.new_specialist()

    # --- what is shown ------------------------------------------------------------------
    @property
    def current_id(self) -> int | None:
        return self._current.id if self._current else None

    @property
    def has_unsaved_edits(self) -> bool:
        return self._dirty

    def refresh(self) -> None:
        """Reload the roster and its load; the form keeps the user's unsaved edits."""
        rows = specialists.list_specialists(self._db)
        currency = office.get_profile(self._db).currency
        self.model.set_rows(rows, date.today(), currency)
        self.form.set_currency(currency)
        active = [s for s in rows if s.draft.active]
        load = sum(s.active_cases for s in rows)
        due_soon = sum(s.due_soon for s in rows)
        overdue = sum(s.overdue for s in rows)
        self.summary.setText(
            f"{len(active)} active specialist{'s' if len(active) != 1 else ''}"
            + (f" ({len(rows) - len(active)} inactive)" if len(rows) > len(active) else "")
            + f" · {load} case{'s' if load != 1 else ''} awaiting an opinion"
            + f" · {due_soon} due soon · {overdue} overdue"
            if rows
            else "No specialists yet: add the first with New specialist."
        )
        if self._current is not None:
            fresh = next((s for s in rows if s.id == self._current.id), None)
            if fresh is None:  # gone from elsewhere: nothing to keep
                self._current, self._version, self._dirty = None, None, False
                self.form.set_draft(None)
            else:
                self._current = fresh
                if not self._dirty:
                    self._load_form(fresh)
        self._select_row(self.current_id)
        self._show_absences()
        self._update_buttons()

    def _load_form(self, info: SpecialistInfo | None) -> None:
        self._current = info
        self._version = info.version if info else None
        self._dirty = False
        self.form.set_draft(info.draft if info else None)
        self.details_box.setTitle(info.name if info else "New specialist")

    def _show_absences(self) -> None:
        chosen = self.absences.currentItem()
        chosen_id = chosen.data(Qt.ItemDataRole.UserRole) if chosen else None
        self.absences.clear()
        today = date.today()
        for absence in self._current.absences if self._current else ():
            item = QListWidgetItem(absence_text(absence))
            item.setData(Qt.ItemDataRole.UserRole, absence.id)
            if absence.last_day < today:
                item.setForeground(INACTIVE_TEXT)
                item.setToolTip("Past")
            elif absence.first_day <= today:
                item.setToolTip("Away now")
            self.absences.addItem(item)
            if absence.id == chosen_id:
                self.absences.setCurrentItem(item)

    def _select_row(self, specialist_id: int | None) -> None:
        self._selecting = True
        try:
            row = self.model.row_for(specialist_id) if specialist_id is not None else None
            if row is None:
                self.table.clearSelection()
            else:
                self.table.selectionModel().setCurrentIndex(
                    self.model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
        finally:
            self._selecting = False

    def _selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()].id if rows else None

    def _selection_changed(self, *_args: object) -> None:
        if self._selecting:
            return
        wanted = self._selected_id()
        if wanted is None or wanted == self.current_id:
            return
        if not self._confirm_leave():
            self._select_row(self.current_id)  # stay on the unsaved edits
            return
        self._open(wanted)

    def select_specialist(self, specialist_id: int) -> bool:
        """Show a specialist's details (asks first when the form has unsaved edits)."""
        if specialist_id != self.current_id and not self._confirm_leave():
            return False
        self._open(specialist_id)
        return self.current_id == specialist_id

    def _open(self, specialist_id: int) -> None:
        info = next((s for s in self.model.rows if s.id == specialist_id), None)
        self._load_form(info)
        self._select_row(self.current_id)
        self.say("")
        self.absence_message.hide()
        self._show_absences()
        self._update_buttons()

    def _mark_dirty(self) -> None:
        self._dirty = self._edit_refused is None
        self._update_buttons()

    def _update_buttons(self) -> None:
        saved = self._current is not None
        allow(
            self.revert_button,
            self._edit_refused,
            enabled=self._dirty,
            tooltip="Forget the edits and show what is saved",
        )
        self.show_cases_button.setEnabled(saved)
        allow(
            self.absences_box,
            self._edit_refused,
            enabled=saved,
            tooltip="" if saved else "Save the specialist first",
        )
        self.remove_absence_button.setEnabled(saved and self.absences.currentItem() is not None)

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if problem else "")
        self.message.setText(text)

    def _confirm_leave(self) -> bool:
        """Nothing typed may be lost silently: save, discard or stay."""
        if not self._dirty:
            return True
        who = self._current.name if self._current else "the new specialist"
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {who}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self._dirty = False
            return True
        return False

    # --- actions ---------------------------------------------------------------------
    def new_specialist(self) -> bool:
        if not self._confirm_leave():
            return False
        self._load_form(None)
        self._select_row(None)
        self.say("Type the new specialist's details, then Save.")
        self.absence_message.hide()
        self._show_absences()
        self._update_buttons()
        self.form.name.setFocus()
        return True

    def revert(self) -> None:
        self._load_form(self._current)
        self.say("")

    def save(self) -> bool:
        errors: dict[str, str] = {}
        draft = self.form.draft(errors)
        if errors:  # typed input that cannot even be read: say so with the service's messages
            errors = {**specialists.validate(replace(draft, fee_minor=0)), **errors}
            self._refused(errors)
            return False
        try:
            if self._current is None:
                saved_id = specialists.create_specialist(self._db, draft, actor=self._actor)
                message = f"{' '.join(draft.name.split())} added to the roster."
            else:
                assert self._version is not None
                saved_id = self._current.id
                specialists.update_specialist(
                    self._db, saved_id, draft, expected_version=self._version, actor=self._actor
                )
                message = "Saved."
        except ValidationError as exc:
            self._refused(exc.errors)
            return False
        except ConflictError as exc:
            self.say(f"{exc} Use Revert to see their version.", problem=True)
            return False
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return False
        self._dirty = False
        self.refresh()
        self._open(saved_id)
        self.say(message)
        self.changed.emit()
        return True

    def _refused(self, errors: dict[str, str]) -> None:
        elsewhere = self.form.show_errors(errors)
        self.say(
            " ".join(["Not saved:", *elsewhere])
            if elsewhere
            else "Not saved: see the messages next to the fields.",
            problem=True,
        )

    def add_absence(self) -> bool:
        if self._current is None:
            return False
        try:
            specialists.add_absence(
                self._db,
                self._current.id,
                self.absence_from.date().toPython(),
                self.absence_to.date().toPython(),
                self.absence_note.text(),
                actor=self._actor,
            )
        except ValidationError as exc:
            self._absence_refused(exc.errors.get("absence") or str(exc))
            return False
        except ServiceError as exc:
            self._absence_refused(str(exc))
            return False
        self.absence_message.hide()
        self.absence_note.clear()
        self.refresh()
        self.changed.emit()
        return True

    def _absence_refused(self, text: str) -> None:
        self.absence_message.setText(text)
        self.absence_message.show()

    def remove_absence(self) -> bool:
        item = self.absences.currentItem()
        if self._current is None or item is None:
            return False
        try:
            specialists.remove_absence(
                self._db, int(item.data(Qt.ItemDataRole.UserRole)), actor=self._actor
            )
        except ServiceError as exc:
            self._absence_refused(str(exc))
            return False
        self.absence_message.hide()
        self.refresh()
        self.changed.emit()
        return True

    def show_cases(self) -> None:
        if self._current is not None and self._show_cases is not None:
            self._show_cases(self._current.id)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_leave():
            event.ignore()
            return
        if self._state:
            self._state.save("specialists_window", self)
            self._state.save("specialists_splitter", self.splitter)
        super().closeEvent(event)
