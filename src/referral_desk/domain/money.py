"""Money as integer minor units of one currency, typed and shown in the user's locale.

No float anywhere: text becomes a Decimal (Babel reads the locale's separators), and a
Decimal with no more places than the currency has becomes an exact integer.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.core import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_name,
    get_currency_precision,
    get_group_symbol,
    get_territory_currencies,
    is_currency,
    parse_decimal,
)

# Beyond this an amount is a typing slip, not a bill (ten million in any currency).
MAX_MAJOR_UNITS = 10_000_000


class MoneyError(ValueError):
    """Text that is not an amount, with a message that quotes it."""


FALLBACK_LOCALE = "en_US"
FALLBACK_CURRENCY = "EUR"


def normalise_locale(name: str | None) -> str:
    """A locale Babel knows, from what the system says ('de_DE.UTF-8', 'C', 'en_US_POSIX')."""
    base = (name or "").split(".")[0].split("@")[0].replace("-", "_")
    if base in ("", "C", "POSIX"):
        return FALLBACK_LOCALE
    try:
        parsed = Locale.parse(base)
    except (ValueError, UnknownLocaleError):
        return FALLBACK_LOCALE
    return str(Locale(parsed.language, parsed.territory, parsed.script))


def currency_for_locale(locale: str) -> str:
    """The currency people in the locale's country pay in (EUR if it has no country)."""
    territory = Locale.parse(normalise_locale(locale)).territory
    current = get_territory_currencies(territory) if territory else []
    return current[0] if current else FALLBACK_CURRENCY


def check_currency(code: str) -> str:
    """An ISO 4217 code as typed ('eur ' -> 'EUR'), or a MoneyError that says what is wrong."""
    cleaned = code.strip().upper()
    if not (len(cleaned) == 3 and cleaned.isascii() and cleaned.isalpha()):
        raise MoneyError(f"'{code.strip()}' is not a currency code; use three letters, e.g. EUR.")
    if not is_currency(cleaned):
        raise MoneyError(f"'{cleaned}' is not a known ISO 4217 currency code.")
    return cleaned


def currency_name(code: str, locale: str) -> str:
    return str(get_currency_name(code, locale=normalise_locale(locale)))


def minor_digits(currency: str) -> int:
    """2 for EUR, 0 for JPY, 3 for KWD."""
    return int(get_currency_precision(currency))


def parse_amount(text: str, currency: str, locale: str, *, allow_negative: bool = False) -> int:
    """'1.234,50' (de_DE, EUR) -> 123450. Refuses what a person could have meant two ways."""
    cleaned = text.replace(currency, "").strip()
    if not cleaned:
        raise MoneyError("Enter an amount.")
    try:
        group = get_group_symbol(locale)
    except UnknownLocaleError:
        raise MoneyError(f"'{locale}' is not a locale this program knows.") from None
    if group.isspace():  # French and Swiss groups: people type a plain space
        cleaned = re.sub(r"[ \u00a0\u202f]", group, cleaned)
    try:
        value = parse_decimal(cleaned, locale=locale, strict=True)
    except NumberFormatError as exc:
        suggestion = (
            f" {exc.suggestions[0]!r} perhaps?" if getattr(exc, "suggestions", None) else ""
        )
        raise MoneyError(f"'{text.strip()}' is not an amount.{suggestion}") from None
    except (InvalidOperation, UnknownLocaleError, ValueError):
        raise MoneyError(f"'{text.strip()}' is not an amount.") from None
    if not value.is_finite():
        raise MoneyError(f"'{text.strip()}' is not an amount.")
    digits = minor_digits(currency)
    if -value.as_tuple().exponent > digits:  # type: ignore[operator]
        raise MoneyError(
            f"'{text.strip()}' has more decimal places than {currency} has ({digits})."
        )
    if value < 0 and not allow_negative:
        raise MoneyError(f"'{text.strip()}' is negative; amounts here cannot be.")
    if abs(value) > MAX_MAJOR_UNITS:
        raise MoneyError(f"'{text.strip()}' is implausibly large; check the amount.")
    return int(value.scaleb(digits))


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(currency))


def format_amount(minor: int, currency: str, locale: str) -> str:
    """123450 EUR in de_DE -> '1.234,50 €'."""
    return str(format_currency(to_decimal(minor, currency), currency, locale=locale))


def format_plain(minor: int, currency: str, locale: str) -> str:
    """The number alone, as the user would type it back: '1.234,50'."""
    digits = minor_digits(currency)
    # The locale's own grouping (Indian lakh and crore: 12,34,567), fixed decimal places.
    integer = Locale.parse(locale).decimal_formats[None].pattern.split(";")[0].split(".")[0]
    pattern = integer + ("." + "0" * digits if digits else "")
    return str(format_decimal(to_decimal(minor, currency), format=pattern, locale=locale))


def format_iso(minor: int, currency: str) -> str:
    """Locale-free, for history written once and read anywhere: 'EUR 1234.50'."""
    return f"{currency} {to_decimal(minor, currency):f}"
