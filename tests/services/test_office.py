"""The office profile: the currency set once, and whether assigning quotes a fee."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.costs import PaymentMethod
from referral_desk.domain.specialists import Discipline
from referral_desk.services import cases, costs, fee_schedule, office, specialists
from referral_desk.services.costs import LineDraft, PaymentDraft
from referral_desk.services.errors import ValidationError
from referral_desk.services.office import OfficeProfile
from referral_desk.services.specialists import SpecialistDraft
from tests.conftest import NOW, admin, case, patient, without_checklists


@pytest.fixture
def zurich(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """An office whose computer says de_CH, with no currency set yet."""
    monkeypatch.setattr(office, "system_locale", lambda: "de_CH")
    return db


def _case(db: Database) -> int:
    without_checklists(db)
    return cases.create_case(db, case(), patient=patient(), actor=admin("a"), now=NOW).id


def _price(db: Database, code: str, price: int) -> None:
    service = fee_schedule.find_service(db, code)
    fee_schedule.update_service(
        db,
        service.id,
        replace(service.draft, price_minor=price),
        expected_version=service.version,
        actor=admin(),
    )


def _prices(db: Database) -> dict[str, int]:
    return {s.code: s.draft.price_minor for s in fee_schedule.list_services(db)}


def _fee(db: Database, name: str, fee_minor: int) -> int:
    return specialists.create_specialist(
        db,
        SpecialistDraft(name, Discipline.MEDICAL_ONCOLOGY, 5, fee_minor=fee_minor),
        now=NOW,
        actor=admin(),
    )


def _error(raised: pytest.ExceptionInfo[ValidationError]) -> str:
    assert set(raised.value.errors) == {"currency"}
    return raised.value.errors["currency"]


@pytest.mark.parametrize(
    ("env", "locale"),
    [
        ({"LC_ALL": "de_CH.UTF-8"}, "de_CH"),
        ({"LANG": "fr_FR.UTF-8"}, "fr_FR"),
        ({"LC_NUMERIC": "ja_JP.UTF-8", "LANG": "en_GB.UTF-8"}, "ja_JP"),
        ({"LANG": "C.UTF-8"}, "en_US"),
        ({"LANG": "POSIX"}, "en_US"),
        ({}, "en_US"),
    ],
)
def test_the_computers_locale_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], locale: str
) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_NUMERIC", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert office.system_locale() == locale


def test_until_money_is_recorded_the_currency_follows_the_computer(
    zurich: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert office.get_profile(zurich) == OfficeProfile("CHF", False, True)
    monkeypatch.setattr(office, "system_locale", lambda: "en_IN")
    assert office.get_profile(zurich).currency == "INR"


def test_the_first_payment_pins_the_currency(
    zurich: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _case(zurich)
    draft = PaymentDraft(10_000, date(2026, 11, 23), PaymentMethod.CASH)
    costs.add_payment(zurich, case_id, draft, actor=admin("a"), now=NOW)
    monkeypatch.setattr(office, "system_locale", lambda: "ja_JP")  # a new computer
    assert office.get_profile(zurich) == OfficeProfile("CHF", True, True)
    assert costs.case_costs(zurich, case_id).currency == "CHF"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "'' is not a currency code; use three letters, e.g. EUR."),
        ("euro", "'euro' is not a currency code; use three letters, e.g. EUR."),
        ("€", "'€' is not a currency code"),
        ("QQQ", "'QQQ' is not a known ISO 4217 currency code."),
        ("DEM", "No country pays in 'DEM' (German Mark) today"),
        ("xxx", "No country pays in 'XXX'"),
    ],
)
def test_a_code_that_is_no_currency_is_refused_saying_why(
    zurich: Database, typed: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        office.set_currency(zurich, typed, actor=admin())
    assert _error(raised).startswith(message)
    assert office.get_profile(zurich) == OfficeProfile("CHF", False, True)


def test_the_currency_is_set_as_typed_and_can_change_while_nothing_is_recorded(
    zurich: Database,
) -> None:
    assert office.set_currency(zurich, " eur ", actor=admin()) == "EUR"
    assert office.get_profile(zurich) == OfficeProfile("EUR", True, True)
    assert office.set_currency(zurich, "chf", actor=admin()) == "CHF"
    assert office.get_profile(zurich).currency == "CHF"
    assert (
        office.set_currency(zurich, "CHF", actor=admin()) == "CHF"
    )  # the same again: nothing to do


def test_the_currency_of_this_computer_is_pinned_by_confirming_it(zurich: Database) -> None:
    assert not office.get_profile(zurich).currency_is_set
    office.set_currency(zurich, "CHF", actor=admin())
    assert office.get_profile(zurich) == OfficeProfile("CHF", True, True)


def test_changing_the_currency_is_refused_once_a_cost_line_is_recorded(zurich: Database) -> None:
    office.set_currency(zurich, "EUR", actor=admin())
    costs.add_line(
        zurich, _case(zurich), LineDraft("Consultation", 1, 45_000), actor=admin("a"), now=NOW
    )
    with pytest.raises(ValidationError) as raised:
        office.set_currency(zurich, "CHF", actor=admin())
    assert _error(raised) == (
        "Costs are already recorded in EUR (1 cost line, 0 payments). Changing the currency "
        "would change what every one of them means, so the office stays in EUR."
    )
    assert office.get_profile(zurich).currency == "EUR"
    assert office.set_currency(zurich, "eur", actor=admin()) == "EUR"  # confirming it is no change


def test_changing_the_currency_is_refused_once_a_payment_is_recorded(zurich: Database) -> None:
    case_id = _case(zurich)
    for _ in range(2):
        draft = PaymentDraft(10_000, date(2026, 11, 23), PaymentMethod.CARD)
        costs.add_payment(zurich, case_id, draft, actor=admin("a"), now=NOW)
    with pytest.raises(ValidationError) as raised:
        office.set_currency(zurich, "EUR", actor=admin())
    assert "recorded in CHF (0 cost lines, 2 payments)" in _error(raised)


def test_prices_and_fees_keep_their_amounts_from_euros_to_dinar(db: Database) -> None:
    office.set_currency(db, "EUR", actor=admin())
    _price(db, "CONSULT", 45_050)  # 450.50
    ana = _fee(db, "Dr. Ana Lima", 30_001)  # 300.01
    office.set_currency(db, "KWD", actor=admin())
    assert _prices(db)["CONSULT"] == 450_500  # 450.500 dinar
    assert specialists.get_specialist(db, ana).draft.fee_minor == 300_010
    assert _prices(db)["PATH"] == 0


def test_prices_in_whole_euros_become_the_same_number_of_yen(db: Database) -> None:
    office.set_currency(db, "EUR", actor=admin())
    _price(db, "CONSULT", 45_000)
    _price(db, "PATH", 30_000)
    ana = _fee(db, "Dr. Ana Lima", 50_000)
    office.set_currency(db, "JPY", actor=admin())
    assert (_prices(db)["CONSULT"], _prices(db)["PATH"]) == (450, 300)
    assert specialists.get_specialist(db, ana).draft.fee_minor == 500
    office.set_currency(db, "EUR", actor=admin())  # and back, exactly
    assert (_prices(db)["CONSULT"], _prices(db)["PATH"]) == (45_000, 30_000)


def test_yen_cannot_hold_cents_so_the_price_must_be_rounded_first(db: Database) -> None:
    office.set_currency(db, "EUR", actor=admin())
    _price(db, "CONSULT", 45_000)
    _price(db, "COURIER", 4_550)  # 45.50
    with pytest.raises(ValidationError) as raised:
        office.set_currency(db, "JPY", actor=admin())
    assert _error(raised) == (
        "JPY has no decimal places, and the price of COURIER Courier of slides or blocks is "
        "EUR 45.50. Round it to whole units first."
    )
    assert office.get_profile(db).currency == "EUR"
    assert (_prices(db)["CONSULT"], _prices(db)["COURIER"]) == (45_000, 4_550)  # untouched


def test_a_specialists_fee_with_cents_stops_the_change_too(db: Database) -> None:
    office.set_currency(db, "EUR", actor=admin())
    _fee(db, "Dr. Ana Lima", 30_050)
    with pytest.raises(ValidationError) as raised:
        office.set_currency(db, "JPY", actor=admin())
    assert "the fee of Dr. Ana Lima is EUR 300.50" in _error(raised)


def test_dinar_with_a_third_decimal_cannot_become_euros(db: Database) -> None:
    office.set_currency(db, "KWD", actor=admin())
    _price(db, "PATH", 12_345)  # 12.345 dinar
    with pytest.raises(ValidationError) as raised:
        office.set_currency(db, "EUR", actor=admin())
    assert _error(raised) == (
        "EUR has only 2 decimal places, and the price of PATH Pathology re-review is "
        "KWD 12.345. Round it to 2 places first."
    )
    _price(db, "PATH", 12_340)
    office.set_currency(db, "EUR", actor=admin())
    assert _prices(db)["PATH"] == 1_234


def test_quoting_the_specialists_fee_on_assignment_is_a_setting(db: Database) -> None:
    office.set_currency(db, "EUR", actor=admin())
    office.set_specialist_fee_estimate(db, False, actor=admin())
    assert office.get_profile(db) == OfficeProfile("EUR", True, False)
    office.set_specialist_fee_estimate(db, True, actor=admin())
    assert office.get_profile(db).specialist_fee_estimate


# --- What heads the letters -------------------------------------------------------------------


def _png(width: int = 4, height: int = 2) -> bytes:
    """A real PNG, made by hand (no imaging library needed in the tests)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x20\x40\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_until_the_office_names_itself_letters_carry_a_default_name(db: Database) -> None:
    profile = office.get_profile(db)
    assert profile.name == "" and profile.letter_name == office.DEFAULT_OFFICE_NAME
    assert not profile.has_logo and not profile.has_signature


def test_office_details_are_stored_tidied(db: Database) -> None:
    stored = office.set_office_details(
        db,
        office.OfficeDetails(
            name="  Zürich  Second Opinion Office ",
            address="Bahnhofstrasse 1\n\n  8001 Zürich  \n",
            phone="+41 44 000 00 00",
            email="office@example.ch",
            website="example.ch",
            signatory_name="Ines Navarro",
            signatory_title="Patient coordinator",
        ),
        actor=admin(),
    )
    assert stored.name == "Zürich Second Opinion Office"
    assert stored.address == "Bahnhofstrasse 1\n8001 Zürich"
    profile = office.get_profile(db)
    assert profile.details == stored
    assert profile.letter_name == "Zürich Second Opinion Office"
    assert profile.currency == office.get_profile(db).currency  # the currency is untouched

    # Clearing a field removes it; the name stays required.
    office.set_office_details(db, replace(stored, website="", signatory_title=""), actor=admin())
    assert office.get_profile(db).website == ""
    with pytest.raises(ValidationError) as raised:
        office.set_office_details(db, replace(stored, name="   "), actor=admin())
    assert raised.value.errors == {"name": "Give the office's name: it heads every letter."}
    assert office.get_profile(db).name == "Zürich Second Opinion Office"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "office at example"}, "email", "is not an e-mail address"),
        ({"phone": "1" * 61}, "phone", "This is 61 characters; keep it to 60."),
        ({"address": "\n".join("line" for _ in range(7))}, "address", "has 7 lines"),
    ],
)
def test_bad_office_details_are_refused_naming_the_field(
    db: Database, change: dict[str, str], field: str, message: str
) -> None:
    details = replace(office.OfficeDetails("Office"), **change)
    with pytest.raises(ValidationError, match=message) as raised:
        office.set_office_details(db, details, actor=admin())
    assert set(raised.value.errors) == {field}
    assert office.get_profile(db).name == ""  # nothing saved


def test_the_logo_and_signature_are_stored_and_removed(db: Database) -> None:
    logo = _png()
    office.set_image(db, "logo", logo, actor=admin())
    assert office.office_image(db, "logo") == logo
    assert office.get_profile(db).has_logo and not office.get_profile(db).has_signature
    office.set_image(db, "signature", _png(8, 3), actor=admin())
    assert office.get_profile(db).has_signature
    office.set_image(db, "logo", None, actor=admin())
    assert office.office_image(db, "logo") is None and not office.get_profile(db).has_logo


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The logo file is empty."),
        (
            b"%PDF-1.7\n" + b"x" * 100,
            "The logo must be a PNG or JPEG image; this file is a PDF file.",
        ),
        (
            b"hello, this is text",
            "The logo must be a PNG or JPEG image; this file is not an image.",
        ),
        (_png()[:40], "The logo looks like a PNG file but cannot be read; it may be damaged."),
        (
            b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024),
            "The logo is 2.0 MB; it must be at most 2 MB.",
        ),
    ],
)
def test_an_image_the_letters_cannot_carry_is_refused_clearly(
    db: Database, data: bytes, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        office.set_image(db, "logo", data, actor=admin())
    assert raised.value.errors["logo"].startswith(message)
    assert office.office_image(db, "logo") is None


def test_a_jpeg_signature_is_accepted(db: Database) -> None:
    from io import BytesIO

    from PIL import Image  # ReportLab's own imaging library

    out = BytesIO()
    Image.new("RGB", (20, 8), "white").save(out, "JPEG")
    office.set_image(db, "signature", out.getvalue(), actor=admin())
    assert office.office_image(db, "signature") == out.getvalue()
