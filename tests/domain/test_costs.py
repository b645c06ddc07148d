from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_desk.domain.costs import (
    Approval,
    CostLine,
    CostRuleError,
    LineKind,
    PaymentStatus,
    check_line,
    totals,
)

lines = st.builds(
    CostLine,
    kind=st.sampled_from(LineKind),
    quantity=st.integers(1, 1000),
    unit_price_minor=st.integers(0, 10_000_000_00),
    approval=st.sampled_from(Approval),
)
payments = st.lists(st.integers(-1_000_000_00, 1_000_000_00), max_size=8)


@given(st.lists(lines, max_size=30), payments)
def test_totals_are_exact_sums_in_any_order(cost_lines: list[CostLine], paid: list[int]) -> None:
    forward = totals(cost_lines, paid)
    assert totals(list(reversed(cost_lines)), list(reversed(paid))) == forward
    assert forward.final == sum(
        line.quantity * line.unit_price_minor for line in cost_lines if line.kind is LineKind.FINAL
    )
    assert forward.balance + forward.paid == forward.final  # nothing lost or invented


@pytest.mark.parametrize(
    ("paid", "status"),
    [
        ([], PaymentStatus.UNPAID),
        ([10_000], PaymentStatus.PARTLY_PAID),
        ([20_000, 10_000], PaymentStatus.PAID),
        ([40_000], PaymentStatus.OVERPAID),
        ([40_000, -10_000], PaymentStatus.PAID),  # a refund brings it back
    ],
)
def test_what_a_case_still_owes(paid: list[int], status: PaymentStatus) -> None:
    charged = [CostLine(LineKind.FINAL, 2, 15_000)]
    assert totals(charged, paid).status is status


def test_declined_tests_leave_the_estimate_and_pending_ones_are_shown_apart() -> None:
    quoted = [
        CostLine(LineKind.ESTIMATE, 1, 45_000),
        CostLine(LineKind.ESTIMATE, 1, 30_000, Approval.PENDING),
        CostLine(LineKind.ESTIMATE, 1, 99_000, Approval.DECLINED),
    ]
    result = totals(quoted, [])
    assert (result.estimated, result.awaiting_approval) == (75_000, 30_000)
    assert result.status is PaymentStatus.NOTHING_DUE


@pytest.mark.parametrize(
    ("quantity", "price", "message"),
    [
        (0, 100, "between 1 and 1000"),
        (-2, 100, "between 1 and 1000"),
        (1001, 100, "between 1 and 1000"),
        (1, -1, "cannot be negative"),
        (1, 10**12, "implausibly high"),
    ],
)
def test_absurd_lines_are_refused(quantity: int, price: int, message: str) -> None:
    with pytest.raises(CostRuleError, match=message):
        check_line(quantity, price)
