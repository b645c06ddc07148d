"""Ask for a short text (a reason, a note), hand it to `apply`, stay open on a refusal."""

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

from referral_desk.ui.case_form import ERROR_STYLE


class ReasonDialog(QDialog):
    def __init__(
        self,
        title: str,
        question: str,
        apply: Callable[[str], str | None],
        *,
        required: bool,
        ok_text: str,
        text: str = "",
        hint: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._apply = apply
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        heading = QLabel(question)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        if hint:  # a warning to read before typing, e.g. documents still missing
            warning = QLabel(hint, objectName="reason_hint")
            warning.setWordWrap(True)
            warning.setStyleSheet(ERROR_STYLE)
            layout.addWidget(warning)
        layout.addWidget(QLabel("Reason (required):" if required else "Note (optional):"))
        self.text = QPlainTextEdit(text, objectName="reason_text")
        self.text.setTabChangesFocus(True)
        self.text.setFixedHeight(80)
        layout.addWidget(self.text)
        self.message = QLabel(objectName="reason_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.text.setFocus()

    def accept(self) -> None:
        refusal = self._apply(self.text.toPlainText())
        if refusal:
            self.message.setText(refusal)
            self.message.show()
            self.adjustSize()  # room for the message below the text box
            return
        super().accept()
