"""What a role may not do, shown where the buttons are: greyed out, saying who may.

The services refuse the action anyway (services.acting); this only spares the user a click
that cannot succeed.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from referral_desk.domain.access import AccessError, Actor, Permission


def refusal(actor: Actor, permission: Permission, action: str) -> str | None:
    """Why `actor` may not do `action` ("A manager cannot record a payment; ask ..."), or
    None when they may."""
    try:
        actor.require(permission, action)
    except AccessError as exc:
        return str(exc)
    return None


def allow(
    control: QWidget | QAction, why_not: str | None, *, enabled: bool = True, tooltip: str = ""
) -> None:
    """Enable `control` when the role allows it (and `enabled`); otherwise grey it out with
    the reason as its tooltip."""
    control.setEnabled(why_not is None and enabled)
    control.setToolTip(why_not if why_not is not None else tooltip)


def make_read_only(form: QWidget, why: str) -> None:
    """Every input in `form` shows its value but takes no edit: text stays selectable."""
    for line in form.findChildren(QLineEdit):
        line.setReadOnly(True)
    for text in (*form.findChildren(QPlainTextEdit), *form.findChildren(QTextEdit)):
        text.setReadOnly(True)
    for spin in form.findChildren(QAbstractSpinBox):
        spin.setReadOnly(True)
    for choice in (*form.findChildren(QComboBox), *form.findChildren(QCheckBox)):
        choice.setEnabled(False)
        choice.setToolTip(why)
    for button in form.findChildren(QAbstractButton):
        if not isinstance(button, QCheckBox):
            button.setEnabled(False)
            button.setToolTip(why)
