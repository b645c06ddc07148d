from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_desk.domain.costs import (
    Approval,
    CostLine,
    CostRuleError,
    LineKind,
    PaymentMethod,
    PaymentStatus,
    asked,
    check_line,
    check_payment,
    overpays,
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


@pytest.mark.parametrize(
    ("charged", "quoted", "paid", "status", "label"),
    [
        (0, 0, [], PaymentStatus.NOTHING_DUE, "Nothing due"),
        (0, 20_000, [20_000], PaymentStatus.IN_ADVANCE, "Paid in advance"),  # a deposit
        (0, 0, [20_000], PaymentStatus.OVERPAID, "Overpaid"),  # nothing asked at all
        (30_000, 0, [], PaymentStatus.UNPAID, "Unpaid"),
        (30_000, 0, [10_000, -10_000], PaymentStatus.UNPAID, "Unpaid"),  # paid and refunded
        (30_000, 0, [29_999], PaymentStatus.PARTLY_PAID, "Partly paid"),
        (30_000, 0, [30_000], PaymentStatus.PAID, "Paid"),
        (30_000, 0, [30_001], PaymentStatus.OVERPAID, "Overpaid"),
        # Consultation charged, an approved test still quoted: paying both is not too much.
        (30_000, 12_000, [42_000], PaymentStatus.IN_ADVANCE, "Paid in advance"),
        (30_000, 12_000, [42_001], PaymentStatus.OVERPAID, "Overpaid"),
    ],
)
def test_every_payment_status_and_its_label(
    charged: int, quoted: int, paid: list[int], status: PaymentStatus, label: str
) -> None:
    lines = [CostLine(LineKind.FINAL, 1, charged)] if charged else []
    lines += [CostLine(LineKind.ESTIMATE, 1, quoted)] if quoted else []
    result = totals(lines, paid)
    assert (result.status, result.status.label) == (status, label)
    assert result.balance == charged - sum(paid)


def test_a_deposit_is_not_an_overpayment_but_more_than_everything_asked_is() -> None:
    """Charged consultation 450 plus a quoted test 300 the patient agreed to: 750 asked."""
    lines = [
        CostLine(LineKind.FINAL, 1, 45_000),
        CostLine(LineKind.ESTIMATE, 1, 30_000, Approval.APPROVED),
        CostLine(LineKind.ESTIMATE, 1, 99_000, Approval.DECLINED),  # asked of nobody
    ]
    current = totals(lines, [10_000])
    assert asked(current) == 75_000
    assert not overpays(current, 65_000)  # pays the rest, estimate included
    assert overpays(current, 65_001)
    assert not overpays(current, -5_000)  # a refund never overpays
    quoted_only = totals([CostLine(LineKind.ESTIMATE, 2, 20_000)], [])
    assert not overpays(quoted_only, 40_000) and overpays(quoted_only, 40_001)
    assert overpays(totals([], []), 1)  # nothing asked at all


@pytest.mark.parametrize(
    ("quantity", "price", "message"),
    [
        (1.5, 100, "The quantity must be a whole number, not 1.5"),
        (True, 100, "The quantity must be a whole number, not True"),
        (1, 99.99, "The price must be a whole number of minor units, not 99.99"),
    ],
)
def test_no_float_reaches_a_line(quantity: object, price: object, message: str) -> None:
    with pytest.raises(CostRuleError, match=re.escape(message)):
        check_line(quantity, price)  # type: ignore[arg-type]


def test_how_high_a_price_may_go_follows_the_currencys_places() -> None:
    check_line(1000, 10_000_000_00)  # EUR: ten million
    check_line(1, 10_000_000_000, minor_per_major=1000)  # KWD: ten million dinar
    with pytest.raises(CostRuleError, match="implausibly high"):
        check_line(1, 10_000_001, minor_per_major=1)  # JPY: just above ten million yen


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        (0, "", "A payment of zero records nothing"),
        (-500, "", "Say why the money is refunded"),
        (-500, "   ", "Say why the money is refunded"),
        (10_000_000_01, "", "implausibly large"),
        (-10_000_000_01, "Typo", "implausibly large"),
        (12.5, "", "The amount must be a whole number of minor units"),
    ],
)
def test_bad_payments_are_refused_saying_why(amount: object, reason: str, message: str) -> None:
    with pytest.raises(CostRuleError, match=re.escape(message)):
        check_payment(amount, reason)  # type: ignore[arg-type]


def test_a_refund_with_its_reason_and_a_payment_are_fine() -> None:
    check_payment(-500, "Courier not needed")
    check_payment(10_000_000_00, "")


def test_labels_read_as_words() -> None:
    assert [k.label for k in LineKind] == ["Estimate", "Final"]
    assert [a.label for a in Approval] == ["", "Awaiting approval", "Approved", "Declined"]
    assert [m.label for m in PaymentMethod] == ["Cash", "Card", "Bank transfer", "Insurance"]
