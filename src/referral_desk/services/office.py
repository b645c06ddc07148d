"""The office profile: what is set once for the whole office: its currency, whether assigning
a specialist quotes their fee, and what heads its letters (name, address, contacts, the
signatory, the logo and the signature image)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Literal

import filetype
from babel import default_locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    CostLineRecord,
    FeeService,
    OfficeAsset,
    Payment,
    Setting,
    Specialist,
)
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.money import (
    MoneyError,
    check_currency,
    currency_for_locale,
    format_iso,
    minor_digits,
    normalise_locale,
)
from referral_desk.services.acting import acting
from referral_desk.services.errors import ValidationError

CURRENCY = "office_currency"
SPECIALIST_FEE_ESTIMATE = "specialist_fee_estimate"
# What heads the letters: one setting each (the 0005 migration removes them on downgrade).
DETAIL_KEYS = {
    "name": "office_name",
    "address": "office_address",
    "phone": "office_phone",
    "email": "office_email",
    "website": "office_website",
    "signatory_name": "office_signatory_name",
    "signatory_title": "office_signatory_title",
}
# Printed until the office gives its own name, so letters work from the first day; the
# office profile window says so.
DEFAULT_OFFICE_NAME = "Referral Desk office"
MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}
ImageName = Literal["logo", "signature"]
_IMAGE_LABELS = {"logo": "The logo", "signature": "The signature image"}
_MAX_CHARS = {
    "name": 200,
    "address": 500,
    "phone": 60,
    "email": 200,
    "website": 200,
    "signatory_name": 200,
    "signatory_title": 200,
}
_MAX_ADDRESS_LINES = 6
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def system_locale() -> str:
    """The locale of this computer, for programs without a screen (the CLI)."""
    return normalise_locale(default_locale("LC_NUMERIC"))


@dataclass(frozen=True)
class OfficeDetails:
    """What heads the office's letters. Blank fields are left off the letter."""

    name: str
    address: str = ""  # several lines
    phone: str = ""
    email: str = ""
    website: str = ""
    signatory_name: str = ""  # who signs the letters
    signatory_title: str = ""  # e.g. "Patient coordinator"


@dataclass(frozen=True)
class OfficeProfile:
    currency: str
    currency_is_set: bool  # False: taken from this computer's locale until costs pin it
    specialist_fee_estimate: bool  # assigning a specialist adds their fee as an estimate
    name: str = ""  # "" until the office gives its name (letters print DEFAULT_OFFICE_NAME)
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    signatory_name: str = ""
    signatory_title: str = ""
    has_logo: bool = False
    has_signature: bool = False

    @property
    def details(self) -> OfficeDetails:
        return OfficeDetails(
            self.name,
            self.address,
            self.phone,
            self.email,
            self.website,
            self.signatory_name,
            self.signatory_title,
        )

    @property
    def letter_name(self) -> str:
        """The name printed on letters: the office's own, or the default until it is set."""
        return self.name or DEFAULT_OFFICE_NAME


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


def profile(session: Session) -> OfficeProfile:
    """The profile inside a running unit of work (the letters read it with the case)."""
    details = {field: _setting(session, key) or "" for field, key in DETAIL_KEYS.items()}
    assets = set(session.scalars(select(OfficeAsset.name)))
    return OfficeProfile(
        currency=office_currency(session),
        currency_is_set=_setting(session, CURRENCY) is not None,
        specialist_fee_estimate=quotes_specialist_fee(session),
        has_logo="logo" in assets,
        has_signature="signature" in assets,
        **details,
    )


def get_profile(db: Database) -> OfficeProfile:
    with db.read() as session:
        return profile(session)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def check_details(details: OfficeDetails) -> tuple[OfficeDetails, dict[str, str]]:
    """The details tidied (spaces trimmed, blank address lines dropped) and any problems."""
    lines = [_one_line(line) for line in details.address.splitlines()]
    tidy = OfficeDetails(
        name=_one_line(details.name),
        address="\n".join(line for line in lines if line),
        phone=_one_line(details.phone),
        email=_one_line(details.email),
        website=_one_line(details.website),
        signatory_name=_one_line(details.signatory_name),
        signatory_title=_one_line(details.signatory_title),
    )
    errors: dict[str, str] = {}
    if not tidy.name:
        errors["name"] = "Give the office's name: it heads every letter."
    for field, limit in _MAX_CHARS.items():
        value = getattr(tidy, field)
        if len(value) > limit and field not in errors:
            errors[field] = f"This is {len(value):,} characters; keep it to {limit:,}."
    if "address" not in errors and tidy.address.count("\n") >= _MAX_ADDRESS_LINES:
        errors["address"] = (
            f"The address has {tidy.address.count(chr(10)) + 1} lines; a letterhead holds "
            f"{_MAX_ADDRESS_LINES}."
        )
    if tidy.email and "email" not in errors and not _EMAIL.fullmatch(tidy.email):
        errors["email"] = f"'{tidy.email}' is not an e-mail address (like office@example.org)."
    return tidy, errors


def set_office_details(db: Database, details: OfficeDetails, *, actor: Actor) -> OfficeDetails:
    """Store what heads the letters; returns the details as stored (tidied).

    Letters already archived keep the letterhead they were printed with.
    """
    tidy, errors = check_details(details)
    if errors:
        raise ValidationError(errors)
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the office profile") as session:
        for field, key in DETAIL_KEYS.items():
            value = getattr(tidy, field)
            stored = session.get(Setting, key)
            if value:
                session.merge(Setting(key=key, value=value))
            elif stored is not None:
                session.delete(stored)
        session.commit()
    return tidy


def check_image(which: ImageName, data: bytes) -> str | None:
    """Why the image cannot go on a letter, or None when it can."""
    label = _IMAGE_LABELS[which]
    if not data:
        return f"{label} file is empty."
    if len(data) > MAX_IMAGE_BYTES:
        return (
            f"{label} is {len(data) / 1024 / 1024:.1f} MB; it must be at most "
            f"{MAX_IMAGE_BYTES // 1024 // 1024} MB. Save it smaller (a few hundred pixels wide "
            "is plenty for a letter) and choose it again."
        )
    kind = filetype.guess(data)
    if kind is None or kind.mime not in IMAGE_TYPES:
        found = f"a {kind.extension.upper()} file" if kind is not None else "not an image"
        return f"{label} must be a PNG or JPEG image; this file is {found}."
    from reportlab.lib.utils import ImageReader  # on first use: start-up does not need it

    try:
        reader = ImageReader(BytesIO(data))
        width, height = reader.getSize()
        reader.getRGBData()  # decoded whole now: a damaged file must not fail a letter later
    except Exception:  # any decoding failure means the same to the user
        return (
            f"{label} looks like a {IMAGE_TYPES[kind.mime]} file but cannot be read; it may "
            "be damaged. Save it again and choose it again."
        )
    if width < 1 or height < 1:
        return f"{label} has no pixels."
    return None


def set_image(
    db: Database,
    which: ImageName,
    data: bytes | None,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> None:
    """Store (or with None remove) the logo or the signature image printed on letters."""
    if which not in _IMAGE_LABELS:
        raise ValueError(f"unknown office image {which!r}")
    if data is not None:
        problem = check_image(which, data)
        if problem:
            raise ValidationError({which: problem})
    with acting(
        db, actor, Permission.OFFICE_SETTINGS, "change the office's letterhead images"
    ) as session:
        stored = session.get(OfficeAsset, which)
        if data is None:
            if stored is not None:
                session.delete(stored)
        else:
            session.merge(
                OfficeAsset(
                    name=which,
                    content=data,
                    sha256=hashlib.sha256(data).hexdigest(),
                    updated_at=now or datetime.now(UTC),
                )
            )
        session.commit()


def image(session: Session, which: ImageName) -> bytes | None:
    return session.scalar(select(OfficeAsset.content).where(OfficeAsset.name == which))


def office_image(db: Database, which: ImageName) -> bytes | None:
    with db.read() as session:
        return image(session, which)


def set_specialist_fee_estimate(db: Database, enabled: bool, *, actor: Actor) -> None:
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the office profile") as session:
        session.merge(Setting(key=SPECIALIST_FEE_ESTIMATE, value="1" if enabled else "0"))
        session.commit()


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def set_currency(db: Database, code: str, *, actor: Actor) -> str:
    """Set the office currency; refused once costs or payments are recorded in another one.

    Fee schedule prices and specialist fees keep their amounts (250.00 stays 250.00); a
    currency with fewer decimal places is refused while a price has cents it cannot hold.
    """
    try:
        new = check_currency(code)
    except MoneyError as exc:
        raise ValidationError({"currency": str(exc)}) from None
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the office currency") as session:
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
