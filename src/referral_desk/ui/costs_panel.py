"""The Costs tab of the case screen: what was quoted and charged, the patient's approval of
extra tests, payments and refunds, what the case still owes, and the history of all of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.costs import Approval, LineKind, PaymentStatus
from referral_desk.services import costs, fee_schedule
from referral_desk.services.case_state import CaseChange
from referral_desk.services.costs import CaseCosts, LineDraft, LineInfo, PaymentDraft, PaymentInfo
from referral_desk.services.errors import ServiceError, ValidationError
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.cost_dialogs import AnswerDialog, Errors, LineDialog, PaymentDialog
from referral_desk.ui.formatting import local_time
from referral_desk.ui.money import amount_text
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.reason_dialog import ReasonDialog
from referral_desk.ui.tables import row_table

LINE_COLUMNS = ("Description", "Kind", "Qty", "Unit price", "Total", "Approval")
PAYMENT_COLUMNS = ("Date", "Method", "Reference", "Amount", "Reason")
LINE_AMOUNT_COLUMNS = frozenset({2, 3, 4})
PENDING_BACKGROUND = QColor("#fff3cd")
DECLINED_TEXT = QColor("#777777")
REFUND_TEXT = QColor("#b3261e")
DONE_STYLE = "color: #1e5e2a;"
LETTER_STYLE = (
    "background: #fff3cd; color: #5c3c00; border: 1px solid #e0b252; border-radius: 4px;"
    "padding: 6px;"
)
STATUS_COLOURS = {  # text, background
    PaymentStatus.NOTHING_DUE: ("#555555", "#eeeeee"),
    PaymentStatus.IN_ADVANCE: ("#0d47a1", "#e3f2fd"),
    PaymentStatus.UNPAID: ("#8e1b10", "#fdecea"),
    PaymentStatus.PARTLY_PAID: ("#5c3c00", "#fff3cd"),
    PaymentStatus.PAID: ("#1b5e20", "#e8f5e9"),
    PaymentStatus.OVERPAID: ("#4a148c", "#ede4f7"),
}
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
TOOLTIPS = {  # by object name; a role that may not use a button sees why instead
    "add_line": "A service from the fee schedule or free text (Insert)",
    "edit_line": "Change the selected line (Enter or double-click)",
    "charge_line": "The quoted work was done: charge the estimate at the quoted amount",
    "approve_line": "The patient agreed to the cost of this test",
    "decline_line": "The patient does not want this test",
    "remove_line": "Remove the selected line (Delete)",
    "refund": "Money paid back to the patient, with the reason",
    "remove_payment": "Take back a payment recorded by mistake (Delete)",
}


def approval_text(line: LineInfo) -> str:
    """'Awaiting approval', 'Approved on 2026-11-20', or nothing when none is needed."""
    if line.approval in (Approval.APPROVED, Approval.DECLINED) and line.approval_on:
        return f"{line.approval.label} on {line.approval_on.isoformat()}"
    return line.approval.label


class CostsPanel(QWidget):
    changed = Signal(object)  # a CaseChange: the case screen reloads and keeps in step

    def __init__(
        self, db: Database, case_id: int, actor: Actor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._db, self._case_id, self._actor = db, case_id, actor
        # Managers see the costs; changing them is for the office staff.
        self._edit_refused = refusal(actor, Permission.EDIT_COSTS, "change a case's costs")
        self._costs: CaseCosts | None = None

        self.letter_note = QLabel(objectName="costs_letter_note")
        self.letter_note.setWordWrap(True)
        self.letter_note.setStyleSheet(LETTER_STYLE)
        self.letter_note.hide()
        self.message = QLabel(objectName="costs_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        # Lines: quoted and charged
        self.lines_table = row_table(LINE_COLUMNS, "cost_lines")
        header = self.lines_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in LINE_AMOUNT_COLUMNS:
            self.lines_table.horizontalHeaderItem(column).setTextAlignment(RIGHT)
        self.lines_table.itemSelectionChanged.connect(self._update_buttons)
        self.lines_table.doubleClicked.connect(lambda _index: self.edit_line())
        self.add_button = QPushButton("&Add line…", objectName="add_line")
        self.add_button.clicked.connect(lambda: self.add_line())
        self.edit_button = QPushButton("&Edit…", objectName="edit_line")
        self.edit_button.clicked.connect(lambda: self.edit_line())
        self.charge_button = QPushButton("C&harge", objectName="charge_line")
        self.charge_button.clicked.connect(lambda: self.charge_line())
        self.approve_button = QPushButton("A&pproved…", objectName="approve_line")
        self.approve_button.clicked.connect(lambda: self.answer(approved=True))
        self.decline_button = QPushButton("Dec&lined…", objectName="decline_line")
        self.decline_button.clicked.connect(lambda: self.answer(approved=False))
        self.remove_button = QPushButton("&Remove…", objectName="remove_line")
        self.remove_button.clicked.connect(lambda: self.remove_line())
        line_buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.charge_button):
            line_buttons.addWidget(button)
        line_buttons.addSpacing(12)
        line_buttons.addWidget(self.approve_button)
        line_buttons.addWidget(self.decline_button)
        line_buttons.addStretch(1)
        line_buttons.addWidget(self.remove_button)
        for keys, slot in (
            (QKeySequence.StandardKey.Delete, self.remove_line),
            (Qt.Key.Key_Insert, self.add_line),
            (Qt.Key.Key_Return, self.edit_line),
            (Qt.Key.Key_Enter, self.edit_line),
        ):
            shortcut = QShortcut(QKeySequence(keys), self.lines_table, lambda s=slot: s())
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        lines_box = QGroupBox("Quoted and charged")
        lines_layout = QVBoxLayout(lines_box)
        lines_layout.addWidget(self.lines_table)
        lines_layout.addLayout(line_buttons)

        # Totals: one strip, the figures a patient asks about on the phone
        self.figures: dict[str, tuple[QLabel, QLabel, QWidget]] = {}
        strip = QFrame(objectName="cost_totals")
        strip.setFrameShape(QFrame.Shape.StyledPanel)
        strip_layout = QHBoxLayout(strip)
        for key, caption in (
            ("estimated", "Estimated"),
            ("awaiting", "Awaiting approval"),
            ("charged", "Charged"),
            ("paid", "Paid"),
            ("balance", "Balance"),
        ):
            figure = QWidget()
            column = QVBoxLayout(figure)
            column.setContentsMargins(6, 0, 12, 0)
            column.setSpacing(0)
            caption_label = QLabel(caption, objectName=f"{key}_caption")
            caption_label.setStyleSheet("color: #555555;")
            value = QLabel(objectName=f"{key}_total")
            value.setStyleSheet("font-size: 12pt; font-weight: bold;")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            column.addWidget(caption_label)
            column.addWidget(value)
            strip_layout.addWidget(figure)
            self.figures[key] = (caption_label, value, figure)
        strip_layout.addStretch(1)
        self.status_badge = QLabel(objectName="payment_status")
        strip_layout.addWidget(self.status_badge)

        # Payments and refunds
        self.payments_table = row_table(PAYMENT_COLUMNS, "payments")
        self.payments_table.horizontalHeader().setSectionResizeMode(
            4, QHeaderView.ResizeMode.Stretch
        )
        self.payments_table.horizontalHeaderItem(3).setTextAlignment(RIGHT)
        self.payments_table.itemSelectionChanged.connect(self._update_buttons)
        shortcut = QShortcut(
            QKeySequence(QKeySequence.StandardKey.Delete),
            self.payments_table,
            lambda: self.remove_payment(),
        )
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.pay_button = QPushButton("Record pa&yment…", objectName="record_payment")
        self.pay_button.clicked.connect(lambda: self.record_payment())
        self.refund_button = QPushButton("Re&fund…", objectName="refund")
        self.refund_button.clicked.connect(lambda: self.record_payment(refund=True))
        self.remove_payment_button = QPushButton("Remove pay&ment…", objectName="remove_payment")
        self.remove_payment_button.clicked.connect(lambda: self.remove_payment())
        payment_buttons = QHBoxLayout()
        payment_buttons.addWidget(self.pay_button)
        payment_buttons.addWidget(self.refund_button)
        payment_buttons.addStretch(1)
        payment_buttons.addWidget(self.remove_payment_button)
        payments_box = QGroupBox("Payments and refunds")
        payments_layout = QVBoxLayout(payments_box)
        payments_layout.addWidget(self.payments_table)
        payments_layout.addLayout(payment_buttons)

        self.history = QListWidget(objectName="cost_history")
        self.history.setWordWrap(True)
        # Wrapped rows are measured once; re-measure them when the pane changes width.
        self.history.setResizeMode(QListView.ResizeMode.Adjust)
        self.history.setAlternatingRowColors(True)
        history_box = QGroupBox("Cost history")
        QVBoxLayout(history_box).addWidget(self.history)

        lower = QSplitter()
        lower.addWidget(payments_box)
        lower.addWidget(history_box)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(lines_box, 1)
        upper_layout.addWidget(strip)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addWidget(self.letter_note)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        self.reload()

    # --- showing -------------------------------------------------------------------------
    @property
    def costs(self) -> CaseCosts:
        assert self._costs is not None
        return self._costs

    @property
    def awaiting_approval(self) -> int:
        """Quoted tests the patient has not answered yet (for the tab's title)."""
        return sum(
            1
            for line in self.costs.lines
            if line.kind is LineKind.ESTIMATE and line.approval is Approval.PENDING
        )

    def reload(self) -> None:
        """Show the case's costs as stored now, keeping the selected line and payment."""
        line, payment = self.selected_line(), self.selected_payment()
        self._costs = costs.case_costs(self._db, self._case_id)
        self.letter_note.setText(
            f"The letter for {self.costs.reference} has been sent with its costs. Adding, "
            "changing or removing a charge now asks for a reason, kept in the cost history."
        )
        self.letter_note.setVisible(self.costs.letter_sent)
        self._show_lines()
        self._show_totals()
        self._show_payments()
        self._show_history()
        if line is not None:
            self._select(self.lines_table, line.id)
        if payment is not None:
            self._select(self.payments_table, payment.id)
        self._update_buttons()

    def _money(self, minor: int) -> str:
        return amount_text(minor, self.costs.currency)

    def _show_lines(self) -> None:
        table = self.lines_table
        table.setRowCount(len(self.costs.lines))
        for row, line in enumerate(self.costs.lines):
            d = line.draft
            description = d.description + (f"  ({line.service_code})" if line.service_code else "")
            cells = (
                description,
                d.kind.label,
                str(d.quantity),
                self._money(d.unit_price_minor),
                self._money(line.total_minor),
                approval_text(line),
            )
            declined = line.approval is Approval.DECLINED
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, line.id)
                if column in LINE_AMOUNT_COLUMNS:
                    item.setTextAlignment(RIGHT)
                if line.approval is Approval.PENDING:
                    item.setBackground(PENDING_BACKGROUND)
                if declined:  # not owed: still shown, so the quote the patient saw is complete
                    item.setForeground(DECLINED_TEXT)
                    font = QFont(item.font())
                    font.setStrikeOut(column in (0, 4))
                    item.setFont(font)
                table.setItem(row, column, item)
            tip = f"Added {local_time(line.created_at)} by {line.created_by}"
            if line.from_assignment:
                tip += ", quoted when the specialist was assigned"
            if line.approval_by:
                tip += f"\nAnswer recorded by {line.approval_by}"
            table.item(row, 0).setToolTip(tip)

    def _show_totals(self) -> None:
        totals = self.costs.totals
        self.figures["estimated"][1].setText(self._money(totals.estimated))
        self.figures["awaiting"][1].setText(self._money(totals.awaiting_approval))
        self.figures["awaiting"][2].setVisible(totals.awaiting_approval > 0)
        self.figures["charged"][1].setText(self._money(totals.final))
        self.figures["paid"][1].setText(self._money(totals.paid))
        caption, value, _ = self.figures["balance"]
        if totals.balance < 0:
            caption.setText(
                "Paid ahead of charges"
                if totals.status is PaymentStatus.IN_ADVANCE
                else "Owed to the patient"
            )
            value.setText(self._money(-totals.balance))
        else:
            caption.setText("Balance due" if totals.balance > 0 else "Balance")
            value.setText(self._money(totals.balance))
        fg, bg = STATUS_COLOURS[totals.status]
        self.status_badge.setText(totals.status.label)
        self.status_badge.setStyleSheet(
            f"color: {fg}; background: {bg}; border-radius: 4px; padding: 4px 10px;"
            "font-size: 11pt; font-weight: bold;"
        )

    def _show_payments(self) -> None:
        table = self.payments_table
        table.setRowCount(len(self.costs.payments))
        for row, payment in enumerate(self.costs.payments):
            d = payment.draft
            cells = (
                d.paid_on.isoformat(),
                d.method.label + (" (refund)" if payment.is_refund else ""),
                d.reference,
                self._money(d.amount_minor),
                d.reason,
            )
            recorded = f"Recorded {local_time(payment.recorded_at)} by {payment.recorded_by}"
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, payment.id)
                item.setToolTip(f"{d.reason}\n{recorded}" if column == 4 and d.reason else recorded)
                if column == 3:
                    item.setTextAlignment(RIGHT)
                if payment.is_refund and column in (1, 3):
                    item.setForeground(REFUND_TEXT)
                table.setItem(row, column, item)

    def _show_history(self) -> None:
        self.history.clear()
        for event in self.costs.history:  # newest first
            text = f"{local_time(event.at)} · {event.actor}\n{event.action}"
            if event.reason:
                text += f"\n“{event.reason}”"
            self.history.addItem(text)

    @staticmethod
    def _select(table: QTableWidget, wanted: int) -> None:
        for row in range(table.rowCount()):
            if table.item(row, 0).data(Qt.ItemDataRole.UserRole) == wanted:
                table.selectRow(row)
                return

    def selected_line(self) -> LineInfo | None:
        rows = self.lines_table.selectionModel().selectedRows()
        if self._costs is None or not rows:
            return None
        wanted = self.lines_table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((line for line in self.costs.lines if line.id == wanted), None)

    def selected_payment(self) -> PaymentInfo | None:
        rows = self.payments_table.selectionModel().selectedRows()
        if self._costs is None or not rows:
            return None
        wanted = self.payments_table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((p for p in self.costs.payments if p.id == wanted), None)

    def select_line(self, description: str) -> None:
        for row, line in enumerate(self.costs.lines):
            if line.draft.description == description:
                self.lines_table.selectRow(row)
                return
        raise KeyError(description)

    def _update_buttons(self) -> None:
        line = self.selected_line()
        estimate = line is not None and line.kind is LineKind.ESTIMATE
        answer = line.approval if line is not None else Approval.NOT_NEEDED
        enabled = {
            self.add_button: True,
            self.edit_button: line is not None,
            self.remove_button: line is not None,
            self.charge_button: estimate and answer in (Approval.NOT_NEEDED, Approval.APPROVED),
            self.approve_button: estimate and answer in (Approval.PENDING, Approval.DECLINED),
            self.decline_button: estimate and answer in (Approval.PENDING, Approval.APPROVED),
            self.pay_button: True,
            self.remove_payment_button: self.selected_payment() is not None,
            self.refund_button: self.costs.totals.paid > 0,
        }
        for button, can in enabled.items():
            allow(
                button,
                self._edit_refused,
                enabled=can,
                tooltip=TOOLTIPS.get(button.objectName(), ""),
            )

    def _may_change(self) -> bool:
        """For the keyboard and double-click ways in: say why not instead of a dialog."""
        if self._edit_refused:
            self.say(self._edit_refused, problem=True)
        return self._edit_refused is None

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if problem else DONE_STYLE)
        self.message.setVisible(bool(text))

    def _done(self, change: CaseChange) -> None:
        self.reload()
        self.say(change.message)
        self.changed.emit(change)

    def _refused(self, exc: ServiceError) -> None:
        """Nothing was saved (e.g. someone else changed the line): say why, show what is."""
        self.reload()
        self.say(str(exc), problem=True)

    def _describe(self, line: LineInfo) -> str:
        d = line.draft
        quantity = f"{d.quantity} × " if d.quantity != 1 else ""
        price = self._money(d.unit_price_minor)
        return f"{d.kind.label.lower()} “{d.description}” ({quantity}{price})"

    # --- lines -------------------------------------------------------------------------------
    def _line_dialog(self, line: LineInfo | None) -> LineDialog:
        current = line.draft.service_id if line else None
        services = [
            s
            for s in fee_schedule.list_services(self._db)
            if s.draft.active or s.id == current  # a line keeps a service no longer offered
        ]
        return LineDialog(
            self.costs.reference,
            self.costs.currency,
            services,
            line,
            letter_sent=self.costs.letter_sent,
            parent=self,
        )

    def add_line(self) -> bool:
        if not self._may_change():
            return False
        dialog = self._line_dialog(None)

        def apply(draft: LineDraft, reason: str) -> Errors | None:
            return self._save(
                lambda: costs.add_line(
                    self._db, self._case_id, draft, actor=self._actor, reason=reason
                )
            )

        dialog.apply = apply
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.lines_table.selectRow(self.lines_table.rowCount() - 1)
        return True

    def edit_line(self) -> bool:
        line = self.selected_line()
        if line is None or not self._may_change():
            return False
        dialog = self._line_dialog(line)

        def apply(draft: LineDraft, reason: str) -> Errors | None:
            return self._save(
                lambda: costs.update_line(
                    self._db,
                    line.id,
                    draft,
                    expected_version=line.version,
                    actor=self._actor,
                    reason=reason,
                )
            )

        dialog.apply = apply
        return dialog.exec() == QDialog.DialogCode.Accepted

    def _save(self, change: Callable[[], CaseChange]) -> Errors | None:
        """Run a change for a dialog: None when saved, else what to show in it."""
        try:
            done = change()
        except ValidationError as exc:
            return exc.errors
        except ServiceError as exc:
            return {"": str(exc)}
        self._done(done)
        return None

    def _with_reason(
        self,
        title: str,
        question: str,
        change: Callable[[str], CaseChange],
        *,
        required: bool,
        ok_text: str,
    ) -> bool:
        def apply(reason: str) -> str | None:
            try:
                done = change(reason)
            except ServiceError as exc:
                return str(exc)
            self._done(done)
            return None

        dialog = ReasonDialog(
            title, question, apply, required=required, ok_text=ok_text, parent=self
        )
        return dialog.exec() == QDialog.DialogCode.Accepted

    def remove_line(self) -> bool:
        line = self.selected_line()
        if line is None or not self._may_change():
            return False
        final = line.kind is LineKind.FINAL

        def change(reason: str) -> CaseChange:
            return costs.remove_line(
                self._db,
                line.id,
                expected_version=line.version,
                actor=self._actor,
                reason=reason,
            )

        what = self._describe(line)
        if final or self.costs.letter_sent:
            sent = " The letter has been sent with its costs." if self.costs.letter_sent else ""
            return self._with_reason(
                f"{self.costs.reference}: remove a line",
                f"Remove the {escape(what)}?{sent} It stays in the cost history.",
                change,
                required=line.removal_needs_reason,
                ok_text="Remove",
            )
        answer = QMessageBox.question(
            self,
            f"{self.costs.reference}: remove a line",
            f"Remove the {what}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            done = change("")
        except ServiceError as exc:
            self._refused(exc)
            return False
        self._done(done)
        return True

    def charge_line(self) -> bool:
        line = self.selected_line()
        if line is None or not self._may_change():
            return False

        def change(reason: str) -> CaseChange:
            return costs.charge_line(
                self._db,
                line.id,
                expected_version=line.version,
                actor=self._actor,
                reason=reason,
            )

        if self.costs.letter_sent:
            return self._with_reason(
                f"{self.costs.reference}: charge",
                f"Charge the {escape(self._describe(line))}? The letter has been sent with its "
                "costs.",
                change,
                required=True,
                ok_text="Charge",
            )
        try:
            done = change("")
        except ServiceError as exc:
            self._refused(exc)
            return False
        self._done(done)
        return True

    def answer(self, *, approved: bool) -> bool:
        line = self.selected_line()
        if line is None or not self._may_change():
            return False
        dialog = AnswerDialog(
            self.costs.reference,
            line,
            self._money(line.total_minor),
            approved=approved,
            parent=self,
        )

        def apply(on: date, note: str) -> Errors | None:
            return self._save(
                lambda: costs.answer_approval(
                    self._db,
                    line.id,
                    approved=approved,
                    on=on,
                    note=note,
                    actor=self._actor,
                    expected_version=line.version,
                )
            )

        dialog.apply = apply
        return dialog.exec() == QDialog.DialogCode.Accepted

    # --- payments ----------------------------------------------------------------------------
    def record_payment(self, *, refund: bool = False) -> bool:
        if not self._may_change():
            return False
        totals = self.costs.totals
        # Offered: what is due, or for a refund what the patient is owed; typed over at will.
        if refund:
            suggested = -totals.balance if totals.status is PaymentStatus.OVERPAID else 0
        else:
            suggested = max(totals.balance, 0)
        dialog = PaymentDialog(
            self.costs.reference,
            self.costs.currency,
            refund=refund,
            amount_minor=suggested,
            situation=self._situation(),
            parent=self,
        )

        def apply(draft: PaymentDraft) -> Errors | None:
            if not refund:
                try:
                    warning = costs.payment_warning(self._db, self._case_id, draft.amount_minor)
                except ServiceError as exc:
                    return {"": str(exc)}
                if warning and not self._confirm_overpayment(dialog, warning):
                    return {
                        "amount": "Not recorded. Correct the amount, or record it as an "
                        "overpayment."
                    }
            return self._save(
                lambda: costs.add_payment(self._db, self._case_id, draft, actor=self._actor)
            )

        dialog.apply = apply
        return dialog.exec() == QDialog.DialogCode.Accepted

    def _situation(self) -> str:
        """'Charged €1,160.00, paid €1,150.00: €10.00 due.' for the payment dialogs."""
        t = self.costs.totals
        if t.final == 0:
            quoted = f"Nothing charged yet; quoted {self._money(t.estimated)}"
            return f"{quoted}, paid {self._money(t.paid)}."
        owed = (
            f"{self._money(t.balance)} due"
            if t.balance >= 0
            else f"{self._money(-t.balance)} owed to the patient"
        )
        return f"Charged {self._money(t.final)}, paid {self._money(t.paid)}: {owed}."

    @staticmethod
    def _confirm_overpayment(parent: QWidget, warning: str) -> bool:
        answer = QMessageBox.question(
            parent,
            "More than is owed",
            f"{warning}\n\nRecord it anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def remove_payment(self) -> bool:
        payment = self.selected_payment()
        if payment is None or not self._may_change():
            return False
        d = payment.draft
        what = "refund" if payment.is_refund else "payment"
        return self._with_reason(
            f"{self.costs.reference}: remove a {what}",
            f"Remove the {what} of <b>{escape(self._money(abs(d.amount_minor)))}</b> of "
            f"{d.paid_on.isoformat()} ({d.method.label.lower()})? Only for one recorded by "
            "mistake; it stays in the cost history.",
            lambda reason: costs.remove_payment(
                self._db, payment.id, reason=reason, actor=self._actor
            ),
            required=True,
            ok_text="Remove",
        )
