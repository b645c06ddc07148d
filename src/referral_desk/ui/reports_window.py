"""The Reports screen: one month's figures beside the month before and a year earlier, its
charts and its case list, and the month saved as PDF, CSV or Excel.

Reading a month and writing a file run off the GUI thread; the report on screen stays until
the next one has arrived, so a cancelled or failed load leaves the last good one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.reports import (
    Column,
    Month,
    MonthlyReport,
    ReportError,
    Timeliness,
    last_complete_month,
)
from referral_desk.services import report_export, reports
from referral_desk.services.errors import ServiceError, environment_problem
from referral_desk.services.report_export import ExportFormat
from referral_desk.ui.background import Cancelled, Task, TaskSet
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.letters_panel import documents_folder
from referral_desk.ui.money import user_locale
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.report_charts import ChartsPanel
from referral_desk.ui.report_models import (
    COLUMNS,
    SECTION_ROLE,
    CaseFilter,
    CaseRowsModel,
    FiguresModel,
)
from referral_desk.ui.window_state import WindowState

# Named for the column set: a header saved with other columns must not be restored onto these.
HEADER_STATE_KEY = f"report_case_header_{len(COLUMNS)}"
FORMAT_NAMES = {ExportFormat.PDF: "PDF", ExportFormat.CSV: "CSV", ExportFormat.XLSX: "Excel"}
FORMAT_FILTERS = {
    ExportFormat.PDF: "PDF documents (*.pdf)",
    ExportFormat.CSV: "CSV files (*.csv)",
    ExportFormat.XLSX: "Excel workbooks (*.xlsx)",
}
COLUMN_WIDTHS = {
    Column.REFERENCE: 118,
    Column.PATIENT: 180,
    Column.CANCER_TYPE: 150,
    Column.REFERRER: 220,
    Column.URGENCY: 70,
    Column.SPECIALIST: 160,
    Column.STATUS: 120,
    Column.RECEIVED: 125,
    Column.RECORDS_COMPLETE: 125,
    Column.OPINION_DELIVERED: 125,
    Column.INTAKE: 85,
    Column.TURNAROUND: 85,
    Column.ON_TIME: 85,
    Column.DIAGNOSIS_CONCORDANCE: 160,
    Column.TREATMENT_CONCORDANCE: 160,
    Column.FINAL_TOTAL: 105,
    Column.PAID: 105,
    Column.BALANCE: 105,
}
NOTE_STYLE = "color: #555555;"
TABLE_HINT = "Double-click a case, or press Enter, to open it. Click a heading to sort."


class ProgressStrip(QWidget):
    """A line inside the window while something runs: what, how far, and Cancel."""

    cancel_requested = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.label = QLabel(objectName=f"{name}_label")
        self.bar = QProgressBar(objectName=f"{name}_bar")
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(260)
        self.cancel_button = QPushButton("Cancel", objectName=f"{name}_cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        layout.addStretch(1)
        self.hide()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.bar.setRange(0, 0)  # busy until the first step is reported
        self.cancel_button.setEnabled(True)
        self.show()

    def show_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)


EXPORT_TIPS = {
    ExportFormat.PDF: "A summary page with the figures and charts, then the case list, to print "
    "or send",
    ExportFormat.CSV: "The case list as plain text (UTF-8)",
    ExportFormat.XLSX: "The case list and the figures as a workbook with dates, amounts and hours "
    "typed",
}


class ReportsWindow(QWidget):
    """Non-modal; the main window keeps one and shows it again."""

    case_requested = Signal(int)  # the user asked to open this case
    report_shown = Signal(object)  # MonthlyReport, once on screen
    export_finished = Signal(object)  # the Path written, or None (cancelled or refused)

    def __init__(
        self,
        db: Database,
        actor: Actor,
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setObjectName("reports_window")
        self.setWindowTitle("Monthly report · Referral Desk")
        self._db, self._actor, self._state, self._zone = db, actor, window_state, zone
        self._export_refused = refusal(actor, Permission.REPORTS, report_export.EXPORT_WORDS)
        self._now = now or (lambda: datetime.now(UTC))
        self.report: MonthlyReport | None = None
        self.load_task: Task | None = None
        self.export_task: Task | None = None
        self._export_path = Path()
        self._tasks = TaskSet(self)

        # The month, and what to do with it
        self.previous_button = QToolButton(objectName="previous_month")
        self.previous_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.previous_button.setToolTip("The month before (Alt+Left)")
        self.previous_button.setShortcut(QKeySequence("Alt+Left"))
        self.previous_button.clicked.connect(lambda: self._step(+1))
        self.month_combo = QComboBox(objectName="month_combo")
        self.month_combo.setMinimumContentsLength(15)
        self.month_combo.setToolTip("The month the cases were received in (local time)")
        self.next_button = QToolButton(objectName="next_month")
        self.next_button.setArrowType(Qt.ArrowType.RightArrow)
        self.next_button.setToolTip("The month after (Alt+Right)")
        self.next_button.setShortcut(QKeySequence("Alt+Right"))
        self.next_button.clicked.connect(lambda: self._step(-1))
        month_label = QLabel("&Month:")
        month_label.setBuddy(self.month_combo)
        self.as_of = QLabel(objectName="as_of")
        self.as_of.setStyleSheet(NOTE_STYLE)
        self.as_of.setToolTip(
            "Balances, open cases and overdue ones are counted at this moment: payments that "
            "arrive later change them. Refresh (F5) counts again."
        )
        self.refresh_button = QPushButton("Refresh", objectName="refresh_report")
        self.refresh_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.refresh_button.clicked.connect(self.reload)
        self.export_buttons: dict[ExportFormat, QPushButton] = {}
        for fmt in ExportFormat:
            button = QPushButton(f"Export {FORMAT_NAMES[fmt]}…", objectName=f"export_{fmt.value}")
            button.clicked.connect(lambda _checked=False, f=fmt: self.export(f))
            self.export_buttons[fmt] = button
        top = QHBoxLayout()
        top.addWidget(month_label)
        top.addWidget(self.previous_button)
        top.addWidget(self.month_combo)
        top.addWidget(self.next_button)
        top.addSpacing(12)
        top.addWidget(self.as_of)
        top.addWidget(self.refresh_button)
        top.addStretch(1)
        for button in self.export_buttons.values():
            top.addWidget(button)

        self.load_strip = ProgressStrip("load_progress")
        self.load_strip.cancel_requested.connect(self.cancel_load)
        self.export_strip = ProgressStrip("export_progress")
        self.export_strip.cancel_requested.connect(self.cancel_export)
        self.message = QLabel(objectName="report_message")
        self.message.setWordWrap(True)
        self.message.setOpenExternalLinks(False)
        self.message.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.message.hide()
        self.empty_banner = QLabel(objectName="empty_month")
        self.empty_banner.setStyleSheet(
            "background: #fff3cd; color: #5c4400; padding: 8px; font-weight: bold;"
        )
        self.empty_banner.hide()

        # Figures
        # Parented, as every QObject here: a Python-owned one could be freed by the garbage
        # collector on a worker thread (a report being written), which crashes Qt.
        self.figures_model = FiguresModel(self)
        self.figures_table = QTableView(objectName="figures_table")
        self.figures_table.setModel(self.figures_model)
        self.figures_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.figures_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.figures_table.setWordWrap(False)
        self.figures_table.verticalHeader().hide()
        self.figures_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.figures_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.figures_table.setShowGrid(False)
        self.figures_table.setAlternatingRowColors(True)
        figures_header = self.figures_table.horizontalHeader()
        figures_header.setStretchLastSection(False)
        # Values close to their labels: across a wide window the eye loses the row.
        figures_header.resizeSection(0, 360)
        for column in (1, 2, 3):
            figures_header.resizeSection(column, 180)

        # Charts
        self.charts = ChartsPanel(self)

        # The case list
        self.case_model = CaseRowsModel(self)
        self.case_filter = CaseFilter(self.case_model, self)
        self.filter_edit = QLineEdit(objectName="case_filter")
        self.filter_edit.setPlaceholderText(
            "Filter by reference, patient, referrer, specialist or cancer type"
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(380)
        self.timeliness_combo = QComboBox(objectName="timeliness_filter")
        self.timeliness_combo.addItem("All", None)
        for kind in (Timeliness.ON_TIME, Timeliness.LATE, Timeliness.OVERDUE, Timeliness.PENDING):
            self.timeliness_combo.addItem(kind.label, kind.value)
        self.status_combo = QComboBox(objectName="status_filter")
        self.status_combo.addItem("All", None)
        for status in CaseStatus:
            self.status_combo.addItem(status.label, status.value)
        self.shown_count = QLabel(objectName="shown_count")
        filters = QHBoxLayout()
        filters.addWidget(self.filter_edit, 1)
        for text, combo in (("&On time:", self.timeliness_combo), ("S&tatus:", self.status_combo)):
            label = QLabel(text)
            label.setBuddy(combo)
            filters.addSpacing(8)
            filters.addWidget(label)
            filters.addWidget(combo)
        filters.addSpacing(12)
        filters.addWidget(self.shown_count)
        self.case_table = QTableView(objectName="report_case_table")
        self.case_table.setModel(self.case_filter)
        self.case_table.setToolTip(TABLE_HINT)
        self.case_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.case_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.case_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.case_table.setAlternatingRowColors(True)
        self.case_table.setWordWrap(False)
        vertical = self.case_table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # measuring rows is slow
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vertical.hide()
        case_header = self.case_table.horizontalHeader()
        case_header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        case_header.setStretchLastSection(True)
        for index, column in enumerate(COLUMNS):
            case_header.resizeSection(index, COLUMN_WIDTHS.get(column, 110))
        case_header.setSortIndicator(self.case_model.sort_column, self.case_model.sort_order)
        self.case_table.setSortingEnabled(True)
        self.case_table.activated.connect(self._activated)
        case_page = QWidget()
        case_layout = QVBoxLayout(case_page)
        case_layout.addLayout(filters)
        case_layout.addWidget(self.case_table, 1)
        hint = QLabel(TABLE_HINT)
        hint.setStyleSheet(NOTE_STYLE)
        case_layout.addWidget(hint)

        self.filter_edit.textChanged.connect(self._apply_filter)
        self.timeliness_combo.currentIndexChanged.connect(self._apply_filter)
        self.status_combo.currentIndexChanged.connect(self._apply_filter)
        self.case_filter.modelReset.connect(self._show_count)
        self.case_filter.layoutChanged.connect(self._show_count)
        self.case_filter.rowsInserted.connect(self._show_count)
        self.case_filter.rowsRemoved.connect(self._show_count)

        self.tabs = QTabWidget(objectName="report_tabs")
        self.tabs.addTab(self.figures_table, "&Figures")
        self.tabs.addTab(self.charts, "C&harts")
        self.tabs.addTab(case_page, "Case &list")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.load_strip)
        layout.addWidget(self.export_strip)
        layout.addWidget(self.message)
        layout.addWidget(self.empty_banner)
        layout.addWidget(self.tabs, 1)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)

        self.resize(1280, 800)
        if self._state is not None:
            self._state.restore("reports_window", self)
            self._state.restore(HEADER_STATE_KEY, case_header)
            self.case_model.sort(
                case_header.sortIndicatorSection(), case_header.sortIndicatorOrder()
            )
        self.month_combo.currentIndexChanged.connect(self._month_chosen)
        self._show_count()
        self.reload()  # the last complete month

    # --- months ------------------------------------------------------------------------------
    def _today(self) -> date:
        return self._now().astimezone(self._zone).date()

    def _fill_months(self, chosen: Month) -> None:
        """The months with cases, newest first, `chosen` picked (not loaded: the caller does)."""
        months = reports.report_months(self._db, today=self._today(), zone=self._zone)
        if chosen not in months:  # a month before the first case, asked for by name
            months = sorted({*months, chosen}, reverse=True)
        self.month_combo.blockSignals(True)
        try:
            self.month_combo.clear()
            for month in months:
                self.month_combo.addItem(month.label, month.iso)  # plain text: findData matches it
            self.month_combo.setCurrentIndex(months.index(chosen))
        finally:
            self.month_combo.blockSignals(False)
        self._update_buttons()

    @property
    def month(self) -> Month:
        """The month picked (the one on screen, or the one being read)."""
        iso = self.month_combo.currentData()
        return Month.parse(iso) if iso else last_complete_month(self._today())

    def choose_month(self, month: Month) -> None:
        index = self.month_combo.findData(month.iso)
        if index < 0:
            raise ReportError(f"{month.label} is not one of the months offered.")
        self.month_combo.setCurrentIndex(index)

    def _step(self, offset: int) -> None:
        index = self.month_combo.currentIndex() + offset
        if 0 <= index < self.month_combo.count():
            self.month_combo.setCurrentIndex(index)

    def _month_chosen(self) -> None:
        self._update_buttons()
        self.load(self.month)

    def reload(self) -> None:
        """Read the month again (payments and opinions arrive all the time), and the list of
        months (a new month may have begun)."""
        month = self.month
        self._fill_months(month)
        self.load(month)

    # --- loading -----------------------------------------------------------------------------
    def load(self, month: Month) -> Task:
        """Read `month` in the background; the report on screen stays until it is here."""
        if self.load_task is not None:
            self.load_task.cancel()  # its result is ignored; only the newest month is shown
        db, actor, zone, now = self._db, self._actor, self._zone, self._now()

        def work(task: Task) -> MonthlyReport:
            return reports.monthly_report(
                db, month, actor=actor, now=now, zone=zone, progress=task.report
            )

        task = self._task(work)
        task.progress.connect(self.load_strip.show_progress)
        # Methods, not lambdas: Qt drops a queued result once the window is gone.
        task.finished.connect(self._loaded)
        task.failed.connect(self._load_failed)
        self.load_task = task
        self.load_strip.start(f"Reading {month.label}…")
        self._update_buttons()
        task.start()
        return task

    def cancel_load(self) -> None:
        task = self.load_task
        if task is None:
            return
        task.cancel()
        self.load_task = None
        self.load_strip.hide()
        if self.report is not None:
            self._select_quietly(self.report.month)  # the picker names what is on screen
            self.say(f"Loading was cancelled; {self.report.month.label} is still shown.")
        else:
            self.say("Loading was cancelled. Choose a month, or Refresh, to read it.")
        self._update_buttons()

    def _loaded(self, report: MonthlyReport) -> None:
        task = self._forget()
        if task is not self.load_task:
            return  # a month the user has since left
        self.load_task = None
        self.load_strip.hide()
        self.show_report(report)

    def _load_failed(self, exc: BaseException) -> None:
        task = self._forget()
        if task is not self.load_task or isinstance(exc, Cancelled):
            return
        self.load_task = None
        self.load_strip.hide()
        self._update_buttons()
        problem = environment_problem(exc)
        if problem is None and not isinstance(exc, ServiceError | ReportError):
            raise exc  # a bug: the exception hook reports it
        if self.report is not None:
            self._select_quietly(self.report.month)
        self.say(f"The report could not be read: {problem or exc}", problem=True)

    def show_report(self, report: MonthlyReport) -> None:
        locale = user_locale()
        self.report = report
        self._select_quietly(report.month)
        self.setWindowTitle(f"Monthly report, {report.month.label} · Referral Desk")
        made = report.generated_at.astimezone(report.zone).strftime("%Y-%m-%d %H:%M")
        self.as_of.setText(f"Balances as of {made}")
        self.figures_model.set_report(report, locale)
        self.figures_table.clearSpans()
        for row in range(self.figures_model.rowCount()):
            if self.figures_model.index(row, 0).data(SECTION_ROLE):
                self.figures_table.setSpan(row, 0, 1, 4)
        self.charts.show_report(report)
        self.case_model.set_report(report, locale)
        self.tabs.setTabText(2, f"Case &list ({len(report.rows):,})")
        empty = not report.rows
        self.empty_banner.setText(f"No cases were received in {report.month.label}.")
        self.empty_banner.setVisible(empty)
        self.message.hide()
        self._update_buttons()
        self._show_count()
        self.report_shown.emit(report)

    def _select_quietly(self, month: Month) -> None:
        index = self.month_combo.findData(month.iso)
        if index >= 0 and index != self.month_combo.currentIndex():
            self.month_combo.blockSignals(True)
            self.month_combo.setCurrentIndex(index)
            self.month_combo.blockSignals(False)
        self._update_buttons()

    # --- the case list -----------------------------------------------------------------------
    def _apply_filter(self) -> None:
        timeliness, status = self.timeliness_combo.currentData(), self.status_combo.currentData()
        self.case_filter.set_filter(
            self.filter_edit.text(),
            Timeliness(timeliness) if timeliness else None,
            CaseStatus(status) if status else None,
        )
        self._show_count()

    def _show_count(self) -> None:
        total = self.case_model.rowCount()
        shown = self.case_filter.rowCount()
        self.shown_count.setText(f"Showing {shown:,} of {total:,} case{'s' if total != 1 else ''}")

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.case_requested.emit(self.case_filter.case_id(index.row()))

    # --- exports -----------------------------------------------------------------------------
    def ask_path(self, fmt: ExportFormat) -> Path | None:
        assert self.report is not None
        suggested = documents_folder() / report_export.suggested_name(self.report.month, fmt)
        chosen, _ = QFileDialog.getSaveFileName(
            self,
            f"Export the report for {self.report.month.label} as {FORMAT_NAMES[fmt]}",
            str(suggested),
            FORMAT_FILTERS[fmt],
        )
        if not chosen:
            return None
        path = Path(chosen)
        # The button chose the format: a name typed without its extension gets it.
        return path if path.suffix.lower() == f".{fmt.value}" else Path(f"{path}.{fmt.value}")

    def export(self, fmt: ExportFormat, path: Path | None = None) -> Task | None:
        """Ask where (unless told), then write the report on screen in the background."""
        if self.report is None or self.export_task is not None or self.load_task is not None:
            return None
        if self._export_refused:
            self.say(self._export_refused, problem=True)
            return None
        path = path or self.ask_path(fmt)
        if path is None:
            return None
        db, actor, report, locale = self._db, self._actor, self.report, user_locale()

        def work(task: Task) -> Path:
            report_export.export_report(
                db, report, path, actor=actor, locale=locale, progress=task.report
            )
            return path

        task = self._task(work)
        task.progress.connect(self.export_strip.show_progress)
        task.finished.connect(self._exported)
        task.failed.connect(self._export_failed)
        self.export_task, self._export_path = task, path
        self.export_strip.start(f"Writing {path.name}…")
        self.message.hide()
        self._update_buttons()
        task.start()
        return task

    def cancel_export(self) -> None:
        if self.export_task is not None:
            self.export_task.cancel()
            self.export_strip.label.setText("Cancelling…")
            self.export_strip.cancel_button.setEnabled(False)

    def _exported(self, path: Path) -> None:
        self._forget()
        self._export_ended()
        link = QUrl.fromLocalFile(str(path)).toString()
        folder = QUrl.fromLocalFile(str(path.parent)).toString()
        self.say(
            f"Saved <b>{_escape(path.name)}</b> in {_escape(str(path.parent))}. "
            f'<a href="{link}">Open it</a> · <a href="{folder}">Show the folder</a>',
            rich=True,
        )
        self.export_finished.emit(path)

    def _export_failed(self, exc: BaseException) -> None:
        self._forget()
        path = self._export_path
        self._export_ended()
        if isinstance(exc, Cancelled):
            self.say(f"Export cancelled; {path.name} was not written.")
        else:
            problem = environment_problem(exc)
            if problem is None and not isinstance(exc, ServiceError | ReportError | OSError):
                self.export_finished.emit(None)
                raise exc  # a bug: the exception hook reports it
            self.say(f"{path.name} was not saved: {problem or exc}", problem=True)
        self.export_finished.emit(None)

    def _export_ended(self) -> None:
        self.export_task = None
        self.export_strip.hide()
        self._update_buttons()

    # --- helpers -----------------------------------------------------------------------------
    def _task(self, work: Callable[[Task], object]) -> Task:
        task = self._tasks.new(work)
        return task

    def _forget(self) -> Task | None:
        return self._tasks.release(self.sender())

    def _update_buttons(self) -> None:
        index, count = self.month_combo.currentIndex(), self.month_combo.count()
        self.previous_button.setEnabled(0 <= index < count - 1)
        self.next_button.setEnabled(index > 0)
        ready = self.report is not None and self.load_task is None and self.export_task is None
        for fmt, button in self.export_buttons.items():
            allow(button, self._export_refused, enabled=ready, tooltip=EXPORT_TIPS.get(fmt, ""))

    def say(self, text: str, *, problem: bool = False, rich: bool = False) -> None:
        self.message.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.message.setStyleSheet(ERROR_STYLE if problem else "")
        self.message.setText(text)
        self.message.show()

    def stop(self) -> None:
        """Cancel whatever runs and wait for it: nothing may outlive the window."""
        self._tasks.stop_all()
        self.load_task = self.export_task = None
        self.load_strip.hide()
        self.export_strip.hide()
        self._update_buttons()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()  # closing the window is Cancel, as for any progress shown in it
        if self._state is not None:
            self._state.save("reports_window", self)
            self._state.save(HEADER_STATE_KEY, self.case_table.horizontalHeader())
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
