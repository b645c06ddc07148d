from __future__ import annotations

import itertools

import pytest

from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.workflow import TransitionError, allowed_targets, check_transition

# The office's workflow, written out in full so that any change to the rules shows up here.
ALLOWED = {
    S.NEW: {S.AWAITING_RECORDS, S.READY_FOR_REVIEW, S.ON_HOLD, S.CANCELLED},
    S.AWAITING_RECORDS: {S.READY_FOR_REVIEW, S.ON_HOLD, S.CANCELLED},
    S.READY_FOR_REVIEW: {S.UNDER_REVIEW, S.AWAITING_RECORDS, S.ON_HOLD, S.CANCELLED},
    S.UNDER_REVIEW: {
        S.OPINION_RECEIVED,
        S.READY_FOR_REVIEW,
        S.AWAITING_RECORDS,
        S.ON_HOLD,
        S.CANCELLED,
    },
    S.OPINION_RECEIVED: {S.LETTER_SENT, S.ON_HOLD, S.CANCELLED},
    S.LETTER_SENT: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(ALLOWED, S)))
def test_every_transition_is_allowed_or_refused_as_the_office_works(current: S, target: S) -> None:
    reason = "patient asked to wait"
    if target in ALLOWED[current]:
        check_transition(current, target, reason=reason)
    else:
        with pytest.raises(TransitionError):
            check_transition(current, target, reason=reason)


@pytest.mark.parametrize("held_from", [S.AWAITING_RECORDS, S.UNDER_REVIEW, S.OPINION_RECEIVED])
def test_a_case_on_hold_resumes_only_where_it_was_held_or_is_cancelled(held_from: S) -> None:
    assert allowed_targets(S.ON_HOLD, held_from) == sorted(
        {held_from, S.CANCELLED}, key=lambda s: s.rank
    )
    other = S.LETTER_SENT
    with pytest.raises(TransitionError, match="cannot move"):
        check_transition(S.ON_HOLD, other, held_from=held_from)


@pytest.mark.parametrize("target", [S.ON_HOLD, S.CANCELLED])
def test_hold_and_cancel_need_a_reason(target: S) -> None:
    with pytest.raises(TransitionError, match="reason"):
        check_transition(S.UNDER_REVIEW, target, reason="   ")
    check_transition(S.UNDER_REVIEW, target, reason="Patient travelling")


def test_no_letter_without_an_opinion() -> None:
    with pytest.raises(TransitionError, match="letter sent"):
        check_transition(S.UNDER_REVIEW, S.LETTER_SENT)


def test_a_closed_case_says_it_can_no_longer_change() -> None:
    with pytest.raises(TransitionError, match="can no longer change"):
        check_transition(S.CLOSED, S.NEW)
