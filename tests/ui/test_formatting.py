from __future__ import annotations

from datetime import timedelta

from referral_desk.domain.clock import ClockReading, ClockState, Pace
from referral_desk.ui.formatting import clock_text


def test_the_time_left_column_says_how_each_clock_stands() -> None:
    def text(
        state: ClockState, remaining: timedelta | None = None, margin: timedelta | None = None
    ) -> str:
        return clock_text(ClockReading(state, None, remaining, Pace.NONE, margin))

    assert text(ClockState.NOT_STARTED) == "awaiting records"
    assert text(ClockState.RUNNING, timedelta(hours=5, minutes=20)) == "5 h 20 min left"
    assert text(ClockState.PAUSED, timedelta(hours=30)) == "paused, 1 d 6 h left"
    assert text(ClockState.STOPPED, margin=timedelta(hours=2)) == "on time"
    assert text(ClockState.STOPPED, margin=timedelta(hours=-4, minutes=-40)) == "late 4 h 40 min"
    assert text(ClockState.STOPPED) == ""  # cancelled before any answer
