"""Money as integer minor units of one currency, typed and shown in the user's locale.

No float anywhere: text becomes a Decimal (Babel reads the locale's separators), and a
Decimal with no more places than the currency has becomes an exact integer.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.core import Locale, UnknownLocaleError, get_global
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_name,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
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


@cache
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


@cache
def _currencies_in_use() -> frozenset[str]:
    """Codes some country pays in today: not DEM (gone), XAU (gold) or XXX (no currency)."""
    return frozenset(
        code
        for history in get_global("territory_currencies").values()
        for code, _start, end, tender in history
        if tender and end is None
    )


def check_currency(code: str) -> str:
    """An ISO 4217 code as typed ('eur ' -> 'EUR'), or a MoneyError that says what is wrong."""
    cleaned = code.strip().upper()
    if not (len(cleaned) == 3 and cleaned.isascii() and cleaned.isalpha()):
        raise MoneyError(f"'{code.strip()}' is not a currency code; use three letters, e.g. EUR.")
    if not is_currency(cleaned):
        raise MoneyError(f"'{cleaned}' is not a known ISO 4217 currency code.")
    if cleaned not in _currencies_in_use():
        raise MoneyError(
            f"No country pays in '{cleaned}' ({get_currency_name(cleaned, locale='en')}) "
            "today; choose the currency the office's patients pay in, e.g. EUR."
        )
    return cleaned


def currency_name(code: str, locale: str) -> str:
    return str(get_currency_name(code, locale=normalise_locale(locale)))


def minor_digits(currency: str) -> int:
    """2 for EUR, 0 for JPY, 3 for KWD."""
    return int(get_currency_precision(currency))


# Written around amounts by bidirectional text (Arabic, Hebrew): invisible, never part of one.
_BIDI_MARKS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_APOSTROPHES = "'\u2019\u02bc"  # Swiss groups are '’' in the locale, but people type "'"


def _without_currency(text: str, currency: str, locale: str) -> str:
    """'12,50 €', 'EUR 12.50', '￥1,500' -> the number: what the program shows reads back."""
    symbols = (currency, get_currency_symbol(currency, locale), get_currency_symbol(currency, "en"))
    marks = {_BIDI_MARKS.sub("", symbol) for symbol in symbols}  # 'د.ك.\u200f'
    cleaned = _BIDI_MARKS.sub("", text)
    for mark in sorted(marks, key=len, reverse=True):  # 'US$' before '$'
        cleaned = re.sub(re.escape(mark), "", cleaned, flags=re.IGNORECASE)
    return re.sub(r"^([+-])\s+", r"\1", cleaned.strip())  # '-€ 0,01' (pt_BR) -> '-0,01'


def parse_amount(text: str, currency: str, locale: str, *, allow_negative: bool = False) -> int:
    """'1.234,50' (de_DE, EUR) -> 123450. Refuses what a person could have meant two ways.

    `locale` may be what the system says ('de_DE.UTF-8', 'C'): see normalise_locale.
    """
    locale = normalise_locale(locale)
    shown = text.strip()
    cleaned = _without_currency(text, currency, locale)
    if not cleaned:
        raise MoneyError("Enter an amount.")
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    if group.isspace():  # French and Swiss groups: people type a plain space
        cleaned = re.sub(r"[ \u00a0\u202f]", group, cleaned)
    elif group in _APOSTROPHES:
        cleaned = re.sub(f"[{_APOSTROPHES}]", group, cleaned)
    if "e" in cleaned.lower():  # Decimal would read '1e3' as 1000: a slip, not an amount
        raise MoneyError(f"'{shown}' is not an amount.")
    digits = minor_digits(currency)
    try:
        value = parse_decimal(cleaned, locale=locale, strict=True)
    except NumberFormatError:
        # Groups of three are plain wherever the locale groups otherwise (Indian 12,34,567).
        thousands = rf"[+-]?\d{{1,3}}(?:{re.escape(group)}\d{{3}})+(?:{re.escape(decimal)}\d*)?"
        if not re.fullmatch(thousands, cleaned):
            # Say how this locale writes amounts instead of guessing what was meant.
            example = format_plain(123450 * 10**digits // 100, currency, locale)
            point = f"decimal separator '{decimal}', " if digits else ""
            between = (
                "a space"
                if group.isspace()
                else "an apostrophe"
                if group in _APOSTROPHES
                else f"'{group}'"
            )
            raise MoneyError(
                f"'{shown}' is not an amount; type it like {example} "
                f"({point}thousands separated by {between} or not at all)."
            ) from None
        value = parse_decimal(cleaned, locale=locale)
    except (InvalidOperation, UnknownLocaleError, ValueError):
        raise MoneyError(f"'{shown}' is not an amount.") from None
    if not value.is_finite():
        raise MoneyError(f"'{shown}' is not an amount.")
    if -value.as_tuple().exponent > digits:  # type: ignore[operator]
        raise MoneyError(f"'{shown}' has more decimal places than {currency} has ({digits}).")
    if value < 0 and not allow_negative:
        raise MoneyError(f"'{shown}' is negative; amounts here cannot be.")
    if abs(value) > MAX_MAJOR_UNITS:
        raise MoneyError(f"'{shown}' is implausibly large; check the amount.")
    return int(value.scaleb(digits))


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(currency))


def format_amount(minor: int, currency: str, locale: str) -> str:
    """123450 EUR in de_DE -> '1.234,50 €'."""
    locale = normalise_locale(locale)
    return str(format_currency(to_decimal(minor, currency), currency, locale=locale))


def format_plain(minor: int, currency: str, locale: str) -> str:
    """The number alone, as the user would type it back: '1.234,50'."""
    locale = normalise_locale(locale)
    digits = minor_digits(currency)
    # The locale's own grouping (Indian lakh and crore: 12,34,567), fixed decimal places.
    integer = Locale.parse(locale).decimal_formats[None].pattern.split(";")[0].split(".")[0]
    pattern = integer + ("." + "0" * digits if digits else "")
    return str(format_decimal(to_decimal(minor, currency), format=pattern, locale=locale))


def format_iso(minor: int, currency: str) -> str:
    """Locale-free, for history written once and read anywhere: 'EUR 1234.50'."""
    return f"{currency} {to_decimal(minor, currency):f}"
