"""The case screen: everything about one case, editable; its status, clock and history."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.clock import Pace
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.workflow import CLOCK_RUNNING_STATUSES, TransitionError
from referral_desk.services import audit_log, cases, office
from referral_desk.services.audit_log import AuditRow
from referral_desk.services.case_state import CaseChange
from referral_desk.services.cases import CaseDetail
from referral_desk.services.errors import (
    ConflictError,
    NotAllowedError,
    ServiceError,
    ValidationError,
)
from referral_desk.ui import audit_text
from referral_desk.ui.case_form import CaseForm
from referral_desk.ui.costs_panel import CostsPanel
from referral_desk.ui.documents_panel import DocumentsPanel
from referral_desk.ui.formatting import PACE_COLOURS, clock_text, local_time
from referral_desk.ui.history_panel import HistoryPanel
from referral_desk.ui.letters_panel import LettersPanel
from referral_desk.ui.permissions import allow, make_read_only, refusal
from referral_desk.ui.review_panel import MAJOR_STYLE, ReviewPanel
from referral_desk.ui.status_dialog import StatusDialog
from referral_desk.ui.window_state import WindowState

log = logging.getLogger(__name__)

CONFLICT_STYLE = (
    "background: #fff3cd; color: #5c3c00; border: 1px solid #e0b252; border-radius: 4px;"
    "padding: 6px;"
)
CONFLICT_TITLE = "Not saved: the case changed"
KEEP_EDITS = "Keep my edits on screen"
# A message box wraps at a narrow width by itself: the list of changes reads better wider.
WIDE_MESSAGE = "QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 520px; }"
SHOW_SAVED = "Discard my edits, show the saved version"
RISK_STYLE = (
    "background: #fdecea; color: #8e1b10; border: 1px solid #e57373; border-radius: 4px;"
    "padding: 6px; font-weight: bold;"
)


def change_line(row: AuditRow, currency: str, today: datetime | None = None) -> str:
    """One change someone made, as the conflict message lists it:
    "maria.intake at 14:02: Stage IIA → IIB; Urgency Routine → Urgent"."""
    moment = row.at.astimezone()
    today = (today or datetime.now()).astimezone()
    when = f"{moment:%H:%M}" if moment.date() == today.date() else f"{moment:%Y-%m-%d %H:%M}"
    if row.action is AuditAction.CHANGE and row.entity in ("case", "patient") and row.changes:
        what = "; ".join(audit_text.change_text(c) for c in audit_text.field_changes(row, currency))
        if row.entity == "patient":
            what = f"patient details: {what}"
    else:
        what = audit_text.summary(row, currency, most=6, within_case=True)
    return f"{row.actor} at {when}: {what}"


class CaseWindow(QWidget):
    files_added = Signal()  # PDFs wait for their text to be read in the background

    def __init__(
        self,
        db: Database,
        case_id: int,
        actor: Actor,
        on_saved: Callable[[], None],
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self._db, self._case_id, self._actor = db, case_id, actor
        # A manager reads the case; the form and the status buttons say why they are grey.
        self._edit_refused = refusal(actor, Permission.EDIT_CASES, "change a case")
        self._on_saved = on_saved
        self._state = window_state
        self._dirty = False
        self.setObjectName("case_window")
        # Esc closes, through closeEvent's unsaved-changes question.
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)

        self.title = QLabel(objectName="case_title")
        self.title.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.subtitle = QLabel()
        self.risk = QLabel(objectName="risk_banner")
        self.risk.setStyleSheet(RISK_STYLE)
        self.risk.setWordWrap(True)
        self.major = QLabel(objectName="major_change_banner")
        self.major.setStyleSheet(MAJOR_STYLE)
        self.major.setWordWrap(True)
        self.major.hide()
        self.conflict = QLabel(objectName="conflict_banner")
        self.conflict.setStyleSheet(CONFLICT_STYLE)
        self.conflict.setWordWrap(True)
        self.conflict.hide()

        self.form = CaseForm(cases.referrer_names(db))
        self.form.changed.connect(self._mark_dirty)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.save_buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_buttons.accepted.connect(self.save)
        self.save_buttons.rejected.connect(self.close)
        if self._edit_refused:
            make_read_only(self.form, self._edit_refused)
            self.save_buttons.button(QDialogButtonBox.StandardButton.Save).hide()
        details = QWidget()
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(scroll)
        details_layout.addWidget(self.save_buttons)
        self.documents = DocumentsPanel(db, case_id, actor)
        self.documents.changed.connect(self._records_changed)
        self.documents.files_added.connect(self.files_added)
        self.tabs = QTabWidget(objectName="case_tabs")
        self.tabs.addTab(details, "&Details")
        self.tabs.addTab(self.documents, "D&ocuments")
        self.review = ReviewPanel(db, case_id, actor)
        self.review.changed.connect(self._records_changed)
        self.tabs.addTab(self.review, "Re&view")
        self.costs = CostsPanel(db, case_id, actor)
        self.costs.changed.connect(self._records_changed)
        self.tabs.addTab(self.costs, "Co&sts")
        self.letters = LettersPanel(db, case_id, actor)
        self.letters.changed.connect(self._records_changed)
        self.letters.listed.connect(self._show_letters_title)
        self.tabs.addTab(self.letters, "Le&tters")
        # Who looked at which patient: opening the case is in the audit trail.
        try:
            audit_log.opened_case(db, case_id, actor=actor)
        except ServiceError as exc:
            log.warning("opening case %s was not recorded: %s", case_id, exc)
        self.trail = HistoryPanel(db, case_id, self)
        self.tabs.addTab(self.trail, "&History")
        left = self.tabs
        # Files dropped anywhere on the case go to its documents.
        self.setAcceptDrops(True)

        # Right: status, clock, history
        self.status_label = QLabel(objectName="status_label")
        self.status_label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.status_buttons = QVBoxLayout()
        status_box = QGroupBox("Status")
        status_layout = QVBoxLayout(status_box)
        status_layout.addWidget(self.status_label)
        status_layout.addLayout(self.status_buttons)

        self.clock_fields = {
            name: QLabel() for name in ("received", "records", "due", "left", "opinion")
        }
        self.clock_fields["left"].setObjectName("time_left")
        clock_box = QGroupBox("Clock")
        clock_form = QFormLayout(clock_box)
        clock_form.addRow("Received", self.clock_fields["received"])
        clock_form.addRow("Records complete", self.clock_fields["records"])
        clock_form.addRow("Opinion due", self.clock_fields["due"])
        clock_form.addRow("Time left", self.clock_fields["left"])
        clock_form.addRow("Opinion received", self.clock_fields["opinion"])

        # Two lines an entry: the pane is narrow and reasons are sentences.
        self.history = QListWidget(objectName="history")
        self.history.setWordWrap(True)
        # Wrapped rows are measured once; re-measure them when the pane changes width.
        self.history.setResizeMode(QListView.ResizeMode.Adjust)
        self.history.setAlternatingRowColors(True)
        history_box = QGroupBox("History")
        QVBoxLayout(history_box).addWidget(self.history)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(status_box)
        right_layout.addWidget(clock_box)
        right_layout.addWidget(history_box, 1)

        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.subtitle, 1)
        layout.addLayout(header)
        layout.addWidget(self.risk)
        layout.addWidget(self.major)
        layout.addWidget(self.conflict)
        layout.addWidget(self.splitter, 1)

        self.resize(1180, 820)
        if self._state:
            self._state.restore("case_window", self)
            self._state.restore("case_window_splitter", self.splitter)
        self.reload()

    # --- showing the case --------------------------------------------------------------
    @property
    def detail(self) -> CaseDetail:
        return self._detail

    def reload(self, *, keep_edits: bool = False) -> None:
        detail = cases.get_case(self._db, self._case_id)
        self._detail = detail
        self.setWindowTitle(f"{detail.reference} · {detail.patient_name} · Referral Desk")
        self.title.setText(detail.reference)
        self.subtitle.setText(
            f"{detail.patient_name}, born {detail.patient.birth_date} · {detail.case.urgency.label}"
        )
        self.risk.setText(
            f"Must not delay treatment: {detail.treatment_risk}" if detail.treatment_risk else ""
        )
        self.risk.setVisible(bool(detail.treatment_risk))
        if not keep_edits:
            # What the form starts from: saving is checked against these, not later reloads.
            self._edit_version = detail.version
            self._patient_version = detail.patient_version
            self._loaded_patient = detail.patient
            self._loaded_case = detail.case
            self._trail_mark = self._newest_entry()  # what others did after this is news
            self.form.set_patient(detail.patient)
            self.form.set_case(detail.case)
            self.form.show_errors({})
            self._set_dirty(False)
        changed_elsewhere = self._dirty and detail.version != self._edit_version
        if changed_elsewhere:
            lines = self.changes_since_loaded()
            listed = "".join(f"\n• {line}" for line in lines)
            self.conflict.setText(
                "Someone else changed this case while you were editing."
                f"{listed}\nSaving will be refused so that their change is not lost: note your "
                "edits, then close and reopen the case to see the saved version."
            )
        else:
            self.conflict.setText("")
        self.conflict.setVisible(changed_elsewhere)
        self._show_status(detail)
        self._show_clock(detail)
        self._show_history(detail)
        missing = detail.missing_documents
        self.tabs.setTabText(1, f"D&ocuments ({missing} missing)" if missing else "D&ocuments")
        self.major.setText(
            "Major change: the second opinion differs substantially from the first. Phrase the "
            "letter with care and make sure the treating physician knows."
            if detail.major_change
            else ""
        )
        self.major.setVisible(detail.major_change)
        reviewer = f" · {detail.specialist_name}" if detail.specialist_name else ""
        self.tabs.setTabText(2, f"Re&view{reviewer}")
        self.review.show_case(detail.reference, detail.status)
        self.costs.reload()  # a status change may send the letter: charges then need a reason
        waiting = self.costs.awaiting_approval
        self.tabs.setTabText(3, f"Co&sts ({waiting} to approve)" if waiting else "Co&sts")
        self.letters.show_case(detail.status)  # what marking a summary letter sent does

    def _show_letters_title(self) -> None:
        unsent = self.letters.unsent
        index = self.tabs.indexOf(self.letters)
        self.tabs.setTabText(index, f"Le&tters ({unsent} not sent)" if unsent else "Le&tters")

    def _show_status(self, detail: CaseDetail) -> None:
        self.status_label.setText(detail.status.label)
        while self.status_buttons.count():
            item = self.status_buttons.takeAt(0)
            if item.widget():
                item.widget().hide()  # gone at once, not when the event loop gets to it
                item.widget().deleteLater()
        if not detail.allowed_targets:
            self.status_buttons.addWidget(QLabel("No further status changes."))
        for target in detail.allowed_targets:
            verb = (
                "Resume:"
                if detail.status is CaseStatus.ON_HOLD and target is detail.held_from
                else "Move to"
            )
            button = QPushButton(f"{verb} {target.label}", objectName=f"to_{target.value}")
            button.clicked.connect(lambda _=False, t=target: self.change_status(t))
            allow(button, self._edit_refused)
            self.status_buttons.addWidget(button)

    def _show_clock(self, detail: CaseDetail) -> None:
        reading = detail.clock
        self.clock_fields["received"].setText(local_time(detail.received_at))
        self.clock_fields["records"].setText(local_time(detail.records_complete_at) or "not yet")
        self.clock_fields["due"].setText(local_time(reading.due_at) or "—")
        self.clock_fields["opinion"].setText(local_time(detail.opinion_at) or "not yet")
        left = self.clock_fields["left"]
        left.setText(clock_text(reading) or "—")
        if reading.pace in PACE_COLOURS:
            fg, bg = PACE_COLOURS[reading.pace]
            left.setStyleSheet(
                f"color: {fg.name()}; background: {bg.name()}; padding: 2px 6px;font-weight: bold;"
            )
        else:
            left.setStyleSheet("")
        left.setToolTip(reading.pace.label if reading.pace is not Pace.NONE else "")

    def _show_history(self, detail: CaseDetail) -> None:
        self.history.clear()
        for entry in reversed(detail.history):
            change = (
                f"{entry.from_status.label} → {entry.to_status.label}"
                if entry.from_status
                else entry.to_status.label
            )
            text = f"{local_time(entry.at)} · {entry.actor}\n{change}"
            if entry.reason:
                text += f"\n“{entry.reason}”"
            self.history.addItem(QListWidgetItem(text))

    # --- editing ---------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty and self._edit_refused is None
        self.save_buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(self._dirty)

    @property
    def has_unsaved_edits(self) -> bool:
        return self._dirty

    def save(self) -> bool:
        errors: dict[str, str] = {}
        patient = self.form.patient_draft(errors)
        case = self.form.case_draft(errors)
        if errors:
            self.form.show_errors(errors)
            return False
        if not self._confirm_cancer_type_change(case.cancer_type):
            return False
        try:
            cases.update_case(
                self._db,
                self._case_id,
                expected_version=self._edit_version,
                # Untouched patient details are not sent: another case may have updated them.
                patient=patient if patient != self._loaded_patient else None,
                expected_patient_version=self._patient_version,
                case=case,
                actor=self._actor,
            )
        except ValidationError as exc:
            self.form.show_errors(exc.errors)
            return False
        except ConflictError as exc:
            self._refuse_stale_save(exc)
            return False
        except NotAllowedError as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return False
        self.reload()
        self.documents.reload()  # a new cancer type brings its checklist
        self._on_saved()
        return True

    # --- someone else's change -----------------------------------------------------------
    def _newest_entry(self) -> int:
        return audit_log.newest_case_entry(self._db, self._case_id)

    def changes_since_loaded(self) -> list[str]:
        """What others changed since this form was loaded, oldest first, one line each."""
        rows = [
            row
            for row in audit_log.case_history(self._db, self._case_id, after_id=self._trail_mark)
            if row.action is not AuditAction.VIEW
        ]
        currency = office.get_profile(self._db).currency
        return [change_line(row, currency) for row in reversed(rows)]

    def edited_fields(self) -> list[str]:
        """The fields typed into since the form was loaded, by their labels."""
        errors: dict[str, str] = {}
        typed = (
            (self._loaded_patient, self.form.patient_draft(errors)),
            (self._loaded_case, self.form.case_draft(errors)),
        )
        labels = [
            audit_text.field_label(f.name)
            for loaded, now in typed
            for f in fields(loaded)
            if getattr(loaded, f.name) != getattr(now, f.name)
        ]
        return labels + [audit_text.field_label(name) for name in errors if name not in labels]

    def _refuse_stale_save(self, exc: ConflictError) -> QMessageBox:
        """Someone saved first: show what they changed, keep what this user typed, and say
        how to carry on. Nothing of theirs is overwritten."""
        lines = self.changes_since_loaded()
        edited = self.edited_fields()
        box = QMessageBox(self)
        box.setObjectName("conflict_message")
        box.setStyleSheet(WIDE_MESSAGE)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(CONFLICT_TITLE)
        if lines:
            box.setText(
                f"{self._detail.reference} was changed by someone else after you opened it. "
                "Your edits were not saved, so that their changes are not overwritten."
            )
            changed = "What changed since you opened it:\n" + "\n".join(f"• {x}" for x in lines)
        else:  # the trail names nothing newer (e.g. a change from another case's screen)
            box.setText(str(exc))
            changed = ""
        yours = (
            f"Your edits are still on screen ({', '.join(edited)})."
            if edited
            else "Your edits are still on screen."
        )
        box.setInformativeText(
            (f"{changed}\n\n" if changed else "")
            + f"{yours} To carry on: note or copy them, then choose “{SHOW_SAVED}” and "
            "type them again where they still apply."
        )
        keep = box.addButton(KEEP_EDITS, QMessageBox.ButtonRole.RejectRole)
        keep.setObjectName("conflict_keep")
        fresh = box.addButton(SHOW_SAVED, QMessageBox.ButtonRole.DestructiveRole)
        fresh.setObjectName("conflict_reload")
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        if box.clickedButton() is fresh:
            self.reload()
            self.documents.reload()
            self.trail.refresh()
        box.deleteLater()
        return box

    def _confirm_cancer_type_change(self, cancer_type: str) -> bool:
        """A running clock may stop: the new type's checklist can ask for more records."""
        detail = self._detail
        if cancer_type == detail.case.cancer_type or detail.status not in CLOCK_RUNNING_STATUSES:
            return True
        answer = QMessageBox.question(
            self,
            "Change the cancer type",
            f"{detail.reference} is {detail.status.label.lower()}. The new cancer type's "
            "checklist is added to its documents; if any of them is missing, the case goes back "
            "to Awaiting records and its clock stops. Save the change?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def change_status(self, target: CaseStatus) -> bool:
        before = self._detail.version

        def apply(reason: str) -> str | None:
            try:
                after = cases.change_status(
                    self._db,
                    self._case_id,
                    target,
                    reason=reason,
                    actor=self._actor,
                    expected_version=before,
                )
            except (TransitionError, ConflictError, NotAllowedError) as exc:
                return str(exc)
            if self._edit_version == before:  # only our own change since the form loaded
                self._edit_version = after
                self._trail_mark = self._newest_entry()
            return None

        missing = self._detail.missing_documents
        hint = (
            f"{missing} required document{'s are' if missing != 1 else ' is'} still missing. "
            "The review clock starts now; say why the case cannot wait for them."
            if target is CaseStatus.READY_FOR_REVIEW and missing
            else ""
        )
        dialog = StatusDialog(self._detail.reference, target, apply, self, hint=hint)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.reload(keep_edits=self._dirty)
        self.trail.refresh()
        self._on_saved()
        return True

    def refresh_from_elsewhere(self) -> None:
        """Another window changed data: show it, without throwing away the user's edits."""
        self.reload(keep_edits=self._dirty)
        self.documents.reload()
        self.trail.refresh()

    def _records_changed(self, change: CaseChange) -> None:
        if self._edit_version == change.version_before:  # nobody else's change in between
            self._edit_version = change.case_version
            self._trail_mark = self._newest_entry()
        self.reload(keep_edits=self._dirty)
        self.trail.refresh()
        self._on_saved()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.documents.dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        self.documents.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.tabs.setCurrentWidget(self.documents)
            self.documents.drop_files(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._dirty:
            answer = QMessageBox.question(
                self,
                "Unsaved changes",
                f"Save your changes to {self._detail.reference} before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel or (
                answer == QMessageBox.StandardButton.Save and not self.save()
            ):
                event.ignore()
                return
        self.documents.wait_for_task()
        self.letters.wait_for_task()
        if self._state:
            self._state.save("case_window", self)
            self._state.save("case_window_splitter", self.splitter)
        super().closeEvent(event)
