from __future__ import annotations

import csv
import gc
import io
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from pypdf import PdfReader
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.enums import Urgency
from referral_desk.domain.report_figures import FigureValue, value_text
from referral_desk.domain.reports import (
    Column,
    Month,
    MonthlyReport,
    ReportRow,
    Timeliness,
    cell_text,
    describe_duration,
)
from referral_desk.domain.specialists import Concordance
from referral_desk.paths import AppPaths
from referral_desk.pdf.text import needs_shaping
from referral_desk.services import cases, demo, report_export, report_pdf
from referral_desk.services import reports as report_service
from referral_desk.ui import reports_window as reports_window_module
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.letters_panel import documents_folder
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.money import user_locale
from referral_desk.ui.report_models import (
    COLUMNS,
    SECTION_ROLE,
    SORT_ROLE,
    CaseFilter,
    CaseRowsModel,
    FiguresModel,
)
from referral_desk.ui.reports_window import ReportsWindow
from referral_desk.ui.window_state import WindowState
from tests.conftest import NOW, admin, case, coordinator, manager, patient

VIENNA = ZoneInfo("Europe/Vienna")
OCTOBER, SEPTEMBER, AUGUST = Month(2026, 10), Month(2026, 9), Month(2026, 8)


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread() -> Iterator[None]:
    """Garbage of a closed main window (its CaseTableModel and QSettings are owned by Python
    and sit in reference cycles) is freed here, on the GUI thread: freed by a collection
    that happened to start on a worker thread writing a report, it crashed the process."""
    yield
    gc.collect()


@pytest.fixture
def office(db: Database) -> Database:
    demo.generate(db, 300, seed=7, now=NOW)
    return db


@pytest.fixture
def open_window(qtbot: QtBot, paths: AppPaths) -> Callable[[Database], ReportsWindow]:
    """The Reports screen on NOW's clock, in Vienna, once its first month is on screen."""

    def make(database: Database) -> ReportsWindow:
        window = ReportsWindow(
            database,
            manager("nadia"),
            WindowState(paths.settings_file),
            now=lambda: NOW,
            zone=VIENNA,
        )
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.report_shown, timeout=10_000):
            window.show()
        return window

    return make


def rows_of(db: Database, month: Month) -> list[ReportRow]:
    return report_service.case_rows(db, month, now=NOW, zone=VIENNA)


TOOLTIP = Qt.ItemDataRole.ToolTipRole


def figure(
    window: ReportsWindow,
    label: str,
    column: int = 1,
    role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole,
) -> str:
    model = window.figures_model
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == label:
            return str(model.index(row, column).data(role))
    raise AssertionError(f"no figure {label!r}")


def shown_case_ids(window: ReportsWindow) -> list[int]:
    proxy = window.case_filter
    return [proxy.case_id(row) for row in range(proxy.rowCount())]


def column_texts(window: ReportsWindow, column: Column) -> list[str]:
    proxy, index = window.case_filter, COLUMNS.index(column)
    return [proxy.index(row, index).data() for row in range(proxy.rowCount())]


def switch(qtbot: QtBot, window: ReportsWindow, act: Callable[[], None]) -> MonthlyReport:
    with qtbot.waitSignal(window.report_shown, timeout=10_000) as shown:
        act()
    report = shown.args[0]
    assert isinstance(report, MonthlyReport)
    return report


def click_header(qtbot: QtBot, table: QTableView, column: int) -> None:
    table.scrollTo(table.model().index(0, column))
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))


def test_the_screen_opens_on_the_last_complete_month(
    open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    october = rows_of(office, OCTOBER)
    assert october  # the demo office received cases that month
    assert window.month_combo.currentText() == "October 2026"
    assert window.month_combo.itemText(0) == "November 2026"  # newest first
    assert window.report is not None and window.report.month == OCTOBER
    headers = [window.figures_model.headerData(c, Qt.Orientation.Horizontal) for c in (1, 2, 3)]
    assert headers == ["Oct 2026", "Sep 2026", "Oct 2025"]
    assert figure(window, "Received") == str(len(october))
    assert figure(window, "Received", 2) == str(len(rows_of(office, SEPTEMBER)))
    assert window.tabs.tabText(2) == f"Case &list ({len(october)})"
    assert window.shown_count.text() == f"Showing {len(october)} of {len(october)} cases"
    assert window.as_of.text() == "Balances as of 2026-11-23 11:00"  # Vienna, UTC+1
    assert not window.empty_banner.isVisible()
    assert window.next_button.isEnabled() and window.previous_button.isEnabled()


def test_the_figures_show_rates_durations_and_money_as_a_manager_reads_them(
    open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    report = window.report
    assert report is not None
    on_time = report.figures.on_time
    shown = value_text(FigureValue.of_rate(on_time), currency=report.currency, locale=user_locale())
    assert figure(window, "All cases") == shown
    assert figure(window, "All cases").endswith(f"({on_time.on_time} of {on_time.judged})")
    routine = report.figures.on_time_by_urgency[Urgency.ROUTINE]
    assert figure(window, "Routine (48 h)").endswith(f"({routine.on_time} of {routine.judged})")
    assert figure(window, "Turnaround, median") == describe_duration(
        report.figures.turnaround_median
    )
    assert figure(window, "Intake time, 90th percentile", 3) == describe_duration(
        report.year_before.intake_p90
    )
    assert "€" in figure(window, "Balance still owed by these cases")
    diagnosis = report.figures.diagnosis_concordance
    confirmed = diagnosis[Concordance.CONFIRMED]
    assert figure(window, "Diagnosis: confirmed").startswith(f"{confirmed} (")
    assert "time on hold left out" in figure(window, "Turnaround, median", role=TOOLTIP)
    sections = [
        window.figures_model.index(r, 0).data()
        for r in range(window.figures_model.rowCount())
        if window.figures_table.columnSpan(r, 0) == 4
    ]
    assert sections == [
        "Cases",
        "Times",
        "On time",
        "Concordance",
        "Money",
        "By cancer type",
        "By referrer",
        "By specialist",
        "By reason",
    ]


def test_switching_month_updates_the_figures_and_the_case_list(
    qtbot: QtBot, open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    september = rows_of(office, SEPTEMBER)
    report = switch(
        qtbot,
        window,
        lambda: qtbot.mouseClick(window.previous_button, Qt.MouseButton.LeftButton),
    )
    assert report.month == SEPTEMBER
    assert window.month_combo.currentText() == "September 2026"
    assert figure(window, "Received") == str(len(september))
    assert window.figures_model.headerData(1, Qt.Orientation.Horizontal) == "Sep 2026"
    assert shown_case_ids(window) == [r.case_id for r in september]
    assert window.shown_count.text() == f"Showing {len(september)} of {len(september)} cases"
    assert window.windowTitle().startswith("Monthly report, September 2026")

    august = rows_of(office, AUGUST)
    switch(
        qtbot,
        window,
        lambda: window.month_combo.setCurrentIndex(window.month_combo.currentIndex() + 1),
    )
    assert shown_case_ids(window) == [r.case_id for r in august]
    switch(qtbot, window, lambda: qtbot.mouseClick(window.next_button, Qt.MouseButton.LeftButton))
    assert window.report is not None and window.report.month == SEPTEMBER


def test_the_case_list_shows_the_services_rows_cell_by_cell(
    open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    expected = rows_of(office, OCTOBER)
    locale, currency = user_locale(), window.report.currency if window.report else ""
    proxy = window.case_filter
    assert proxy.rowCount() == len(expected)
    for row, case_row in enumerate(expected):
        shown = [proxy.index(row, c).data() for c in range(proxy.columnCount())]
        assert shown == [cell_text(case_row, c, currency, locale, VIENNA) for c in Column]
    headers = [proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(len(Column))]
    assert headers == [c.value for c in Column]
    balance = proxy.index(0, COLUMNS.index(Column.BALANCE))
    assert balance.data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight


def test_the_filter_narrows_the_case_list(
    qtbot: QtBot, open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    october = rows_of(office, OCTOBER)
    window.tabs.setCurrentIndex(2)
    assert window.report is not None
    referrer = next(name for name in window.report.figures.by_referrer if name.startswith("Dr."))
    word = referrer.split(",")[0].split()[-1].lower()  # a family name: 'navarro'

    def mentions(row: ReportRow) -> bool:
        fields = (row.reference, row.patient, row.referrer, row.specialist)
        return any(word in field.lower() for field in fields)

    qtbot.keyClicks(window.filter_edit, word)
    expected = [r.case_id for r in october if mentions(r)]
    assert 0 < len(expected) < len(october)
    assert shown_case_ids(window) == expected
    assert window.shown_count.text() == f"Showing {len(expected)} of {len(october)} cases"

    window.filter_edit.clear()
    late = [r.case_id for r in october if r.timeliness is Timeliness.LATE]
    assert late
    window.timeliness_combo.setCurrentIndex(window.timeliness_combo.findText("Late"))
    assert shown_case_ids(window) == late
    assert set(column_texts(window, Column.ON_TIME)) == {"Late"}

    window.timeliness_combo.setCurrentIndex(0)
    qtbot.keyClicks(window.filter_edit, october[0].reference)
    assert shown_case_ids(window) == [october[0].case_id]
    window.filter_edit.clear()
    assert len(shown_case_ids(window)) == len(october)


def test_the_filter_ignores_accents_and_looks_at_the_specialist(
    qtbot: QtBot, open_window: Callable[[Database], ReportsWindow], db: Database
) -> None:
    for name, referrer in (("Zoë", "Dr. Inés Navarro"), ("Anna", "Dr. Jonas Weber")):
        cases.create_case(
            db,
            case(referrer_name=referrer),
            patient=patient(given_names=name),
            actor=admin("t"),
            now=datetime(2026, 10, 5, 9, tzinfo=UTC),
        )
    window = open_window(db)
    qtbot.keyClicks(window.filter_edit, "zoe ines")
    assert window.shown_count.text() == "Showing 1 of 2 cases"
    assert column_texts(window, Column.PATIENT) == ["Zoë Müller"]


def test_sorting_by_turnaround_orders_by_duration_not_by_text(
    qtbot: QtBot, open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    window.tabs.setCurrentIndex(2)
    column = COLUMNS.index(Column.TURNAROUND)
    click_header(qtbot, window.case_table, column)
    proxy = window.case_filter
    seconds = [proxy.index(r, column).data(SORT_ROLE) for r in range(proxy.rowCount())]
    durations = [s for s in seconds if s is not None]
    assert durations == sorted(durations) and len(durations) > 10
    assert seconds[len(durations) :] == [None] * (len(seconds) - len(durations))  # blanks last
    texts = column_texts(window, Column.TURNAROUND)[: len(durations)]
    assert texts != sorted(texts)  # '1 d 2 h' sorts before '9 h 5 min' as text
    assert window.case_table.horizontalHeader().sortIndicatorSection() == column

    click_header(qtbot, window.case_table, column)  # again: longest first, blanks still last
    seconds = [proxy.index(r, column).data(SORT_ROLE) for r in range(proxy.rowCount())]
    assert seconds[: len(durations)] == sorted(durations, reverse=True)

    money = COLUMNS.index(Column.BALANCE)
    click_header(qtbot, window.case_table, money)
    balances = [proxy.index(r, money).data(SORT_ROLE) for r in range(proxy.rowCount())]
    assert balances == sorted(balances)  # minor units, negative credits first


def test_double_click_and_enter_open_the_case_from_the_main_window(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    demo.generate(db, 300, seed=7)  # the main window's clock is the real one
    reports_menu = next(a.menu() for a in main_window.menuBar().actions() if a.text() == "&Reports")
    assert main_window.monthly_report_action in reports_menu.actions()
    assert main_window.monthly_report_action.shortcut().toString() == "Ctrl+Shift+M"
    main_window.monthly_report_action.trigger()
    window = main_window._reports_window
    assert isinstance(window, ReportsWindow)
    qtbot.waitUntil(lambda: window.report is not None, timeout=10_000)
    assert window.isVisible() and window.case_filter.rowCount() > 2
    window.tabs.setCurrentIndex(2)
    qtbot.waitExposed(window)
    table = window.case_table
    first = window.case_filter.case_id(0)
    rect = table.visualRect(window.case_filter.index(0, 1))
    # A real double-click starts with a press: Qt activates only the row that was pressed.
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    opened = main_window._case_windows.get(first)
    assert isinstance(opened, CaseWindow) and opened.isVisible()

    second = window.case_filter.case_id(1)
    table.setFocus()
    table.setCurrentIndex(window.case_filter.index(1, 0))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert isinstance(main_window._case_windows.get(second), CaseWindow)

    with qtbot.waitSignal(window.report_shown, timeout=10_000):
        assert main_window.show_reports() is window  # one Reports window, read again


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_an_export_writes_the_month_that_is_on_screen(
    qtbot: QtBot,
    open_window: Callable[[Database], ReportsWindow],
    office: Database,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fmt: str,
) -> None:
    window = open_window(office)
    october = rows_of(office, OCTOBER)
    asked: list[tuple[str, str]] = []

    def save_as(_parent: object, _title: str, suggested: str, filters: str) -> tuple[str, str]:
        asked.append((suggested, filters))
        return str(tmp_path / "october"), filters  # typed without an extension

    monkeypatch.setattr(reports_window_module.QFileDialog, "getSaveFileName", save_as)
    button = window.export_buttons[report_export.ExportFormat(fmt)]
    with qtbot.waitSignal(window.export_finished, timeout=60_000) as done:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not button.isEnabled()  # one export at a time
    written = tmp_path / f"october.{fmt}"
    assert done.args == [written]
    assert written.is_file()
    assert asked[0][0] == str(documents_folder() / f"monthly-report-2026-10.{fmt}")
    assert window.message.isVisible() and "october." + fmt in window.message.text()
    assert button.isEnabled() and not window.export_strip.isVisible()

    references = [r.reference for r in october]
    if fmt == "csv":
        with written.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
        assert [row[0] for row in table[1:]] == references
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(written, read_only=True)["Cases"]
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == references
    else:
        from pypdf import PdfReader

        text = "".join(page.extract_text() for page in PdfReader(written).pages)
        assert references[0] in text and references[-1] in text


def test_a_refused_export_says_why_and_a_cancelled_one_writes_nothing(
    qtbot: QtBot,
    open_window: Callable[[Database], ReportsWindow],
    office: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window(office)
    missing = tmp_path / "no such folder" / "report.csv"
    with qtbot.waitSignal(window.export_finished, timeout=10_000) as done:
        window.export(report_export.ExportFormat.CSV, missing)
    assert done.args == [None]
    assert "report.csv was not saved" in window.message.text()
    assert not missing.exists()

    gate = threading.Event()
    real = report_export.export_report

    def slow(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        gate.wait(10)
        return real(*args, progress=progress, **kwargs)

    monkeypatch.setattr(report_export, "export_report", slow)
    target = tmp_path / "report.csv"
    window.export(report_export.ExportFormat.CSV, target)
    assert window.export_strip.isVisible()
    with qtbot.waitSignal(window.export_finished, timeout=10_000) as done:
        qtbot.mouseClick(window.export_strip.cancel_button, Qt.MouseButton.LeftButton)
        gate.set()
    assert done.args == [None]
    assert window.message.text() == "Export cancelled; report.csv was not written."
    assert not target.exists()


def test_cancelling_a_load_keeps_the_report_on_screen(
    qtbot: QtBot,
    open_window: Callable[[Database], ReportsWindow],
    office: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window(office)
    shown = window.report
    received = figure(window, "Received")
    gate = threading.Event()
    real = report_service.monthly_report

    def slow(db: Database, month: Month, **kwargs: Any) -> MonthlyReport:
        gate.wait(10)
        return real(db, month, **kwargs)

    monkeypatch.setattr(report_service, "monthly_report", slow)
    qtbot.mouseClick(window.previous_button, Qt.MouseButton.LeftButton)
    task = window.load_task
    assert task is not None and window.load_strip.isVisible()
    assert window.load_strip.label.text() == "Reading September 2026…"
    assert not window.export_buttons[report_export.ExportFormat.PDF].isEnabled()
    assert window.report is shown  # the old month stays until the new one is here

    with qtbot.waitSignal(task.failed, timeout=10_000):
        qtbot.mouseClick(window.load_strip.cancel_button, Qt.MouseButton.LeftButton)
        gate.set()
    qtbot.wait(50)
    assert window.report is shown
    assert window.month_combo.currentText() == "October 2026"  # the picker names what is shown
    assert figure(window, "Received") == received
    assert not window.load_strip.isVisible()
    assert "cancelled; October 2026 is still shown" in window.message.text()
    assert window.export_buttons[report_export.ExportFormat.PDF].isEnabled()


def test_a_month_left_while_loading_never_replaces_the_newer_one(
    qtbot: QtBot,
    open_window: Callable[[Database], ReportsWindow],
    office: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window(office)
    gate = threading.Event()
    real = report_service.monthly_report

    def september_is_slow(db: Database, month: Month, **kwargs: Any) -> MonthlyReport:
        if month == SEPTEMBER:
            gate.wait(10)
            kwargs.pop("progress")  # it would notice the cancel: let it finish regardless
        return real(db, month, **kwargs)

    monkeypatch.setattr(report_service, "monthly_report", september_is_slow)
    window.choose_month(SEPTEMBER)
    stale = window.load_task
    assert stale is not None
    report = switch(qtbot, window, lambda: window.choose_month(AUGUST))
    assert report.month == AUGUST
    with qtbot.waitSignal(stale.finished, timeout=10_000):
        gate.set()
    qtbot.wait(50)
    assert window.report is report and window.month_combo.currentText() == "August 2026"
    assert shown_case_ids(window) == [r.case_id for r in rows_of(office, AUGUST)]


def test_an_empty_month_says_so_instead_of_empty_charts(
    open_window: Callable[[Database], ReportsWindow], db: Database
) -> None:
    cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)  # November only
    window = open_window(db)
    assert window.month_combo.currentText() == "October 2026"
    message = "No cases were received in October 2026."
    assert window.empty_banner.isVisible() and window.empty_banner.text() == message
    window.tabs.setCurrentIndex(1)
    assert window.charts.currentWidget() is window.charts.empty
    assert window.charts.empty.text() == message
    assert window.shown_count.text() == "Showing 0 of 0 cases"
    assert figure(window, "Received") == "0"
    assert figure(window, "Turnaround, median") == "—"
    assert figure(window, "All cases") == "—"
    assert window.export_buttons[report_export.ExportFormat.CSV].isEnabled()


def test_the_charts_show_the_month(
    qtbot: QtBot, open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    report = window.report
    assert report is not None
    window.tabs.setCurrentIndex(1)
    assert window.charts.currentIndex() == 0
    weekly = window.charts.weekly.chart()
    categories = weekly.axes(Qt.Orientation.Horizontal)[0].categories()
    assert categories == [week.label for week in report.weeks]
    bars = weekly.series()[0].barSets()[0]
    assert [int(bars.at(i)) for i in range(bars.count())] == [w.count for w in report.weeks]
    turnaround = window.charts.turnaround.chart().series()[0].barSets()[0]
    assert sum(turnaround.at(i) for i in range(turnaround.count())) == sum(
        report.turnaround_histogram
    )
    mix = window.charts.concordance.chart().series()[0].barSets()
    assert [s.label() for s in mix] == ["Diagnosis", "Treatment"]
    assert int(mix[0].sum()) == sum(report.figures.diagnosis_concordance.values())
    image = window.charts.weekly.grab()
    assert not image.isNull()


def test_the_table_models_follow_qt_rules(
    qtmodeltester: Any, open_window: Callable[[Database], ReportsWindow], office: Database
) -> None:
    window = open_window(office)
    assert window.report is not None
    figures = FiguresModel()
    figures.set_report(window.report, "en_US")
    qtmodeltester.check(figures)
    rows = CaseRowsModel()
    rows.set_report(window.report, "de_DE")
    qtmodeltester.check(rows)
    proxy = CaseFilter(rows)
    proxy.set_filter("a", Timeliness.ON_TIME)
    qtmodeltester.check(proxy)
    assert all(
        rows.row(proxy.mapToSource(proxy.index(r, 0)).row()).timeliness is Timeliness.ON_TIME
        for r in range(proxy.rowCount())
    )
    assert (
        rows.index(0, COLUMNS.index(Column.RECEIVED)).data(SORT_ROLE)
        == window.report.rows[0].received_at
    )


Listing = list[tuple[str, list[str]]]  # (section title, its lines' labels), in order


def test_the_screen_the_pdf_and_excel_list_the_same_figures_in_the_same_words(
    qtbot: QtBot, office: Database
) -> None:
    report = report_service.monthly_report(office, OCTOBER, now=NOW, zone=VIENNA, actor=manager())

    model = FiguresModel()
    model.set_report(report, "en_US")
    screen: Listing = []
    for row in range(model.rowCount()):
        label = model.index(row, 0).data()
        if model.index(row, 0).data(SECTION_ROLE):
            screen.append((label, []))
        else:
            screen[-1][1].append(label)

    sheet = openpyxl.load_workbook(io.BytesIO(report_export.xlsx_bytes(report)))["Figures"]
    excel: Listing = []
    for (cell,) in sheet.iter_rows(min_row=5, max_col=1):
        if cell.font.b:  # a section; its cells are bare numbers, so it names the unit
            excel.append((cell.value.removesuffix(" (hours)"), []))
        else:
            excel[-1][1].append(cell.value)

    assert excel == screen
    assert [title for title, _ in screen][:5] == [
        "Cases",
        "Times",
        "On time",
        "Concordance",
        "Money",
    ]

    # The PDF prints the same, the breakdowns cut to their first ten entries and the rest.
    printed: Listing = []
    for title, labels in screen:
        if title.startswith("By ") and len(labels) > 11:
            labels = [*labels[:10], f"Other ({len(labels) - 10} more)"]
        printed.append((title, labels))
    assert any(label.startswith("Other (") for _, labels in printed for label in labels)
    pages = PdfReader(io.BytesIO(report_pdf.pdf_bytes(report, locale="en_US"))).pages
    summary = [
        line.strip()
        for page in pages
        if float(page.mediabox.width) < float(page.mediabox.height)  # not the case list
        for line in page.extract_text().splitlines()
    ]
    position = -1
    for text in (t for title, labels in printed for t in (title, *labels)):
        if needs_shaping(text):
            continue  # shaped glyphs ('राजेश अय्यर') do not extract as the text they print
        assert text in summary[position + 1 :], f"{text!r} missing or out of order in the PDF"
        position = summary.index(text, position + 1)


def test_a_role_without_reports_is_told_so_and_can_export_nothing(
    qtbot: QtBot, db: Database, paths: AppPaths
) -> None:
    window = ReportsWindow(
        db, coordinator("lena"), WindowState(paths.settings_file), now=lambda: NOW, zone=VIENNA
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=10_000)
    assert window.message.text() == (
        "The report could not be read: A coordinator cannot make the monthly report; ask a "
        "manager or an administrator."
    )
    assert window.report is None
    for button in window.export_buttons.values():
        assert not button.isEnabled()
        assert button.toolTip().startswith("A coordinator cannot export a report")
