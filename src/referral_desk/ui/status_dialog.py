"""Confirm a status change, with the reason the workflow asks for."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.workflow import REASON_REQUIRED
from referral_desk.ui.reason_dialog import ReasonDialog


class StatusDialog(ReasonDialog):
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
        super().__init__(
            f"{reference}: {target.label}",
            f"Move {reference} to <b>{target.label}</b>?",
            apply,
            required=target in REASON_REQUIRED or bool(hint),
            ok_text=f"Move to {target.label}",
            hint=hint,
            parent=parent,
        )
        self.reason = self.text
