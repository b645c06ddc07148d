"""A case's History tab: who did what to the case, its patient and its records, newest first,
with each changed field's old and new value one click away."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.audit import AuditAction
from referral_desk.services import audit_log, office
from referral_desk.services.audit_log import AuditRow
from referral_desk.ui import audit_text
from referral_desk.ui.audit_text import ARROW, FieldChange

NOTE_STYLE = "color: #555555;"
WHEN, WHO, WHAT = range(3)


def field_line(action: AuditAction, change: FieldChange) -> str:
    """One field under its entry: a change shows both values, a new or removed record the
    value it had."""
    if action is AuditAction.CREATE:
        return f"{change.label}: {change.after}"
    if action is AuditAction.DELETE:
        return f"{change.label}: {change.before}"
    if change.before == "set" and change.after == "changed":  # a password: never its value
        return f"{change.label} changed"
    return f"{change.label}: {change.before} {ARROW} {change.after}"


class HistoryPanel(QWidget):
    def __init__(self, db: Database, case_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("history_panel")
        self._db, self.case_id = db, case_id
        self.rows: list[AuditRow] = []

        self.tree = QTreeWidget(objectName="history_tree")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["When", "Who", "What"])
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)  # fast with thousands of entries
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(False)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(WHEN, 150)
        header.resizeSection(WHO, 130)

        self.show_openings = QCheckBox("Show who &opened the case", objectName="history_openings")
        self.show_openings.setChecked(True)
        self.show_openings.setToolTip(
            "Every opening of the case or one of its documents is recorded: who looked at "
            "this patient's records, and when."
        )
        self.show_openings.toggled.connect(self._fill)
        self.count_label = QLabel(objectName="history_count")
        self.count_label.setStyleSheet(NOTE_STYLE)
        self.refresh_button = QPushButton("Refresh", objectName="history_refresh")
        self.refresh_button.clicked.connect(self.refresh)

        top = QHBoxLayout()
        top.addWidget(self.count_label)
        top.addStretch(1)
        top.addWidget(self.show_openings)
        top.addWidget(self.refresh_button)
        hint = QLabel(
            "Changes show each field's old and new value; click ▸ beside a new record to see "
            "what it held. Times are this computer's local time."
        )
        hint.setStyleSheet(NOTE_STYLE)
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(hint)
        self.refresh()

    def refresh(self) -> None:
        """Read the case's trail again (after a save, or when the tab is shown)."""
        self.rows = audit_log.case_history(self._db, self.case_id)
        self._currency = office.get_profile(self._db).currency
        self._fill()

    def _fill(self) -> None:
        openings = self.show_openings.isChecked()
        shown = [r for r in self.rows if openings or r.action is not AuditAction.VIEW]
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            items = [self._item(row) for row in shown]
            self.tree.addTopLevelItems(items)
            for item, row in zip(items, shown, strict=True):
                for child in range(item.childCount()):
                    item.child(child).setFirstColumnSpanned(True)
                # Changes are what people come to read; a new record's many values wait.
                item.setExpanded(row.action is AuditAction.CHANGE)
        finally:
            self.tree.setUpdatesEnabled(True)
        total = len(self.rows)
        text = f"{total:,} entr{'y' if total == 1 else 'ies'}"
        if len(shown) != total:
            hidden = total - len(shown)
            text += f" ({hidden:,} opening{'s' if hidden != 1 else ''} hidden)"
        self.count_label.setText(text)

    def _item(self, row: AuditRow) -> QTreeWidgetItem:
        what = audit_text.summary(
            row, self._currency, most=4, values=False, within_case=row.case_id == self.case_id
        )
        item = QTreeWidgetItem([audit_text.when_text(row), row.actor, what])
        for change in audit_text.field_changes(row, self._currency):
            QTreeWidgetItem(item, [field_line(row.action, change)])
        return item

    def entry_texts(self) -> list[str]:
        """What the panel shows, one line per entry (the What column), for tests and copying."""
        return [self.tree.topLevelItem(i).text(WHAT) for i in range(self.tree.topLevelItemCount())]
