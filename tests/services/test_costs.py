"""A case's costs: lines quoted and charged, the patient's approval, payments, refunds, the
history and the totals kept on the case for the list. Real SQLite files."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referral_desk.db.engine import Database
from referral_desk.domain.costs import Approval, LineKind, PaymentMethod, PaymentStatus
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.specialists import Concordance, Discipline
from referral_desk.services import cases, costs, fee_schedule, office, opinions, specialists
from referral_desk.services.case_state import CaseChange
from referral_desk.services.costs import CaseCosts, LineDraft, LineInfo, PaymentDraft
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from tests.conftest import NOW, admin, case, patient, without_checklists

HOUR = timedelta(hours=1)
TODAY = NOW.date()  # 23 Nov 2026; the case is received at NOW
LATER = NOW + HOUR
CONSULT = LineDraft("Second opinion consultation", 1, 45_000)
TEST = LineDraft("Oncotype DX", 1, 300_000, needs_approval=True)


@pytest.fixture
def office_db(db: Database) -> Database:
    """An office in euros whose cases need no records (they stay New)."""
    without_checklists(db)
    office.set_currency(db, "EUR", actor=admin())
    return db


def _new_case(db: Database, *, at: datetime = NOW) -> int:
    return cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=at).id


@pytest.fixture
def case_id(office_db: Database) -> int:
    return _new_case(office_db)


def _costs(db: Database, case_id: int) -> CaseCosts:
    return costs.case_costs(db, case_id)


def _line(db: Database, case_id: int, description: str) -> LineInfo:
    return next(line for line in _costs(db, case_id).lines if line.draft.description == description)


def _add(db: Database, case_id: int, draft: LineDraft, *, reason: str = "") -> CaseChange:
    return costs.add_line(db, case_id, draft, actor=admin("maria"), reason=reason, now=LATER)


def _answer(
    db: Database, line_id: int, approved: bool, on: date = TODAY, **kw: object
) -> CaseChange:
    values: dict[str, object] = {"actor": admin("maria"), "now": LATER, "local_zone": UTC}
    values.update(kw)
    return costs.answer_approval(db, line_id, approved=approved, on=on, **values)  # type: ignore[arg-type]


def _pay(
    db: Database,
    case_id: int,
    amount: int,
    *,
    on: date = TODAY,
    reason: str = "",
    method: PaymentMethod = PaymentMethod.CARD,
    reference: str = "",
    now: datetime = LATER,
) -> CaseChange:
    draft = PaymentDraft(amount, on, method, reference, reason)
    return costs.add_payment(db, case_id, draft, actor=admin("maria"), now=now, local_zone=UTC)


def _sql(db: Database, query: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db.path) as conn:
        rows = conn.execute(query, args).fetchall()
    conn.close()
    return rows


def _stored(db: Database, case_id: int) -> tuple[object, ...]:
    [row] = _sql(
        db,
        "SELECT charges_minor, estimate_minor, balance_minor, awaiting_approval FROM cases "
        "WHERE id = ?",
        case_id,
    )
    return row


def _recomputed(db: Database, case_id: int) -> tuple[int, int, int, int]:
    """The totals worked out again from the rows, in SQL, without the services' code."""
    [(final, estimate, pending)] = _sql(
        db,
        "SELECT "
        "coalesce(sum(CASE WHEN kind = 'final' THEN quantity * unit_price_minor END), 0), "
        "coalesce(sum(CASE WHEN kind = 'estimate' AND approval != 'declined' "
        "    THEN quantity * unit_price_minor END), 0), "
        "count(CASE WHEN kind = 'estimate' AND approval = 'pending' THEN 1 END) "
        "FROM cost_lines WHERE case_id = ?",
        case_id,
    )
    [(paid,)] = _sql(
        db, "SELECT coalesce(sum(amount_minor), 0) FROM payments WHERE case_id = ?", case_id
    )
    return int(final), int(estimate), int(final) - int(paid), int(pending)  # type: ignore[call-overload]


def _history(db: Database, case_id: int) -> list[tuple[str, str]]:
    return [(e.action, e.reason) for e in _costs(db, case_id).history]


def _case_version(db: Database, case_id: int) -> int:
    [(version,)] = _sql(db, "SELECT version FROM cases WHERE id = ?", case_id)
    return int(version)  # type: ignore[call-overload]


# --- totals never drift -------------------------------------------------------------------

OPERATIONS = st.one_of(
    st.tuples(
        st.just("add"),
        st.sampled_from(LineKind),
        st.integers(1, 5),
        st.integers(0, 200_000),
        st.booleans(),
    ),
    st.tuples(st.just("update"), st.integers(0, 9), st.integers(1, 5), st.integers(0, 200_000)),
    st.tuples(st.just("kind"), st.integers(0, 9), st.sampled_from(LineKind)),
    st.tuples(st.just("needs"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("remove"), st.integers(0, 9)),
    st.tuples(st.just("charge"), st.integers(0, 9)),
    st.tuples(st.just("answer"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("pay"), st.integers(1, 300_000)),
    st.tuples(st.just("refund"), st.integers(1, 300_000)),
    st.tuples(st.just("unpay"), st.integers(0, 9)),
)


def _apply(db: Database, case_id: int, operation: tuple[object, ...]) -> None:
    name, *args = operation
    current = _costs(db, case_id)
    lines, payments = current.lines, current.payments

    def line(i: object) -> LineInfo | None:
        return lines[int(i) % len(lines)] if lines else None  # type: ignore[call-overload]

    if name == "add":
        kind, quantity, price, needs_approval = args
        draft = LineDraft(f"Line {len(lines)}", quantity, price, kind, None, needs_approval)  # type: ignore[arg-type]
        costs.add_line(db, case_id, draft, actor=admin("a"), now=LATER)
    elif name == "update" and (target := line(args[0])):
        draft = replace(target.draft, quantity=args[1], unit_price_minor=args[2])  # type: ignore[arg-type]
        costs.update_line(
            db, target.id, draft, expected_version=target.version, actor=admin("a"), now=LATER
        )
    elif name == "kind" and (target := line(args[0])):
        draft = replace(target.draft, kind=args[1])  # type: ignore[arg-type]
        costs.update_line(
            db, target.id, draft, expected_version=target.version, actor=admin("a"), now=LATER
        )
    elif name == "needs" and (target := line(args[0])):
        draft = replace(target.draft, needs_approval=args[1])  # type: ignore[arg-type]
        costs.update_line(
            db, target.id, draft, expected_version=target.version, actor=admin("a"), now=LATER
        )
    elif name == "remove" and (target := line(args[0])):
        costs.remove_line(
            db, target.id, expected_version=target.version, actor=admin("a"), now=LATER
        )
    elif name == "charge" and (target := line(args[0])):
        costs.charge_line(db, target.id, actor=admin("a"), now=LATER)
    elif name == "answer" and (target := line(args[0])):
        _answer(db, target.id, bool(args[1]))
    elif name == "pay":
        _pay(db, case_id, int(args[0]))  # type: ignore[call-overload]
    elif name == "refund":
        _pay(db, case_id, -int(args[0]), reason="Refund")  # type: ignore[call-overload]
    elif name == "unpay" and payments:
        payment = payments[int(args[0]) % len(payments)]  # type: ignore[call-overload]
        costs.remove_payment(db, payment.id, reason="Typed twice", actor=admin("a"), now=LATER)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATIONS, min_size=5, max_size=30))
def test_totals_never_drift_whatever_is_done_in_whatever_order(
    office_db: Database, operations: list[tuple[object, ...]]
) -> None:
    """No rounding rule is needed, because nothing is ever rounded: a line is an integer
    quantity times an integer price in minor units, and every total is a plain sum of those
    and of integer payments. So after any sequence of changes, refused ones included, the
    totals stored on the case equal a fresh recomputation from the rows and what the costs
    screen shows, and what was paid plus what is owed is exactly what was charged."""
    case_id = _new_case(office_db)  # every example gets a fresh case in the same office
    opening: list[tuple[object, ...]] = [
        ("add", LineKind.ESTIMATE, 1, 45_000, False),
        ("add", LineKind.ESTIMATE, 1, 30_000, True),
        ("add", LineKind.FINAL, 2, 4_000, False),
        ("pay", 10_000),
    ]
    for operation in opening + operations:
        version_before = _case_version(office_db, case_id)
        stored_before = _stored(office_db, case_id)
        try:
            _apply(office_db, case_id, operation)
        except ValidationError:  # refused: nothing at all changed
            assert _case_version(office_db, case_id) == version_before
            assert _stored(office_db, case_id) == stored_before
        shown = _costs(office_db, case_id).totals
        assert _stored(office_db, case_id) == _recomputed(office_db, case_id)
        assert _stored(office_db, case_id)[:3] == (shown.final, shown.estimated, shown.balance)
        assert shown.balance + shown.paid == shown.final
        assert shown.paid >= 0  # no refund ever takes back more than was paid
        assert 0 <= shown.awaiting_approval <= shown.estimated
        pending = [
            line for line in _costs(office_db, case_id).lines if line.approval is Approval.PENDING
        ]
        assert all(line.kind is LineKind.ESTIMATE for line in pending)  # never charged
        assert _stored(office_db, case_id)[3] == len(pending)
        assert shown.awaiting_approval == sum(line.total_minor for line in pending)


# --- lines ----------------------------------------------------------------------------------


def test_a_line_is_saved_with_who_and_when(office_db: Database) -> None:
    case_id = _new_case(office_db)
    change = _add(office_db, case_id, LineDraft("  Courier   of slides ", 2, 4_500))
    assert change.version_before is not None and change.case_version > change.version_before
    assert change.message == "Added estimate 'Courier of slides', 2 × EUR 45.00."
    [line] = _costs(office_db, case_id).lines
    assert line.draft == LineDraft("Courier of slides", 2, 4_500)
    assert (line.total_minor, line.approval, line.created_by) == (
        9_000,
        Approval.NOT_NEEDED,
        "maria",
    )
    assert line.created_at == LATER and not line.from_assignment and line.service_code is None
    assert _costs(office_db, case_id).currency == "EUR"
    assert _history(office_db, case_id) == [(change.message, "")]


def test_the_first_line_pins_the_currency_of_this_computer(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_checklists(db)
    monkeypatch.setattr(office, "system_locale", lambda: "de_CH")
    assert office.get_profile(db) == office.OfficeProfile("CHF", False, True)
    case_id = _new_case(db)
    _add(db, case_id, CONSULT)
    monkeypatch.setattr(office, "system_locale", lambda: "ja_JP")  # the office moves
    assert office.get_profile(db).currency == "CHF"
    assert office.get_profile(db).currency_is_set
    assert _costs(db, case_id).currency == "CHF"


def test_a_line_from_the_fee_schedule_takes_its_name(office_db: Database, case_id: int) -> None:
    path = fee_schedule.find_service(office_db, "path")
    _add(office_db, case_id, LineDraft("", 1, 30_000, service_id=path.id))
    [line] = _costs(office_db, case_id).lines
    assert (line.draft.description, line.service_code) == ("Pathology re-review", "PATH")


def test_a_deactivated_service_is_not_used_for_new_lines_but_stays_on_old_ones(
    office_db: Database, case_id: int
) -> None:
    courier = fee_schedule.find_service(office_db, "COURIER")
    _add(office_db, case_id, LineDraft("", 1, 4_000, service_id=courier.id))
    fee_schedule.update_service(
        office_db,
        courier.id,
        replace(courier.draft, active=False),
        expected_version=courier.version,
        actor=admin(),
    )
    with pytest.raises(ValidationError, match="COURIER Courier of slides or blocks is deactivated"):
        _add(office_db, case_id, LineDraft("", 1, 4_000, service_id=courier.id))
    [line] = _costs(office_db, case_id).lines
    costs.update_line(  # the old line can still be corrected
        office_db,
        line.id,
        replace(line.draft, quantity=2),
        expected_version=line.version,
        actor=admin("maria"),
        now=LATER,
    )
    assert _costs(office_db, case_id).lines[0].total_minor == 8_000
    with pytest.raises(ValidationError) as raised:
        _add(office_db, case_id, LineDraft("Courier", 1, 4_000, service_id=9_999))
    assert raised.value.errors == {"service": "That service is no longer on the fee schedule."}


@pytest.mark.parametrize(
    ("draft", "field", "message"),
    [
        (LineDraft("", 1, 100), "description", "Describe the line as the patient will read it."),
        (LineDraft("   ", 1, 100), "description", "Describe the line"),
        (
            LineDraft("x" * 301, 1, 100),
            "description",
            "Keep the description to 300 characters (it has 301)",
        ),
        (LineDraft("Test", 0, 100), "quantity", "The quantity must be between 1 and 1000."),
        (LineDraft("Test", -1, 100), "quantity", "between 1 and 1000"),
        (LineDraft("Test", 1001, 100), "quantity", "between 1 and 1000"),
        (LineDraft("Test", 1.5, 100), "quantity", "The quantity must be a whole number"),  # type: ignore[arg-type]
        (LineDraft("Test", 1, -100), "unit_price", "A price cannot be negative"),
        (LineDraft("Test", 1, 10_000_000_01), "unit_price", "The price is implausibly high"),
        (LineDraft("Test", 1, 99.5), "unit_price", "The price must be a whole number"),  # type: ignore[arg-type]
        (
            LineDraft("Test", 1, 100, LineKind.FINAL, needs_approval=True),
            "kind",
            "A test waiting for the patient's approval is an estimate, not a charge.",
        ),
    ],
)
def test_a_bad_line_names_the_field_and_saves_nothing(
    office_db: Database, case_id: int, draft: LineDraft, field: str, message: str
) -> None:
    version = _case_version(office_db, case_id)
    with pytest.raises(ValidationError) as raised:
        _add(office_db, case_id, draft)
    assert field in raised.value.errors and message in raised.value.errors[field]
    assert _costs(office_db, case_id).lines == () and _history(office_db, case_id) == []
    assert _case_version(office_db, case_id) == version


def test_every_bad_field_of_a_line_is_named_at_once(office_db: Database, case_id: int) -> None:
    with pytest.raises(ValidationError) as raised:
        _add(office_db, case_id, LineDraft("", 0, 100, LineKind.FINAL, needs_approval=True))
    assert set(raised.value.errors) == {"description", "quantity", "kind"}


def test_the_largest_plausible_line_is_allowed(office_db: Database, case_id: int) -> None:
    _add(office_db, case_id, LineDraft("Whole-genome sequencing", 1000, 10_000_000_00))
    assert _costs(office_db, case_id).totals.estimated == 1000 * 10_000_000_00


def test_a_line_is_changed_and_a_stale_change_is_refused(office_db: Database, case_id: int) -> None:
    _add(office_db, case_id, CONSULT)
    line = _line(office_db, case_id, CONSULT.description)
    change = costs.update_line(
        office_db,
        line.id,
        replace(line.draft, unit_price_minor=50_000),
        expected_version=line.version,
        actor=admin("pedro"),
        now=LATER,
    )
    assert change.message == (
        "Changed estimate 'Second opinion consultation', EUR 450.00 to "
        "estimate 'Second opinion consultation', EUR 500.00."
    )
    assert _line(office_db, case_id, CONSULT.description).version == line.version + 1
    with pytest.raises(ConflictError, match="changed by someone else"):
        costs.update_line(
            office_db,
            line.id,
            replace(line.draft, unit_price_minor=1),
            expected_version=line.version,
            actor=admin("maria"),
            now=LATER,
        )
    with pytest.raises(ConflictError):
        costs.remove_line(
            office_db, line.id, expected_version=line.version, actor=admin("a"), now=LATER
        )
    assert _costs(office_db, case_id).totals.estimated == 50_000


def test_unknown_cases_lines_and_payments_are_said_to_be_unknown(
    office_db: Database, case_id: int
) -> None:
    with pytest.raises(NotFoundError, match="no case number 99"):
        costs.case_costs(office_db, 99)
    with pytest.raises(NotFoundError, match="no case number 99"):
        _add(office_db, 99, CONSULT)
    with pytest.raises(NotFoundError, match="no cost line number 7"):
        costs.charge_line(office_db, 7, actor=admin("a"), now=LATER)
    with pytest.raises(NotFoundError, match="no cost line number 7"):
        costs.remove_line(office_db, 7, actor=admin("a"), now=LATER)
    with pytest.raises(NotFoundError, match="no payment number 7"):
        costs.remove_payment(office_db, 7, reason="x", actor=admin("a"), now=LATER)
    with pytest.raises(NotFoundError, match="no case number 99"):
        costs.payment_warning(office_db, 99, 100)


def test_charging_an_estimate_keeps_its_amount_and_moves_it_to_the_charges(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, CONSULT)
    line = _line(office_db, case_id, CONSULT.description)
    change = costs.charge_line(office_db, line.id, actor=admin("maria"), now=LATER)
    assert change.message == "Charged 'Second opinion consultation', EUR 450.00."
    totals = _costs(office_db, case_id).totals
    assert (totals.estimated, totals.final, totals.status) == (0, 45_000, PaymentStatus.UNPAID)
    with pytest.raises(ValidationError, match="is already charged"):
        costs.charge_line(office_db, line.id, actor=admin("maria"), now=LATER)


def test_a_removed_line_leaves_the_totals_and_stays_in_the_history(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, CONSULT)
    line = _line(office_db, case_id, CONSULT.description)
    costs.remove_line(office_db, line.id, actor=admin("pedro"), now=LATER)
    assert _costs(office_db, case_id).lines == ()
    assert _stored(office_db, case_id) == (0, 0, 0, 0)
    assert _history(office_db, case_id)[0] == (
        "Removed estimate 'Second opinion consultation', EUR 450.00.",
        "",
    )


# --- the patient's approval of an additional test -------------------------------------------


def test_a_test_waits_for_the_patient_and_is_counted_apart(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, CONSULT)
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    assert line.approval is Approval.PENDING and line.approval_on is None
    totals = _costs(office_db, case_id).totals
    assert (totals.estimated, totals.awaiting_approval) == (345_000, 300_000)
    assert _stored(office_db, case_id) == (0, 345_000, 0, 1)


def test_the_patients_yes_is_kept_with_its_date_and_the_test_can_be_charged(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    with pytest.raises(ValidationError, match="has not approved 'Oncotype DX' yet"):
        costs.charge_line(office_db, line.id, actor=admin("maria"), now=LATER)
    change = _answer(office_db, line.id, True, note="By phone")
    assert change.message == "The patient approved 'Oncotype DX' on 2026-11-23."
    line = _line(office_db, case_id, TEST.description)
    assert (line.approval, line.approval_on, line.approval_by) == (
        Approval.APPROVED,
        TODAY,
        "maria",
    )
    assert _history(office_db, case_id)[0] == (change.message, "By phone")
    assert _stored(office_db, case_id) == (0, 300_000, 0, 0)
    costs.charge_line(office_db, line.id, actor=admin("maria"), now=LATER)
    assert _stored(office_db, case_id) == (300_000, 0, 300_000, 0)
    with pytest.raises(ValidationError, match="already charged; its approval stands"):
        _answer(office_db, line.id, False)


def test_a_declined_test_leaves_the_estimate_and_cannot_be_charged(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, CONSULT)
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    _answer(office_db, line.id, False)
    totals = _costs(office_db, case_id).totals
    assert (totals.estimated, totals.awaiting_approval) == (45_000, 0)
    with pytest.raises(ValidationError, match="The patient declined 'Oncotype DX'"):
        costs.charge_line(office_db, line.id, actor=admin("maria"), now=LATER)
    line = _line(office_db, case_id, TEST.description)
    with pytest.raises(ValidationError, match="declined this test; it cannot be charged"):
        costs.update_line(
            office_db,
            line.id,
            replace(line.draft, kind=LineKind.FINAL),
            expected_version=line.version,
            actor=admin("maria"),
            now=LATER,
        )


def test_the_patient_may_change_their_answer_while_it_is_quoted(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, TEST)
    line_id = _line(office_db, case_id, TEST.description).id
    _answer(office_db, line_id, False, on=TODAY)
    _answer(office_db, line_id, True, on=TODAY)
    assert _line(office_db, case_id, TEST.description).approval is Approval.APPROVED
    assert _costs(office_db, case_id).totals.estimated == 300_000
    assert [a for a, _ in _history(office_db, case_id)][:2] == [
        "The patient approved 'Oncotype DX' on 2026-11-23.",
        "The patient declined 'Oncotype DX' on 2026-11-23.",
    ]


@pytest.mark.parametrize("answer", [True, False])
def test_a_new_amount_on_an_answered_test_asks_the_patient_again(
    office_db: Database, case_id: int, answer: bool
) -> None:
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    _answer(office_db, line.id, answer)
    line = _line(office_db, case_id, TEST.description)
    # A new description alone keeps the answer.
    costs.update_line(
        office_db,
        line.id,
        replace(line.draft, description="Oncotype DX recurrence score"),
        expected_version=line.version,
        actor=admin("maria"),
        now=LATER,
    )
    line = _line(office_db, case_id, "Oncotype DX recurrence score")
    assert line.approval is (Approval.APPROVED if answer else Approval.DECLINED)
    change = costs.update_line(
        office_db,
        line.id,
        replace(line.draft, unit_price_minor=320_000),
        expected_version=line.version,
        actor=admin("maria"),
        now=LATER,
    )
    assert change.message.endswith("It waits for the patient's approval.")
    line = _line(office_db, case_id, "Oncotype DX recurrence score")
    assert (line.approval, line.approval_on, line.approval_by) == (Approval.PENDING, None, None)
    assert _stored(office_db, case_id) == (0, 320_000, 0, 1)


def test_an_approved_test_cannot_be_charged_at_a_new_amount_in_one_step(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    _answer(office_db, line.id, True)
    line = _line(office_db, case_id, TEST.description)
    with pytest.raises(ValidationError) as raised:
        costs.update_line(
            office_db,
            line.id,
            replace(line.draft, unit_price_minor=350_000, kind=LineKind.FINAL),
            expected_version=line.version,
            actor=admin("maria"),
            now=LATER,
        )
    assert raised.value.errors["kind"] == (
        "The patient approved 'Oncotype DX', EUR 3000.00. Save the new amount as an estimate "
        "and ask them again before charging it."
    )
    # At the approved amount it is charged, and the charged test stays approved when edited.
    costs.update_line(
        office_db,
        line.id,
        replace(line.draft, kind=LineKind.FINAL),
        expected_version=line.version,
        actor=admin("maria"),
        now=LATER,
    )
    charged = _line(office_db, case_id, TEST.description)
    assert (charged.kind, charged.approval) == (LineKind.FINAL, Approval.APPROVED)
    costs.update_line(  # the lab billed less: the charge is corrected, the yes stands
        office_db,
        charged.id,
        replace(charged.draft, unit_price_minor=280_000, description="Oncotype DX (lab)"),
        expected_version=charged.version,
        actor=admin("maria"),
        now=LATER,
    )
    corrected = _line(office_db, case_id, "Oncotype DX (lab)")
    assert (corrected.kind, corrected.approval, corrected.approval_on) == (
        LineKind.FINAL,
        Approval.APPROVED,
        TODAY,
    )
    assert _stored(office_db, case_id) == (280_000, 0, 280_000, 0)


def test_a_pending_test_cannot_be_charged_by_editing_it(office_db: Database, case_id: int) -> None:
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    for draft in (
        replace(line.draft, kind=LineKind.FINAL),
        replace(line.draft, kind=LineKind.FINAL, needs_approval=False),
    ):
        with pytest.raises(ValidationError):
            costs.update_line(
                office_db,
                line.id,
                draft,
                expected_version=line.version,
                actor=admin("a"),
                now=LATER,
            )
    assert _stored(office_db, case_id) == (0, 300_000, 0, 1)


def test_a_line_can_be_made_to_need_approval_and_back(office_db: Database, case_id: int) -> None:
    _add(office_db, case_id, CONSULT)
    line = _line(office_db, case_id, CONSULT.description)
    costs.update_line(
        office_db,
        line.id,
        replace(line.draft, needs_approval=True),
        expected_version=line.version,
        actor=admin("a"),
        now=LATER,
    )
    line = _line(office_db, case_id, CONSULT.description)
    assert line.approval is Approval.PENDING and _stored(office_db, case_id)[3] == 1
    costs.update_line(
        office_db,
        line.id,
        replace(line.draft, needs_approval=False),
        expected_version=line.version,
        actor=admin("a"),
        now=LATER,
    )
    assert _line(office_db, case_id, CONSULT.description).approval is Approval.NOT_NEEDED
    assert _stored(office_db, case_id)[3] == 0


def test_only_a_test_that_needs_it_is_answered(office_db: Database, case_id: int) -> None:
    _add(office_db, case_id, CONSULT)
    line = _line(office_db, case_id, CONSULT.description)
    with pytest.raises(ValidationError, match="does not need the patient's approval"):
        _answer(office_db, line.id, True)


@pytest.mark.parametrize(
    ("on", "message"),
    [
        (TODAY + timedelta(days=1), "The patient cannot answer in the future."),
        (
            TODAY - timedelta(days=1),
            "2026-11-22 is before RD-2026-00001 was received (2026-11-23); check the date.",
        ),
    ],
)
def test_an_impossible_answer_date_is_refused(
    office_db: Database, case_id: int, on: date, message: str
) -> None:
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    with pytest.raises(ValidationError) as raised:
        _answer(office_db, line.id, True, on=on)
    assert raised.value.errors == {"approval_on": message}
    assert _line(office_db, case_id, TEST.description).approval is Approval.PENDING


def test_answer_dates_are_the_offices_days_not_utcs(office_db: Database) -> None:
    """At 05:00 in Tokyo it is still yesterday in UTC; in New York a case received late in
    the evening was received 'tomorrow' in UTC. Neither may refuse today's answer."""
    tokyo, new_york = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
    evening = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # 22:30 on 23 Nov in New York
    case_id = _new_case(office_db, at=evening)
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    _answer(office_db, line.id, True, on=date(2026, 11, 23), now=evening, local_zone=new_york)
    early = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 05:00 on 25 Nov in Tokyo
    _answer(office_db, line.id, False, on=date(2026, 11, 25), now=early, local_zone=tokyo)
    with pytest.raises(ValidationError, match="cannot answer in the future"):
        _answer(office_db, line.id, True, on=date(2026, 11, 25), now=early, local_zone=UTC)
    _pay(office_db, case_id, 1_000, on=date(2026, 11, 23), now=evening)  # UTC: fine too
    draft = PaymentDraft(1_000, date(2026, 11, 25), PaymentMethod.CASH)
    costs.add_payment(office_db, case_id, draft, actor=admin("a"), now=early, local_zone=tokyo)
    with pytest.raises(ValidationError, match="cannot be dated in the future"):
        costs.add_payment(office_db, case_id, draft, actor=admin("a"), now=early, local_zone=UTC)


# --- payments, refunds and balances ---------------------------------------------------------


def _status(db: Database, case_id: int) -> tuple[PaymentStatus, int, int]:
    totals = _costs(db, case_id).totals
    return totals.status, totals.paid, totals.balance


def test_a_case_goes_from_nothing_due_to_paid_and_back(office_db: Database, case_id: int) -> None:
    assert _status(office_db, case_id) == (PaymentStatus.NOTHING_DUE, 0, 0)
    _add(office_db, case_id, CONSULT)
    assert _status(office_db, case_id) == (PaymentStatus.NOTHING_DUE, 0, 0)  # only quoted
    _pay(office_db, case_id, 20_000, method=PaymentMethod.BANK_TRANSFER, reference="SEPA 118")
    assert _status(office_db, case_id) == (PaymentStatus.IN_ADVANCE, 20_000, -20_000)
    assert _status(office_db, case_id)[0].label == "Paid in advance"
    costs.charge_line(
        office_db, _line(office_db, case_id, CONSULT.description).id, actor=admin("a"), now=LATER
    )
    assert _status(office_db, case_id) == (PaymentStatus.PARTLY_PAID, 20_000, 25_000)
    _pay(office_db, case_id, 25_000)
    assert _status(office_db, case_id) == (PaymentStatus.PAID, 45_000, 0)
    _pay(office_db, case_id, 5_000, method=PaymentMethod.CASH)
    assert _status(office_db, case_id) == (PaymentStatus.OVERPAID, 50_000, -5_000)
    _pay(office_db, case_id, -5_000, reason="Paid twice at the desk", method=PaymentMethod.CASH)
    assert _status(office_db, case_id) == (PaymentStatus.PAID, 45_000, 0)
    assert _stored(office_db, case_id) == (45_000, 0, 0, 0)
    payments = _costs(office_db, case_id).payments
    assert [(p.draft.amount_minor, p.is_refund) for p in payments] == [
        (20_000, False),
        (25_000, False),
        (5_000, False),
        (-5_000, True),
    ]
    assert payments[0].draft == PaymentDraft(
        20_000, TODAY, PaymentMethod.BANK_TRANSFER, "SEPA 118", ""
    )
    assert [a for a, _ in _history(office_db, case_id)][:2] == [
        "Refunded EUR 50.00 by cash on 2026-11-23.",
        "Received EUR 50.00 by cash on 2026-11-23.",
    ]
    assert ("Received EUR 200.00 by bank transfer on 2026-11-23 (ref. SEPA 118).", "") in (
        _history(office_db, case_id)
    )


def test_an_unpaid_charge_and_a_refund_of_everything_are_unpaid(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, replace(CONSULT, kind=LineKind.FINAL))
    assert _status(office_db, case_id) == (PaymentStatus.UNPAID, 0, 45_000)
    _pay(office_db, case_id, 45_000)
    _pay(office_db, case_id, -45_000, reason="Insurance paid instead")
    assert _status(office_db, case_id) == (PaymentStatus.UNPAID, 0, 45_000)


def test_a_payment_above_everything_asked_is_warned_about_and_allowed(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, replace(CONSULT, kind=LineKind.FINAL))  # charged 450
    _add(office_db, case_id, TEST)  # quoted 3000, waiting for the patient
    _pay(office_db, case_id, 10_000)
    assert costs.payment_warning(office_db, case_id, 335_000) is None  # the rest of it all
    assert costs.payment_warning(office_db, case_id, -5_000) is None  # a refund
    warning = costs.payment_warning(office_db, case_id, 340_000)
    assert warning == (
        "This payment is EUR 50.00 more than RD-2026-00001 is charged and quoted "
        "(EUR 3450.00, of which EUR 100.00 is paid). It will be recorded as an overpayment, "
        "owed back to the patient."
    )
    _pay(office_db, case_id, 340_000)
    assert _status(office_db, case_id) == (PaymentStatus.OVERPAID, 350_000, -305_000)


@pytest.mark.parametrize(
    ("amount", "kw", "field", "message"),
    [
        (0, {}, "amount", "A payment of zero records nothing; enter the amount received."),
        (-1_000, {}, "reason", "Say why the money is refunded."),
        (-1_000, {"reason": "   "}, "reason", "Say why the money is refunded."),
        (10_000_000_01, {}, "amount", "The amount is implausibly large; check it."),
        (
            -10_001,
            {"reason": "Test not done"},
            "amount",
            "Only EUR 100.00 has been paid for RD-2026-00001; a refund cannot be larger.",
        ),
        (
            1_000,
            {"on": TODAY + timedelta(days=1)},
            "paid_on",
            "A payment cannot be dated in the future.",
        ),
        (
            1_000,
            {"on": date(1926, 11, 23)},
            "paid_on",
            "1926-11-23 is more than a year before RD-2026-00001 was received (2026-11-23); "
            "check the date.",
        ),
        (
            1_000,
            {"reference": "x" * 201},
            "reference",
            "Keep the reference to 200 characters (it has 201).",
        ),
    ],
)
def test_a_bad_payment_names_the_field_and_saves_nothing(
    office_db: Database,
    case_id: int,
    amount: int,
    kw: dict[str, object],
    field: str,
    message: str,
) -> None:
    _pay(office_db, case_id, 10_000)
    version = _case_version(office_db, case_id)
    with pytest.raises(ValidationError) as raised:
        _pay(office_db, case_id, amount, **kw)  # type: ignore[arg-type]
    assert raised.value.errors == {field: message}
    assert len(_costs(office_db, case_id).payments) == 1
    assert _case_version(office_db, case_id) == version


def test_a_deposit_taken_before_the_case_was_entered_is_fine(
    office_db: Database, case_id: int
) -> None:
    _pay(office_db, case_id, 10_000, on=TODAY - timedelta(days=3), reference="  ")
    [payment] = _costs(office_db, case_id).payments
    assert (payment.draft.paid_on, payment.draft.reference) == (TODAY - timedelta(days=3), "")


def test_a_payment_is_removed_with_its_reason_unless_a_refund_came_out_of_it(
    office_db: Database, case_id: int
) -> None:
    _pay(office_db, case_id, 10_000)
    _pay(office_db, case_id, -4_000, reason="Courier not needed")
    payment, refund = _costs(office_db, case_id).payments
    with pytest.raises(ValidationError) as raised:
        costs.remove_payment(office_db, payment.id, reason=" ", actor=admin("a"), now=LATER)
    assert raised.value.errors == {"reason": "Say why the payment is removed (e.g. typed twice)."}
    with pytest.raises(ValidationError, match="remove the refund first"):
        costs.remove_payment(
            office_db, payment.id, reason="Typed twice", actor=admin("a"), now=LATER
        )
    assert _costs(office_db, case_id).totals.paid == 6_000
    change = costs.remove_payment(
        office_db, refund.id, reason="Typed twice", actor=admin("a"), now=LATER
    )
    assert change.message == "Removed the refund of EUR 40.00 of 2026-11-23."
    costs.remove_payment(office_db, payment.id, reason="Wrong case", actor=admin("a"), now=LATER)
    assert _costs(office_db, case_id).payments == ()
    assert _history(office_db, case_id)[0] == (
        "Removed the payment of EUR 100.00 of 2026-11-23.",
        "Wrong case",
    )


def test_a_payment_when_several_were_made_can_be_removed_despite_a_refund(
    office_db: Database, case_id: int
) -> None:
    _pay(office_db, case_id, 10_000)
    _pay(office_db, case_id, 10_000)
    _pay(office_db, case_id, -4_000, reason="Courier not needed")
    first = _costs(office_db, case_id).payments[0]
    costs.remove_payment(office_db, first.id, reason="Typed twice", actor=admin("a"), now=LATER)
    assert _costs(office_db, case_id).totals.paid == 6_000


def test_costs_of_one_case_leave_the_others_alone(office_db: Database) -> None:
    first, second = _new_case(office_db), _new_case(office_db)
    _add(office_db, first, replace(CONSULT, kind=LineKind.FINAL))
    _pay(office_db, second, 5_000)
    assert _stored(office_db, first) == (45_000, 0, 45_000, 0)
    assert _stored(office_db, second) == (0, 0, -5_000, 0)
    with pytest.raises(ValidationError, match=r"Only EUR 0\.00 has been paid for RD-2026-00001"):
        _pay(office_db, first, -100, reason="x")


# --- after the letter -----------------------------------------------------------------------


def _letter_sent(db: Database, case_id: int, status: S = S.LETTER_SENT) -> None:
    """Through the workflow as the office does it: reviewed, opinion, letter."""
    cases.change_status(db, case_id, S.READY_FOR_REVIEW, actor=admin("maria"), now=NOW)
    ana = specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Ana Lima", Discipline.MEDICAL_ONCOLOGY, 5, cancer_types=frozenset({"breast"})
        ),
        now=NOW,
        actor=admin(),
    )
    specialists.assign(db, case_id, ana, actor=admin("ines"), now=NOW, local_zone=UTC)
    opinions.record_opinion(
        db,
        case_id,
        OpinionDraft("Right.", "Go on.", Concordance.CONFIRMED, Concordance.CONFIRMED, NOW),
        actor=admin("ines"),
        now=NOW,
    )
    cases.change_status(db, case_id, S.LETTER_SENT, actor=admin("ines"), now=NOW)
    if status is S.CLOSED:
        cases.change_status(db, case_id, S.CLOSED, actor=admin("ines"), now=NOW)
    assert cases.get_case(db, case_id, now=NOW).status is status


@pytest.mark.parametrize("status", [S.LETTER_SENT, S.CLOSED])
def test_after_the_letter_a_charge_changes_only_with_a_reason_kept_in_the_history(
    office_db: Database, case_id: int, status: S
) -> None:
    _add(office_db, case_id, replace(CONSULT, kind=LineKind.FINAL))
    _add(office_db, case_id, LineDraft("Courier of slides", 1, 4_000))
    _letter_sent(office_db, case_id, status)
    assert _costs(office_db, case_id).letter_sent
    charged = _line(office_db, case_id, CONSULT.description)
    quoted = _line(office_db, case_id, "Courier of slides")
    stored = _stored(office_db, case_id)

    attempts = {
        "added": lambda reason: _add(
            office_db, case_id, LineDraft("Translation", 1, 9_000, LineKind.FINAL), reason=reason
        ),
        "changed": lambda reason: costs.update_line(
            office_db,
            charged.id,
            replace(charged.draft, unit_price_minor=40_000),
            expected_version=charged.version,
            actor=admin("pedro"),
            reason=reason,
            now=LATER,
        ),
        "charged": lambda reason: costs.charge_line(
            office_db, quoted.id, actor=admin("pedro"), reason=reason, now=LATER
        ),
        "removed": lambda reason: costs.remove_line(
            office_db, charged.id, actor=admin("pedro"), reason=reason, now=LATER
        ),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ValidationError) as raised:
            attempt("  ")
        assert raised.value.errors["reason"].startswith(
            "The letter for RD-2026-00001 has been sent with its costs. Say why a charge is "
            f"{'added' if what == 'charged' else what} now"
        )
        assert _stored(office_db, case_id) == stored
    for what, attempt in attempts.items():
        attempt(f"Billing correction: {what}")
        assert _history(office_db, case_id)[0][1] == f"Billing correction: {what}"
    assert _stored(office_db, case_id) == (13_000, 0, 13_000, 0)


def test_after_the_letter_quotes_and_payments_need_no_reason(
    office_db: Database, case_id: int
) -> None:
    _letter_sent(office_db, case_id)
    _add(office_db, case_id, LineDraft("Follow-up consultation", 1, 15_000))
    _pay(office_db, case_id, 15_000)
    assert _stored(office_db, case_id) == (0, 15_000, -15_000, 0)


def test_before_the_letter_a_charge_needs_no_reason(office_db: Database, case_id: int) -> None:
    assert not _costs(office_db, case_id).letter_sent
    _add(office_db, case_id, replace(CONSULT, kind=LineKind.FINAL))
    costs.remove_line(
        office_db, _line(office_db, case_id, CONSULT.description).id, actor=admin("a"), now=LATER
    )
    assert _history(office_db, case_id)[0][1] == ""


# --- the history ----------------------------------------------------------------------------


def test_the_history_lists_every_change_newest_first_with_who_and_when(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, CONSULT)
    costs.charge_line(
        office_db,
        _line(office_db, case_id, CONSULT.description).id,
        actor=admin("pedro"),
        now=LATER + HOUR,
    )
    history = _costs(office_db, case_id).history
    assert [(e.actor, e.at) for e in history] == [("pedro", LATER + HOUR), ("maria", LATER)]
    assert _sql(office_db, "SELECT count(*) FROM cost_events") == [(2,)]


def test_saving_an_unchanged_charge_after_the_letter_asks_nothing_and_records_nothing(
    office_db: Database, case_id: int
) -> None:
    _add(office_db, case_id, replace(CONSULT, kind=LineKind.FINAL))
    _letter_sent(office_db, case_id)
    line = _line(office_db, case_id, CONSULT.description)
    history = _history(office_db, case_id)
    version = _case_version(office_db, case_id)
    change = costs.update_line(
        office_db,
        line.id,
        replace(line.draft, description=f"  {line.draft.description} "),  # as typed back
        expected_version=line.version,
        actor=admin("pedro"),
        now=LATER,
    )
    assert (change.message, change.case_version, change.version_before) == (
        "Nothing changed.",
        version,
        version,
    )
    assert _history(office_db, case_id) == history
    assert _line(office_db, case_id, CONSULT.description).version == line.version


def test_an_endless_reason_or_note_is_refused_and_saves_nothing(
    office_db: Database, case_id: int
) -> None:
    essay = "because " * 126  # 1,007 characters
    with pytest.raises(ValidationError) as raised:
        _pay(office_db, case_id, -1, reason=essay)
    assert raised.value.errors == {"reason": "Keep the reason to 1,000 characters (it has 1,007)."}
    _add(office_db, case_id, TEST)
    line = _line(office_db, case_id, TEST.description)
    with pytest.raises(ValidationError) as raised:
        _answer(office_db, line.id, True, note=essay)
    assert raised.value.errors == {"note": "Keep the note to 1,000 characters (it has 1,007)."}
    assert _line(office_db, case_id, TEST.description).approval is Approval.PENDING
    with pytest.raises(ValidationError, match="Keep the reason"):
        costs.remove_line(office_db, line.id, actor=admin("a"), reason=essay, now=LATER)
    assert len(_costs(office_db, case_id).lines) == 1 and len(_history(office_db, case_id)) == 1
