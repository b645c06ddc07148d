"""Confirm a status change, with the reason the workflow asks for."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.workflow import REASON_REQUIRED
from referral_desk.ui.case_form import ERROR_STYLE


class StatusDialog(QDialog):
    """Asks for the reason, then `apply(reason)`; stays open showing the refusal, if any."""

    def __init__(
        self,
        reference: str,
        target: CaseStatus,
        apply: Callable[[str], str | None],
        parent: QWidget | None = None,
        *,
        hint: str = "",
    ) -> None:
        super().__init__(parent)
        self._apply = apply
        self.setWindowTitle(f"{reference}: {target.label}")
        layout = QVBoxLayout(self)
        needs = target in REASON_REQUIRED or bool(hint)
        layout.addWidget(QLabel(f"Move {reference} to <b>{target.label}</b>?"))
        if hint:  # e.g. documents still missing: say so before the user types
            warning = QLabel(hint, objectName="status_hint")
            warning.setWordWrap(True)
            warning.setStyleSheet(ERROR_STYLE)
            layout.addWidget(warning)
        layout.addWidget(QLabel("Reason (required):" if needs else "Note (optional):"))
        self.reason = QPlainTextEdit(objectName="status_reason")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(70)
        layout.addWidget(self.reason)
        self.message = QLabel(objectName="status_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(f"Move to {target.label}")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.reason.setFocus()

    def accept(self) -> None:
        refusal = self._apply(self.reason.toPlainText())
        if refusal:
            self.message.setText(refusal)
            self.message.show()
            self.adjustSize()  # room for the message below the text box
            return
        super().accept()
