"""The fields of a case and its patient, shared by intake and the case screen.

The form only turns widgets into drafts and shows messages; the rules live in domain/.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from referral_desk.domain.enums import CANCER_TYPES, Reason, Sex, Urgency
from referral_desk.domain.intake import CaseDraft, DateInputError, PatientDraft, parse_user_date

ERROR_STYLE = "color: #b3261e;"


class _Field(QWidget):
    """An input with its validation message right underneath."""

    def __init__(self, editor: QWidget) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.editor = editor
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(editor)
        layout.addWidget(self.message)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


def _text_box(placeholder: str = "", height: int = 54) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setPlaceholderText(placeholder)
    box.setTabChangesFocus(True)
    box.setFixedHeight(height)
    return box


def _format_date(value: date | None) -> str:
    return value.isoformat() if value else ""


class CaseForm(QWidget):
    changed = Signal()
    patient_identity_changed = Signal()  # name or birth date: time to look for duplicates

    def __init__(self, referrers: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, _Field] = {}
        layout = QVBoxLayout(self)

        # Patient
        self.given_names = QLineEdit(objectName="given_names")
        self.family_name = QLineEdit(objectName="family_name")
        self.birth_date = QLineEdit(objectName="birth_date", placeholderText="YYYY-MM-DD")
        self.sex = QComboBox(objectName="sex")
        for sex in Sex:
            self.sex.addItem(sex.label, sex)
        self.sex.setCurrentIndex(self.sex.findData(Sex.NOT_RECORDED))
        self.phone = QLineEdit(objectName="phone")
        self.email = QLineEdit(objectName="email")
        self.language = QLineEdit(objectName="preferred_language")
        self.address = _text_box("Street, town, postcode, country")
        self.consent = QCheckBox(
            "The patient agrees that the opinion is shared with the referring doctor"
        )
        patient_box = QGroupBox("Patient")
        patient_form = QFormLayout(patient_box)
        patient_form.addRow("&Given names", self._field("given_names", self.given_names))
        patient_form.addRow("&Family name", self._field("family_name", self.family_name))
        patient_form.addRow("Date of &birth", self._field("birth_date", self.birth_date))
        patient_form.addRow("Sex", self.sex)
        patient_form.addRow("Phone", self._field("phone", self.phone))
        patient_form.addRow("E-mail", self._field("email", self.email))
        patient_form.addRow("Preferred language", self._field("preferred_language", self.language))
        patient_form.addRow("Address", self._field("address", self.address))
        patient_form.addRow("", self.consent)
        self.duplicate_slot = QVBoxLayout()
        patient_form.addRow(self.duplicate_slot)
        self.patient_box = patient_box
        layout.addWidget(patient_box)

        # Referral
        self.referrer = QLineEdit(
            objectName="referrer", placeholderText="Referring doctor or hospital"
        )
        completer = QCompleter(referrers, self.referrer)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.referrer.setCompleter(completer)
        self.cancer_type = QComboBox(objectName="cancer_type")
        self.cancer_type.addItem("Choose…", "")
        for code, label in CANCER_TYPES.items():
            self.cancer_type.addItem(label, code)
        self.diagnosis = _text_box("What the records say: histology, markers, findings")
        self.stage = QLineEdit(objectName="stage", placeholderText="If known, e.g. IIA, T2N0M0")
        self.urgency = QComboBox(objectName="urgency")
        for urgency in Urgency:
            self.urgency.addItem(urgency.label, urgency)
        self.treatment_start = QLineEdit(
            objectName="treatment_start", placeholderText="YYYY-MM-DD, if planned"
        )
        referral_box = QGroupBox("Referral")
        referral_form = QFormLayout(referral_box)
        referral_form.addRow("&Referrer", self._field("referrer_name", self.referrer))
        referral_form.addRow("&Cancer type", self._field("cancer_type", self.cancer_type))
        referral_form.addRow("Diagnosis", self._field("diagnosis", self.diagnosis))
        referral_form.addRow("Stage", self._field("stage", self.stage))
        referral_form.addRow("&Urgency", self.urgency)
        referral_form.addRow(
            "Planned treatment start", self._field("treatment_start", self.treatment_start)
        )
        layout.addWidget(referral_box)

        # Reasons
        reasons_box = QGroupBox("Why the patient asks for a second opinion")
        grid = QGridLayout(reasons_box)
        self.reasons: dict[Reason, QCheckBox] = {}
        for i, reason in enumerate(Reason):
            box = QCheckBox(reason.label, objectName=f"reason_{reason.value}")
            self.reasons[reason] = box
            grid.addWidget(box, i // 2, i % 2)
        layout.addWidget(reasons_box)

        # The first opinion and the patient's questions
        opinion_box = QGroupBox("The question and the first opinion")
        opinion_form = QFormLayout(opinion_box)
        self.questions = _text_box("In the patient's own words")
        self.first_diagnosis = _text_box("Diagnosis given by the first physician")
        self.proposed_treatment = _text_box("Treatment the first physician proposed")
        opinion_form.addRow("Patient's questions", self._field("patient_questions", self.questions))
        opinion_form.addRow("First diagnosis", self._field("first_diagnosis", self.first_diagnosis))
        opinion_form.addRow(
            "Proposed treatment", self._field("proposed_treatment", self.proposed_treatment)
        )
        layout.addWidget(opinion_box)
        layout.addStretch(1)
        # Line the fields up across the groups.
        for form in (patient_form, referral_form, opinion_form):
            for row in range(form.rowCount()):
                label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if label is not None and label.widget() is not None:
                    label.widget().setMinimumWidth(150)

        for line in (self.given_names, self.family_name, self.birth_date):
            line.editingFinished.connect(self.patient_identity_changed)
        for widget in self.findChildren(QLineEdit):
            widget.textEdited.connect(self.changed)
        for widget in self.findChildren(QPlainTextEdit):
            widget.textChanged.connect(self.changed)
        for widget in self.findChildren(QComboBox):
            widget.activated.connect(self.changed)
        for widget in self.findChildren(QCheckBox):
            widget.clicked.connect(self.changed)

    def _field(self, name: str, editor: QWidget) -> _Field:
        field = _Field(editor)
        self._fields[name] = field
        return field

    # --- reading and writing ----------------------------------------------------------
    def _date(self, name: str, line: QLineEdit, errors: dict[str, str]) -> date | None:
        try:
            return parse_user_date(line.text())
        except DateInputError as exc:
            errors[name] = str(exc)
            return None

    def patient_draft(self, errors: dict[str, str]) -> PatientDraft:
        """The patient as typed; unreadable dates are added to `errors`."""
        return PatientDraft(
            given_names=self.given_names.text(),
            family_name=self.family_name.text(),
            birth_date=self._date("birth_date", self.birth_date, errors),
            sex=Sex(self.sex.currentData()),  # Qt hands enums back as plain str
            phone=self.phone.text(),
            email=self.email.text(),
            address=self.address.toPlainText(),
            preferred_language=self.language.text(),
            consent_share_with_referrer=self.consent.isChecked(),
        )

    def case_draft(self, errors: dict[str, str]) -> CaseDraft:
        return CaseDraft(
            cancer_type=self.cancer_type.currentData() or "",
            diagnosis=self.diagnosis.toPlainText(),
            stage=self.stage.text(),
            referrer_name=self.referrer.text(),
            reasons=frozenset(r for r, box in self.reasons.items() if box.isChecked()),
            patient_questions=self.questions.toPlainText(),
            first_diagnosis=self.first_diagnosis.toPlainText(),
            proposed_treatment=self.proposed_treatment.toPlainText(),
            treatment_start=self._date("treatment_start", self.treatment_start, errors),
            urgency=Urgency(self.urgency.currentData()),
        )

    def set_patient(self, patient: PatientDraft) -> None:
        self.given_names.setText(patient.given_names)
        self.family_name.setText(patient.family_name)
        self.birth_date.setText(_format_date(patient.birth_date))
        self.sex.setCurrentIndex(self.sex.findData(patient.sex))
        self.phone.setText(patient.phone)
        self.email.setText(patient.email)
        self.address.setPlainText(patient.address)
        self.language.setText(patient.preferred_language)
        self.consent.setChecked(patient.consent_share_with_referrer)

    def set_case(self, case: CaseDraft) -> None:
        self.referrer.setText(case.referrer_name)
        self.cancer_type.setCurrentIndex(max(0, self.cancer_type.findData(case.cancer_type)))
        self.diagnosis.setPlainText(case.diagnosis)
        self.stage.setText(case.stage)
        self.urgency.setCurrentIndex(self.urgency.findData(case.urgency))
        self.treatment_start.setText(_format_date(case.treatment_start))
        for reason, box in self.reasons.items():
            box.setChecked(reason in case.reasons)
        self.questions.setPlainText(case.patient_questions)
        self.first_diagnosis.setPlainText(case.first_diagnosis)
        self.proposed_treatment.setPlainText(case.proposed_treatment)

    def set_patient_editable(self, editable: bool) -> None:
        for widget in (
            self.given_names,
            self.family_name,
            self.birth_date,
            self.phone,
            self.email,
            self.language,
        ):
            widget.setReadOnly(not editable)
        self.address.setReadOnly(not editable)
        self.sex.setEnabled(editable)
        self.consent.setEnabled(editable)

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, field in self._fields.items():
            field.show_message(errors.get(name, ""))
        first = next((self._fields[n].editor for n in self._fields if n in errors), None)
        if first is not None:
            first.setFocus()

    def error_text(self, name: str) -> str:
        return self._fields[name].message.text()
