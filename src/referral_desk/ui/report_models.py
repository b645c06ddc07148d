"""Table models of the Reports screen: the month's figures beside two other months, and the
month's case list with its filter.

The models are handed a MonthlyReport and never query. The case list sorts itself in Python
(keys computed once per column): a QSortFilterProxyModel asking a Python model for its sort
role took 1.2 s for 10,000 rows, Python's sort of the same keys a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont

from referral_desk.domain.enums import CaseStatus, Urgency, cancer_type_label
from referral_desk.domain.report_figures import figure_sections, value_text
from referral_desk.domain.reports import (
    HOURS_COLUMNS,
    MONEY_COLUMNS,
    Column,
    MonthlyReport,
    ReportRow,
    Timeliness,
    cell_text,
)
from referral_desk.domain.specialists import Concordance
from referral_desk.domain.text import fold, search_terms
from referral_desk.ui.formatting import RISK_TEXT

AnyIndex = QModelIndex | QPersistentModelIndex

SECTION_ROLE = Qt.ItemDataRole.UserRole + 1  # figures: True on a section heading
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # case list: the raw value the column sorts by
CASE_ID_ROLE = Qt.ItemDataRole.UserRole + 3
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
SECTION_BACKGROUND = QColor("#e8edf3")


# --- figures -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FigureRow:
    """One row of the figures table: a section heading (no values) or a figure in 3 months."""

    label: str
    values: tuple[str, str, str] = ("", "", "")
    section: bool = False
    tip: str = ""


def figure_rows(report: MonthlyReport, locale: str) -> list[FigureRow]:
    """The shared figure table (`domain.report_figures`) as the screen shows it: every
    breakdown entry, a heading row over each section, its note as the heading's tooltip."""
    rows: list[FigureRow] = []
    for section in figure_sections(report):
        rows.append(FigureRow(section.title, section=True, tip=section.note))
        for line in section.lines:
            a, b, c = (value_text(v, currency=report.currency, locale=locale) for v in line.values)
            rows.append(FigureRow(line.label, (a, b, c), tip=line.tip))
    return rows


class FiguresModel(QAbstractTableModel):
    """Figure | this month | the month before | the same month a year earlier."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lines: list[FigureRow] = []
        self.headers = ("", "", "", "")
        self.header_tips = ("", "", "", "")
        self._bold = QFont()
        self._bold.setBold(True)

    def set_report(self, report: MonthlyReport, locale: str) -> None:
        self.beginResetModel()
        self.lines = figure_rows(report, locale)
        months = (report.month, report.month.previous(), report.month.year_before())
        self.headers = ("Figure", *(m.short_label for m in months))
        self.header_tips = (
            "",
            f"{months[0].label}, the month reported",
            f"{months[1].label}, the month before",
            f"{months[2].label}, the same month a year earlier",
        )
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        line = self.lines[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return line.label
            return "" if line.section else line.values[column - 1]
        if role == SECTION_ROLE:
            return line.section
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return LEFT if column == 0 else RIGHT
        if role == Qt.ItemDataRole.FontRole and (line.section or column == 1):
            return self._bold  # the month reported stands out from the two it is compared with
        if role == Qt.ItemDataRole.BackgroundRole and line.section:
            return SECTION_BACKGROUND
        if role == Qt.ItemDataRole.ToolTipRole and line.tip:
            return line.tip
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < 4:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.header_tips[section] or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return LEFT if section == 0 else RIGHT
        return None


# --- the case list ------------------------------------------------------------------------------
COLUMNS: tuple[Column, ...] = tuple(Column)
# Often cut short in their columns: the whole text shows on hover.
LONG_TEXT_COLUMNS = frozenset(
    {Column.PATIENT, Column.CANCER_TYPE, Column.REFERRER, Column.SPECIALIST}
)
TIMELINESS_ORDER = {t: i for i, t in enumerate(Timeliness)}
CONCORDANCE_ORDER = {c: i for i, c in enumerate(Concordance)}


def sort_value(row: ReportRow, column: Column) -> Any:
    """What a column sorts by: times, seconds, minor units, the workflow's order, folded
    text. None is an empty cell (listed last whichever way the column is sorted)."""
    match column:
        case Column.REFERENCE:
            return row.reference
        case Column.PATIENT:
            return fold(row.patient)
        case Column.CANCER_TYPE:
            return fold(cancer_type_label(row.cancer_type))
        case Column.REFERRER:
            return fold(row.referrer) or None
        case Column.URGENCY:
            return list(Urgency).index(row.urgency)
        case Column.SPECIALIST:
            return fold(row.specialist) or None
        case Column.STATUS:
            return row.status.rank
        case Column.RECEIVED:
            return row.received_at
        case Column.RECORDS_COMPLETE:
            return row.records_complete_at
        case Column.OPINION_DELIVERED:
            return row.opinion_at
        case Column.INTAKE:
            return None if row.intake is None else row.intake.total_seconds()
        case Column.TURNAROUND:
            return None if row.turnaround is None else row.turnaround.total_seconds()
        case Column.ON_TIME:
            return (
                None if row.timeliness is Timeliness.NO_CLOCK else TIMELINESS_ORDER[row.timeliness]
            )
        case Column.DIAGNOSIS_CONCORDANCE:
            return _concordance_order(row.diagnosis_concordance)
        case Column.TREATMENT_CONCORDANCE:
            return _concordance_order(row.treatment_concordance)
        case Column.FINAL_TOTAL:
            return row.final_total_minor
        case Column.PAID:
            return row.paid_minor
        case Column.BALANCE:
            return row.balance_minor


def _concordance_order(value: Concordance | None) -> int | None:
    return None if value is None else CONCORDANCE_ORDER[value]


def sorted_order(values: Sequence[Any], descending: bool) -> list[int]:
    """Positions of `values` in sorted order; ties keep their order, empty values go last."""
    present = [i for i, v in enumerate(values) if v is not None]
    missing = [i for i, v in enumerate(values) if v is None]
    present.sort(key=values.__getitem__, reverse=descending)
    return present + missing


def search_text(row: ReportRow) -> str:
    """What the filter box looks in, folded like the case list's search ('zoe' finds Zoë)."""
    return fold(
        " ".join(
            (
                row.reference,
                row.patient,
                row.referrer,
                row.specialist,
                cancer_type_label(row.cancer_type),
            )
        )
    )


class CaseRowsModel(QAbstractTableModel):
    """The month's cases, one per row, every Column; sorted here, filtered by the proxy."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._received: list[ReportRow] = []  # as the report lists them: by received time
        self._searchable: list[str] = []
        self._rows: list[ReportRow] = []  # in the order shown
        self._search: list[str] = []
        self._currency, self._locale = "EUR", "en_US"
        self._zone: tzinfo | None = None
        self._sort_column, self._descending = COLUMNS.index(Column.RECEIVED), False
        self._keys: dict[int, list[Any]] = {}  # column -> sort values, in received order

    # the rows
    def set_report(self, report: MonthlyReport, locale: str) -> None:
        self.beginResetModel()
        self._currency, self._locale, self._zone = report.currency, locale, report.zone
        self._received = list(report.rows)
        self._searchable = [search_text(r) for r in self._received]
        self._keys = {}
        self._arrange()
        self.endResetModel()

    def row(self, source_row: int) -> ReportRow:
        return self._rows[source_row]

    def case_id(self, source_row: int) -> int:
        return self._rows[source_row].case_id

    @property
    def rows(self) -> list[ReportRow]:
        """In the order shown (before filtering)."""
        return list(self._rows)

    def accepts(
        self,
        source_row: int,
        terms: Sequence[str],
        timeliness: Timeliness | None,
        status: CaseStatus | None,
    ) -> bool:
        row = self._rows[source_row]
        if timeliness is not None and row.timeliness is not timeliness:
            return False
        if status is not None and row.status is not status:
            return False
        text = self._search[source_row]
        return all(term in text for term in terms)

    # sorting
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self.layoutAboutToBeChanged.emit()
        before = {id(r): i for i, r in enumerate(self._rows)}
        self._sort_column = column
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._arrange()
        moved = {before[id(r)]: i for i, r in enumerate(self._rows)}
        old = self.persistentIndexList()
        new = [self.index(moved[i.row()], i.column()) if i.isValid() else i for i in old]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    def _arrange(self) -> None:
        keys = self._keys.get(self._sort_column)
        if keys is None:
            column = COLUMNS[self._sort_column]
            keys = self._keys[self._sort_column] = [sort_value(r, column) for r in self._received]
        order = sorted_order(keys, self._descending)
        self._rows = [self._received[i] for i in order]
        self._search = [self._searchable[i] for i in order]

    # Qt
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(row, column, self._currency, self._locale, self._zone)
        if role == SORT_ROLE:
            return sort_value(row, column)
        if role == CASE_ID_ROLE:
            return row.case_id
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if column in MONEY_COLUMNS or column in HOURS_COLUMNS else LEFT
        if role == Qt.ItemDataRole.ToolTipRole and column in LONG_TEXT_COLUMNS:
            return cell_text(row, column, self._currency, self._locale, self._zone) or None
        if role == Qt.ItemDataRole.ForegroundRole and _stands_out(row, column):
            return RISK_TEXT
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        column = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if column in MONEY_COLUMNS or column in HOURS_COLUMNS else LEFT
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS.get(column)
        return None


COLUMN_TIPS = {
    Column.INTAKE: "Received to records complete, time on hold left out",
    Column.TURNAROUND: "Records complete to opinion delivered, time on hold left out",
    Column.ON_TIME: "Against the urgency's promised time",
    Column.BALANCE: "Still owed (negative: in credit), as of the time shown above",
}


def _stands_out(row: ReportRow, column: Column) -> bool:
    """A broken promise, a major change, money owed: what a manager looks for first."""
    match column:
        case Column.ON_TIME:
            return row.timeliness in (Timeliness.LATE, Timeliness.OVERDUE)
        case Column.DIAGNOSIS_CONCORDANCE:
            return row.diagnosis_concordance is Concordance.MAJOR_CHANGE
        case Column.TREATMENT_CONCORDANCE:
            return row.treatment_concordance is Concordance.MAJOR_CHANGE
        case Column.BALANCE:
            return row.balance_minor > 0
    return False


class CaseFilter(QSortFilterProxyModel):
    """The filter box and choices over the case list. Sorting is passed to the source, which
    sorts far faster than the proxy could through Python."""

    def __init__(self, source: CaseRowsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self.setSourceModel(source)
        self._terms: list[str] = []
        self._timeliness: Timeliness | None = None
        self._status: CaseStatus | None = None

    def set_filter(
        self,
        text: str = "",
        timeliness: Timeliness | None = None,
        status: CaseStatus | None = None,
    ) -> None:
        terms = search_terms(text)
        if (terms, timeliness, status) == (self._terms, self._timeliness, self._status):
            return
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+: invalidateFilter is deprecated
            self.beginFilterChange()
            self._terms, self._timeliness, self._status = terms, timeliness, status
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            self._terms, self._timeliness, self._status = terms, timeliness, status
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        return self._source.accepts(source_row, self._terms, self._timeliness, self._status)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._source.sort(column, order)

    def case_id(self, row: int) -> int:
        return self._source.case_id(self.mapToSource(self.index(row, 0)).row())
