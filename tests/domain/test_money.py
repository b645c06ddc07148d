from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_desk.domain.money import (
    MAX_MAJOR_UNITS,
    MoneyError,
    format_amount,
    format_plain,
    minor_digits,
    parse_amount,
)

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "fr_CH", "hi_IN", "ja_JP", "ar_EG"]
CURRENCIES = ["EUR", "USD", "CHF", "GBP", "JPY", "KWD", "INR"]


@pytest.mark.parametrize(
    ("text", "currency", "locale", "minor"),
    [
        ("1234.50", "EUR", "en_US", 123450),
        ("1,234.50", "USD", "en_US", 123450),
        ("1.234,50", "EUR", "de_DE", 123450),
        ("1234,5", "EUR", "de_DE", 123450),
        ("1 234,50", "EUR", "fr_FR", 123450),
        ("250", "GBP", "en_GB", 25000),
        ("1,500", "JPY", "ja_JP", 1500),
        ("12.345", "KWD", "en_US", 12345),
        (" 99.90 EUR ", "EUR", "en_US", 9990),
    ],
)
def test_amounts_are_read_in_the_users_locale(
    text: str, currency: str, locale: str, minor: int
) -> None:
    assert parse_amount(text, currency, locale) == minor


@pytest.mark.parametrize(
    ("text", "locale", "currency", "message"),
    [
        ("", "en_US", "EUR", "Enter an amount"),
        ("abc", "en_US", "EUR", "'abc' is not an amount"),
        ("1,234.50", "de_DE", "EUR", "is not an amount"),  # two readings: refused
        ("12.345", "en_US", "EUR", "more decimal places than EUR has (2)"),
        ("10.5", "ja_JP", "JPY", "more decimal places than JPY has (0)"),
        ("-5", "en_US", "EUR", "is negative"),
        ("99999999", "en_US", "EUR", "implausibly large"),
        ("NaN", "en_US", "EUR", "is not an amount"),
    ],
)
def test_what_is_not_an_amount_is_refused_saying_why(
    text: str, locale: str, currency: str, message: str
) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        parse_amount(text, currency, locale)


def test_refunds_may_be_negative_where_allowed() -> None:
    assert parse_amount("-25.00", "EUR", "en_US", allow_negative=True) == -2500


def test_amounts_are_shown_the_local_way() -> None:
    assert format_amount(123450, "EUR", "de_DE") == "1.234,50\xa0€"
    assert format_amount(123450, "USD", "en_US") == "$1,234.50"
    assert format_amount(1500, "JPY", "ja_JP") == "￥1,500"
    assert format_plain(123450, "EUR", "de_DE") == "1.234,50"
    assert format_plain(123456700, "INR", "hi_IN") == "12,34,567.00"  # lakh grouping


@given(
    minor=st.integers(min_value=0, max_value=MAX_MAJOR_UNITS),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
)
def test_an_amount_shown_reads_back_to_the_same_minor_units(
    minor: int, currency: str, locale: str
) -> None:
    assert parse_amount(format_plain(minor, currency, locale), currency, locale) == minor


def test_currencies_know_their_minor_units() -> None:
    assert (minor_digits("EUR"), minor_digits("JPY"), minor_digits("KWD")) == (2, 0, 3)
