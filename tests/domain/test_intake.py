from __future__ import annotations

from datetime import date

import pytest

from referral_desk.domain.intake import (
    DateInputError,
    parse_user_date,
    validate_case,
    validate_patient,
)
from referral_desk.domain.text import fold, full_name, search_terms
from tests.conftest import case, patient

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1961-04-12", date(1961, 4, 12)),
        ("12.04.1961", date(1961, 4, 12)),
        ("12/4/1961", date(1961, 4, 12)),
        ("  ", None),
    ],
)
def test_dates_are_read_in_iso_or_day_first_form(text: str, expected: date | None) -> None:
    assert parse_user_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"), [("31.02.1980", "not a real calendar date"), ("next week", "YYYY-MM-DD")]
)
def test_unreadable_dates_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DateInputError, match=message):
        parse_user_date(text)


def test_a_birth_date_in_the_future_is_refused() -> None:
    errors = validate_patient(patient(birth_date=date(2027, 1, 1)), TODAY)
    assert errors == {"birth_date": "The date of birth is in the future."}


def test_an_empty_name_is_refused() -> None:
    errors = validate_patient(patient(given_names=" ", family_name=""), TODAY)
    assert errors["family_name"] == "Enter the patient's name."


def test_a_treatment_start_before_the_referral_is_refused() -> None:
    errors = validate_case(case(treatment_start=date(2026, 11, 1)), TODAY)
    assert "before the referral" in errors["treatment_start"]


def test_a_valid_intake_has_no_messages() -> None:
    assert validate_patient(patient(), TODAY) == {}
    assert validate_case(case(), TODAY) == {}


def test_search_folding_ignores_accents_and_case_but_keeps_other_scripts() -> None:
    assert fold("Zoë MÜLLER") == "zoe muller"
    assert fold("Ελένη") == "ελενη"
    assert fold("Иванова") == "иванова"
    assert search_terms("RD-2026-00042") == ["rd", "2026", "00042"]


def test_east_asian_names_are_written_family_name_first() -> None:
    assert full_name("秀英", "王") == "王秀英"
    assert full_name("Zoë", "Müller") == "Zoë Müller"
