"""How times, the clock and risks look on screen (local time, colours)."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtGui import QColor

from referral_desk.domain.clock import ClockReading, ClockState, Pace, describe_remaining

PACE_COLOURS = {
    Pace.ON_TRACK: (QColor("#1b5e20"), QColor("#e8f5e9")),
    Pace.DUE_SOON: (QColor("#8a4b00"), QColor("#fff3cd")),
    Pace.OVERDUE: (QColor("#ffffff"), QColor("#c62828")),
}
RISK_BACKGROUND = QColor("#fdecea")
RISK_TEXT = QColor("#8e1b10")


def local_time(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def clock_text(reading: ClockReading) -> str:
    if reading.state is ClockState.PAUSED and reading.remaining is not None:
        return f"paused, {describe_remaining(reading.remaining)}"
    if reading.state is ClockState.NOT_STARTED:
        return "awaiting records"
    if reading.remaining is not None:
        return describe_remaining(reading.remaining)
    if reading.answered_margin is not None:
        if reading.answered_margin >= timedelta(0):
            return "on time"
        return "late " + describe_remaining(-reading.answered_margin).removesuffix(" left")
    return ""
