"""The audit viewer: the office's whole trail, newest first, narrowed by user, case, patient,
action and dates; each entry's changed fields; the CSV export and the integrity check.

Managers and administrators only. The table reads the trail a page at a time as it is
scrolled, so a trail of millions of entries opens as fast as a short one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QStringListModel,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QKeySequence,
    QMouseEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.services import accounts, audit_log, office
from referral_desk.services.acting import check
from referral_desk.services.audit_log import AuditFilter, AuditRow, ChainReport, PatientMatch
from referral_desk.services.errors import ServiceError, environment_problem
from referral_desk.ui import audit_text
from referral_desk.ui.background import Cancelled, Task, TaskSet
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.letters_panel import documents_folder
from referral_desk.ui.reports_window import ProgressStrip
from referral_desk.ui.window_state import WindowState

Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("When", "Who", "Action", "Case", "Patient", "What")
COLUMN_WIDTHS = (135, 120, 130, 120, 170)
HEADER_STATE_KEY = f"audit_header_{len(COLUMNS)}"
NOTE_STYLE = "color: #555555;"
OK_STYLE = "color: #1b5e20;"
ANYONE = "Anyone"
NO_PATIENT_MATCH = -1


@dataclass(frozen=True)
class _Shown:
    """One entry's cells, worked out once when its page arrives (painting stays cheap)."""

    row: AuditRow
    cells: tuple[str, ...]


class _StayOpenMenu(QMenu):
    """Ticking one action keeps the menu open, so several are chosen in one go."""

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        action = self.activeAction()
        if action is not None and action.isCheckable() and action.isEnabled():
            action.trigger()
            return
        super().mouseReleaseEvent(event)


class AuditModel(QAbstractTableModel):
    """Entries newest first, read a page at a time through `fetch(before_id)`; the model
    never queries the database itself."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fetch: Callable[[int | None], list[AuditRow]] = lambda _before: []
        self._shown: list[_Shown] = []
        self._more = False
        self._page = audit_log.PAGE
        self._currency = "EUR"
        self._user_names: Mapping[str, str] = {}

    def reset(
        self,
        fetch: Callable[[int | None], list[AuditRow]],
        *,
        currency: str,
        user_names: Mapping[str, str],
        page: int = audit_log.PAGE,
    ) -> None:
        """Start over with another filter; the first page is read at once."""
        self.beginResetModel()
        self._fetch, self._currency, self._user_names = fetch, currency, user_names
        self._page = page
        self._shown, self._more = [], True
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def _cells(self, row: AuditRow) -> _Shown:
        return _Shown(
            row,
            (
                audit_text.when_text(row),
                row.actor,
                audit_text.action_label(row.action),
                row.case_reference,
                row.patient_name,
                audit_text.summary(row, self._currency, user_names=self._user_names),
            ),
        )

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self._more:
            return
        before = self._shown[-1].row.id if self._shown else None
        page = self._fetch(before)
        self._more = len(page) >= self._page
        if not page:
            return
        first = len(self._shown)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._shown.extend(self._cells(r) for r in page)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._shown):
            return None
        shown = self._shown[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return shown.cells[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == len(COLUMNS) - 1:
            return shown.cells[-1]
        if role == ROW_ROLE:
            return shown.row
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def entry(self, row: int) -> AuditRow:
        return self._shown[row].row

    @property
    def exhausted(self) -> bool:
        return not self._more


def utc_bounds(
    first: date | None, last: date | None, zone: tzinfo | None = None
) -> tuple[datetime | None, datetime | None]:
    """Local days `first`..`last` (inclusive) as UTC [since, until): local midnights, the
    end being the midnight after `last`. `zone` None: this computer's."""

    def midnight(day: date) -> datetime:
        local = datetime.combine(day, time())
        moment = local.replace(tzinfo=zone) if zone is not None else local.astimezone()
        return moment.astimezone(UTC)

    since = midnight(first) if first is not None else None
    until = midnight(last + timedelta(days=1)) if last is not None else None
    return since, until


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class AuditWindow(QWidget):
    """Non-modal; the main window keeps one and shows it again."""

    export_finished = Signal(object)  # entries written (int), or None
    check_finished = Signal(object)  # ChainReport, or None

    @staticmethod
    def may_open(actor: Actor) -> bool:
        return actor.may(Permission.VIEW_AUDIT)

    def __init__(
        self,
        db: Database,
        actor: Actor,
        open_case: Callable[[int], object],
        parent: QWidget | None = None,
        *,
        window_state: WindowState | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        # Refused before anything is built: the trail names every patient anyone looked at.
        check(actor, Permission.VIEW_AUDIT, "read the audit trail")
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setObjectName("audit_window")
        self.setWindowTitle("Audit trail · Referral Desk")
        self._db, self._actor, self._open_case = db, actor, open_case
        self._state, self._zone = window_state, zone
        self._case_id: int | None = None
        self._case_unknown = False
        self._patient: PatientMatch | None = None
        self._matches: list[PatientMatch] = []
        self.export_task: Task | None = None
        self.check_task: Task | None = None
        self._export_path = Path()
        self._tasks = TaskSet(self)

        # --- filters ---------------------------------------------------------------------
        self.user_combo = QComboBox(objectName="audit_user")
        self.user_combo.setMinimumContentsLength(14)
        self.user_combo.setToolTip("Entries by one person (failed sign-ins name what was typed)")
        self.case_edit = QLineEdit(objectName="audit_case")
        self.case_edit.setPlaceholderText("RD-2026-00012")
        self.case_edit.setClearButtonEnabled(True)
        self.case_edit.setToolTip("A case's reference; press Enter to show its entries")
        self.case_edit.setMaximumWidth(150)
        self.patient_edit = QLineEdit(objectName="audit_patient")
        self.patient_edit.setPlaceholderText("part of a name")
        self.patient_edit.setClearButtonEnabled(True)
        self.patient_edit.setToolTip(
            "Type part of the patient's name and pick them from the list: every case and "
            "document of theirs, and their details"
        )
        self.patient_edit.setMinimumWidth(200)
        self._patient_names = QStringListModel(self)
        self.patient_completer = QCompleter(self._patient_names, self)
        # The service matches names (accents and case ignored): show its list unfiltered.
        self.patient_completer.setCompletionMode(
            QCompleter.CompletionMode.UnfilteredPopupCompletion
        )
        self.patient_completer.setMaxVisibleItems(12)
        self.patient_completer.setWidget(self.patient_edit)
        self.patient_completer.activated[QModelIndex].connect(self._patient_picked)
        self._patient_timer = QTimer(self, singleShot=True, interval=250)
        self._patient_timer.timeout.connect(self._look_up_patients)

        self.action_button = QToolButton(objectName="audit_actions")
        self.action_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.action_button.setToolTip("Show only some kinds of entry")
        self.action_menu = _StayOpenMenu(self.action_button)
        every = self.action_menu.addAction("All actions")
        every.triggered.connect(self._all_actions)
        self.action_menu.addSeparator()
        self.action_items: dict[AuditAction, QAction] = {}
        for action in AuditAction:
            item = self.action_menu.addAction(audit_text.action_label(action))
            item.setCheckable(True)
            item.toggled.connect(self._actions_changed)
            self.action_items[action] = item
        self.action_button.setMenu(self.action_menu)

        today = datetime.now(UTC).astimezone(zone).date()
        self.from_check = QCheckBox("&From", objectName="audit_from_on")
        self.from_date = QDateEdit(_qdate(today - timedelta(days=30)), objectName="audit_from")
        self.to_check = QCheckBox("&To", objectName="audit_to_on")
        self.to_date = QDateEdit(_qdate(today), objectName="audit_to")
        for box, edit in ((self.from_check, self.from_date), (self.to_check, self.to_date)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            edit.setToolTip("A day in this computer's local time; the day itself is included")
            box.toggled.connect(edit.setEnabled)
            box.toggled.connect(self.apply_filters)
            edit.dateChanged.connect(self._date_changed)
        self.clear_button = QPushButton("Clear filters", objectName="audit_clear")
        self.clear_button.clicked.connect(self.clear_filters)

        filters = QHBoxLayout()
        for text, widget in (
            ("&User:", self.user_combo),
            ("&Case:", self.case_edit),
            ("&Patient:", self.patient_edit),
            ("&Action:", self.action_button),
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            filters.addWidget(label)
            filters.addWidget(widget)
            filters.addSpacing(6)
        filters.addWidget(self.from_check)
        filters.addWidget(self.from_date)
        filters.addWidget(self.to_check)
        filters.addWidget(self.to_date)
        filters.addSpacing(6)
        filters.addWidget(self.clear_button)
        filters.addStretch(1)

        # --- what is shown, and what to do with it -------------------------------------
        self.count_label = QLabel(objectName="audit_count")
        self.refresh_button = QPushButton("Refresh", objectName="audit_refresh")
        self.refresh_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.refresh_button.setToolTip("Read the trail again from the newest entry (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.check_button = QPushButton("Check integrity", objectName="audit_check")
        self.check_button.setToolTip(
            "Walk the whole trail and confirm that no entry was changed, removed or added "
            "outside Referral Desk"
        )
        self.check_button.clicked.connect(self.check_integrity)
        self.export_button = QPushButton("Export CSV…", objectName="audit_export")
        self.export_button.setToolTip("Save the entries the filters show as a CSV file")
        self.export_button.clicked.connect(lambda: self.export_csv())
        actions = QHBoxLayout()
        actions.addWidget(self.count_label)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)
        actions.addWidget(self.check_button)
        actions.addWidget(self.export_button)

        self.progress = ProgressStrip("audit_progress")
        self.progress.cancel_requested.connect(self.cancel)
        self.message = QLabel(objectName="audit_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.message.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.message.hide()

        # --- the entries -------------------------------------------------------------------
        self._total = 0
        self._currency = "EUR"
        self._user_names: dict[str, str] = {}
        self.model = AuditModel(self)
        self.model.rowsInserted.connect(self._show_count)  # a page scrolled into view
        self.table = QTableView(objectName="audit_table")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setToolTip("Double-click an entry, or press Enter, to open its case")
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # measuring rows is slow
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vertical.hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.resizeSection(column, width)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.table.activated.connect(self._activated)

        # --- the selected entry ------------------------------------------------------------
        self.detail_heading = QLabel(objectName="audit_detail_heading")
        self.detail_heading.setWordWrap(True)
        self.detail_heading.setStyleSheet("font-weight: bold;")
        self.detail_heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_note = QLabel(objectName="audit_detail_note")
        self.detail_note.setWordWrap(True)
        self.detail_note.setStyleSheet(NOTE_STYLE)
        self.detail_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.changes_table = QTableWidget(0, 3, objectName="audit_changes")
        self.changes_table.setHorizontalHeaderLabels(["Field", "Before", "After"])
        self.changes_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.changes_table.setWordWrap(True)
        self.changes_table.verticalHeader().hide()
        changes_header = self.changes_table.horizontalHeader()
        changes_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        changes_header.resizeSection(0, 220)
        changes_header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        changes_header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        details = QWidget(objectName="audit_details")
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(0, 4, 0, 0)
        details_layout.addWidget(self.detail_heading)
        details_layout.addWidget(self.detail_note)
        details_layout.addWidget(self.changes_table, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, objectName="audit_splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addLayout(actions)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)

        self.user_combo.currentIndexChanged.connect(self.apply_filters)
        self.case_edit.returnPressed.connect(self._case_typed)
        self.case_edit.editingFinished.connect(self._case_typed)
        self.case_edit.textChanged.connect(self._case_cleared)
        self.patient_edit.textEdited.connect(self._patient_typed)
        self.patient_edit.returnPressed.connect(self._patient_entered)

        self.resize(1200, 760)
        if self._state is not None:
            self._state.restore("audit_window", self)
            self._state.restore("audit_splitter", self.splitter)
            self._state.restore(HEADER_STATE_KEY, header)
        self._update_action_button()
        self._show_entry(None)
        self.refresh()

    # --- the filter ----------------------------------------------------------------------
    def current_filter(self) -> AuditFilter:
        since, until = utc_bounds(
            self.from_date.date().toPython() if self.from_check.isChecked() else None,
            self.to_date.date().toPython() if self.to_check.isChecked() else None,
            self._zone,
        )
        user = self.user_combo.currentData()
        return AuditFilter(
            actor=user or "",
            case_id=self._case_id,
            patient_id=self._patient.id if self._patient is not None else None,
            actions=frozenset(a for a, item in self.action_items.items() if item.isChecked()),
            since=since,
            until=until,
        )

    def refresh(self) -> None:
        """Read the list of people and the entries again, keeping the filters."""
        chosen = self.user_combo.currentData()
        self.user_combo.blockSignals(True)
        try:
            self.user_combo.clear()
            self.user_combo.addItem(ANYONE, "")
            for name in audit_log.actors(self._db):
                self.user_combo.addItem(name, name)
            index = self.user_combo.findData(chosen) if chosen else 0
            if index < 0:  # a name no longer in the trail cannot happen, but a filter is kept
                self.user_combo.addItem(chosen, chosen)
                index = self.user_combo.count() - 1
            self.user_combo.setCurrentIndex(index)
        finally:
            self.user_combo.blockSignals(False)
        self._currency = office.get_profile(self._db).currency
        self._user_names = {str(u.id): u.name for u in accounts.list_users(self._db)}
        self.apply_filters()

    def apply_filters(self) -> None:
        f = self.current_filter()
        if self._case_unknown:  # a reference no case has: nothing to show, said plainly
            self.model.reset(lambda _b: [], currency=self._currency, user_names=self._user_names)
            self._total = 0
        else:
            db = self._db
            self.model.reset(
                lambda before: audit_log.entries(db, f, before_id=before),
                currency=self._currency,
                user_names=self._user_names,
            )
            self._total = audit_log.count(db, f)
        self._show_count()
        self._show_entry(None)

    def _show_count(self) -> None:
        shown, total = self.model.rowCount(), self._total
        noun = "entry" if total == 1 else "entries"
        if shown >= total:
            self.count_label.setText(f"{total:,} {noun}")
        else:
            self.count_label.setText(
                f"Showing the newest {shown:,} of {total:,} {noun}; scroll down for more"
            )

    def choose_user(self, name: str) -> None:
        index = self.user_combo.findData(name)
        if index < 0:
            raise ValueError(f"{name!r} is not in the trail")
        self.user_combo.setCurrentIndex(index)

    def _case_typed(self) -> None:
        text = self.case_edit.text().strip()
        case_id = audit_log.find_case(self._db, text) if text else None
        unknown = bool(text) and case_id is None
        if case_id == self._case_id and unknown == self._case_unknown:
            return  # Enter and then leaving the field: filtered once
        self._case_id, self._case_unknown = case_id, unknown
        if unknown:
            self.say(
                f"No case has the reference “{text}”. Type it as it appears on the case, "
                "e.g. RD-2026-00012, or clear the field to see every case.",
                problem=True,
            )
        else:
            self.message.hide()
        self.apply_filters()

    def _case_cleared(self, text: str) -> None:
        if not text:  # the clear button emits no editingFinished
            self._case_typed()

    def _patient_typed(self, _text: str) -> None:
        if self._patient is not None:  # editing the name drops the patient picked
            self._patient = None
            self.apply_filters()
        self._patient_timer.start()

    def _look_up_patients(self) -> list[PatientMatch]:
        text = self.patient_edit.text().strip()
        self._matches = audit_log.find_patients(self._db, text) if text else []
        self._patient_names.setStringList([self._match_text(m) for m in self._matches])
        if self._matches and self.patient_edit.hasFocus():
            self.patient_completer.complete()
        return self._matches

    @staticmethod
    def _match_text(match: PatientMatch) -> str:
        return f"{match.name} (born {match.birth_date.isoformat()})"

    def _patient_entered(self) -> None:
        """Enter: one match is taken at once; none is said; several are offered."""
        if self._patient is not None:
            return
        self._patient_timer.stop()
        text = self.patient_edit.text().strip()
        if not text:
            return
        matches = self._look_up_patients()
        if len(matches) == 1:
            self.choose_patient(matches[0])
        elif not matches:
            self.say(f"No patient's name contains “{text}”.", problem=True)

    def _patient_picked(self, index: QModelIndex) -> None:
        if 0 <= index.row() < len(self._matches):
            self.choose_patient(self._matches[index.row()])

    def choose_patient(self, match: PatientMatch | None) -> None:
        """Show only this patient's entries (None: everyone's)."""
        self._patient = match
        self.patient_edit.setText(self._match_text(match) if match else "")
        self.message.hide()
        self.apply_filters()

    def _actions_changed(self) -> None:
        self._update_action_button()
        self.apply_filters()

    def choose_actions(self, actions: set[AuditAction]) -> None:
        for action, item in self.action_items.items():
            item.blockSignals(True)
            item.setChecked(action in actions)
            item.blockSignals(False)
        self._actions_changed()

    def _all_actions(self) -> None:
        self.choose_actions(set())

    def _update_action_button(self) -> None:
        chosen = [a for a, item in self.action_items.items() if item.isChecked()]
        if not chosen:
            text = "All actions"
        elif len(chosen) <= 2:
            text = ", ".join(audit_text.action_label(a) for a in chosen)
        else:
            text = f"{len(chosen)} actions"
        self.action_button.setText(text)

    def _date_changed(self) -> None:
        if self.from_check.isChecked() or self.to_check.isChecked():
            self.apply_filters()

    def clear_filters(self) -> None:
        for widget in (self.user_combo, self.from_check, self.to_check):
            widget.blockSignals(True)
        try:
            self.user_combo.setCurrentIndex(0)
            self.from_check.setChecked(False)
            self.to_check.setChecked(False)
            self.from_date.setEnabled(False)
            self.to_date.setEnabled(False)
            for item in self.action_items.values():
                item.blockSignals(True)
                item.setChecked(False)
                item.blockSignals(False)
        finally:
            for widget in (self.user_combo, self.from_check, self.to_check):
                widget.blockSignals(False)
        self.case_edit.blockSignals(True)  # one reload below, not one per field
        self.case_edit.clear()
        self.case_edit.blockSignals(False)
        self._case_id, self._case_unknown = None, False
        self._patient = None
        self.patient_edit.clear()
        self._update_action_button()
        self.message.hide()
        self.apply_filters()

    # --- the selected entry --------------------------------------------------------------
    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = {index.row() for index in selected.indexes()}
        self._show_entry(self.model.entry(min(rows)) if rows else None)

    def _show_entry(self, row: AuditRow | None) -> None:
        self.changes_table.setRowCount(0)
        if row is None:
            self.detail_heading.setText("")
            self.detail_note.setText("Select an entry to see every field it changed.")
            return
        summary = audit_text.summary(row, self._currency, user_names=self._user_names, most=0)
        self.detail_heading.setText(f"{audit_text.when_text(row)} · {row.actor} {summary}")
        facts = [f"Entry {row.id}", f"record: {audit_text.record_text(row)}"]
        if row.case_reference:
            facts.append(f"case {row.case_reference}")
        if row.patient_name:
            facts.append(f"patient {row.patient_name}")
        if row.detail:
            facts.append(f"detail: {row.detail}")
        changes = audit_text.field_changes(row, self._currency)
        if not changes:
            facts.append("no fields recorded")
        self.detail_note.setText(" · ".join(facts))
        self.changes_table.setRowCount(len(changes))
        for line, change in enumerate(changes):
            for column, text in enumerate((change.label, change.before, change.after)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.changes_table.setItem(line, column, cell)
        self.changes_table.resizeRowsToContents()

    def selected_entry(self) -> AuditRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.entry(rows[0].row()) if rows else None

    def _activated(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        row = self.model.entry(index.row())
        if row.case_id is None:
            self.say("This entry is not about a case.")
        elif not row.case_reference:
            self.say("The case this entry names no longer exists; the entry stays.")
        else:
            self._open_case(row.case_id)

    # --- export and integrity check ----------------------------------------------------------
    def ask_path(self) -> Path | None:
        today = datetime.now(UTC).astimezone(self._zone).date().isoformat()
        suggested = documents_folder() / f"audit trail {today}.csv"
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Export the audit trail as CSV", str(suggested), "CSV files (*.csv)"
        )
        if not chosen:
            return None
        path = Path(chosen)
        return path if path.suffix.lower() == ".csv" else Path(f"{path}.csv")

    def export_csv(self, path: Path | None = None) -> Task | None:
        """Ask where (unless told), then write the entries the filters select, off the GUI
        thread."""
        if self._busy():
            return None
        try:  # refused before the file dialog: no point choosing a name for nothing
            check(self._actor, Permission.VIEW_AUDIT, "export the audit trail")
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return None
        path = path or self.ask_path()
        if path is None:
            return None
        db, actor, f = self._db, self._actor, self.current_filter()

        def work(task: Task) -> int:
            return audit_log.export_csv(
                db, f, path, actor=actor, cancelled=lambda: task.cancelled, progress=task.report
            )

        task = self._task(work)
        task.finished.connect(self._exported)
        task.failed.connect(self._export_failed)
        self.export_task, self._export_path = task, path
        self.progress.start(f"Writing {path.name}…")
        self.message.hide()
        self._update_buttons()
        task.start()
        return task

    def _exported(self, written: int) -> None:
        task = self._forget()
        self.export_task = None
        self._ended()
        path = self._export_path
        if task is not None and task.cancelled:  # stopped between two pages: nothing written
            self.say(f"Export cancelled; {path.name} was not written.")
            self.export_finished.emit(None)
            return
        link = QUrl.fromLocalFile(str(path)).toString()
        folder = QUrl.fromLocalFile(str(path.parent)).toString()
        self.say(
            f"Saved {written:,} entr{'y' if written == 1 else 'ies'} to <b>{_escape(path.name)}"
            f"</b> in {_escape(str(path.parent))}. "
            f'<a href="{link}">Open it</a> · <a href="{folder}">Show the folder</a>',
            rich=True,
        )
        self.export_finished.emit(written)

    def _export_failed(self, exc: BaseException) -> None:
        self._forget()
        self.export_task = None
        self._ended()
        path = self._export_path
        self.export_finished.emit(None)
        if isinstance(exc, Cancelled):
            self.say(f"Export cancelled; {path.name} was not written.")
            return
        problem = environment_problem(exc)
        if problem is None and not isinstance(exc, ServiceError | OSError):
            raise exc  # a bug: the exception hook reports it
        self.say(f"{path.name} was not saved: {problem or exc}", problem=True)

    def check_integrity(self) -> Task | None:
        """Walk the whole trail off the GUI thread and say whether it is intact."""
        if self._busy():
            return None
        db = self._db

        def work(task: Task) -> ChainReport:
            return audit_log.verify_chain(db, progress=task.report)

        task = self._task(work)
        task.finished.connect(self._checked)
        task.failed.connect(self._check_failed)
        self.check_task = task
        self.progress.start("Checking every entry of the audit trail…")
        self.message.hide()
        self._update_buttons()
        task.start()
        return task

    def _checked(self, report: ChainReport) -> None:
        self._forget()
        self.check_task = None
        self._ended()
        noun = "entry" if report.entries == 1 else "entries"
        if report.ok:
            self.say(
                f"{report.entries:,} {noun}, intact: none was changed, removed or added "
                "outside Referral Desk.",
                good=True,
            )
        else:
            self.say(
                f"The audit trail is not intact ({report.entries:,} {noun} checked). "
                f"{report.problem} Keep this database file as it is and tell your "
                "administrator: a backup from before can show what the entries said.",
                problem=True,
            )
        self.check_finished.emit(report)

    def _check_failed(self, exc: BaseException) -> None:
        self._forget()
        self.check_task = None
        self._ended()
        self.check_finished.emit(None)
        if isinstance(exc, Cancelled):
            self.say("The integrity check was cancelled.")
            return
        problem = environment_problem(exc)
        if problem is None and not isinstance(exc, ServiceError):
            raise exc
        self.say(f"The audit trail could not be checked: {problem or exc}", problem=True)

    def cancel(self) -> None:
        for task in (self.export_task, self.check_task):
            if task is not None:
                task.cancel()
        self.progress.label.setText("Cancelling…")
        self.progress.cancel_button.setEnabled(False)

    # --- helpers -----------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self.export_task is not None or self.check_task is not None

    def _task(self, work: Callable[[Task], object]) -> Task:
        task = self._tasks.new(work)
        task.progress.connect(self.progress.show_progress)
        return task

    def _forget(self) -> Task | None:
        return self._tasks.release(self.sender())

    def _ended(self) -> None:
        self.progress.hide()
        self._update_buttons()

    def _update_buttons(self) -> None:
        idle = not self._busy()
        self.export_button.setEnabled(idle)
        self.check_button.setEnabled(idle)

    def say(
        self, text: str, *, problem: bool = False, good: bool = False, rich: bool = False
    ) -> None:
        self.message.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.message.setStyleSheet(ERROR_STYLE if problem else OK_STYLE if good else "")
        self.message.setText(text)
        self.message.show()

    def stop(self) -> None:
        """Cancel whatever runs and wait for it: nothing may outlive the window."""
        self._tasks.stop_all()
        self.export_task = self.check_task = None
        self._ended()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        if self._state is not None:
            self._state.save("audit_window", self)
            self._state.save("audit_splitter", self.splitter)
            self._state.save(HEADER_STATE_KEY, self.table.horizontalHeader())
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
