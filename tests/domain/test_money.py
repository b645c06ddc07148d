from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_desk.domain.money import (
    MAX_MAJOR_UNITS,
    MoneyError,
    check_currency,
    currency_for_locale,
    currency_name,
    format_amount,
    format_iso,
    format_plain,
    minor_digits,
    normalise_locale,
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


# Locale edge cases: what offices in these countries type, and what the program shows them.


@pytest.mark.parametrize(
    ("text", "currency", "locale", "minor"),
    [
        # Germany: '.' between thousands, ',' before the cents; groups are optional.
        ("1.234.567,89", "EUR", "de_DE", 123456789),
        ("0,05", "EUR", "de_DE", 5),
        (",50", "EUR", "de_DE", 50),
        ("12,50 €", "EUR", "de_DE", 1250),  # as the program shows it
        ("EUR 12,50", "EUR", "de_DE", 1250),
        ("12,50 eur", "EUR", "de_DE", 1250),
        # France: a (narrow) no-break space between thousands; people type a plain one.
        ("1 234 567,89", "EUR", "fr_FR", 123456789),
        ("1\u202f234,50", "EUR", "fr_FR", 123450),
        ("1\u00a0234,50", "EUR", "fr_FR", 123450),
        ("1 234,50 €", "EUR", "fr_FR", 123450),
        # French Switzerland: the same, in francs.
        ("1 234,50", "CHF", "fr_CH", 123450),
        ("CHF 1 234,50", "CHF", "fr_CH", 123450),
        # German Switzerland: the locale writes ’, keyboards type '.
        ("1’234.50", "CHF", "de_CH", 123450),
        ("1'234.50", "CHF", "de_CH", 123450),
        ("1'234'567.05", "CHF", "de_CH", 123456705),
        # India: lakh and crore, and the plain groups of three many people type as well.
        ("12,34,567.00", "INR", "en_IN", 123456700),
        ("1,00,00,000", "INR", "en_IN", 1000000000),
        ("1,234,567.00", "INR", "en_IN", 123456700),
        ("₹1,50,000", "INR", "en_IN", 15000000),
        # Japan: yen have no decimal places; full-width digits are digits.
        ("1500", "JPY", "ja_JP", 1500),
        ("1,500", "JPY", "ja_JP", 1500),
        ("￥1,500", "JPY", "ja_JP", 1500),
        ("¥1,500", "JPY", "ja_JP", 1500),
        ("１５００", "JPY", "ja_JP", 1500),
        # Kuwaiti dinar: three decimal places, in any locale.
        ("12.345", "KWD", "en_US", 12345),
        ("12,345", "KWD", "de_DE", 12345),
        ("1.234,5", "KWD", "de_DE", 1234500),
        ("0.001", "KWD", "en_US", 1),
        # What the system calls its locale: read as the program's fallback (en_US).
        ("1,234.50", "EUR", "C", 123450),
        ("1234.50", "EUR", "POSIX", 123450),
        ("1234.50", "EUR", "C.UTF-8", 123450),
        ("1234.50", "USD", "en_US_POSIX", 123450),
        ("1.234,50", "EUR", "de_DE.UTF-8", 123450),
        ("1.234,50", "EUR", "de-DE", 123450),
        # Arabic: the marks that keep right-to-left text in order are not part of the number.
        ("\u200f1,234.50\u200f", "EGP", "ar_EG", 123450),
        ("١٢٣", "EGP", "ar_EG", 12300),
        ("+5", "EUR", "en_US", 500),
        ("-0", "EUR", "en_US", 0),
    ],
)
def test_amounts_as_typed_around_the_world(
    text: str, currency: str, locale: str, minor: int
) -> None:
    assert parse_amount(text, currency, locale) == minor


@pytest.mark.parametrize(
    ("text", "currency", "locale", "message"),
    [
        # The separators the other way round: two readings, refused with the local way shown.
        ("1.23", "EUR", "de_DE", "type it like 1.234,50 (decimal separator ','"),
        ("12,5", "EUR", "en_US", "type it like 1,234.50 (decimal separator '.'"),
        ("1.234,50", "EUR", "fr_FR", "type it like 1\u202f234,50"),
        ("1 234,50", "EUR", "de_DE", "'1 234,50' is not an amount"),
        ("1 234.50", "CHF", "fr_CH", "'1 234.50' is not an amount"),
        ("12,34,567.00", "USD", "en_US", "'12,34,567.00' is not an amount"),
        ("1,5", "JPY", "ja_JP", "type it like 1,234 (thousands separated by ',' or not at all)"),
        (
            "1 234,50",
            "CHF",
            "de_CH",
            "type it like 1’234.50 (decimal separator '.', thousands separated by an apostrophe",
        ),
        ("1.234,50", "EUR", "fr_FR", "thousands separated by a space or not at all"),
        # Places the currency does not have.
        ("1500.0", "JPY", "ja_JP", "more decimal places than JPY has (0)"),
        ("12.3456", "KWD", "en_US", "more decimal places than KWD has (3)"),
        ("1,2345", "EUR", "de_DE", "more decimal places than EUR has (2)"),
        # Not numbers at all.
        ("1e3", "EUR", "en_US", "'1e3' is not an amount"),  # Decimal would read 1000
        ("Infinity", "EUR", "en_US", "is not an amount"),
        ("(5)", "EUR", "en_US", "is not an amount"),
        ("5-", "EUR", "en_US", "is not an amount"),
        ("12 francs", "CHF", "fr_CH", "is not an amount"),
        ("€", "EUR", "de_DE", "Enter an amount"),
        ("EUR", "EUR", "en_US", "Enter an amount"),
        # Just above the plausible.
        ("10000000.01", "EUR", "en_US", "implausibly large"),
        ("10.000.001", "JPY", "de_DE", "implausibly large"),
        ("-1", "KWD", "en_US", "is negative"),
    ],
)
def test_amounts_refused_around_the_world_say_why(
    text: str, currency: str, locale: str, message: str
) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        parse_amount(text, currency, locale)


def test_the_largest_plausible_amount_is_allowed() -> None:
    assert parse_amount("10000000", "EUR", "en_US") == MAX_MAJOR_UNITS * 100
    assert parse_amount("10.000.000", "JPY", "de_DE") == MAX_MAJOR_UNITS
    assert parse_amount("10,000,000.000", "KWD", "en_US") == MAX_MAJOR_UNITS * 1000


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown", "plain"),
    [
        (123456789, "EUR", "de_DE", "1.234.567,89\xa0€", "1.234.567,89"),
        (5, "EUR", "de_DE", "0,05\xa0€", "0,05"),
        (-250000, "EUR", "de_DE", "-2.500,00\xa0€", "-2.500,00"),
        (123450, "EUR", "fr_FR", "1\u202f234,50\xa0€", "1\u202f234,50"),
        (123450, "CHF", "fr_CH", "1\u202f234,50\xa0CHF", "1\u202f234,50"),
        (123450, "CHF", "de_CH", "CHF\xa01’234.50", "1’234.50"),
        (1000000000, "INR", "en_IN", "₹1,00,00,000.00", "1,00,00,000.00"),
        (1500, "JPY", "ja_JP", "￥1,500", "1,500"),
        (1500, "JPY", "en_US", "¥1,500", "1,500"),
        (12345, "KWD", "en_US", "KWD12.345", "12.345"),
        (1, "KWD", "de_DE", "0,001\xa0KWD", "0,001"),
        (123450, "USD", "C", "$1,234.50", "1,234.50"),
        (123450, "EUR", "de_DE.UTF-8", "1.234,50\xa0€", "1.234,50"),
        (0, "EUR", "en_US", "€0.00", "0.00"),
    ],
)
def test_amounts_are_shown_with_the_currencys_places_the_local_way(
    minor: int, currency: str, locale: str, shown: str, plain: str
) -> None:
    assert format_amount(minor, currency, locale) == shown
    assert format_plain(minor, currency, locale) == plain


def test_history_amounts_are_written_the_same_everywhere() -> None:
    assert format_iso(123450, "EUR") == "EUR 1234.50"
    assert format_iso(1500, "JPY") == "JPY 1500"
    assert format_iso(5, "KWD") == "KWD 0.005"
    assert format_iso(-2500, "EUR") == "EUR -25.00"


ALL_LOCALES = [
    *LOCALES,
    *(
        "en_IN",
        "de_CH",
        "it_CH",
        "sv_SE",
        "pl_PL",
        "es_ES",
        "pt_BR",
        "he_IL",
        "ar_KW",
        "C",
        "POSIX",
    ),
]


@given(
    data=st.data(),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(ALL_LOCALES),
)
def test_anything_the_program_shows_reads_back_exactly(
    data: st.DataObject, currency: str, locale: str
) -> None:
    """Both the plain number and the amount with its symbol, refunds included."""
    largest = MAX_MAJOR_UNITS * 10 ** minor_digits(currency)
    minor = data.draw(st.integers(min_value=-largest, max_value=largest))
    for text in (format_plain(minor, currency, locale), format_amount(minor, currency, locale)):
        assert parse_amount(text, currency, locale, allow_negative=True) == minor, text


@pytest.mark.parametrize(
    ("name", "normalised", "currency"),
    [
        ("C", "en_US", "USD"),
        ("POSIX", "en_US", "USD"),
        ("C.UTF-8", "en_US", "USD"),
        ("", "en_US", "USD"),
        (None, "en_US", "USD"),
        ("en_US_POSIX", "en_US", "USD"),
        ("de_DE.UTF-8", "de_DE", "EUR"),
        ("de_DE.ISO8859-15@euro", "de_DE", "EUR"),
        ("de-AT", "de_AT", "EUR"),
        ("fr_CH", "fr_CH", "CHF"),
        ("ja_JP", "ja_JP", "JPY"),
        ("ar_KW", "ar_KW", "KWD"),
        ("en_IN", "en_IN", "INR"),
        ("sr_Latn_RS", "sr_Latn_RS", "RSD"),
        ("de", "de", "EUR"),  # a language without a country: no currency of its own
        ("xx_YY", "en_US", "USD"),  # unknown: the fallback, not a crash at start-up
    ],
)
def test_what_the_system_calls_its_locale_is_understood(
    name: str | None, normalised: str, currency: str
) -> None:
    assert normalise_locale(name) == normalised
    assert currency_for_locale(name or "") == currency


@pytest.mark.parametrize(
    ("typed", "code"),
    [("EUR", "EUR"), (" eur ", "EUR"), ("chf", "CHF"), ("JPY", "JPY"), ("kwd", "KWD")],
)
def test_currency_codes_are_cleaned(typed: str, code: str) -> None:
    assert check_currency(typed) == code


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "'' is not a currency code; use three letters"),
        ("EURO", "'EURO' is not a currency code"),
        ("€", "'€' is not a currency code"),
        ("E1R", "'E1R' is not a currency code"),
        ("ÉUR", "'ÉUR' is not a currency code"),
        ("ABC", "'ABC' is not a known ISO 4217 currency code"),
        ("btc", "'BTC' is not a known ISO 4217 currency code"),
        ("DEM", "No country pays in 'DEM' (German Mark) today"),  # replaced by the euro
        ("XAU", "No country pays in 'XAU' (Gold) today"),
        ("XXX", "No country pays in 'XXX'"),  # ISO's "no currency"
        ("XTS", "No country pays in 'XTS'"),  # ISO's test code
    ],
)
def test_unknown_and_unusable_currency_codes_are_refused_saying_why(
    typed: str, message: str
) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        check_currency(typed)


def test_currency_names_are_in_the_users_language() -> None:
    assert currency_name("EUR", "de_DE") == "Euro"
    assert currency_name("JPY", "ja_JP") == "日本円"
    assert currency_name("CHF", "C") == "Swiss Franc"
