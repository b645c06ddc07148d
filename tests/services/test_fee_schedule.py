"""The fee schedule: services with code, name, price and active flag. Real SQLite files."""

from __future__ import annotations

from dataclasses import replace

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.costs import LineKind
from referral_desk.services import cases, costs, fee_schedule, office
from referral_desk.services.costs import LineDraft
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.fee_schedule import ServiceDraft
from tests.conftest import NOW, admin, case, patient, without_checklists

SEEDED = ["CONSULT", "COURIER", "PATH", "RAD", "TEST", "TRANSL"]


@pytest.fixture
def euro_db(db: Database) -> Database:
    office.set_currency(db, "EUR", actor=admin())
    return db


def _codes(db: Database, *, active_only: bool = False) -> list[str]:
    return [s.code for s in fee_schedule.list_services(db, active_only=active_only)]


def _use(db: Database, service_id: int, cases_: int = 1) -> None:
    """Put the service on the costs of new cases."""
    without_checklists(db)
    for _ in range(cases_):
        case_id = cases.create_case(db, case(), patient=patient(), actor=admin("a"), now=NOW).id
        costs.add_line(
            db, case_id, LineDraft("", 1, 100, service_id=service_id), actor=admin("a"), now=NOW
        )


def test_a_new_office_starts_with_the_usual_services_unpriced(db: Database) -> None:
    services = fee_schedule.list_services(db)
    assert [s.code for s in services] == SEEDED  # by code
    assert all(s.draft.price_minor == 0 and s.draft.active for s in services)
    assert all(s.cases_using == 0 and s.version == 1 for s in services)
    test = fee_schedule.find_service(db, "test")
    assert (test.name, test.draft.needs_approval) == ("Additional test", True)
    assert not fee_schedule.find_service(db, "CONSULT").draft.needs_approval


def test_a_service_is_created_with_its_code_in_capitals(euro_db: Database) -> None:
    service_id = fee_schedule.create_service(
        euro_db,
        ServiceDraft("  ngs-panel ", "  Tumour   NGS panel ", 180_000, True),
        now=NOW,
        actor=admin(),
    )
    found = fee_schedule.find_service(euro_db, " NGS-Panel")
    assert found.id == service_id
    assert found.draft == ServiceDraft("NGS-PANEL", "Tumour NGS panel", 180_000, True, True)
    assert "NGS-PANEL" in _codes(euro_db)


@pytest.mark.parametrize(
    ("draft", "field", "message"),
    [
        (ServiceDraft("", "X", 0), "code", "A code is 1 to 20 letters, digits, '-' or '_'"),
        (ServiceDraft("-A", "X", 0), "code", "starting with a letter or digit"),
        (ServiceDraft("A B", "X", 0), "code", "A code is 1 to 20"),
        (ServiceDraft("X" * 21, "X", 0), "code", "A code is 1 to 20"),
        (ServiceDraft("ÉCHO", "X", 0), "code", "A code is 1 to 20"),
        (
            ServiceDraft("path", "Another pathology", 0),
            "code",
            "PATH is already the code of Pathology re-review.",
        ),
        (ServiceDraft("A", "  ", 0), "name", "Name the service as the patient will read it"),
        (ServiceDraft("A", "n" * 201, 0), "name", "Keep the name to 200 characters (it has 201)."),
        (ServiceDraft("A", "X", -1), "price", "A price cannot be negative."),
        (ServiceDraft("A", "X", 10_000_000_01), "price", "The price is implausibly high"),
        (ServiceDraft("A", "X", 12.5), "price", "The price must be a whole number"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_service_names_the_field_and_saves_nothing(
    euro_db: Database, draft: ServiceDraft, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        fee_schedule.create_service(euro_db, draft, now=NOW, actor=admin())
    assert message in raised.value.errors[field]
    assert _codes(euro_db) == SEEDED


def test_every_bad_field_of_a_service_is_named_at_once(euro_db: Database) -> None:
    with pytest.raises(ValidationError) as raised:
        fee_schedule.create_service(euro_db, ServiceDraft("", "", -5), now=NOW, actor=admin())
    assert set(raised.value.errors) == {"code", "name", "price"}


def test_how_high_a_price_may_go_follows_the_office_currency(db: Database) -> None:
    office.set_currency(db, "KWD", actor=admin())  # three decimal places: ten million dinar
    fee_schedule.create_service(
        db, ServiceDraft("BIG", "Big", 10_000_000_000), now=NOW, actor=admin()
    )
    with pytest.raises(ValidationError, match="implausibly high"):
        fee_schedule.create_service(
            db, ServiceDraft("BIGGER", "Bigger", 10_000_000_001), now=NOW, actor=admin()
        )
    office.set_currency(db, "JPY", actor=admin())  # no decimal places: ten million yen
    assert fee_schedule.find_service(db, "BIG").draft.price_minor == 10_000_000
    with pytest.raises(ValidationError, match="implausibly high"):
        fee_schedule.create_service(
            db, ServiceDraft("BIGGER", "Bigger", 10_000_001), now=NOW, actor=admin()
        )


def test_a_changed_price_leaves_the_lines_already_on_cases(euro_db: Database) -> None:
    path = fee_schedule.find_service(euro_db, "PATH")
    without_checklists(euro_db)
    case_id = cases.create_case(euro_db, case(), patient=patient(), actor=admin("a"), now=NOW).id
    costs.add_line(
        euro_db, case_id, LineDraft("", 1, 30_000, service_id=path.id), actor=admin("a"), now=NOW
    )
    version = fee_schedule.update_service(
        euro_db,
        path.id,
        replace(path.draft, name="Pathology second look", price_minor=35_000),
        expected_version=path.version,
        now=NOW,
        actor=admin(),
    )
    assert version == path.version + 1
    [line] = costs.case_costs(euro_db, case_id).lines
    assert (line.draft.description, line.draft.unit_price_minor) == ("Pathology re-review", 30_000)
    assert costs.case_costs(euro_db, case_id).totals.estimated == 30_000
    assert fee_schedule.find_service(euro_db, "PATH").draft.price_minor == 35_000


def test_a_stale_change_is_refused_and_saves_nothing(euro_db: Database) -> None:
    rad = fee_schedule.find_service(euro_db, "RAD")
    fee_schedule.update_service(
        euro_db,
        rad.id,
        replace(rad.draft, price_minor=20_000),
        expected_version=rad.version,
        actor=admin(),
    )
    with pytest.raises(ConflictError, match="RAD was changed by someone else"):
        fee_schedule.update_service(
            euro_db,
            rad.id,
            replace(rad.draft, price_minor=1),
            expected_version=rad.version,
            actor=admin(),
        )
    assert fee_schedule.find_service(euro_db, "RAD").draft.price_minor == 20_000


def test_a_code_can_change_unless_another_service_has_it(euro_db: Database) -> None:
    transl = fee_schedule.find_service(euro_db, "TRANSL")
    fee_schedule.update_service(
        euro_db,
        transl.id,
        replace(transl.draft, code="transl-de"),
        expected_version=transl.version,
        actor=admin(),
    )
    assert "TRANSL-DE" in _codes(euro_db)
    courier = fee_schedule.find_service(euro_db, "COURIER")
    with pytest.raises(ValidationError, match="TRANSL-DE is already the code of"):
        fee_schedule.update_service(
            euro_db,
            courier.id,
            replace(courier.draft, code="TRANSL-DE"),
            expected_version=1,
            actor=admin(),
        )
    fee_schedule.update_service(  # its own code again is no clash
        euro_db,
        courier.id,
        replace(courier.draft, code="courier"),
        expected_version=1,
        actor=admin(),
    )


@pytest.mark.parametrize("code", ["CONSULT", "PATH", "RAD"])
def test_the_services_a_reviewers_fee_is_quoted_under_keep_their_code(
    euro_db: Database, code: str
) -> None:
    service = fee_schedule.find_service(euro_db, code)
    with pytest.raises(ValidationError) as raised:
        fee_schedule.update_service(
            euro_db,
            service.id,
            replace(service.draft, code="X1"),
            expected_version=1,
            actor=admin(),
        )
    assert raised.value.errors["code"].startswith(f"{code} is the service a reviewer's fee")
    with pytest.raises(ValidationError, match=r"so it stays\. Deactivate it"):
        fee_schedule.delete_service(euro_db, service.id, actor=admin())
    fee_schedule.update_service(  # name and price are the office's
        euro_db,
        service.id,
        replace(service.draft, name="Renamed", price_minor=10_000),
        expected_version=1,
        actor=admin(),
    )
    assert fee_schedule.find_service(euro_db, code).name == "Renamed"


def test_an_unused_service_is_deleted_and_a_used_one_only_deactivated(euro_db: Database) -> None:
    transl = fee_schedule.find_service(euro_db, "TRANSL")
    fee_schedule.delete_service(euro_db, transl.id, actor=admin())
    assert "TRANSL" not in _codes(euro_db)
    courier = fee_schedule.find_service(euro_db, "COURIER")
    _use(euro_db, courier.id, cases_=2)
    assert fee_schedule.find_service(euro_db, "COURIER").cases_using == 2
    with pytest.raises(ValidationError) as raised:
        fee_schedule.delete_service(euro_db, courier.id, actor=admin())
    assert raised.value.errors == {
        "service": "COURIER Courier of slides or blocks is on the costs of 2 cases, so it "
        "cannot be deleted. Deactivate it instead: it stays on those cases and is no longer "
        "offered."
    }
    fee_schedule.update_service(
        euro_db, courier.id, replace(courier.draft, active=False), expected_version=1, actor=admin()
    )
    assert "COURIER" in _codes(euro_db)
    assert "COURIER" not in _codes(euro_db, active_only=True)
    assert _codes(euro_db, active_only=True) == ["CONSULT", "PATH", "RAD", "TEST"]
    with pytest.raises(NotFoundError, match="no service number 999"):
        fee_schedule.delete_service(euro_db, 999, actor=admin())


def test_one_case_using_a_service_twice_counts_once(euro_db: Database) -> None:
    test = fee_schedule.find_service(euro_db, "TEST")
    without_checklists(euro_db)
    case_id = cases.create_case(euro_db, case(), patient=patient(), actor=admin("a"), now=NOW).id
    for _ in range(2):
        costs.add_line(
            euro_db,
            case_id,
            LineDraft("", 1, 100, LineKind.ESTIMATE, test.id, needs_approval=True),
            actor=admin("a"),
            now=NOW,
        )
    assert fee_schedule.find_service(euro_db, "TEST").cases_using == 1
    with pytest.raises(ValidationError, match="on the costs of 1 case, so"):
        fee_schedule.delete_service(euro_db, test.id, actor=admin())


def test_unknown_services_are_said_to_be_unknown(euro_db: Database) -> None:
    with pytest.raises(NotFoundError, match="no service with the code 'nope'"):
        fee_schedule.find_service(euro_db, " nope ")
    with pytest.raises(NotFoundError, match="no service number 999"):
        fee_schedule.update_service(
            euro_db, 999, ServiceDraft("X", "X", 0), expected_version=1, actor=admin()
        )


def test_a_price_pins_the_currency_it_was_typed_in(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(office, "system_locale", lambda: "de_DE")
    fee_schedule.create_service(db, ServiceDraft("FREE", "Free leaflet", 0), now=NOW, actor=admin())
    assert not office.get_profile(db).currency_is_set  # nothing priced yet
    fee_schedule.create_service(
        db, ServiceDraft("SLIDES", "Recut slides", 12_000), now=NOW, actor=admin()
    )
    monkeypatch.setattr(office, "system_locale", lambda: "ja_JP")
    assert office.get_profile(db).currency == "EUR"  # 120.00 stays euros, not 12,000 yen
