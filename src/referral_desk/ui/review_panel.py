"""The Review tab of the case screen: who reviews the case, and the opinion that came back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.specialists import AssignmentStatus, Concordance, Role, Suggestion
from referral_desk.services import opinions, specialists
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import ServiceError, ValidationError
from referral_desk.services.opinions import OpinionDraft, OpinionInfo
from referral_desk.services.specialists import AssignmentInfo
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.formatting import local_time
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.reason_dialog import ReasonDialog
from referral_desk.ui.tables import row_table

ASSIGNMENT_COLUMNS = ("Role", "Specialist", "Status", "Assigned", "Answer", "Reason")
# The list's colours for a major change (purple), kept apart from treatment-risk red.
MAJOR_BOX_STYLE = (
    "background: #ede4f7; border: 1px solid #9575cd; border-radius: 4px; padding: 6px;"
)
MAJOR_STYLE = (
    "background: #ede4f7; color: #4a148c; border: 1px solid #9575cd; border-radius: 4px;"
    "padding: 6px; font-weight: bold;"
)


class ReviewPanel(QWidget):
    changed = Signal(object)  # a CaseChange

    def __init__(
        self, db: Database, case_id: int, actor: Actor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._db, self._case_id, self._actor = db, case_id, actor
        self._edit_refused = refusal(actor, Permission.EDIT_CASES, "assign or record an opinion")
        self._status = CaseStatus.NEW
        self._reference = ""
        self._assignments: list[AssignmentInfo] = []
        self._opinion: OpinionInfo | None = None

        self.message = QLabel(objectName="review_message")
        self.message.setWordWrap(True)
        self.message.hide()

        self.table = row_table(ASSIGNMENT_COLUMNS, "assignments")
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.assign_button = QPushButton("Assign…", objectName="assign")
        self.assign_button.clicked.connect(lambda: self.assign())
        self.accept_button = QPushButton("Accepted", objectName="accept_assignment")
        self.accept_button.clicked.connect(self.accept_selected)
        self.decline_button = QPushButton("Declined…", objectName="decline_assignment")
        self.decline_button.clicked.connect(self.decline_selected)
        buttons = QHBoxLayout()
        for button in (self.assign_button, self.accept_button, self.decline_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        reviewers = QGroupBox("Reviewers")
        reviewers_layout = QVBoxLayout(reviewers)
        reviewers_layout.addWidget(self.table)
        reviewers_layout.addLayout(buttons)

        self.opinion_text = QLabel(objectName="opinion_text")
        self.opinion_text.setWordWrap(True)
        self.opinion_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.opinion_text.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.opinion_button = QPushButton("Record opinion…", objectName="record_opinion")
        self.opinion_button.clicked.connect(lambda: self.record_opinion())
        opinion_box = QGroupBox("Opinion")
        opinion_layout = QVBoxLayout(opinion_box)
        opinion_layout.addWidget(self.opinion_text, 1)
        opinion_layout.addWidget(self.opinion_button, 0, Qt.AlignmentFlag.AlignRight)

        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(reviewers, 2)
        layout.addWidget(opinion_box, 3)

    # --- showing ---------------------------------------------------------------------------
    def show_case(self, reference: str, status: CaseStatus) -> None:
        """Called by the case screen whenever it reloads."""
        self._reference, self._status = reference, status
        self._assignments = specialists.case_assignments(self._db, self._case_id)
        self._opinion = opinions.get_opinion(self._db, self._case_id)
        selected = self._selected()
        self.table.setRowCount(len(self._assignments))
        for row, a in enumerate(reversed(self._assignments)):  # newest first
            answer = ""
            if a.answered_at:
                answer = f"{local_time(a.answered_at)} · {a.answered_by}"
            reason = a.decline_reason or a.end_reason or a.override_reason
            if a.override_reason and reason == a.override_reason:
                reason = f"Assigned despite: {reason}"
            cells = (
                a.role.label,
                a.specialist_name,
                a.status.label,
                f"{local_time(a.assigned_at)} · {a.assigned_by}",
                answer,
                reason,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, a.id)
                if not a.status.current:
                    item.setForeground(QColor("#777777"))
                self.table.setItem(row, column, item)
        if selected is not None:
            for row in range(self.table.rowCount()):
                if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == selected.id:
                    self.table.selectRow(row)
        self._show_opinion()
        self._update_buttons()

    def _show_opinion(self) -> None:
        opinion = self._opinion
        if opinion is None:
            self.opinion_text.setText(
                "No opinion yet."
                + (
                    " Record it when the specialist's answer arrives; that stops the clock."
                    if self._status is CaseStatus.UNDER_REVIEW
                    else " It can be recorded once the case is under review."
                )
            )
            self.opinion_text.setStyleSheet("")
        else:
            d = opinion.draft
            by = f" by {opinion.specialist_name}" if opinion.specialist_name else ""
            notes = (
                f"<p><b>For the referring doctor:</b> {_html(d.referrer_notes)}</p>"
                if (d.referrer_notes)
                else ""
            )
            self.opinion_text.setText(
                f"<p><b>Received{by}:</b> {local_time(d.received_at)}"
                f" (recorded by {opinion.recorded_by})</p>"
                f"<p><b>Diagnosis:</b> {_concordance(d.diagnosis_concordance)} · "
                f"<b>Treatment:</b> {_concordance(d.treatment_concordance)}</p>"
                f"<p><b>For the patient:</b> {_html(d.patient_summary)}</p>"
                f"<p><b>Recommendation:</b> {_html(d.recommendation)}</p>{notes}"
            )
            self.opinion_text.setStyleSheet(MAJOR_BOX_STYLE if opinion.major_change else "")
        self.opinion_button.setText("Amend opinion…" if opinion else "Record opinion…")
        allow(
            self.opinion_button,
            self._edit_refused,
            enabled=self._status in (CaseStatus.UNDER_REVIEW, CaseStatus.OPINION_RECEIVED),
        )

    def _selected(self) -> AssignmentInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        wanted = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((a for a in self._assignments if a.id == wanted), None)

    def _update_buttons(self) -> None:
        chosen = self._selected()
        proposed = chosen is not None and chosen.status is AssignmentStatus.PROPOSED
        allow(
            self.accept_button,
            self._edit_refused,
            enabled=proposed,
            tooltip="The specialist agreed to review the case",
        )
        allow(self.decline_button, self._edit_refused, enabled=proposed)
        allow(
            self.assign_button,
            self._edit_refused,
            enabled=self._status in specialists.OPEN_FOR_REVIEW,
        )

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if problem else "color: #1e5e2a;")
        self.message.setVisible(bool(text))

    def _done(self, change: CaseChange) -> None:
        self.say(change.message)
        self.changed.emit(change)

    # --- actions -----------------------------------------------------------------------------
    def assign(self, role: Role = Role.PRIMARY) -> bool:
        current = {a.role: a for a in self._assignments if a.status.current}
        dialog = AssignDialog(self._db, self._case_id, self._reference, current, role, self)

        def apply(
            specialist_id: int, chosen_role: Role, override: str, reassign: str
        ) -> str | None:
            try:
                change = specialists.assign(
                    self._db,
                    self._case_id,
                    specialist_id,
                    chosen_role,
                    actor=self._actor,
                    override_reason=override,
                    reassign_reason=reassign,
                )
            except ServiceError as exc:
                return str(exc)
            self._done(change)
            return None

        dialog.apply = apply
        return dialog.exec() == QDialog.DialogCode.Accepted

    def accept_selected(self) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        try:
            change = specialists.accept(self._db, chosen.id, actor=self._actor)
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return
        self._done(change)

    def decline_selected(self) -> bool:
        chosen = self._selected()
        if chosen is None:
            return False

        def apply(reason: str) -> str | None:
            try:
                change = specialists.decline(self._db, chosen.id, reason=reason, actor=self._actor)
            except ServiceError as exc:
                return str(exc)
            self._done(change)
            return None

        dialog = ReasonDialog(
            f"{self._reference}: {chosen.specialist_name} declined",
            f"Record that <b>{chosen.specialist_name}</b> declined to be the "
            f"{chosen.role.label.lower()}?",
            apply,
            required=True,
            ok_text="Declined",
            parent=self,
        )
        return dialog.exec() == QDialog.DialogCode.Accepted

    def record_opinion(self) -> bool:
        dialog = OpinionDialog(self._reference, self._opinion, self)

        def apply(draft: OpinionDraft) -> dict[str, str] | None:
            try:
                change = opinions.record_opinion(self._db, self._case_id, draft, actor=self._actor)
            except ValidationError as exc:
                return exc.errors
            except ServiceError as exc:
                return {"case": str(exc)}
            self._done(change)
            return None

        dialog.apply = apply
        return dialog.exec() == QDialog.DialogCode.Accepted


def _concordance(value: Concordance) -> str:
    if value is Concordance.MAJOR_CHANGE:
        return f'<span style="color: #4a148c; font-weight: bold;">{value.label}</span>'
    return value.label


def _html(text: str) -> str:
    from html import escape

    return escape(text).replace("\n", "<br>")


class AssignDialog(QDialog):
    """Suggestions, best first, each with why; ruled-out ones need a stated reason."""

    def __init__(
        self,
        db: Database,
        case_id: int,
        reference: str,
        current: dict[Role, AssignmentInfo],
        role: Role,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._db, self._case_id, self._current = db, case_id, current
        self.apply: Callable[[int, Role, str, str], str | None] = lambda *_: None
        self._suggestions: list[Suggestion] = []
        self.setWindowTitle(f"{reference}: assign a specialist")
        self.role = QComboBox(objectName="assign_role")
        for r in Role:
            self.role.addItem(r.label, r)
        self.role.setCurrentIndex(self.role.findData(role))
        self.role.currentIndexChanged.connect(self._load)
        self.table = row_table(["", "Specialist", "Why"], "suggestions")
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_reasons)
        self.table.doubleClicked.connect(lambda _i: self.accept())
        self.current_label = QLabel(objectName="current_reviewer")
        self.current_label.setWordWrap(True)
        self.override = QLineEdit(objectName="override_reason")
        self.override.setPlaceholderText("Why this specialist anyway (e.g. agreed by phone)")
        self.reassign = QLineEdit(objectName="reassign_reason")
        self.reassign.setPlaceholderText("Why the case goes to someone else")
        self.message = QLabel(objectName="assign_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Assign")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Role", self.role)
        form.addRow(self.current_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        reasons = QFormLayout()
        reasons.addRow("Override reason", self.override)
        reasons.addRow("Reassign reason", self.reassign)
        layout.addLayout(reasons)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(760, 460)
        self._load()

    def chosen_role(self) -> Role:
        return Role(self.role.currentData())

    def _load(self) -> None:
        role = self.chosen_role()
        self._suggestions = specialists.suggestions(self._db, self._case_id, role)
        self.table.setRowCount(len(self._suggestions))
        for row, s in enumerate(self._suggestions):
            mark = QTableWidgetItem("✓" if s.available else "✗")
            mark.setToolTip("available" if s.available else "ruled out")
            name = QTableWidgetItem(s.name)
            why = QTableWidgetItem(" · ".join(s.reasons))
            for item in (mark, name, why):
                item.setData(Qt.ItemDataRole.UserRole, s.specialist_id)
                if not s.available:
                    item.setForeground(QColor("#8e1b10"))
            self.table.setItem(row, 0, mark)
            self.table.setItem(row, 1, name)
            self.table.setItem(row, 2, why)
        current = self._current.get(role)
        self.current_label.setText(
            f"Currently: {current.specialist_name} ({current.status.label.lower()}). Choosing "
            "someone else reassigns the case and asks why."
            if current
            else ""
        )
        self.current_label.setVisible(current is not None)
        self.reassign.setEnabled(current is not None)
        first = next((i for i, s in enumerate(self._suggestions) if s.available), None)
        if first is not None:
            self.table.selectRow(first)
        self._update_reasons()

    def selected(self) -> Suggestion | None:
        rows = self.table.selectionModel().selectedRows()
        return self._suggestions[rows[0].row()] if rows else None

    def select(self, name: str) -> None:
        for row, s in enumerate(self._suggestions):
            if s.name == name:
                self.table.selectRow(row)
                return
        raise KeyError(name)

    def _update_reasons(self) -> None:
        chosen = self.selected()
        self.override.setEnabled(chosen is not None and not chosen.available)

    def accept(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.message.setText(
                "Choose a specialist."
                if self._suggestions
                else "Nobody on the roster can take this role; add one on the Specialists screen."
            )
            self.message.show()
            return
        refusal = self.apply(
            chosen.specialist_id, self.chosen_role(), self.override.text(), self.reassign.text()
        )
        if refusal:
            self.message.setText(refusal)
            self.message.show()
            return
        super().accept()


class OpinionDialog(QDialog):
    """What the specialist said: for the patient, for the referrer, and how it compares."""

    def __init__(
        self, reference: str, existing: OpinionInfo | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.apply: Callable[[OpinionDraft], dict[str, str] | None] = lambda _d: None
        self.setWindowTitle(f"{reference}: {'amend' if existing else 'record'} the opinion")
        self.summary = QPlainTextEdit(objectName="patient_summary")
        self.summary.setPlaceholderText("In plain language, what the specialist found")
        self.recommendation = QPlainTextEdit(objectName="recommendation")
        self.referrer_notes = QPlainTextEdit(objectName="referrer_notes")
        self.referrer_notes.setPlaceholderText("Detailed notes for the referring doctor")
        for edit in (self.summary, self.recommendation, self.referrer_notes):
            edit.setTabChangesFocus(True)
            edit.setMinimumHeight(70)
        self.diagnosis = QComboBox(objectName="diagnosis_concordance")
        self.treatment = QComboBox(objectName="treatment_concordance")
        for combo in (self.diagnosis, self.treatment):
            for c in Concordance:
                combo.addItem(c.label, c)
        self.received = QDateTimeEdit(QDateTime.currentDateTime(), objectName="received_at")
        self.received.setCalendarPopup(True)
        self.received.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label, widget in (
            ("patient_summary", "For the patient", self.summary),
            ("recommendation", "Recommendation", self.recommendation),
            ("referrer_notes", "For the referring doctor", self.referrer_notes),
            ("diagnosis_concordance", "Diagnosis vs first opinion", self.diagnosis),
            ("treatment_concordance", "Treatment vs first opinion", self.treatment),
            ("received_at", "Received", self.received),
        ):
            error = QLabel(objectName=f"{key}_error")
            error.setStyleSheet(ERROR_STYLE)
            error.setWordWrap(True)
            error.hide()
            self.errors[key] = error
            box = QVBoxLayout()
            box.addWidget(widget)
            box.addWidget(error)
            form.addRow(label, box)
        self.message = QLabel(objectName="opinion_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        if existing is not None:
            d = existing.draft
            self.summary.setPlainText(d.patient_summary)
            self.recommendation.setPlainText(d.recommendation)
            self.referrer_notes.setPlainText(d.referrer_notes)
            self.diagnosis.setCurrentIndex(self.diagnosis.findData(d.diagnosis_concordance))
            self.treatment.setCurrentIndex(self.treatment.findData(d.treatment_concordance))
            if d.received_at:
                self.received.setDateTime(
                    QDateTime.fromSecsSinceEpoch(int(d.received_at.timestamp()))
                )
        self.resize(640, 620)

    def draft(self) -> OpinionDraft:
        received = datetime.fromtimestamp(self.received.dateTime().toSecsSinceEpoch(), UTC)
        return OpinionDraft(
            patient_summary=self.summary.toPlainText(),
            recommendation=self.recommendation.toPlainText(),
            diagnosis_concordance=Concordance(self.diagnosis.currentData()),
            treatment_concordance=Concordance(self.treatment.currentData()),
            received_at=received,
            referrer_notes=self.referrer_notes.toPlainText(),
        )

    def accept(self) -> None:
        errors = self.apply(self.draft())
        for key, label in self.errors.items():
            label.setText((errors or {}).get(key, ""))
            label.setVisible(bool(errors and key in errors))
        other = {k: v for k, v in (errors or {}).items() if k not in self.errors}
        self.message.setText(" ".join(other.values()))
        self.message.setVisible(bool(other))
        if errors:
            self.adjustSize()
            return
        super().accept()
