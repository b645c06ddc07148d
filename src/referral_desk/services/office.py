"""The office profile: what is set once for the whole office (for now, its currency and
whether assigning a specialist quotes their fee)."""

from __future__ import annotations

from dataclasses import dataclass

from babel import default_locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import CostLineRecord, FeeService, Payment, Setting, Specialist
from referral_desk.domain.money import (
    MoneyError,
    check_currency,
    currency_for_locale,
    format_iso,
    minor_digits,
    normalise_locale,
)
from referral_desk.services.errors import ValidationError

CURRENCY = "office_currency"
SPECIALIST_FEE_ESTIMATE = "specialist_fee_estimate"


def system_locale() -> str:
    """The locale of this computer, for programs without a screen (the CLI)."""
    return normalise_locale(default_locale("LC_NUMERIC"))


@dataclass(frozen=True)
class OfficeProfile:
    currency: str
    currency_is_set: bool  # False: taken from this computer's locale until costs pin it
    specialist_fee_estimate: bool  # assigning a specialist adds their fee as an estimate


def _setting(session: Session, key: str) -> str | None:
    stored = session.get(Setting, key)
    return stored.value if stored is not None else None


def office_currency(session: Session) -> str:
    return _setting(session, CURRENCY) or currency_for_locale(system_locale())


def pin_currency(session: Session) -> str:
    """Store the currency the first time money is recorded: amounts mean nothing without it,
    and a later change of the computer's locale must not change what they mean."""
    currency = office_currency(session)
    if _setting(session, CURRENCY) is None:
        session.add(Setting(key=CURRENCY, value=currency))
    return currency


def quotes_specialist_fee(session: Session) -> bool:
    return _setting(session, SPECIALIST_FEE_ESTIMATE) != "0"


def get_profile(db: Database) -> OfficeProfile:
    with db.read() as session:
        return OfficeProfile(
            currency=office_currency(session),
            currency_is_set=_setting(session, CURRENCY) is not None,
            specialist_fee_estimate=quotes_specialist_fee(session),
        )


def set_specialist_fee_estimate(db: Database, enabled: bool) -> None:
    with db.write() as session:
        session.merge(Setting(key=SPECIALIST_FEE_ESTIMATE, value="1" if enabled else "0"))
        session.commit()


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def set_currency(db: Database, code: str) -> str:
    """Set the office currency; refused once costs or payments are recorded in another one.

    Fee schedule prices and specialist fees keep their amounts (250.00 stays 250.00); a
    currency with fewer decimal places is refused while a price has cents it cannot hold.
    """
    try:
        new = check_currency(code)
    except MoneyError as exc:
        raise ValidationError({"currency": str(exc)}) from None
    with db.write() as session:
        current = office_currency(session)
        if new == current:
            session.merge(Setting(key=CURRENCY, value=new))
            session.commit()
            return new
        lines = session.scalar(select(func.count()).select_from(CostLineRecord)) or 0
        payments = session.scalar(select(func.count()).select_from(Payment)) or 0
        if lines or payments:
            raise ValidationError(
                {
                    "currency": f"Costs are already recorded in {current} "
                    f"({_count(lines, 'cost line')}, {_count(payments, 'payment')}). Changing "
                    "the currency would change what every one of them means, so the office "
                    f"stays in {current}."
                }
            )
        shift = minor_digits(new) - minor_digits(current)
        priced: list[tuple[str, object, str]] = [
            (f"the fee of {s.name}", s, "fee_minor")
            for s in session.scalars(select(Specialist).where(Specialist.fee_minor != 0))
        ] + [
            (f"the price of {f.code} {f.name}", f, "price_minor")
            for f in session.scalars(select(FeeService).where(FeeService.price_minor != 0))
        ]
        for label, row, attribute in priced:
            amount = getattr(row, attribute)
            if shift < 0 and amount % 10**-shift:
                places = minor_digits(new)
                raise ValidationError(
                    {
                        "currency": f"{new} has {f'only {places}' if places else 'no'} decimal "
                        f"places, and {label} is {format_iso(amount, current)}. Round it to "
                        f"{'whole units' if places == 0 else f'{places} places'} first."
                    }
                )
            setattr(row, attribute, amount * 10**shift if shift >= 0 else amount // 10**-shift)
        session.merge(Setting(key=CURRENCY, value=new))
        session.commit()
    return new
