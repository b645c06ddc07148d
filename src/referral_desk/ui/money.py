"""Amounts on screen: typed and shown in the user's locale (decimal comma where usual)."""

from __future__ import annotations

from PySide6.QtCore import QLocale

from referral_desk.domain import money


def user_locale() -> str:
    """The locale amounts are typed in: Qt's default (the system's unless a test sets one)."""
    return money.normalise_locale(QLocale().name())


def amount_text(minor: int, currency: str) -> str:
    """'1.234,50 €' in German, '€1,234.50' in English."""
    return money.format_amount(minor, currency, user_locale())


def editable_text(minor: int, currency: str) -> str:
    """The number alone, as the user would type it: '1.234,50'."""
    return money.format_plain(minor, currency, user_locale())


def parse_amount(text: str, currency: str, *, allow_negative: bool = False) -> int:
    """Minor units, or money.MoneyError with a message that quotes what was typed."""
    return money.parse_amount(text, currency, user_locale(), allow_negative=allow_negative)
