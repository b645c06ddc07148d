"""Which status changes the office allows, and what each one needs."""

from __future__ import annotations

from referral_desk.domain.enums import CaseStatus as S

# Forward moves plus the few backward moves the office really makes (more records needed,
# a reviewer hands the case back). On hold and Cancelled are reachable from every open status.
_FORWARD: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.AWAITING_RECORDS, S.READY_FOR_REVIEW}),
    S.AWAITING_RECORDS: frozenset({S.READY_FOR_REVIEW}),
    S.READY_FOR_REVIEW: frozenset({S.UNDER_REVIEW, S.AWAITING_RECORDS}),
    S.UNDER_REVIEW: frozenset({S.OPINION_RECEIVED, S.READY_FOR_REVIEW, S.AWAITING_RECORDS}),
    S.OPINION_RECEIVED: frozenset({S.LETTER_SENT}),
    S.LETTER_SENT: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
    S.ON_HOLD: frozenset(),  # resuming goes back to where the case was held from
}
_CAN_HOLD_OR_CANCEL = frozenset(
    {S.NEW, S.AWAITING_RECORDS, S.READY_FOR_REVIEW, S.UNDER_REVIEW, S.OPINION_RECEIVED}
)
REASON_REQUIRED = frozenset({S.ON_HOLD, S.CANCELLED})
# The turnaround clock runs only while the specialist side owes the office an answer.
CLOCK_RUNNING_STATUSES = frozenset({S.READY_FOR_REVIEW, S.UNDER_REVIEW})
CLOSED_STATUSES = frozenset({S.CLOSED, S.CANCELLED})


class TransitionError(ValueError):
    """A status change the workflow does not allow, with a message fit for the user."""


def allowed_targets(current: S, held_from: S | None = None) -> list[S]:
    """Statuses a case may move to next, in workflow order."""
    targets = set(_FORWARD[current])
    if current is S.ON_HOLD:
        targets.add(held_from or S.AWAITING_RECORDS)
        targets.add(S.CANCELLED)
    elif current in _CAN_HOLD_OR_CANCEL:
        targets |= {S.ON_HOLD, S.CANCELLED}
    return sorted(targets, key=lambda s: s.rank)


def check_transition(
    current: S,
    target: S,
    *,
    reason: str = "",
    held_from: S | None = None,
    records_missing: int = 0,
) -> None:
    """Raise TransitionError unless `current -> target` is allowed with the given reason.

    Ready for review with required documents still missing starts the clock on incomplete
    records: allowed only as a stated override.
    """
    if target is current:
        raise TransitionError(f"The case is already {current.label.lower()}.")
    if target not in allowed_targets(current, held_from):
        if current in CLOSED_STATUSES:
            raise TransitionError(
                f"The case is {current.label.lower()}; its status can no longer change."
            )
        allowed = ", ".join(s.label for s in allowed_targets(current, held_from)) or "none"
        raise TransitionError(
            f"A case that is {current.label.lower()} cannot move to "
            f"{target.label.lower()} (allowed: {allowed})."
        )
    if target in REASON_REQUIRED and not reason.strip():
        action = "putting the case on hold" if target is S.ON_HOLD else "cancelling the case"
        raise TransitionError(f"Give a reason for {action}.")
    if target is S.READY_FOR_REVIEW and records_missing and not reason.strip():
        documents = "document is" if records_missing == 1 else "documents are"
        raise TransitionError(
            f"{records_missing} required {documents} still missing. Give a reason to start "
            "the review without them, or receive or waive them first."
        )
