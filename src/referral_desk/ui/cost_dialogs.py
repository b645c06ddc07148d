"""Dialogs of the Costs tab: a cost line, the patient's answer to a quoted test, a payment.

Amounts are typed in the user's locale; what cannot be read as an amount is said next to the
field, and the dialog stays open with everything typed until the service accepts it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from referral_desk.domain.costs import MAX_QUANTITY, LineKind, PaymentMethod
from referral_desk.domain.money import MoneyError
from referral_desk.services.costs import LineDraft, LineInfo, PaymentDraft
from referral_desk.services.fee_schedule import ServiceInfo
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.money import amount_text, editable_text, parse_amount

# What apply returns: None when saved, else messages by field (the dialog stays open).
Errors = dict[str, str]
NOTE_STYLE = "color: #5c3c00;"
KIND_TEXT = {
    LineKind.ESTIMATE: "Estimate (quoted to the patient)",
    LineKind.FINAL: "Final (charged)",
}


def _date_edit(name: str) -> QDateEdit:
    """Today, or an earlier day picked from a calendar or typed."""
    today = QDate.currentDate()
    edit = QDateEdit(today, objectName=name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMaximumDate(today)
    return edit


class _FormDialog(QDialog):
    """Fields with their own error line below them, and a message for anything else."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.errors: dict[str, QLabel] = {}
        self.message = QLabel(objectName="dialog_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def add_field(
        self, key: str, label: str, field: QWidget | QHBoxLayout, buddy: QWidget | None = None
    ) -> QLabel:
        error = QLabel(objectName=f"{key}_error")
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.hide()
        self.errors[key] = error
        box = QVBoxLayout()
        box.setSpacing(2)
        if isinstance(field, QHBoxLayout):
            box.addLayout(field)
        else:
            box.addWidget(field)
        box.addWidget(error)
        self.form.addRow(label, box)
        row_label = self.form.labelForField(box)
        target = buddy or (field if isinstance(field, QWidget) else None)
        if isinstance(row_label, QLabel) and target is not None:
            row_label.setBuddy(target)  # the label's mnemonic moves to its field
        return error

    def show_errors(self, errors: Errors) -> None:
        for key, label in self.errors.items():
            label.setText(errors.get(key, ""))
            label.setVisible(key in errors)
        other = [text for key, text in errors.items() if key not in self.errors and text]
        self.message.setText(" ".join(other))
        self.message.setVisible(bool(other))
        if errors:
            self.adjustSize()

    def ok_button_text(self, text: str) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(text)


class LineDialog(_FormDialog):
    """A cost line from the fee schedule or free text; the same dialog edits a line."""

    def __init__(
        self,
        reference: str,
        currency: str,
        services: Sequence[ServiceInfo],
        line: LineInfo | None = None,
        *,
        letter_sent: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.apply: Callable[[LineDraft, str], Errors | None] = lambda _d, _r: None
        self._currency = currency
        self._services = {s.id: s for s in services}
        self.setWindowTitle(f"{reference}: {'change the' if line else 'add a'} cost line")

        self.service = QComboBox(objectName="line_service")
        self.service.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.service.addItem("Free text (not on the fee schedule)", None)
        for s in services:
            d = s.draft
            price = amount_text(d.price_minor, currency) if d.price_minor else "no set price"
            extra = " · needs approval" if d.needs_approval else ""
            inactive = " (no longer offered)" if not d.active else ""
            self.service.addItem(f"{d.code} · {d.name} · {price}{extra}{inactive}", s.id)
        self.description = QLineEdit(objectName="line_description")
        self.description.setPlaceholderText("As the patient will read it")
        self.quantity = QSpinBox(objectName="line_quantity")
        self.quantity.setRange(1, MAX_QUANTITY)
        self.unit_price = QLineEdit(objectName="line_unit_price")
        self.unit_price.setPlaceholderText(editable_text(0, currency))
        self.unit_price.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.line_total = QLabel(objectName="line_total")
        self.line_total.setMinimumWidth(120)
        price_row = QHBoxLayout()
        price_row.addWidget(self.unit_price, 1)
        price_row.addWidget(QLabel(currency))
        price_row.addSpacing(12)
        price_row.addWidget(self.line_total)
        self.kind = QComboBox(objectName="line_kind")
        for kind in LineKind:
            self.kind.addItem(KIND_TEXT[kind], kind)
        self.needs_approval = QCheckBox(
            "Needs the patient's &approval before it is done", objectName="line_needs_approval"
        )
        self.needs_approval.setToolTip(
            "An additional test: quoted as an estimate, charged once the patient agrees"
        )
        self.reason = QLineEdit(objectName="line_reason")

        self.add_field("service", "&Service", self.service)
        self.add_field("description", "&Description", self.description)
        self.add_field("quantity", "&Quantity", self.quantity)
        self.add_field("unit_price", "Unit &price", price_row, self.unit_price)
        self.add_field("kind", "&Kind", self.kind)
        self.add_field("approval", "", self.needs_approval)
        if letter_sent:
            note = QLabel(
                "The letter has been sent with these costs: adding, changing or removing a "
                "charge needs a reason, kept in the cost history.",
                objectName="line_letter_note",
            )
            note.setWordWrap(True)
            note.setStyleSheet(NOTE_STYLE)
            self.form.addRow(note)
            self.add_field("reason", "&Reason", self.reason)
        else:
            self.reason.hide()

        if line is not None:
            d = line.draft
            index = self.service.findData(d.service_id) if d.service_id else 0
            self.service.setCurrentIndex(max(index, 0))
            self.description.setText(d.description)
            self.quantity.setValue(d.quantity)
            self.unit_price.setText(editable_text(d.unit_price_minor, currency))
            self.kind.setCurrentIndex(self.kind.findData(d.kind))
            self.needs_approval.setChecked(d.needs_approval)
            self.ok_button_text("Save")
        else:
            self.ok_button_text("Add line")
        self._follow_approval()
        # Connected after filling in: only the user's choice of a service overwrites fields.
        self.service.currentIndexChanged.connect(self._service_chosen)
        self.needs_approval.toggled.connect(self._follow_approval)
        self.unit_price.textChanged.connect(self._show_total)
        self.quantity.valueChanged.connect(self._show_total)
        self._show_total()
        self.setMinimumWidth(560)
        (self.service if line is None else self.description).setFocus()

    def _service_chosen(self) -> None:
        chosen = self._services.get(self.service.currentData())
        if chosen is None:  # free text: keep what is there to edit
            return
        d = chosen.draft
        self.description.setText(d.name)
        # No price on the schedule: the field stays empty so that one is typed, not 0 by chance.
        self.unit_price.setText(
            editable_text(d.price_minor, self._currency) if d.price_minor else ""
        )
        self.needs_approval.setChecked(d.needs_approval)
        self.errors["unit_price"].hide()

    def _follow_approval(self) -> None:
        """A test waiting for the patient's yes is quoted, not charged."""
        waiting = self.needs_approval.isChecked()
        if waiting:
            self.kind.setCurrentIndex(self.kind.findData(LineKind.ESTIMATE))
        self.kind.setEnabled(not waiting)
        self.kind.setToolTip(
            "Quoted until the patient approves it; then use Charge." if waiting else ""
        )

    def _show_total(self) -> None:
        try:
            price = parse_amount(self.unit_price.text(), self._currency)
        except MoneyError:
            self.line_total.setText("")
            return
        total = amount_text(price * self.quantity.value(), self._currency)
        self.line_total.setText(f"= {total}" if self.quantity.value() != 1 else "")

    def draft(self) -> LineDraft:
        """The line as typed; MoneyError when the price is not an amount."""
        return LineDraft(
            description=self.description.text(),
            quantity=self.quantity.value(),
            unit_price_minor=parse_amount(self.unit_price.text(), self._currency),
            kind=LineKind(self.kind.currentData()),
            service_id=self.service.currentData(),
            needs_approval=self.needs_approval.isChecked(),
        )

    def accept(self) -> None:
        try:
            draft = self.draft()
        except MoneyError as exc:
            self.show_errors({"unit_price": str(exc)})
            self.unit_price.setFocus()
            return
        errors = self.apply(draft, self.reason.text())
        self.show_errors(errors or {})
        if errors is None:
            super().accept()


class AnswerDialog(_FormDialog):
    """The patient said yes or no to a quoted test, on a day, perhaps with a note."""

    def __init__(
        self,
        reference: str,
        line: LineInfo,
        amount: str,
        *,
        approved: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.apply: Callable[[date, str], Errors | None] = lambda _o, _n: None
        verb = "approved" if approved else "declined"
        self.setWindowTitle(f"{reference}: the patient {verb} a test")
        question = QLabel(
            f"The patient <b>{verb}</b> “{escape(line.draft.description)}” ({amount})."
        )
        question.setWordWrap(True)
        self.form.addRow(question)
        self.on = _date_edit("answer_on")  # a changed mind is a new answer, given today
        self.note = QLineEdit(objectName="answer_note")
        self.note.setPlaceholderText("e.g. by phone; agreed to pay half now")
        self.add_field("approval_on", "&On", self.on)
        self.add_field("note", "&Note (optional)", self.note)
        self.ok_button_text("Approved" if approved else "Declined")
        self.setMinimumWidth(460)
        self.on.setFocus()

    def accept(self) -> None:
        errors = self.apply(self.on.date().toPython(), self.note.text())  # type: ignore[arg-type]
        self.show_errors(errors or {})
        if errors is None:
            super().accept()


class PaymentDialog(_FormDialog):
    """Money received, or (refund=True) paid back: typed positive, stored negative."""

    def __init__(
        self,
        reference: str,
        currency: str,
        *,
        refund: bool = False,
        amount_minor: int = 0,
        situation: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.apply: Callable[[PaymentDraft], Errors | None] = lambda _d: None
        self._currency, self._refund = currency, refund
        self.setWindowTitle(f"{reference}: {'refund' if refund else 'record a payment'}")
        if situation:  # what is charged and paid so far, to check the amount against
            summary = QLabel(situation, objectName="payment_situation")
            summary.setWordWrap(True)
            self.form.addRow(summary)
        self.amount = QLineEdit(objectName="payment_amount")
        self.amount.setPlaceholderText(editable_text(0, currency))
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        if amount_minor > 0:
            self.amount.setText(editable_text(amount_minor, currency))
        amount_row = QHBoxLayout()
        amount_row.addWidget(self.amount, 1)
        amount_row.addWidget(QLabel(currency))
        self.paid_on = _date_edit("payment_date")
        self.method = QComboBox(objectName="payment_method")
        for method in PaymentMethod:
            self.method.addItem(method.label, method)
        self.reference = QLineEdit(objectName="payment_reference")
        self.reference.setPlaceholderText("Receipt, transfer or claim number")
        self.reason = QLineEdit(objectName="payment_reason")
        self.reason.setPlaceholderText("e.g. the declined test was paid in advance")

        self.add_field(
            "amount", "&Amount refunded" if refund else "&Amount", amount_row, self.amount
        )
        self.add_field("paid_on", "&Date", self.paid_on)
        self.add_field("method", "&Method", self.method)
        self.add_field("reference", "Re&ference", self.reference)
        if refund:
            self.add_field("reason", "Reaso&n", self.reason)
        else:
            self.reason.hide()
        self.ok_button_text("Refund" if refund else "Record payment")
        self.setMinimumWidth(460)
        self.amount.setFocus()
        self.amount.selectAll()

    def amount_minor(self) -> int:
        """Positive as typed, negative for a refund; MoneyError when it is not an amount."""
        typed = parse_amount(self.amount.text(), self._currency)
        return -typed if self._refund else typed

    def accept(self) -> None:
        try:
            amount = self.amount_minor()
        except MoneyError as exc:
            self.show_errors({"amount": str(exc)})
            self.amount.setFocus()
            return
        draft = PaymentDraft(
            amount_minor=amount,
            paid_on=self.paid_on.date().toPython(),  # type: ignore[arg-type]
            method=PaymentMethod(self.method.currentData()),
            reference=self.reference.text(),
            reason=self.reason.text(),
        )
        errors = self.apply(draft)
        self.show_errors(errors or {})
        if errors is None:
            super().accept()
