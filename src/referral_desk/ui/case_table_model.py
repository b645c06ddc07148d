"""The case list as a lazy table: pages arrive from a source as the user scrolls.

The model never queries: it is handed a function that returns the next page for a query,
so sorting and filtering happen in SQL and the model holds only what was scrolled past.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from referral_desk.domain.costs import PaymentStatus
from referral_desk.domain.enums import Urgency, cancer_type_label
from referral_desk.services.case_list import CaseQuery, CaseRow, Page, SortKey
from referral_desk.ui.formatting import (
    PACE_COLOURS,
    RISK_BACKGROUND,
    RISK_TEXT,
    clock_text,
    local_time,
)
from referral_desk.ui.money import amount_text

PageSource = Callable[[CaseQuery, "tuple[Any, ...] | None"], Page]
AnyIndex = QModelIndex | QPersistentModelIndex
CASE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
# The timed refresh reloads at most this many rows; scrolling further fetches the rest again.
REFRESH_ROW_CAP = 2_048
# A second opinion that changed the first one a lot: its own colour, apart from the red of
# a treatment at risk and the pace colours of the clock.
MAJOR_CHANGE_BACKGROUND = QColor("#ede4f7")
MAJOR_CHANGE_TEXT = QColor("#4a148c")
MAJOR_CHANGE_TIP = "The second opinion changed the first one a lot (major change)."
# Money: a quote is not a bill (grey italics); what the patient owes stands out, what the
# office owes back is told apart from it.
ESTIMATE_TEXT = QColor("#6b6b6b")
ESTIMATE_TIP = "Estimate: nothing charged yet"
OWED_TEXT = QColor("#b3261e")
CREDIT_TEXT = QColor("#0b57a4")
SETTLED_TEXT = QColor("#6b6b6b")
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _no_text(_row: CaseRow) -> str:
    return ""


class Column(NamedTuple):
    title: str
    sort: SortKey
    text: Callable[[CaseRow], str] = _no_text
    # Money columns: minor units of the office currency, or None for a blank cell.
    amount: Callable[[CaseRow], int | None] | None = None


def _total(row: CaseRow) -> int | None:
    return row.total_minor or None  # blank: nothing charged or quoted


def _balance(row: CaseRow) -> int | None:
    """Blank while nothing is charged or paid; 0 once the charges are paid in full."""
    return row.balance_minor if row.balance_minor or row.charges_minor else None


COLUMNS: tuple[Column, ...] = (
    Column("Reference", SortKey.REFERENCE, lambda r: r.reference),
    Column("Patient", SortKey.PATIENT, lambda r: r.patient_name),
    Column("Cancer type", SortKey.CANCER_TYPE, lambda r: cancer_type_label(r.cancer_type)),
    Column("Urgency", SortKey.URGENCY, lambda r: r.urgency.label),
    Column("Status", SortKey.STATUS, lambda r: r.status.label),
    Column("Specialist", SortKey.SPECIALIST, lambda r: r.specialist),
    Column(
        "Missing",
        SortKey.MISSING,
        lambda r: f"{r.missing_documents} missing" if r.missing_documents else "",
    ),
    Column("Received", SortKey.RECEIVED, lambda r: local_time(r.received_at)),
    Column("Due", SortKey.DUE, lambda r: local_time(r.due_at)),
    Column("Time left", SortKey.DUE, lambda r: clock_text(r.clock)),
    Column("Total", SortKey.TOTAL, amount=_total),
    Column("Balance", SortKey.BALANCE, amount=_balance),
    Column("Last change", SortKey.UPDATED, lambda r: local_time(r.updated_at)),
)
TIME_LEFT_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.title == "Time left")
TOTAL_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.title == "Total")
BALANCE_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.title == "Balance")
MONEY_COLUMNS = frozenset(i for i, c in enumerate(COLUMNS) if c.amount is not None)
DEFAULT_SORT_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.title == "Due")


class CaseTableModel(QAbstractTableModel):
    def __init__(
        self,
        source: PageSource,
        query: CaseQuery | None = None,
        *,
        currency: str = "EUR",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._source = source
        self._query = query or CaseQuery()
        self._currency = currency
        self._rows: list[CaseRow] = []
        self._cursor: tuple[Any, ...] | None = None
        self._exhausted = True
        self._fetching = False
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)
        self._bold_italic = QFont(self._bold)
        self._bold_italic.setItalic(True)

    # --- what to show ---------------------------------------------------------------
    @property
    def query(self) -> CaseQuery:
        return self._query

    @property
    def currency(self) -> str:
        return self._currency

    def set_currency(self, currency: str) -> None:
        """The office currency the amounts are in (read from the office profile)."""
        if currency == self._currency:
            return
        self._currency = currency
        if self._rows:
            for column in MONEY_COLUMNS:
                self.dataChanged.emit(
                    self.index(0, column), self.index(len(self._rows) - 1, column)
                )

    def set_query(self, query: CaseQuery) -> None:
        self._query = query
        self.refresh(keep_rows=False)

    def refresh(self, *, keep_rows: bool = True) -> None:
        """Reload from the source; with keep_rows, reload what was shown (up to a cap)."""
        wanted = min(len(self._rows), REFRESH_ROW_CAP) if keep_rows else 0
        self.beginResetModel()
        try:
            self._rows, self._cursor, self._exhausted = [], None, False
            self._load_page()
            while wanted > len(self._rows) and not self._exhausted:
                self._load_page()
        finally:  # a failed read must not leave views in a half-reset model
            self.endResetModel()

    def _load_page(self) -> int:
        page = self._source(self._query, self._cursor)
        self._rows.extend(page.rows)
        self._cursor = page.next_cursor
        self._exhausted = page.next_cursor is None
        return len(page.rows)

    def case_id(self, row: int) -> int:
        return self._rows[row].id

    def row_for_case(self, case_id: int) -> int | None:
        return next((i for i, row in enumerate(self._rows) if row.id == case_id), None)

    def row_of(self, index: AnyIndex) -> CaseRow:
        return self._rows[index.row()]

    # --- Qt model interface ---------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: AnyIndex) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex) -> None:
        if parent.isValid() or self._exhausted:
            return
        if self._fetching:  # views and testers call fetchMore again from the insert signals
            return
        self._fetching = True
        try:
            page = self._source(self._query, self._cursor)
            self._cursor = page.next_cursor
            self._exhausted = page.next_cursor is None
            if page.rows:
                start = len(self._rows)
                self.beginInsertRows(QModelIndex(), start, start + len(page.rows) - 1)
                self._rows.extend(page.rows)
                self.endInsertRows()
        finally:
            self._fetching = False

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            spec = COLUMNS[column]
            if spec.amount is None:
                return spec.text(row)
            amount = spec.amount(row)
            return "" if amount is None else amount_text(amount, self._currency)
        if role == CASE_ID_ROLE:
            return row.id
        if role == Qt.ItemDataRole.ToolTipRole:
            tips = [row.treatment_risk] if row.treatment_risk else []
            if row.major_change:
                tips.append(MAJOR_CHANGE_TIP)
            money_tip = self._money_tip(row, column)
            if money_tip:
                tips.insert(0, money_tip)
            return "\n".join(tips) or None
        if column in MONEY_COLUMNS:
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return RIGHT
            looks = self._money_looks(row, column, role)
            if looks is not None:
                return looks
        if column == TIME_LEFT_COLUMN and row.clock.pace in PACE_COLOURS:
            foreground, background = PACE_COLOURS[row.clock.pace]
            if role == Qt.ItemDataRole.ForegroundRole:
                return foreground
            if role == Qt.ItemDataRole.BackgroundRole:
                return background
        if row.treatment_risk:
            if role == Qt.ItemDataRole.BackgroundRole:
                return RISK_BACKGROUND
            if role == Qt.ItemDataRole.ForegroundRole:
                return RISK_TEXT
        elif row.major_change:
            if role == Qt.ItemDataRole.BackgroundRole:
                return MAJOR_CHANGE_BACKGROUND
            if role == Qt.ItemDataRole.ForegroundRole:
                return MAJOR_CHANGE_TEXT
        if role == Qt.ItemDataRole.FontRole and row.urgency is Urgency.URGENT:
            return self._bold
        return None

    def _money_tip(self, row: CaseRow, column: int) -> str | None:
        if column == TOTAL_COLUMN and row.total_is_estimate:
            if not row.charges_minor:
                return ESTIMATE_TIP
            charged = amount_text(row.charges_minor, self._currency)
            quoted = amount_text(row.estimate_minor, self._currency)
            return f"{charged} charged and {quoted} still quoted."
        if column == BALANCE_COLUMN and row.balance_minor:
            owed = amount_text(abs(row.balance_minor), self._currency)
            if row.balance_minor > 0:
                return f"The patient still owes {owed}."
            if row.payment_status is PaymentStatus.IN_ADVANCE:
                return f"Paid {owed} in advance of charges still quoted."
            return f"Overpaid: the office owes the patient {owed}."
        if column == BALANCE_COLUMN and row.charges_minor:
            return "Paid in full."
        return None

    def _money_looks(self, row: CaseRow, column: int, role: int) -> Any:
        """Colour and font of a money cell; None: the row's own look."""
        if column == TOTAL_COLUMN and row.total_is_estimate:
            if role == Qt.ItemDataRole.ForegroundRole:
                return ESTIMATE_TEXT
            if role == Qt.ItemDataRole.FontRole:
                return self._bold_italic if row.urgency is Urgency.URGENT else self._italic
        if column == BALANCE_COLUMN and (row.balance_minor or row.charges_minor):
            if role == Qt.ItemDataRole.ForegroundRole:
                if row.balance_minor > 0:
                    return OWED_TEXT
                return CREDIT_TEXT if row.balance_minor < 0 else SETTLED_TEXT
            if role == Qt.ItemDataRole.FontRole and row.balance_minor > 0:
                return self._bold
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.TextAlignmentRole and section in MONEY_COLUMNS:
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and section in MONEY_COLUMNS:
            return (
                f"What the case costs, in {self._currency}: its charges, or its estimate "
                "(in grey italics) while nothing is charged"
                if section == TOTAL_COLUMN
                else f"Charges less payments, in {self._currency}: red and bold when the "
                "patient owes money, blue when the office owes the patient"
            )
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self.set_query(
            replace(
                self._query,
                sort=COLUMNS[column].sort,
                descending=order == Qt.SortOrder.DescendingOrder,
            )
        )
