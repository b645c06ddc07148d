"""The main screen: the case list with filters, search, counts per status, and intake."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeyEvent, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from referral_desk import APP_NAME, __version__
from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.clock import Pace
from referral_desk.domain.enums import CaseStatus, Urgency
from referral_desk.domain.workflow import CLOSED_STATUSES
from referral_desk.paths import AppPaths
from referral_desk.services import accounts, backups, case_list, office, specialists
from referral_desk.services.backups import Restored
from referral_desk.services.case_list import CaseQuery, Page
from referral_desk.services.errors import ServiceError
from referral_desk.services.specialists import SpecialistInfo
from referral_desk.ui.background import Task
from referral_desk.ui.batch_letters import BatchLetters, BatchOutcome
from referral_desk.ui.case_table_model import COLUMNS, DEFAULT_SORT_COLUMN, CaseTableModel
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.chase_window import ChaseWindow
from referral_desk.ui.checklist_dialog import ChecklistDialog
from referral_desk.ui.fee_schedule_window import FeeScheduleWindow
from referral_desk.ui.formatting import PACE_COLOURS
from referral_desk.ui.intake_dialog import IntakeDialog
from referral_desk.ui.office_profile_window import OfficeProfileWindow
from referral_desk.ui.permissions import refusal
from referral_desk.ui.screen_lock import ScreenLock
from referral_desk.ui.sign_in import ChangePasswordDialog
from referral_desk.ui.specialists_window import SpecialistsWindow
from referral_desk.ui.templates_window import TemplatesWindow
from referral_desk.ui.text_reader import TextReader
from referral_desk.ui.window_state import WindowState

if TYPE_CHECKING:
    from referral_desk.ui.audit_window import AuditWindow
    from referral_desk.ui.backups_window import BackupsWindow
    from referral_desk.ui.reports_window import ReportsWindow
    from referral_desk.ui.restore_dialog import RestoreDialog
    from referral_desk.ui.users_window import UsersWindow

# Why a main window closed (MainWindow.closed), also the detail of the sign-out entry.
QUIT = "closed Referral Desk"
SWITCH_USER = "switched user"
SIGN_OUT = "signed out"
SIGN_OUT_FROM_LOCK = "signed out from the locked screen; unsaved work discarded"
RESTORED = "restored a backup; everyone signs in again"
SEARCH_DELAY_MS = 150
CLOCK_TICK_MS = 60_000
# Named for the column set: a header saved with other columns must not be restored onto these.
HEADER_STATE_KEY = f"case_table_header_{len(COLUMNS)}"
OPEN_CASES = "open"
ALL_CASES = "all"
COLUMN_WIDTHS = {
    "Reference": 118,
    "Patient": 190,
    "Cancer type": 135,
    "Urgency": 72,
    "Status": 130,
    "Specialist": 150,
    "Missing": 82,
    "Received": 132,
    "Due": 132,
    "Time left": 130,
    "Total": 112,
    "Balance": 112,
    "Last change": 132,
}
MAJOR_CHANGE_TIP = "Only cases whose second opinion changed the first one a lot"
UNPAID_TIP = (
    "Only cases whose charges are not fully paid (Alt+U). Closed cases can owe too: "
    "choose All cases on the left to see them."
)
WAITING_FOR_LETTER_TIP = (
    "Opinion received, letter not sent yet. File ▸ Print summary letters… with no case "
    "selected prints all of them."
)
AWAITING_APPROVAL_TIP = (
    "Only open cases with additional tests waiting for the patient to agree to the cost (Alt+A)"
)


def workload_text(info: SpecialistInfo) -> str:
    """One specialist's load at a glance: active of capacity, due soon, overdue."""
    return (
        f"{info.name}\n{info.active_cases}/{info.draft.capacity} · "
        f"{info.due_soon} due soon · {info.overdue} overdue"
    )


class TwoLineDelegate(QStyledItemDelegate):
    """Draws "first line\nsecond line" as two lines, each laid out on its own.

    One two-line text is a single bidi paragraph (an Arabic name would reorder the figures
    under it) and is sized by the main font (a CJK fallback font got it cut short).
    """

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), 2 * option.fontMetrics.lineSpacing() + 12)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        lines = str(index.data(Qt.ItemDataRole.DisplayRole) or "").split("\n", 1)
        opt.text = ""  # background, selection and focus only: the lines come next
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        area = opt.rect.adjusted(4, 3, -4, -3)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(role))
        half = area.height() // 2
        for i, line in enumerate(lines):
            rect = QRect(area.left(), area.top() + i * half, area.width(), half)
            text = opt.fontMetrics.elidedText(line, Qt.TextElideMode.ElideRight, rect.width())
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.restore()


def paths_beside(db: Database) -> AppPaths:
    """The data folder of a database kept where the app keeps it (data folder/file)."""
    return AppPaths(data_dir=db.path.parent, log_dir=db.path.parent / "logs")


class MainWindow(QMainWindow):
    """The case list for one signed-in person: what their role may not use is disabled, and
    closing it ends their session (`closed` says why: QUIT, SWITCH_USER, SIGN_OUT, RESTORED...)."""

    closed = Signal(str)

    def __init__(
        self,
        db: Database,
        actor: Actor,
        window_state: WindowState,
        changes: ChangeBus,
        *,
        full_name: str = "",
        on_open_demo: Any = None,
        demo: bool = False,
        paths: AppPaths | None = None,
    ) -> None:
        super().__init__()
        self._db, self._actor, self._state, self._changes = db, actor, window_state, changes
        self._paths = paths or paths_beside(db)
        self._case_windows: dict[int, CaseWindow] = {}
        self._leaving = QUIT
        self._discard_unsaved = False
        self._closed = False
        person = f"{full_name or actor.name} ({actor.role.label})"
        where = "DEMO OFFICE (throwaway data)" if demo else str(db.path)
        self.setWindowTitle(f"{APP_NAME} · {person} · {where}")

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
        self.specialist = QComboBox(objectName="specialist_filter")
        self.specialist.addItem("Any specialist", None)
        self.specialist.setToolTip("Only the cases of one primary reviewer")
        self.specialist.setMinimumContentsLength(16)
        self.specialist.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.major_change = QCheckBox("Major change", objectName="major_change_filter")
        self.major_change.setToolTip(MAJOR_CHANGE_TIP)
        self.unpaid = QCheckBox("&Unpaid", objectName="unpaid_filter")
        self.unpaid.setToolTip(UNPAID_TIP)
        self.awaiting_approval = QCheckBox(
            "&Awaiting cost approval", objectName="awaiting_approval_filter"
        )
        self.awaiting_approval.setToolTip(AWAITING_APPROVAL_TIP)

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
        self.specialists_action = QAction("&Specialists…", self)
        self.specialists_action.setShortcut("Ctrl+Shift+S")
        self.specialists_action.setToolTip("The roster: load, details and absences (Ctrl+Shift+S)")
        self.specialists_action.triggered.connect(self.show_specialists)
        self.checklists_action = QAction("Document types and &checklists…", self)
        self.checklists_action.triggered.connect(self.edit_checklists)
        self.fee_schedule_action = QAction("&Fee schedule and office…", self)
        self.fee_schedule_action.setToolTip("Office currency, specialist fees as estimates, prices")
        self.fee_schedule_action.triggered.connect(self.show_fee_schedule)
        self.print_letters_action = QAction("&Print summary letters…", self)
        self.print_letters_action.setObjectName("print_letters")
        self.print_letters_action.setShortcut("Ctrl+Shift+L")
        self.print_letters_action.setToolTip(
            "The patients' summary letters of the selected cases, or with none selected of "
            "every case waiting for its letter, as one PDF to print (Ctrl+Shift+L)"
        )
        self.print_letters_action.triggered.connect(lambda: self.print_summary_letters())
        self.waiting_action = QAction("Waiting for their &letter", self)
        self.waiting_action.setToolTip(WAITING_FOR_LETTER_TIP)
        self.waiting_action.triggered.connect(self.show_waiting_for_letter)
        self.office_profile_action = QAction("&Office profile…", self)
        self.office_profile_action.setToolTip(
            "Name, address, contacts, signatory, logo and signature on the letters"
        )
        self.office_profile_action.triggered.connect(self.show_office_profile)
        self.templates_action = QAction("Letter &templates…", self)
        self.templates_action.setToolTip("The wording of each kind of letter, with a preview")
        self.templates_action.triggered.connect(self.show_templates)
        # Ctrl+R is Refresh on Linux desktops (with F5), so the report has Ctrl+Shift+M.
        self.monthly_report_action = QAction("&Monthly report…", self)
        self.monthly_report_action.setShortcut("Ctrl+Shift+M")
        self.monthly_report_action.setToolTip(
            "A month's cases, figures and charts, saved as PDF, CSV or Excel (Ctrl+Shift+M)"
        )
        self.monthly_report_action.triggered.connect(self.show_reports)
        self.users_action = QAction("&Users and roles…", self)
        self.users_action.setToolTip("Accounts: add people, roles, disable, reset a password")
        self.users_action.triggered.connect(self.show_users)
        self.audit_action = QAction("&Audit trail…", self)
        self.audit_action.setToolTip("Who did what, and who looked at which patient")
        self.audit_action.triggered.connect(self.show_audit)
        self.backups_action = QAction("&Backups…", self)
        self.backups_action.setToolTip(
            "Where the automatic backups go and how often; the backups kept; restore"
        )
        self.backups_action.triggered.connect(self.show_backups)
        self.back_up_now_action = QAction("&Back up now…", self)
        self.back_up_now_action.setToolTip(
            "Save a copy of the whole office database to a file you choose (e.g. a USB disk)"
        )
        self.back_up_now_action.triggered.connect(lambda: self.back_up_now())
        self.restore_action = QAction("&Restore from backup…", self)
        self.restore_action.setToolTip(
            "Replace the office's data with a backup's, after a preview of what it holds"
        )
        self.restore_action.triggered.connect(lambda: self.restore_from_backup())
        self.idle_lock_action = QAction("Screen &lock after…", self)
        self.idle_lock_action.setToolTip("How long without input before the screen locks")
        self.idle_lock_action.triggered.connect(self.choose_idle_lock)
        signed_in = QAction(f"Signed in as {person}", self)
        signed_in.setEnabled(False)
        self.lock_action = QAction("&Lock now", self)
        self.lock_action.setShortcut("Ctrl+L")
        # From any of the app's windows: a case window is where patient data shows.
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.setToolTip("Cover every window until you type your password (Ctrl+L)")
        self.lock_action.triggered.connect(lambda: self.screen_lock.lock("on request"))
        self.change_password_action = QAction("&Change my password…", self)
        self.change_password_action.triggered.connect(self.change_password)
        self.switch_user_action = QAction("S&witch user…", self)
        self.switch_user_action.setToolTip(
            "Close your windows and let someone else sign in at this computer"
        )
        self.switch_user_action.triggered.connect(lambda: self.leave(SWITCH_USER))
        self.sign_out_action = QAction("Sign &out", self)
        self.sign_out_action.triggered.connect(lambda: self.leave(SIGN_OUT))
        about = QAction("&About Referral Desk", self)
        about.triggered.connect(self._about)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.setToolTipsVisible(True)
        file_menu.addAction(self.new_case_action)
        file_menu.addAction(self.print_letters_action)
        file_menu.addSeparator()
        file_menu.addAction(self.back_up_now_action)
        file_menu.addAction(self.restore_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(find)
        view_menu.addAction(refresh)
        view_menu.addSeparator()
        view_menu.addAction(self.chase_action)
        view_menu.addAction(self.specialists_action)
        view_menu.addAction(self.waiting_action)
        reports_menu = menu.addMenu("&Reports")
        reports_menu.setToolTipsVisible(True)  # a disabled item says who may use it
        reports_menu.addAction(self.monthly_report_action)
        reports_menu.addAction(self.audit_action)
        settings_menu = menu.addMenu("&Settings")
        settings_menu.setToolTipsVisible(True)
        settings_menu.addAction(self.users_action)
        settings_menu.addSeparator()
        settings_menu.addAction(self.checklists_action)
        settings_menu.addAction(self.fee_schedule_action)
        settings_menu.addSeparator()
        settings_menu.addAction(self.office_profile_action)
        settings_menu.addAction(self.templates_action)
        settings_menu.addSeparator()
        settings_menu.addAction(self.idle_lock_action)
        settings_menu.addAction(self.backups_action)
        account_menu = menu.addMenu("A&ccount")  # Alt+A is the cost-approval filter
        account_menu.addAction(signed_in)
        account_menu.addSeparator()
        account_menu.addAction(self.lock_action)
        account_menu.addAction(self.change_password_action)
        account_menu.addSeparator()
        account_menu.addAction(self.switch_user_action)
        account_menu.addAction(self.sign_out_action)
        menu.addMenu("&Help").addAction(about)

        # Two rows: with every filter on one, the last ones fell off into the overflow menu.
        toolbar = QToolBar("Cases", objectName="main_toolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.new_case_action)
        toolbar.addSeparator()
        self.search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        toolbar.addWidget(self.search)
        toolbar.addSeparator()
        toolbar.addAction(self.chase_action)
        toolbar.addAction(self.specialists_action)
        toolbar.addAction(self.print_letters_action)
        self.addToolBar(toolbar)
        self.addToolBarBreak()
        filters = QToolBar("Filters", objectName="filter_toolbar")
        filters.setMovable(False)
        for widget in (
            self.urgency,
            self.overdue,
            self.incomplete,
            self.specialist,
            self.major_change,
        ):
            filters.addWidget(widget)
        filters.addSeparator()
        filters.addWidget(self.unpaid)
        filters.addWidget(self.awaiting_approval)
        self.addToolBar(filters)

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
            if status is CaseStatus.OPINION_RECEIVED:
                item.setToolTip(WAITING_FOR_LETTER_TIP)
            self.status_list.addItem(item)
        self.status_list.setCurrentRow(0)
        # Under it: each active specialist's load, also a filter
        self.workload_label = QLabel("Specialists' workload", objectName="workload_label")
        self.workload_label.setStyleSheet("font-weight: bold; padding-top: 6px;")
        self.workload_label.setToolTip(
            "Active cases of capacity · due soon · overdue. Click one to show their cases."
        )
        self.workload_list = QListWidget(objectName="workload_list")
        self.workload_list.setSpacing(1)
        self.workload_list.setItemDelegate(TwoLineDelegate(self.workload_list))
        self.workload_list.itemClicked.connect(self._workload_chosen)
        self.workload_list.itemActivated.connect(self._workload_chosen)
        side = QWidget(objectName="side_panel")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        # The status list is as tall as its rows; the workload takes the rest.
        self.status_list.setMaximumHeight(
            self.status_list.sizeHintForRow(0) * self.status_list.count()
            + 2 * self.status_list.frameWidth()
            + 4
        )
        side_layout.addWidget(self.status_list, 1)
        side_layout.addWidget(self.workload_label)
        side_layout.addWidget(self.workload_list, 2)
        self._bold = QFont()
        self._bold.setBold(True)

        # The list
        # Parented, so Qt (not a garbage collection on a worker thread) ends it with the window.
        self.model = CaseTableModel(
            self._fetch, currency=office.get_profile(db).currency, parent=self
        )
        self.model.set_query(self._build_query())
        self.table = QTableView(objectName="case_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Several cases at once for a batch of letters (Shift or Ctrl and click).
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
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
        for column, spec in enumerate(COLUMNS):
            header.resizeSection(column, COLUMN_WIDTHS.get(spec.title, 120))
        self.table.setSortingEnabled(True)
        header.setSortIndicator(DEFAULT_SORT_COLUMN, Qt.SortOrder.AscendingOrder)
        self.table.activated.connect(self._open_index)

        self.empty_banner = QWidget(objectName="empty_banner")
        banner_layout = QHBoxLayout(self.empty_banner)
        banner_layout.addWidget(QLabel("This office has no cases yet."))
        first = QPushButton("Take in the first case…", objectName="first_case")
        first.clicked.connect(self.new_case)
        first.setVisible(actor.may(Permission.EDIT_CASES))
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
        self.splitter.addWidget(side)
        self.splitter.addWidget(centre)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 1100])
        self.setCentralWidget(self.splitter)
        self.counts_label = QLabel(objectName="counts")
        self.statusBar().addPermanentWidget(self.counts_label)
        self.signed_in_label = QLabel(f"Signed in: {person}", objectName="signed_in")
        self.signed_in_label.setContentsMargins(16, 0, 4, 0)  # apart from the counts
        self.statusBar().addPermanentWidget(self.signed_in_label)

        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.installEventFilter(self)
        self.urgency.currentIndexChanged.connect(self.apply_filters)
        self.overdue.toggled.connect(self.apply_filters)
        self.incomplete.toggled.connect(self.apply_filters)
        self.specialist.currentIndexChanged.connect(self.apply_filters)
        self.major_change.toggled.connect(self.apply_filters)
        self.unpaid.toggled.connect(self.apply_filters)
        self.awaiting_approval.toggled.connect(self.apply_filters)
        self.status_list.currentRowChanged.connect(self.apply_filters)
        # The bus outlives this window (the next person's window uses it): one bound slot,
        # disconnected on close, rather than lambdas that would keep calling into this one.
        changes.cases_changed.connect(self._cases_changed)
        self._tick = QTimer(self, interval=CLOCK_TICK_MS)  # time left moves on by itself
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        self._chase_window: ChaseWindow | None = None
        self._specialists_window: SpecialistsWindow | None = None
        self._fee_schedule_window: FeeScheduleWindow | None = None
        self._office_profile_window: OfficeProfileWindow | None = None
        self._templates_window: TemplatesWindow | None = None
        self._reports_window: ReportsWindow | None = None
        self._users_window: UsersWindow | None = None
        self._audit_window: AuditWindow | None = None
        self._backups_window: BackupsWindow | None = None
        self.restore_dialog: RestoreDialog | None = None
        self.batch = BatchLetters(db, actor, self)
        self.batch.marked.connect(self._changes.notify)
        self.batch.finished.connect(self._batch_done)
        self._specialist_choices: list[tuple[int, str, bool]] = []
        # PDFs stored since the last run (or by another seat) become searchable.
        self.text_reader = TextReader(db, self)
        self.text_reader.done.connect(lambda n: self._changes.notify() if n else None)
        self.text_reader.start()
        self._disable_what_the_role_may_not_use()
        # The lock time is read at sign-in: a change by the administrator applies from the
        # next sign-in on each seat.
        self.screen_lock = ScreenLock(
            db, actor, self, minutes=accounts.idle_lock_minutes(db), full_name=full_name
        )
        self.screen_lock.sign_out_requested.connect(
            lambda: self.leave(SIGN_OUT_FROM_LOCK, discard_unsaved=True)
        )

        self.resize(1400, 820)
        self._state.restore("main_window", self)
        self._state.restore("main_splitter", self.splitter)
        self._state.restore(HEADER_STATE_KEY, header)
        self.refresh_counts()
        self.table.setFocus()

    @property
    def actor(self) -> Actor:
        return self._actor

    def _disable_what_the_role_may_not_use(self) -> None:
        """Disabled rather than hidden: every role sees the same menus, and the tooltip says
        who may (a manager asked to take in a case knows whom to ask)."""
        needs = {
            self.new_case_action: (Permission.EDIT_CASES, "take in new cases"),
            self.print_letters_action: (Permission.LETTERS, "print summary letters"),
            self.templates_action: (Permission.LETTERS, "change the letters' wording"),
            self.monthly_report_action: (Permission.REPORTS, "see or export reports"),
            self.audit_action: (Permission.VIEW_AUDIT, "read the audit trail"),
            self.users_action: (Permission.MANAGE_USERS, "manage users"),
            self.checklists_action: (Permission.OFFICE_SETTINGS, "change the checklists"),
            self.fee_schedule_action: (Permission.OFFICE_SETTINGS, "change the fee schedule"),
            self.office_profile_action: (
                Permission.OFFICE_SETTINGS,
                "change the office profile",
            ),
            self.idle_lock_action: (Permission.OFFICE_SETTINGS, "change the screen lock time"),
            self.backups_action: (Permission.BACKUPS, "change the backups"),
            self.back_up_now_action: (Permission.BACKUPS, "save a backup to a file"),
            self.restore_action: (Permission.BACKUPS, "restore a backup"),
        }
        for action, (permission, words) in needs.items():
            why_not = refusal(self._actor, permission, words)
            if why_not is not None:
                action.setEnabled(False)
                action.setToolTip(why_not)
                action.setStatusTip(why_not)

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
            specialist_id=self.specialist.currentData(),
            major_change_only=self.major_change.isChecked(),
            unpaid_only=self.unpaid.isChecked(),
            awaiting_approval_only=self.awaiting_approval.isChecked(),
        )

    def apply_filters(self) -> None:
        self.model.set_query(self._build_query())
        self._show_shown_count()  # office counts do not change while typing
        self._mark_chosen_specialist()

    def _cases_changed(self) -> None:
        self.refresh()
        _refresh_if_shown(self._chase_window)
        _refresh_if_shown(self._specialists_window)
        _refresh_if_shown(self._fee_schedule_window)  # "used by" counts move

    def refresh(self) -> None:
        """Reload what is shown, keeping the user's place: selection and scroll position."""
        current = self.selected_case_id()
        selected = list(self.selected_cases())  # several, chosen for a batch of letters
        scroll = self.table.verticalScrollBar().value()
        self.model.set_currency(office.get_profile(self._db).currency)  # another seat may set it
        self.model.refresh()
        self._select_cases(selected, current)
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
        unpaid = case_list.count_cases(self._db, CaseQuery(unpaid_only=True))
        self.unpaid.setText(f"&Unpaid ({unpaid:,})")
        asking = case_list.count_cases(self._db, CaseQuery(awaiting_approval_only=True))
        self.awaiting_approval.setText(f"&Awaiting cost approval ({asking:,})")
        self.empty_banner.setVisible(counts.total == 0)
        self._refresh_specialists()
        self._show_shown_count()

    def _refresh_specialists(self) -> None:
        """The specialist filter and the workload panel, from the roster and its load now."""
        roster = specialists.list_specialists(self._db)
        active = [s for s in roster if s.draft.active]
        inactive = [s for s in roster if not s.draft.active]
        choices = [(s.id, s.name, s.draft.active) for s in roster]
        if choices != self._specialist_choices:  # rebuild only on change: the popup may be open
            self._fill_specialist_filter(active, inactive)
            self._specialist_choices = choices
        self._show_workload(active)

    def _fill_specialist_filter(
        self, active: list[SpecialistInfo], inactive: list[SpecialistInfo]
    ) -> None:
        chosen = self.specialist.currentData()
        self.specialist.blockSignals(True)  # rebuilding is not choosing
        try:
            self.specialist.clear()
            self.specialist.addItem("Any specialist", None)
            for info in active:
                self.specialist.addItem(info.name, info.id)
            if inactive:  # their past cases can still be looked up
                self.specialist.insertSeparator(self.specialist.count())
                for info in inactive:
                    self.specialist.addItem(f"{info.name} (inactive)", info.id)
            found = self.specialist.findData(chosen) if chosen is not None else 0
            self.specialist.setCurrentIndex(max(found, 0))
        finally:
            self.specialist.blockSignals(False)
        if chosen is not None and found < 0:  # the chosen one is gone: show everyone's cases
            self.model.set_query(self._build_query())

    def _show_workload(self, active: list[SpecialistInfo]) -> None:
        scroll = self.workload_list.verticalScrollBar().value()
        self.workload_list.clear()
        for info in active:
            item = QListWidgetItem(workload_text(info))
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            full = info.active_cases >= info.draft.capacity
            item.setToolTip(
                f"{info.name}: {info.active_cases} of {info.draft.capacity} slots used"
                + (" (full)" if full else "")
                + f", {info.due_soon} due soon, {info.overdue} overdue. "
                "Click to show their cases."
            )
            pace = Pace.OVERDUE if info.overdue else Pace.DUE_SOON if info.due_soon else None
            if pace is not None:
                foreground, background = PACE_COLOURS[pace]
                item.setForeground(foreground)
                item.setBackground(background)
            if full:
                item.setFont(self._bold)
            self.workload_list.addItem(item)
        self.workload_label.setVisible(bool(active))
        self.workload_list.setVisible(bool(active))
        self._mark_chosen_specialist()
        self.workload_list.verticalScrollBar().setValue(scroll)

    def _mark_chosen_specialist(self) -> None:
        """The workload panel shows which specialist the list is filtered on."""
        chosen = self.specialist.currentData()
        self.workload_list.blockSignals(True)
        try:
            self.workload_list.clearSelection()
            for row in range(self.workload_list.count()):
                item = self.workload_list.item(row)
                if chosen is not None and item.data(Qt.ItemDataRole.UserRole) == chosen:
                    self.workload_list.setCurrentItem(item)
                    break
            else:
                self.workload_list.setCurrentRow(-1)
        finally:
            self.workload_list.blockSignals(False)

    def _workload_chosen(self, item: QListWidgetItem) -> None:
        self.filter_by_specialist(int(item.data(Qt.ItemDataRole.UserRole)))

    def filter_by_specialist(self, specialist_id: int | None) -> None:
        """Show only this specialist's cases (None: every specialist's)."""
        index = self.specialist.findData(specialist_id) if specialist_id is not None else 0
        if index < 0:  # added since the last refresh
            self._refresh_specialists()
            index = self.specialist.findData(specialist_id)
        if index >= 0 and index != self.specialist.currentIndex():
            self.specialist.setCurrentIndex(index)  # applies the filter
        self._mark_chosen_specialist()

    def _show_shown_count(self) -> None:
        counts = self._office_counts
        shown = case_list.count_cases(self._db, self.model.query)
        self.counts_label.setText(
            f"{shown:,} shown · {counts.overdue:,} overdue · {counts.total:,} cases in all"
        )

    def selected_case_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.case_id(rows[0].row()) if rows else None

    def _select_cases(self, case_ids: list[int], current: int | None) -> None:
        """Select these cases again (those still listed), `current` as the current row."""
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for case_id in case_ids:
            row = self.model.row_for_case(case_id)
            if row is None:
                continue
            index = self.model.index(row, 0)
            if case_id == current:
                selection.setCurrentIndex(index, flags)
            else:
                selection.select(index, flags)

    def selected_cases(self) -> dict[int, str]:
        """Every selected case's id and reference, in list order."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        chosen = (self.model.row_of(self.model.index(row, 0)) for row in rows)
        return {case.id: case.reference for case in chosen}

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
        try:
            accepted = dialog.exec() == QDialog.DialogCode.Accepted
            created = dialog.created
        finally:
            dialog.deleteLater()  # one per intake: kept, they added up over a day
        if not accepted or created is None:
            return None
        self._changes.notify()
        self.statusBar().showMessage(f"{created.reference} taken in.", 8000)
        return created.id

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
        self._chase_window.refresh()
        self._chase_window.show()
        self._chase_window.raise_()
        self._chase_window.activateWindow()
        return self._chase_window

    def show_specialists(self) -> SpecialistsWindow:
        if self._specialists_window is None:
            self._specialists_window = SpecialistsWindow(
                self._db, self._actor, self.show_specialist_cases, self._state
            )
            self._specialists_window.changed.connect(self._changes.notify)
        else:
            self._specialists_window.refresh()
        self._specialists_window.show()
        self._specialists_window.raise_()
        self._specialists_window.activateWindow()
        return self._specialists_window

    def show_specialist_cases(self, specialist_id: int) -> None:
        """From the Specialists screen: the case list, filtered on that specialist."""
        self.filter_by_specialist(specialist_id)
        self.show()
        self.raise_()
        self.activateWindow()

    def edit_checklists(self) -> None:
        dialog = ChecklistDialog(self._db, self._actor, self)
        try:
            dialog.exec()
        finally:
            dialog.deleteLater()

    def show_fee_schedule(self) -> FeeScheduleWindow:
        if self._fee_schedule_window is None:
            self._fee_schedule_window = FeeScheduleWindow(self._db, self._actor, self._state, self)
            # Currency or prices changed: every screen reads its amounts again.
            self._fee_schedule_window.changed.connect(self._changes.notify)
        else:
            self._fee_schedule_window.refresh()
        self._fee_schedule_window.show()
        self._fee_schedule_window.raise_()
        self._fee_schedule_window.activateWindow()
        return self._fee_schedule_window

    def show_office_profile(self) -> OfficeProfileWindow:
        if self._office_profile_window is None:
            self._office_profile_window = OfficeProfileWindow(
                self._db, self._actor, self._state, self
            )
        else:
            self._office_profile_window.refresh()
        self._office_profile_window.show()
        self._office_profile_window.raise_()
        self._office_profile_window.activateWindow()
        return self._office_profile_window

    def show_templates(self) -> TemplatesWindow:
        if self._templates_window is None:
            self._templates_window = TemplatesWindow(self._db, self._actor, self._state, self)
        else:
            self._templates_window.refresh()
        self._templates_window.show()
        self._templates_window.raise_()
        self._templates_window.activateWindow()
        return self._templates_window

    def show_reports(self) -> ReportsWindow:
        if self._reports_window is None:
            # Loaded on first use: Qt Charts and the exports cost start-up time (about 25 ms).
            from referral_desk.ui.reports_window import ReportsWindow

            self._reports_window = ReportsWindow(self._db, self._actor, self._state, self)
            self._reports_window.case_requested.connect(self.open_case)
        else:
            self._reports_window.reload()  # payments and opinions since it was last shown
        self._reports_window.show()
        self._reports_window.raise_()
        self._reports_window.activateWindow()
        return self._reports_window

    def show_waiting_for_letter(self) -> None:
        """The cases whose opinion is in and whose letter has not gone out."""
        for row in range(self.status_list.count()):
            if self.status_list.item(row).data(Qt.ItemDataRole.UserRole) == (
                CaseStatus.OPINION_RECEIVED.value
            ):
                self.status_list.setCurrentRow(row)
                return

    def print_summary_letters(self) -> None:
        if self.batch.running:
            self.statusBar().showMessage("Summary letters are being made already.", 8000)
            return
        self.batch.run(self.selected_cases())

    def _batch_done(self, outcome: BatchOutcome) -> None:
        if outcome.failed:
            text = "The summary letters were not printed; no case was marked sent."
        elif outcome.cancelled:
            text = "Printing summary letters was cancelled; no case was marked sent."
            if outcome.letters:
                text += (
                    f" The {outcome.letters:,} letter{'s' if outcome.letters != 1 else ''} made "
                    "before that stay with their cases, unsent."
                )
        elif outcome.marked_sent:
            text = (
                f"{outcome.letters:,} summary letters marked sent; their cases are at "
                f"{CaseStatus.LETTER_SENT.label}."
            )
        else:
            text = (
                f"{outcome.letters:,} summary letters saved in {outcome.path}, not marked sent: "
                "mark them from each case's Letters tab once they have gone out."
            )
        self.statusBar().showMessage(text, 15000)

    def show_users(self) -> UsersWindow:
        if self._users_window is None:
            from referral_desk.ui.users_window import UsersWindow

            self._users_window = UsersWindow(self._db, self._actor, self, window_state=self._state)
        self._users_window.show()
        self._users_window.raise_()
        self._users_window.activateWindow()
        return self._users_window

    def show_audit(self) -> AuditWindow:
        if self._audit_window is None:
            from referral_desk.ui.audit_window import AuditWindow

            self._audit_window = AuditWindow(
                self._db, self._actor, self.open_case, self, window_state=self._state
            )
        self._audit_window.show()
        self._audit_window.raise_()
        self._audit_window.activateWindow()
        return self._audit_window

    def show_backups(self) -> BackupsWindow:
        if self._backups_window is None:
            from referral_desk.ui.backups_window import BackupsWindow

            self._backups_window = BackupsWindow(
                self._db, self._actor, self._paths, self, window_state=self._state
            )
            self._backups_window.restore_requested.connect(self.restore_from_backup)
        else:
            self._backups_window.refresh()  # automatic backups made since
        self._backups_window.show()
        self._backups_window.raise_()
        self._backups_window.activateWindow()
        return self._backups_window

    def back_up_now(self, target: Path | None = None) -> BackupsWindow:
        """File ▸ Back up now: the Backups window, which asks where and shows the progress."""
        window = self.show_backups()
        window.back_up_now(target)
        return window

    def restore_from_backup(self, backup: Path | None = None) -> RestoreDialog | None:
        """Preview a backup (asked for unless given), then restore it once confirmed."""
        from referral_desk.ui.backups_window import ask_backup_file
        from referral_desk.ui.restore_dialog import RestoreDialog

        why_not = refusal(self._actor, Permission.BACKUPS, "restore a backup")
        if why_not is not None:
            QMessageBox.information(self, "Restore from backup", why_not)
            return None
        if self.restore_dialog is not None and shiboken6.isValid(self.restore_dialog):
            self.restore_dialog.raise_()
            self.restore_dialog.activateWindow()
            return self.restore_dialog
        if backup is None:
            backup = ask_backup_file(self, backups.load_settings(self._paths).folder)
            if backup is None:
                return None
        parent: QWidget = self
        if self._backups_window is not None and self._backups_window.isVisible():
            parent = self._backups_window
        dialog = RestoreDialog(
            self._db, self._actor, self._paths, backup, parent, before_restore=self._close_windows
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.restored.connect(self._restored)
        self.restore_dialog = dialog
        dialog.open()  # window-modal, without a nested event loop
        return dialog

    def _restored(self, result: Restored) -> None:
        """The office's data is the backup's now: say where the old data went, then back to
        sign-in (the restored database may hold other accounts)."""
        from referral_desk.ui.restore_dialog import upgraded_words

        upgraded = upgraded_words(result)
        QMessageBox.information(
            self,
            "Backup restored",
            f"The office's data now comes from {result.summary.path.name}.{upgraded}\n\n"
            f"The database as it was just before is kept at:\n{result.safety_copy}\n\n"
            "Everyone signs in again now.",
        )
        self.leave(RESTORED, discard_unsaved=True)

    def choose_idle_lock(self) -> None:
        minutes, chosen = QInputDialog.getInt(
            self,
            "Screen lock",
            "Lock the screen after this many minutes without input\n"
            "(on every seat, from each person's next sign-in):",
            accounts.idle_lock_minutes(self._db),
            accounts.IDLE_LOCK_RANGE[0],
            accounts.IDLE_LOCK_RANGE[1],
        )
        if not chosen:
            return
        try:
            accounts.set_idle_lock_minutes(self._db, minutes, actor=self._actor)
        except ServiceError as exc:
            QMessageBox.warning(self, "Screen lock", str(exc))
            return
        self.screen_lock.set_minutes(minutes)  # this seat at once
        self.statusBar().showMessage(f"The screen locks after {minutes} minutes idle.", 8000)

    def change_password(self) -> bool:
        dialog = ChangePasswordDialog(self._db, self._actor, self)
        try:
            changed = dialog.exec() == QDialog.DialogCode.Accepted
        finally:
            dialog.deleteLater()
        if changed:
            self.statusBar().showMessage("Your password is changed.", 8000)
        return changed

    def leave(self, why: str, *, discard_unsaved: bool = False) -> bool:
        """End this person's session: close every window (case windows ask about unsaved
        edits, and Cancel keeps everything open), then `closed` tells why. With
        `discard_unsaved` nothing asks: the person agreed to lose what was not saved."""
        self._leaving, self._discard_unsaved = why, discard_unsaved
        if self.close():
            return True
        self._leaving, self._discard_unsaved = QUIT, False
        return False

    def _about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>Second-opinion case management for oncology "
            f"referral offices.<br><br>Database: {self._db.path}",
        )

    def _own_windows(self) -> list[QWidget]:
        """Every window opened from here that is still open or only hidden."""
        windows: list[QWidget | None] = [
            *self._case_windows.values(),
            self._specialists_window,
            self._office_profile_window,
            self._templates_window,
            self._chase_window,
            self._fee_schedule_window,
            self._reports_window,
            self._users_window,
            self._audit_window,
            self._backups_window,
        ]
        return [w for w in windows if w is not None and shiboken6.isValid(w)]

    def _close_windows(self) -> bool:
        """Close the windows that may hold unsaved edits, each asking; False on a Cancel."""
        for window in list(self._case_windows.values()):
            if not window.close():
                return False
        if self._specialists_window is not None and not self._specialists_window.close():
            return False  # unsaved specialist details, and the user chose to stay
        for settings in (self._office_profile_window, self._templates_window):
            if settings is not None and not settings.close():
                return False  # unsaved wording or letterhead, and the user chose to stay
        return self._users_window is None or self._users_window.close()

    def _drop_windows(self) -> None:
        """Signing out from the locked screen: close without asking, unsaved edits lost.

        An open modal dialog (a payment half typed in) is rejected first, so its exec()
        returns; background tasks are cancelled and waited for below, before any window
        that owns one is deleted.
        """
        self.screen_lock.shut_down()
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible() and widget.isModal():
                # QDialog's own done(): a subclass's reject() may ask "discard changes?".
                QDialog.done(widget, QDialog.DialogCode.Rejected)
        for task in self.findChildren(Task):
            task.cancel()
        for window in self._own_windows():
            for task in window.findChildren(Task):
                task.cancel()
            window.hide()
        QThreadPool.globalInstance().waitForDone()
        for window in self._own_windows():
            if window.parent() is None:  # the others go with this window
                window.deleteLater()
        self._case_windows.clear()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:  # closed once already (a test's clean-up closes it again)
            super().closeEvent(event)
            return
        if self._discard_unsaved:
            self._drop_windows()
        elif not self._close_windows():
            event.ignore()
            return
        self.screen_lock.shut_down()
        self._changes.cases_changed.disconnect(self._cases_changed)
        self.batch.wait()
        self._state.save("main_window", self)
        self._state.save("main_splitter", self.splitter)
        self._state.save(HEADER_STATE_KEY, self.table.horizontalHeader())
        self._tick.stop()
        for window in (
            self._chase_window,
            self._fee_schedule_window,
            self._reports_window,  # stops a report still being read or written
            self._audit_window,
            self._backups_window,  # cancels a backup still being written
        ):
            if window is not None and shiboken6.isValid(window):
                window.close()
        self.text_reader.stop()
        QThreadPool.globalInstance().waitForDone()  # no write is cut off halfway
        # Windows without a parent (kept that way so they are not held in front of this one)
        # would otherwise outlive the session and be collected at a random moment.
        for window in (self._chase_window, self._specialists_window):
            if window is not None and shiboken6.isValid(window):
                window.deleteLater()
        super().closeEvent(event)
        self._closed = True
        self.closed.emit(self._leaving)


def _refresh_if_shown(
    window: ChaseWindow | SpecialistsWindow | FeeScheduleWindow | None,
) -> None:
    """A closed window is only hidden: it reloads when shown again, not on every change."""
    if window is not None and shiboken6.isValid(window) and window.isVisible():
        window.refresh()
