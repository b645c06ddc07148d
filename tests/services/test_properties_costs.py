"""Property-based checks of cost lines, payments and typed amounts on a real SQLite file.

Any amount (zero, negative, beyond any bill, beyond a 64-bit integer), any date and any text
is either recorded and reads back (descriptions with their spaces collapsed, references and
reasons trimmed, the case's totals kept in step) or refused with a message naming the field;
nothing crashes, and a refusal leaves every table and the audit trail as they were.
"""

from __future__ import annotations

import operator
from collections import Counter
from datetime import UTC, date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from referral_desk.db.engine import Database
from referral_desk.domain import costs as rules
from referral_desk.domain.costs import MAX_QUANTITY, Approval, LineKind, PaymentMethod
from referral_desk.domain.money import (
    MAX_MAJOR_UNITS,
    MoneyError,
    format_amount,
    format_plain,
    minor_digits,
    parse_amount,
)
from referral_desk.services import cases, costs, fee_schedule, office
from referral_desk.services.costs import (
    EARLIEST_PAYMENT,
    MAX_DESCRIPTION_CHARS,
    MAX_REASON_CHARS,
    MAX_REFERENCE_CHARS,
    CaseCosts,
    LineDraft,
    PaymentDraft,
)
from referral_desk.services.errors import ServiceError, ValidationError
from referral_desk.services.fee_schedule import ServiceDraft
from tests.conftest import NOW, admin, case, patient
from tests.services.test_properties_intake import (
    BROKEN,
    EXAMPLES,
    PROPERTY,
    PURE,
    TEXT,
    snapshot,
    table_names,
    weighted,
)

TODAY = NOW.date()
RECEIVED = NOW - timedelta(days=10)  # the cases came in ten days ago
MAX_PRICE = MAX_MAJOR_UNITS * 100  # in cents: the office is in euros
HUGE = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, -(10**30)]  # beyond SQLite's INTEGER

SOME_TEXT = weighted(
    (4, TEXT),
    (1, BROKEN),
    # Just over the limits the service documents.
    (1, st.builds(operator.mul, st.sampled_from(["x", "é ", "王"]), st.integers(150, 1100))),
)
OPTIONAL_TEXT = weighted((3, st.just("")), (2, SOME_TEXT))


@pytest.fixture
def office_db(db: Database) -> tuple[Database, list[int], dict[str, int | None]]:
    """An office in euros with a few cases (lines spread over them stay few per case) and a
    fee schedule with an active and a deactivated service."""
    office.set_currency(db, "EUR", actor=admin())
    case_ids = [
        cases.create_case(db, case(), patient=patient(), actor=admin(), now=RECEIVED).id
        for _ in range(8)
    ]
    active = fee_schedule.create_service(
        db, ServiceDraft("PATHX", "Pathology re-review", 30_000), actor=admin()
    )
    retired = fee_schedule.create_service(
        db, ServiceDraft("OLD", "Retired test", 5_000, active=False), actor=admin()
    )
    services: dict[str, int | None] = {
        "none": None,
        "active": active,
        "retired": retired,
        "missing": 999_999,
    }
    return db, case_ids, services


def _assert_refusal_names_fields(exc: ServiceError, allowed: set[str]) -> None:
    assert str(exc).strip(), "a refusal must say why"
    assert isinstance(exc, ValidationError), f"{type(exc).__name__}: {exc}"
    assert exc.errors and set(exc.errors) <= allowed, exc.errors
    assert all(message.strip() for message in exc.errors.values())


def _assert_totals_kept(db: Database, costs_now: CaseCosts) -> None:
    """The totals shown and those kept on the case row for the list agree with the lines."""
    expected = rules.totals(
        [
            rules.CostLine(
                line.kind, line.draft.quantity, line.draft.unit_price_minor, line.approval
            )
            for line in costs_now.lines
        ],
        [p.draft.amount_minor for p in costs_now.payments],
    )
    assert costs_now.totals == expected
    with db.read() as session:
        row = session.execute(
            text("SELECT charges_minor, estimate_minor, balance_minor FROM cases WHERE id = :id"),
            {"id": costs_now.case_id},
        ).one()
    assert tuple(row) == (expected.final, expected.estimated, expected.balance)


QUANTITY = weighted(
    (6, st.integers(1, 10)),
    (1, st.integers()),
    (1, st.sampled_from([0, -1, MAX_QUANTITY, MAX_QUANTITY + 1, *HUGE])),
)
PRICE = weighted(
    (6, st.integers(0, 1_000_000)),
    (1, st.integers()),
    (1, st.sampled_from([0, -1, MAX_PRICE, MAX_PRICE + 1, *HUGE])),
)
DESCRIPTION = weighted(
    (4, st.sampled_from(["Second opinion", "  Pathology\n re-review ", "PET-CT", "病理"])),
    (4, SOME_TEXT),
    (1, st.just("")),
)


def test_any_cost_line_is_recorded_and_reads_back_or_refused_with_nothing_saved(
    office_db: tuple[Database, list[int], dict[str, int | None]],
) -> None:
    db, case_ids, services = office_db
    tables = table_names(db)
    outcomes: Counter[str] = Counter()
    state = {"snapshot": snapshot(db, tables)}

    @PROPERTY
    @given(
        case_id=st.sampled_from(case_ids),
        description=DESCRIPTION,
        quantity=QUANTITY,
        price=PRICE,
        kind=st.sampled_from(LineKind),
        needs_approval=st.booleans(),
        service=weighted((5, st.just("none")), (1, st.sampled_from(["active", "retired"]))),
        missing_service=weighted((19, st.just(False)), (1, st.just(True))),
        reason=OPTIONAL_TEXT,
    )
    def add(
        case_id: int,
        description: str,
        quantity: int,
        price: int,
        kind: LineKind,
        needs_approval: bool,
        service: str,
        missing_service: bool,
        reason: str,
    ) -> None:
        service_id = services["missing" if missing_service else service]
        draft = LineDraft(description, quantity, price, kind, service_id, needs_approval)
        before = state["snapshot"]
        try:
            costs.add_line(db, case_id, draft, actor=admin(), reason=reason, now=NOW)
        except ServiceError as exc:
            outcomes["refused"] += 1
            _assert_refusal_names_fields(
                exc, {"description", "quantity", "unit_price", "kind", "service", "reason"}
            )
            assert snapshot(db, tables) == before, "a refused cost line changed the database"
            return
        outcomes["accepted"] += 1
        state["snapshot"] = snapshot(db, tables)
        # Only what the rules allow was saved.
        assert 1 <= quantity <= MAX_QUANTITY and 0 <= price <= MAX_PRICE
        assert service in ("none", "active") and not missing_service
        assert not (needs_approval and kind is LineKind.FINAL)
        assert len(reason.strip()) <= MAX_REASON_CHARS
        # It reads back as typed, its description's spaces collapsed.
        costs_now = costs.case_costs(db, case_id)
        line = costs_now.lines[-1]
        words = " ".join(description.split()) or ("Pathology re-review" if service_id else "")
        assert line.draft == LineDraft(words, quantity, price, kind, service_id, needs_approval)
        assert 0 < len(words) <= MAX_DESCRIPTION_CHARS
        assert line.approval is (Approval.PENDING if needs_approval else Approval.NOT_NEEDED)
        assert line.total_minor == quantity * price
        assert costs_now.history[0].reason == reason.strip()
        _assert_totals_kept(db, costs_now)

    add()
    assert outcomes["accepted"] >= EXAMPLES // 8, outcomes
    assert outcomes["refused"] >= EXAMPLES // 5, outcomes


AMOUNT = weighted(
    (2, st.integers(1, 100_000)),
    (1, st.integers(-100_000, 0)),
    (1, st.integers()),
    (1, st.integers(min_value=MAX_PRICE + 1)),
    (1, st.integers(max_value=-MAX_PRICE - 1)),
    (1, st.sampled_from([0, MAX_PRICE, MAX_PRICE + 1, -MAX_PRICE, -MAX_PRICE - 1, *HUGE])),
)
EARLIEST = RECEIVED.date() - EARLIEST_PAYMENT
PAID_ON = weighted(
    (1, st.dates(EARLIEST, TODAY)),
    (1, st.dates()),
    (1, st.sampled_from([TODAY, TODAY + timedelta(days=1), EARLIEST, EARLIEST - timedelta(1)])),
)
REFERENCE = weighted(
    (3, st.just("")),
    (2, SOME_TEXT),
    (1, st.sampled_from(["  TX-2026-0042 ", "Überweisung 17/11"])),
)


def test_any_payment_is_recorded_and_reads_back_or_refused_with_nothing_saved(
    office_db: tuple[Database, list[int], dict[str, int | None]],
) -> None:
    db, case_ids, _services = office_db
    tables = table_names(db)
    outcomes: Counter[str] = Counter()
    state = {"snapshot": snapshot(db, tables)}

    @PROPERTY
    @given(
        case_id=st.sampled_from(case_ids),
        amount=AMOUNT,
        paid_on=PAID_ON,
        method=st.sampled_from(PaymentMethod),
        reference=REFERENCE,
        reason=weighted(
            (1, st.sampled_from(["Cancelled review", " typed twice "])), (1, OPTIONAL_TEXT)
        ),
    )
    def pay(
        case_id: int,
        amount: int,
        paid_on: date,
        method: PaymentMethod,
        reference: str,
        reason: str,
    ) -> None:
        draft = PaymentDraft(amount, paid_on, method, reference, reason)
        before = state["snapshot"]
        try:
            costs.add_payment(db, case_id, draft, actor=admin(), now=NOW, local_zone=UTC)
        except ServiceError as exc:
            outcomes["refused"] += 1
            _assert_refusal_names_fields(exc, {"amount", "paid_on", "reference", "reason"})
            assert snapshot(db, tables) == before, "a refused payment changed the database"
            return
        outcomes["refund" if amount < 0 else "accepted"] += 1
        state["snapshot"] = snapshot(db, tables)
        assert amount != 0 and abs(amount) <= MAX_PRICE
        assert EARLIEST <= paid_on <= TODAY
        assert amount > 0 or reason.strip(), "a refund says why"
        assert len(reference.strip()) <= MAX_REFERENCE_CHARS
        assert len(reason.strip()) <= MAX_REASON_CHARS
        costs_now = costs.case_costs(db, case_id)
        newest = max(costs_now.payments, key=lambda p: p.id)
        assert newest.draft == PaymentDraft(
            amount, paid_on, method, reference.strip(), reason.strip()
        )
        assert costs_now.totals.paid >= 0, "more was refunded than paid"
        assert costs_now.history[0].reason == reason.strip()
        _assert_totals_kept(db, costs_now)

    pay()
    assert outcomes["accepted"] >= EXAMPLES // 8, outcomes
    assert outcomes["refund"] >= EXAMPLES // 100, outcomes
    assert outcomes["refused"] >= EXAMPLES // 5, outcomes


CURRENCIES = ["EUR", "USD", "JPY", "KWD", "CHF", "INR", "GBP"]
LOCALES = [
    "en_US", "de_DE", "fr_FR", "de_CH", "en_IN", "pt_BR", "ar_EG", "fa_IR", "he_IL", "ja_JP",
    "de_DE.UTF-8", "C", "POSIX", "", "xx_YY", "en-GB",
]  # fmt: skip
NUMBER_LIKE = st.text(
    st.sampled_from(list("0123456789.,'’ -+\u00a0\u202f€$¥£eE٫٬٠١٢۱\u200f\u061c")), max_size=16
)


@st.composite
def shown_amounts(draw: st.DrawFn) -> str:
    """What the program itself shows, sometimes slightly retyped."""
    currency, locale = draw(st.sampled_from(CURRENCIES)), draw(st.sampled_from(LOCALES))
    minor = draw(weighted((3, st.integers(-(10**10), 10**10)), (1, st.integers(-(10**20), 10**20))))
    shown = draw(st.sampled_from([format_plain, format_amount]))(minor, currency, locale)
    return shown + draw(st.sampled_from(["", " ", "0", ".", ",5", "\u200f"]))


@PURE
@given(
    typed=weighted((2, TEXT), (1, BROKEN), (3, NUMBER_LIKE), (2, shown_amounts())),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
    allow_negative=st.booleans(),
)
def test_any_typed_amount_is_read_exactly_or_refused_with_a_message_quoting_it(
    typed: str, currency: str, locale: str, allow_negative: bool
) -> None:
    try:
        minor = parse_amount(typed, currency, locale, allow_negative=allow_negative)
    except MoneyError as exc:
        assert str(exc).strip()
        return
    assert isinstance(minor, int) and not isinstance(minor, bool)
    assert abs(minor) <= MAX_MAJOR_UNITS * 10 ** minor_digits(currency)
    assert minor >= 0 or allow_negative
    # What the program shows for the amount reads back as the same amount.
    for shown in (format_plain(minor, currency, locale), format_amount(minor, currency, locale)):
        assert parse_amount(shown, currency, locale, allow_negative=True) == minor, shown


@PURE
@given(
    minor=weighted((3, st.integers(-(10**9), 10**9)), (1, st.sampled_from([0, 1, -1, 5, 99]))),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
)
def test_every_amount_within_the_limit_reads_back_from_how_it_is_shown(
    minor: int, currency: str, locale: str
) -> None:
    if abs(minor) > MAX_MAJOR_UNITS * 10 ** minor_digits(currency):
        minor //= 1000
    for shown in (format_plain(minor, currency, locale), format_amount(minor, currency, locale)):
        assert parse_amount(shown, currency, locale, allow_negative=True) == minor, shown


# Found by the properties above: a broken character (half a UTF-16 pair, from a command line
# that is not UTF-8) in a description, reference or reason crashed the save.


def test_a_broken_character_in_a_cost_text_is_refused_naming_the_field(
    office_db: tuple[Database, list[int], dict[str, int | None]],
) -> None:
    db, case_ids, _services = office_db
    tables = table_names(db)
    before = snapshot(db, tables)
    with pytest.raises(ValidationError) as line:
        costs.add_line(db, case_ids[0], LineDraft("Biopsy \udcfc", 1, 100), actor=admin())
    with pytest.raises(ValidationError) as reason:
        costs.add_line(db, case_ids[0], LineDraft("Biopsy", 1, 100), reason="\udcfc", actor=admin())
    with pytest.raises(ValidationError) as payment:
        costs.add_payment(
            db,
            case_ids[0],
            PaymentDraft(100, TODAY, PaymentMethod.CASH, reference="\udcfc", reason="\udcfc"),
            actor=admin(),
            now=NOW,
            local_zone=UTC,
        )
    assert set(line.value.errors) == {"description"}
    assert set(reason.value.errors) == {"reason"}
    assert set(payment.value.errors) == {"reference", "reason"}
    assert "broken character" in str(payment.value)
    assert snapshot(db, tables) == before
