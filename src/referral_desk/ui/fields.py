"""Form pieces dialogs share: a field with its message underneath, a status line, a password
box, and a dialog that grows to show a message that just appeared."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QVBoxLayout, QWidget

from referral_desk.ui.case_form import ERROR_STYLE

HINT_STYLE = "color: #555555;"
MISMATCH = "The two passwords differ; type the same password in both boxes."


def fit_height(dialog: QWidget) -> None:
    """Grow the dialog to fit a message that just appeared. A window does not grow by itself
    for wrapped labels (their height depends on the width), so messages were cut off."""
    layout = dialog.layout()
    if layout is None:
        return
    # The boxes inside lay themselves out again first; then the dialog's layout forgets the
    # height-for-width it keeps from before the message.
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    layout.invalidate()
    width = dialog.width()
    needed = (
        layout.totalHeightForWidth(width)
        if layout.hasHeightForWidth()
        else layout.totalSizeHint().height()
    )
    if needed > dialog.height():
        dialog.resize(width, needed)


class MessageField(QWidget):
    """An editor with its message underneath: a problem in red, or a quiet hint."""

    def __init__(self, editor: QWidget, hint: str = "") -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.editor = editor
        self.hint = hint
        self.message = QLabel(objectName=f"{editor.objectName()}_message")
        self.message.setWordWrap(True)
        layout.addWidget(editor)
        layout.addWidget(self.message)
        self.show_problem("")

    def show_problem(self, problem: str) -> None:
        self.message.setStyleSheet(ERROR_STYLE if problem else HINT_STYLE)
        self.message.setText(problem or self.hint)
        self.message.setVisible(bool(problem or self.hint))
        window = self.window()
        if window is not self:  # placed in its dialog already
            fit_height(window)


class StatusLine(QLabel):
    """A dialog's one line of news: a quiet hint, or a problem in red. Hidden until it says
    something; the dialog grows to show it."""

    def __init__(self, object_name: str) -> None:
        super().__init__(objectName=object_name)
        self.setWordWrap(True)
        self.hide()

    def say(self, text: str, *, problem: bool = False) -> None:
        self.setStyleSheet(ERROR_STYLE if problem else HINT_STYLE)
        self.setText(text)
        self.show()
        fit_height(self.window())


def password_box(name: str) -> QLineEdit:
    box = QLineEdit(objectName=name)
    box.setEchoMode(QLineEdit.EchoMode.Password)
    return box
