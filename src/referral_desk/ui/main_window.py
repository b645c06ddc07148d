"""The main screen: the case list with filters, search, counts per status, and intake."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from referral_desk import APP_NAME, __version__
from referral_desk.db.engine import Database
from referral_desk.domain.enums import CaseStatus, Urgency
from referral_desk.domain.workflow import CLOSED_STATUSES
from referral_desk.services import case_list
from referral_desk.services.case_list import CaseQuery, Page
from referral_desk.ui.case_table_model import COLUMNS, DEFAULT_SORT_COLUMN, CaseTableModel
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.chase_window import ChaseWindow
from referral_desk.ui.checklist_dialog import ChecklistDialog
from referral_desk.ui.intake_dialog import IntakeDialog
from referral_desk.ui.text_reader import TextReader
from referral_desk.ui.window_state import WindowState

SEARCH_DELAY_MS = 150
CLOCK_TICK_MS = 60_000
# Named for the column set: a header saved with other columns must not be restored onto these.
HEADER_STATE_KEY = f"case_table_header_{len(COLUMNS)}"
OPEN_CASES = "open"
ALL_CASES = "all"


class MainWindow(QMainWindow):
    def __init__(
        self,
        db: Database,
        actor: str,
        window_state: WindowState,
        changes: ChangeBus,
        *,
        on_open_demo: Any = None,
    ) -> None:
        super().__init__()
        self._db, self._actor, self._state, self._changes = db, actor, window_state, changes
        self._case_windows: dict[int, CaseWindow] = {}
        self.setWindowTitle(f"{APP_NAME} · {db.path}")

        # Filters and search
        self.search = QLineEdit(objectName="search")
        self.search.setPlaceholderText(
            "Search reference, patient, referrer, diagnosis, document text  (Ctrl+F)"
        )
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(360)
        self.urgency = QComboBox(objectName="urgency_filter")
        self.urgency.addItem("Any urgency", None)
        for urgency in Urgency:
            self.urgency.addItem(urgency.label, urgency)
        self.overdue = QCheckBox("Overdue only", objectName="overdue_filter")
        self.incomplete = QCheckBox("Records incomplete", objectName="incomplete_filter")
        self.incomplete.setToolTip("Only cases with required documents still missing")

        self.new_case_action = QAction("&New case…", self)
        self.new_case_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_case_action.triggered.connect(self.new_case)
        find = QAction("&Find", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._focus_search)
        refresh = QAction("&Refresh", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.chase_action = QAction("Documents to &chase…", self)
        self.chase_action.setShortcut("Ctrl+Shift+D")
        self.chase_action.triggered.connect(self.show_chase_list)
        self.checklists_action = QAction("Document types and &checklists…", self)
        self.checklists_action.triggered.connect(self.edit_checklists)
        about = QAction("&About Referral Desk", self)
        about.triggered.connect(self._about)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.new_case_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(find)
        view_menu.addAction(refresh)
        view_menu.addSeparator()
        view_menu.addAction(self.chase_action)
        menu.addMenu("&Settings").addAction(self.checklists_action)
        menu.addMenu("&Help").addAction(about)

        toolbar = QToolBar("Cases", objectName="main_toolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.new_case_action)
        toolbar.addSeparator()
        toolbar.addWidget(self.search)
        toolbar.addWidget(self.urgency)
        toolbar.addWidget(self.overdue)
        toolbar.addWidget(self.incomplete)
        toolbar.addSeparator()
        toolbar.addAction(self.chase_action)
        self.addToolBar(toolbar)

        # Side panel: counts per status, also a filter
        self.status_list = QListWidget(objectName="status_list")
        self.status_list.setMinimumWidth(190)
        for key, label in ((OPEN_CASES, "Open cases"), (ALL_CASES, "All cases")):
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.status_list.addItem(item)
        for status in CaseStatus:
            item = QListWidgetItem(status.label)
            item.setData(Qt.ItemDataRole.UserRole, status.value)
            self.status_list.addItem(item)
        self.status_list.setCurrentRow(0)

        # The list
        self.model = CaseTableModel(self._fetch)
        self.model.set_query(self._build_query())
        self.table = QTableView(objectName="case_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # Fixed row heights: measuring rows is what makes big lists slow.
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vertical.hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((118, 190, 135, 72, 130, 82, 132, 132, 130, 132)):
            header.resizeSection(column, width)
        self.table.setSortingEnabled(True)
        header.setSortIndicator(DEFAULT_SORT_COLUMN, Qt.SortOrder.AscendingOrder)
        self.table.activated.connect(self._open_index)

        self.empty_banner = QWidget(objectName="empty_banner")
        banner_layout = QHBoxLayout(self.empty_banner)
        banner_layout.addWidget(QLabel("This office has no cases yet."))
        first = QPushButton("Take in the first case…")
        first.clicked.connect(self.new_case)
        banner_layout.addWidget(first)
        if on_open_demo is not None:
            demo = QPushButton("Look around a demo office first", objectName="open_demo")
            demo.clicked.connect(on_open_demo)
            banner_layout.addWidget(demo)
        banner_layout.addStretch(1)

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.empty_banner)
        centre_layout.addWidget(self.table)
        self.splitter = QSplitter(objectName="main_splitter")
        self.splitter.addWidget(self.status_list)
        self.splitter.addWidget(centre)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([200, 1100])
        self.setCentralWidget(self.splitter)
        self.counts_label = QLabel(objectName="counts")
        self.statusBar().addPermanentWidget(self.counts_label)

        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.installEventFilter(self)
        self.urgency.currentIndexChanged.connect(self.apply_filters)
        self.overdue.toggled.connect(self.apply_filters)
        self.incomplete.toggled.connect(self.apply_filters)
        self.status_list.currentRowChanged.connect(self.apply_filters)
        changes.cases_changed.connect(self.refresh)
        self._tick = QTimer(self, interval=CLOCK_TICK_MS)  # time left moves on by itself
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        self._chase_window: ChaseWindow | None = None
        # PDFs stored since the last run (or by another seat) become searchable.
        self.text_reader = TextReader(db, self)
        self.text_reader.done.connect(lambda n: self._changes.notify() if n else None)
        self.text_reader.start()

        self.resize(1400, 820)
        self._state.restore("main_window", self)
        self._state.restore("main_splitter", self.splitter)
        self._state.restore(HEADER_STATE_KEY, header)
        self.refresh_counts()
        self.table.setFocus()

    # --- the query -------------------------------------------------------------------
    def _fetch(self, query: CaseQuery, after: Any) -> Page:
        return case_list.fetch_page(self._db, query, after=after)

    def _build_query(self) -> CaseQuery:
        item = self.status_list.currentItem()
        key = item.data(Qt.ItemDataRole.UserRole) if item else OPEN_CASES
        if key == OPEN_CASES:
            statuses = frozenset(set(CaseStatus) - CLOSED_STATUSES)
        elif key == ALL_CASES:
            statuses = frozenset()
        else:
            statuses = frozenset({CaseStatus(key)})
        urgency = Urgency(self.urgency.currentData()) if self.urgency.currentData() else None
        return replace(
            self.model.query,  # keeps the user's sort
            text=self.search.text(),
            statuses=statuses,
            urgencies=frozenset({urgency}) if urgency else frozenset(),
            overdue_only=self.overdue.isChecked(),
            incomplete_only=self.incomplete.isChecked(),
        )

    def apply_filters(self) -> None:
        self.model.set_query(self._build_query())
        self._show_shown_count()  # office counts do not change while typing

    def refresh(self) -> None:
        """Reload what is shown, keeping the user's place: selection and scroll position."""
        selected = self.selected_case_id()
        scroll = self.table.verticalScrollBar().value()
        self.model.refresh()
        if selected is not None:
            row = self.model.row_for_case(selected)
            if row is not None:
                self.table.selectRow(row)
        self.table.verticalScrollBar().setValue(scroll)
        self.refresh_counts()
        for window in list(self._case_windows.values()):
            window.refresh_from_elsewhere()

    def refresh_counts(self) -> None:
        """Office-wide counts (side panel) and how many the current filters show."""
        counts = case_list.status_counts(self._db)
        self._office_counts = counts
        open_count = sum(n for s, n in counts.by_status.items() if s not in CLOSED_STATUSES)
        for row in range(self.status_list.count()):
            item = self.status_list.item(row)
            key = item.data(Qt.ItemDataRole.UserRole)
            if key == OPEN_CASES:
                item.setText(f"Open cases ({open_count:,})")
            elif key == ALL_CASES:
                item.setText(f"All cases ({counts.total:,})")
            else:
                status = CaseStatus(key)
                item.setText(f"{status.label} ({counts.by_status[status]:,})")
        self.overdue.setText(f"Overdue only ({counts.overdue:,})")
        self.empty_banner.setVisible(counts.total == 0)
        self._show_shown_count()

    def _show_shown_count(self) -> None:
        counts = self._office_counts
        shown = case_list.count_cases(self._db, self.model.query)
        self.counts_label.setText(
            f"{shown:,} shown · {counts.overdue:,} overdue · {counts.total:,} cases in all"
        )

    def selected_case_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.case_id(rows[0].row()) if rows else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """From the search box: Esc clears it, Down or Enter goes to the list."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                return True
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.table.setFocus()
                if self.model.rowCount() and not self.table.selectionModel().hasSelection():
                    self.table.selectRow(0)
                return True
        return super().eventFilter(watched, event)

    # --- actions ---------------------------------------------------------------------
    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def new_case(self) -> int | None:
        dialog = IntakeDialog(self._db, self._actor, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.created is None:
            return None
        self._changes.notify()
        self.statusBar().showMessage(f"{dialog.created.reference} taken in.", 8000)
        return dialog.created.id

    def _open_index(self, index: QModelIndex) -> None:
        self.open_case(self.model.case_id(index.row()))

    def open_case(self, case_id: int) -> CaseWindow:
        window = self._case_windows.get(case_id)
        if window is None:
            window = CaseWindow(self._db, case_id, self._actor, self._changes.notify, self._state)
            window.files_added.connect(self.text_reader.start)
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            window.destroyed.connect(lambda _=None, cid=case_id: self._case_windows.pop(cid, None))
            self._case_windows[case_id] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def show_chase_list(self) -> ChaseWindow:
        if self._chase_window is None:
            self._chase_window = ChaseWindow(self._db, self._actor, self.open_case, self._state)
            self._chase_window.chased.connect(self._changes.notify)
            self._changes.cases_changed.connect(self._chase_window.refresh)
        self._chase_window.refresh()
        self._chase_window.show()
        self._chase_window.raise_()
        self._chase_window.activateWindow()
        return self._chase_window

    def edit_checklists(self) -> None:
        ChecklistDialog(self._db, self).exec()

    def _about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>Second-opinion case management for oncology "
            f"referral offices.<br><br>Database: {self._db.path}",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        for window in list(self._case_windows.values()):
            if not window.close():
                event.ignore()
                return
        self._state.save("main_window", self)
        self._state.save("main_splitter", self.splitter)
        self._state.save(HEADER_STATE_KEY, self.table.horizontalHeader())
        self._tick.stop()
        if self._chase_window is not None:
            self._chase_window.close()
        self.text_reader.stop()
        QThreadPool.globalInstance().waitForDone()  # no write is cut off halfway
        super().closeEvent(event)
