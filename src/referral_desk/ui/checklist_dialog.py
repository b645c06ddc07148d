"""Administration: document types, the checklist per cancer type, and the file size limit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.documents import ChecklistItem
from referral_desk.domain.enums import CANCER_TYPES
from referral_desk.services import checklists, settings
from referral_desk.services.checklists import DocumentTypeInfo
from referral_desk.services.errors import ServiceError
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.permissions import allow, refusal


class ChecklistDialog(QDialog):
    def __init__(self, db: Database, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db, self._actor = db, actor
        # The office's set-up is the administrator's; anyone else may look.
        self._refused = refusal(actor, Permission.OFFICE_SETTINGS, "change the checklists")
        self._dirty = False
        self._shown_type = ""
        self.setWindowTitle("Document types and checklists")
        self.setObjectName("checklist_dialog")

        intro = QLabel(
            "A case gets the checklist of its cancer type when it is taken in or its cancer "
            "type changes. Editing a checklist does not change existing cases: open a case and "
            "use <i>Apply checklist</i> to bring it up to date."
        )
        intro.setWordWrap(True)

        # Left: the document types
        self.types = QListWidget(objectName="document_types")
        self.types.currentItemChanged.connect(lambda *_: self._update_type_buttons())
        self.add_type_button = QPushButton("Add…", objectName="add_type")
        self.add_type_button.clicked.connect(lambda: self.add_type())
        self.rename_button = QPushButton("Rename…", objectName="rename_type")
        self.rename_button.clicked.connect(lambda: self.rename_type())
        self.retire_button = QPushButton("Retire", objectName="retire_type")
        self.retire_button.clicked.connect(self.toggle_retired)
        type_buttons = QHBoxLayout()
        for button in (self.add_type_button, self.rename_button, self.retire_button):
            type_buttons.addWidget(button)
        types_box = QGroupBox("Document types")
        types_layout = QVBoxLayout(types_box)
        types_layout.addWidget(self.types)
        types_layout.addLayout(type_buttons)

        # Right: one cancer type's checklist
        self.cancer_type = QComboBox(objectName="checklist_cancer_type")
        for code, label in sorted(CANCER_TYPES.items(), key=lambda kv: kv[1]):
            self.cancer_type.addItem(label, code)
        self.cancer_type.currentIndexChanged.connect(self._cancer_type_changed)
        self.items = QTableWidget(0, 2, objectName="checklist_items")
        self.items.setHorizontalHeaderLabels(["Required document", "What exactly is needed"])
        self.items.verticalHeader().hide()
        self.items.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.items.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.items.horizontalHeader().setStretchLastSection(True)
        self.items.itemChanged.connect(self._item_changed)
        if self._refused:
            self.items.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.save_checklist_button = QPushButton("Save checklist", objectName="save_checklist")
        self.save_checklist_button.clicked.connect(self.save_checklist)
        self.save_checklist_button.setEnabled(False)
        checklist_box = QGroupBox("Checklist")
        checklist_layout = QVBoxLayout(checklist_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Cancer type"))
        row.addWidget(self.cancer_type, 1)
        checklist_layout.addLayout(row)
        checklist_layout.addWidget(self.items)
        checklist_layout.addWidget(self.save_checklist_button, 0, Qt.AlignmentFlag.AlignRight)

        splitter = QSplitter()
        splitter.addWidget(types_box)
        splitter.addWidget(checklist_box)
        splitter.setStretchFactor(1, 2)

        self.limit = QSpinBox(objectName="file_limit")
        self.limit.setRange(1, settings.LARGEST_FILE_LIMIT_MB)
        self.limit.setSuffix(" MB")
        self.limit.setValue(settings.get_max_file_mb(db))
        self.limit_button = QPushButton("Save limit", objectName="save_limit")
        self.limit_button.clicked.connect(self.save_limit)
        allow(self.limit_button, self._refused)
        allow(self.add_type_button, self._refused)
        self.limit.setReadOnly(self._refused is not None)
        limit_row = QHBoxLayout()
        limit_row.addWidget(QLabel("Largest file a case may hold"))
        limit_row.addWidget(self.limit)
        limit_row.addWidget(self.limit_button)
        limit_row.addStretch(1)

        self.message = QLabel(objectName="checklist_message")
        self.message.setWordWrap(True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        layout.addLayout(limit_row)
        layout.addWidget(self.message)
        layout.addWidget(close)
        self.resize(1000, 640)
        self._load_types()
        self.cancer_type.setCurrentIndex(max(self.cancer_type.findData("breast"), 0))
        self._show_checklist()

    # --- document types ------------------------------------------------------------------
    def _load_types(self) -> None:
        current = self._selected_type()
        self._type_info = checklists.document_types(self._db)
        self.types.clear()
        for info in self._type_info:
            text = info.label
            if info.cases_using:
                text += f"  · {info.cases_using} case{'s' if info.cases_using != 1 else ''}"
            if not info.active:
                text += "  (retired)"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, info.code)
            if not info.active:
                item.setForeground(Qt.GlobalColor.gray)
            self.types.addItem(item)
            if current and info.code == current.code:
                self.types.setCurrentItem(item)
        self._update_type_buttons()

    def _select_type(self, code: str) -> None:
        for row in range(self.types.count()):
            if self.types.item(row).data(Qt.ItemDataRole.UserRole) == code:
                self.types.setCurrentRow(row)
                return

    def _selected_type(self) -> DocumentTypeInfo | None:
        item = self.types.currentItem()
        if item is None:
            return None
        code = item.data(Qt.ItemDataRole.UserRole)
        return next((t for t in getattr(self, "_type_info", []) if t.code == code), None)

    def _update_type_buttons(self) -> None:
        info = self._selected_type()
        allow(self.rename_button, self._refused, enabled=info is not None)
        allow(self.retire_button, self._refused, enabled=info is not None)
        self.retire_button.setText("Restore" if info and not info.active else "Retire")

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if problem else "")
        self.message.setText(text)

    def add_type(self, label: str | None = None) -> str | None:
        if label is None:
            label, ok = QInputDialog.getText(self, "New document type", "Name")
            if not ok:
                return None
        try:
            code = checklists.add_document_type(self._db, label, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return None
        self.say(f"Added '{label.strip()}'. Add it to the checklists that need it.")
        self._load_types()
        self._select_type(code)
        self._show_checklist(keep_edits=True)
        return code

    def rename_type(self, label: str | None = None) -> bool:
        info = self._selected_type()
        if info is None:
            return False
        if label is None:
            label, ok = QInputDialog.getText(self, "Rename document type", "Name", text=info.label)
            if not ok:
                return False
        try:
            checklists.rename_document_type(self._db, info.code, label, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return False
        self.say(f"Renamed to '{label.strip()}', on every case too.")
        self._load_types()
        self._show_checklist(keep_edits=True)
        return True

    def toggle_retired(self) -> None:
        info = self._selected_type()
        if info is None:
            return
        if info.active and not self._confirm_retire(info):
            return
        try:
            checklists.set_document_type_active(
                self._db, info.code, not info.active, actor=self._actor
            )
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return
        self.say(
            f"'{info.label}' is retired: no longer offered or on any checklist; cases that "
            "have it keep it."
            if info.active
            else f"'{info.label}' is offered again."
        )
        self._load_types()
        self._show_checklist()

    def _confirm_retire(self, info: DocumentTypeInfo) -> bool:
        answer = QMessageBox.question(
            self,
            "Retire document type",
            f"Retire '{info.label}'? It leaves every checklist and is no longer offered; the "
            f"{info.cases_using} case(s) that have it keep it.",
        )
        return answer == QMessageBox.StandardButton.Yes

    # --- checklists ----------------------------------------------------------------------
    def _cancer_type_changed(self) -> None:
        if self._dirty and self._shown_type:
            label = CANCER_TYPES.get(self._shown_type, self._shown_type)
            answer = QMessageBox.question(
                self,
                "Unsaved checklist",
                f"Save the changes to the {label} checklist?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard,
            )
            if answer == QMessageBox.StandardButton.Save and not self._save(self._shown_type):
                self.cancer_type.blockSignals(True)
                self.cancer_type.setCurrentIndex(self.cancer_type.findData(self._shown_type))
                self.cancer_type.blockSignals(False)
                return
        self._show_checklist()

    def _show_checklist(self, *, keep_edits: bool = False) -> None:
        cancer_type = str(self.cancer_type.currentData())
        if keep_edits and self._dirty:
            wanted = {item.document_type: item.note for item in self.checklist_items()}
        else:
            wanted = {i.document_type: i.note for i in checklists.checklist(self._db, cancer_type)}
        active = checklists.document_types(self._db, active_only=True, with_usage=False)
        # Required ones first, in checklist order; then the rest to pick from.
        order = list(wanted) + [t.code for t in active if t.code not in wanted]
        labels = {t.code: t.label for t in active}
        self.items.blockSignals(True)
        self.items.setRowCount(0)
        for code in order:
            if code not in labels:
                continue
            row = self.items.rowCount()
            self.items.insertRow(row)
            name = QTableWidgetItem(labels[code])
            name.setData(Qt.ItemDataRole.UserRole, code)
            name.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                if self._refused
                else Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
            )
            name.setCheckState(Qt.CheckState.Checked if code in wanted else Qt.CheckState.Unchecked)
            self.items.setItem(row, 0, name)
            self.items.setItem(row, 1, QTableWidgetItem(wanted.get(code, "")))
        self.items.blockSignals(False)
        self._shown_type = cancer_type
        self._set_dirty(keep_edits and self._dirty)

    def _item_changed(self, _item: QTableWidgetItem) -> None:
        self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty and self._refused is None
        allow(self.save_checklist_button, self._refused, enabled=self._dirty)

    def checklist_items(self) -> list[ChecklistItem]:
        chosen = []
        for row in range(self.items.rowCount()):
            name = self.items.item(row, 0)
            if name.checkState() == Qt.CheckState.Checked:
                note = self.items.item(row, 1)
                chosen.append(
                    ChecklistItem(
                        str(name.data(Qt.ItemDataRole.UserRole)), note.text() if note else ""
                    )
                )
        return chosen

    def set_required(self, document_type: str, required: bool, note: str = "") -> None:
        for row in range(self.items.rowCount()):
            name = self.items.item(row, 0)
            if name.data(Qt.ItemDataRole.UserRole) == document_type:
                name.setCheckState(Qt.CheckState.Checked if required else Qt.CheckState.Unchecked)
                if note:
                    self.items.item(row, 1).setText(note)
                return
        raise KeyError(document_type)

    def save_checklist(self) -> bool:
        return self._save(str(self.cancer_type.currentData()))

    def _save(self, cancer_type: str) -> bool:
        try:
            checklists.save_checklist(
                self._db, cancer_type, self.checklist_items(), actor=self._actor
            )
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return False
        label = CANCER_TYPES.get(cancer_type, cancer_type)
        self.say(f"Saved the {label} checklist. Cases taken in from now on get it.")
        self._set_dirty(False)
        return True

    def save_limit(self) -> None:
        try:
            settings.set_max_file_mb(self._db, self.limit.value(), actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return
        self.say(f"Files up to {self.limit.value()} MB can be added from now on.")

    def reject(self) -> None:
        if self._dirty:
            answer = QMessageBox.question(
                self,
                "Unsaved checklist",
                "Save the changes to this checklist before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel or (
                answer == QMessageBox.StandardButton.Save and not self.save_checklist()
            ):
                return
        super().reject()
