"""Cost lines, payments and what a case still owes, in integer minor units.

Quantities are whole numbers and prices whole minor units, so a line total is an exact
product and no rounding happens anywhere: totals are plain sums and never drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from referral_desk.domain.money import MAX_MAJOR_UNITS
from referral_desk.domain.specialists import Role

MAX_QUANTITY = 1000

# The fee schedule service a specialist's fee is quoted under, per role.
ROLE_SERVICE_CODES: dict[Role, str] = {
    Role.PRIMARY: "CONSULT",
    Role.PATHOLOGY: "PATH",
    Role.RADIOLOGY: "RAD",
}


class LineKind(StrEnum):
    ESTIMATE = "estimate"  # quoted before the work, for the patient to see first
    FINAL = "final"  # charged

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Approval(StrEnum):
    NOT_NEEDED = "not_needed"
    PENDING = "pending"  # an additional test the patient has not agreed to yet
    APPROVED = "approved"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return {"not_needed": "", "pending": "Awaiting approval"}.get(
            self.value, self.value.capitalize()
        )


class PaymentStatus(StrEnum):
    NOTHING_DUE = "nothing_due"
    IN_ADVANCE = "in_advance"  # paid before anything was charged (a deposit on the quote)
    UNPAID = "unpaid"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    OVERPAID = "overpaid"

    @property
    def label(self) -> str:
        if self is PaymentStatus.IN_ADVANCE:
            return "Paid in advance"
        return self.value.replace("_", " ").capitalize()


class CostRuleError(ValueError):
    """A cost line or payment the office's rules refuse, with a message for the user."""


@dataclass(frozen=True)
class CostLine:
    kind: LineKind
    quantity: int
    unit_price_minor: int
    approval: Approval = Approval.NOT_NEEDED

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


def _whole(value: object) -> bool:
    """An int and nothing else: a float (or a bool) never reaches an amount."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_line(quantity: int, unit_price_minor: int, minor_per_major: int = 100) -> None:
    if not _whole(quantity):
        raise CostRuleError(f"The quantity must be a whole number, not {quantity!r}.")
    if not _whole(unit_price_minor):
        raise CostRuleError(
            f"The price must be a whole number of minor units, not {unit_price_minor!r}."
        )
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CostRuleError(f"The quantity must be between 1 and {MAX_QUANTITY}.")
    if unit_price_minor < 0:
        raise CostRuleError("A price cannot be negative; record a refund as a payment.")
    if unit_price_minor > MAX_MAJOR_UNITS * minor_per_major:
        raise CostRuleError("The price is implausibly high; check the amount.")


@dataclass(frozen=True)
class Totals:
    estimated: int  # estimate lines the patient has not declined
    awaiting_approval: int  # estimate lines still waiting for the patient's yes or no
    final: int
    paid: int  # payments less refunds
    balance: int  # final - paid: negative means the office owes the patient
    status: PaymentStatus


def totals(lines: Iterable[CostLine], payments: Iterable[int]) -> Totals:
    lines = list(lines)
    estimated = sum(
        line.total_minor
        for line in lines
        if line.kind is LineKind.ESTIMATE and line.approval is not Approval.DECLINED
    )
    awaiting = sum(
        line.total_minor
        for line in lines
        if line.kind is LineKind.ESTIMATE and line.approval is Approval.PENDING
    )
    final = sum(line.total_minor for line in lines if line.kind is LineKind.FINAL)
    paid = sum(payments)
    return Totals(
        estimated, awaiting, final, paid, final - paid, payment_status(final, paid, estimated)
    )


def payment_status(final: int, paid: int, estimated: int = 0) -> PaymentStatus:
    """Paying more than is charged is "in advance" while the open quote covers it (a deposit),
    and "overpaid" beyond that: the same line the overpayment warning draws."""
    balance = final - paid
    if final == 0 and paid == 0:
        return PaymentStatus.NOTHING_DUE
    if paid <= 0:
        return PaymentStatus.UNPAID
    if balance > 0:
        return PaymentStatus.PARTLY_PAID
    if balance == 0:
        return PaymentStatus.PAID
    if paid <= final + estimated:
        return PaymentStatus.IN_ADVANCE
    return PaymentStatus.OVERPAID


def asked(current: Totals) -> int:
    """What the patient is asked to pay in all: the charges and what is still quoted.

    Charging a quoted line moves it from the estimate to the charges, so the two never
    count the same work twice; a declined test is in neither.
    """
    return current.final + current.estimated


def overpays(current: Totals, amount: int) -> bool:
    """True when a payment takes what was paid above the charges and the open quote.

    A deposit on the estimate is expected; paying more than anything asked for deserves a
    second look (it is still allowed: the balance then shows what the office owes back).
    """
    return amount > 0 and current.paid + amount > asked(current)


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    INSURANCE = "insurance"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def check_payment(amount_minor: int, reason: str, minor_per_major: int = 100) -> None:
    """A payment is positive; a refund is negative and says why; zero is neither."""
    if not _whole(amount_minor):
        raise CostRuleError(
            f"The amount must be a whole number of minor units, not {amount_minor!r}."
        )
    if amount_minor == 0:
        raise CostRuleError("A payment of zero records nothing; enter the amount received.")
    if abs(amount_minor) > MAX_MAJOR_UNITS * minor_per_major:
        raise CostRuleError("The amount is implausibly large; check it.")
    if amount_minor < 0 and not reason.strip():
        raise CostRuleError("Say why the money is refunded.")
