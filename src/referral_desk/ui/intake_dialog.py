"""New case (intake): type the case in, catch a likely duplicate patient, save or cancel."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.services import cases
from referral_desk.services.cases import CaseCreated, PatientMatch
from referral_desk.services.errors import NotAllowedError, ValidationError
from referral_desk.ui.case_form import CaseForm
from referral_desk.ui.permissions import allow, refusal

WARNING_STYLE = "background: #fff3cd; border: 1px solid #e0b252; border-radius: 4px; padding: 6px;"


class IntakeDialog(QDialog):
    def __init__(self, db: Database, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._actor = actor
        self._existing_patient_id: int | None = None
        self._confirmed_new_patient = False  # "it is someone else" for the current matches
        self.created: CaseCreated | None = None
        self.setWindowTitle("New case")
        self.setObjectName("intake_dialog")

        self.form = CaseForm(cases.referrer_names(db))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.duplicate_panel = QLabel(objectName="duplicate_warning")
        self.duplicate_panel.setWordWrap(True)
        self.duplicate_panel.setStyleSheet(WARNING_STYLE)
        self.use_existing = QPushButton("Use this patient", objectName="use_existing")
        self.someone_else = QPushButton("It is someone else", objectName="someone_else")
        self.use_new = QPushButton("Enter a new patient instead", objectName="use_new")
        self.use_existing.clicked.connect(self._use_existing)
        self.use_new.clicked.connect(self._use_new)
        self.someone_else.clicked.connect(self._confirm_someone_else)
        duplicate_row = QHBoxLayout()
        duplicate_row.addWidget(self.duplicate_panel, 1)
        duplicate_row.addWidget(self.use_existing)
        duplicate_row.addWidget(self.someone_else)
        duplicate_row.addWidget(self.use_new)
        self.form.duplicate_slot.addLayout(duplicate_row)
        self._matches: list[PatientMatch] = []
        self._show_duplicates([])

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        allow(
            self.buttons.button(QDialogButtonBox.StandardButton.Save),
            refusal(actor, Permission.EDIT_CASES, "take in a case"),
        )
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(self.buttons)
        self.form.patient_identity_changed.connect(self._check_duplicates)
        self._typed = False
        self.form.changed.connect(self._note_typing)
        self.resize(760, 820)
        self.form.given_names.setFocus()

    # --- duplicates and existing patients ---------------------------------------------
    def _check_duplicates(self) -> None:
        if self._existing_patient_id is not None:
            return
        errors: dict[str, str] = {}
        draft = self.form.patient_draft(errors)
        if "birth_date" in errors:
            self._show_duplicates([])
            return
        self._show_duplicates(
            cases.find_possible_duplicates(
                self._db, draft.given_names, draft.family_name, draft.birth_date
            )
        )

    def _show_duplicates(self, matches: list[PatientMatch]) -> None:
        self._matches = matches
        if matches:
            first = matches[0]
            refs = ", ".join(first.references) or "no cases yet"
            more = f" (and {len(matches) - 1} more)" if len(matches) > 1 else ""
            self.duplicate_panel.setText(
                f"Possible duplicate: {first.name}, born {first.birth_date.isoformat()}, "
                f"is already registered ({refs}){more}. Use that patient unless this is "
                "someone else."
            )
        self._confirmed_new_patient = False
        self.duplicate_panel.setVisible(bool(matches))
        self.use_existing.setVisible(bool(matches))
        self.someone_else.setVisible(bool(matches))
        self.use_new.setVisible(False)

    def _use_existing(self) -> None:
        match = self._matches[0]
        self._existing_patient_id = match.id
        self.form.set_patient(cases.get_patient(self._db, match.id))
        self.form.set_patient_editable(False)
        self.duplicate_panel.setText(
            f"This case will be added to the existing patient {match.name} "
            f"(born {match.birth_date.isoformat()})."
        )
        self.use_existing.hide()
        self.someone_else.hide()
        self.use_new.show()

    def _confirm_someone_else(self) -> None:
        self._confirmed_new_patient = True
        self.duplicate_panel.hide()
        self.use_existing.hide()
        self.someone_else.hide()

    def _use_new(self) -> None:
        self._existing_patient_id = None
        self.form.set_patient_editable(True)
        self.use_new.hide()
        self._check_duplicates()

    def _note_typing(self) -> None:
        self._typed = True

    def reject(self) -> None:
        """Esc or Cancel: ask before throwing away what was typed (a phone call's worth)."""
        if self._typed and self.created is None:
            answer = QMessageBox.question(
                self,
                "Discard this new case?",
                "The case has not been saved. Discard what you typed?",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Discard:
                return
        super().reject()

    @property
    def existing_patient_id(self) -> int | None:
        return self._existing_patient_id

    # --- saving ----------------------------------------------------------------------
    def save(self) -> None:
        errors: dict[str, str] = {}
        patient = self.form.patient_draft(errors)
        case = self.form.case_draft(errors)
        if errors:  # unreadable dates: no point asking the service
            self.form.show_errors(errors)
            return
        if self._existing_patient_id is None and not self._confirmed_new_patient:
            # Save may come straight from Enter in the birth date, before any other check.
            self._check_duplicates()
            if self._matches:
                self.duplicate_panel.setText(
                    self.duplicate_panel.text()
                    + " Choose \u201cUse this patient\u201d or \u201cIt is someone else\u201d "
                    "before saving."
                )
                self.use_existing.setFocus()
                return
        try:
            if self._existing_patient_id is not None:
                self.created = cases.create_case(
                    self._db,
                    case,
                    existing_patient_id=self._existing_patient_id,
                    actor=self._actor,
                )
            else:
                self.created = cases.create_case(self._db, case, patient=patient, actor=self._actor)
        except ValidationError as exc:
            self.form.show_errors(exc.errors)
            return
        except NotAllowedError as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return
        self.accept()
