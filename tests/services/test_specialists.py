"""The roster, absences, load, suggestions and the assignment lifecycle. Real SQLite files."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.clock import ClockState
from referral_desk.domain.costs import LineKind
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.specialists import (
    AssignmentStatus,
    Concordance,
    Discipline,
    Role,
    Suggestion,
)
from referral_desk.services import (
    case_list,
    cases,
    costs,
    documents,
    fee_schedule,
    office,
    opinions,
    specialists,
)
from referral_desk.services.case_list import CaseQuery, SortKey
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from tests.conftest import NOW, admin, case, patient

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
READY = NOW + HOUR  # records complete: due 48 hours later, on 25 Nov
LATER = NOW + 2 * HOUR  # when the office assigns
TODAY = date(2026, 11, 23)


def _draft(name: str = "Dr. Ana Lima", **changes: object) -> SpecialistDraft:
    values: dict[str, object] = {
        "name": name,
        "discipline": Discipline.MEDICAL_ONCOLOGY,
        "capacity": 5,
        "cancer_types": frozenset({"breast"}),
    }
    values.update(changes)
    return SpecialistDraft(**values)  # type: ignore[arg-type]


def _specialist(db: Database, name: str = "Dr. Ana Lima", **changes: object) -> int:
    return specialists.create_specialist(db, _draft(name, **changes), now=NOW, actor=admin())


def _new_case(db: Database, *, at: datetime = NOW, **changes: object) -> int:
    return cases.create_case(
        db, case(**changes), patient=patient(), actor=admin("maria"), now=at
    ).id


def _ready_case(db: Database, *, at: datetime = NOW, ready_at: datetime = READY) -> int:
    """A breast case whose records all arrived at `ready_at`: Ready for review."""
    case_id = _new_case(db, at=at)
    for d in documents.case_records(db, case_id).documents:
        documents.set_document_status(
            db, d.id, DocumentStatus.RECEIVED, actor=admin("maria"), now=ready_at
        )
    assert cases.get_case(db, case_id, now=ready_at).status is S.READY_FOR_REVIEW
    return case_id


def _assign(
    db: Database,
    case_id: int,
    specialist_id: int,
    role: Role = Role.PRIMARY,
    *,
    now: datetime = LATER,
    override_reason: str = "",
    reassign_reason: str = "",
) -> CaseChange:
    return specialists.assign(
        db,
        case_id,
        specialist_id,
        role,
        actor=admin("ines"),
        override_reason=override_reason,
        reassign_reason=reassign_reason,
        now=now,
        local_zone=UTC,
    )


def _suggest(db: Database, case_id: int, role: Role = Role.PRIMARY) -> list[Suggestion]:
    return specialists.suggestions(db, case_id, role, now=LATER, local_zone=UTC)


def _count(db: Database, table: str) -> int:
    with sqlite3.connect(db.path) as conn:
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.close()
    return count


def _info(db: Database, specialist_id: int, now: datetime = LATER) -> specialists.SpecialistInfo:
    return next(s for s in specialists.list_specialists(db, now=now) if s.id == specialist_id)


def _opinion(received_at: datetime) -> OpinionDraft:
    return OpinionDraft(
        patient_summary="The diagnosis is right.",
        recommendation="Proceed as planned.",
        diagnosis_concordance=Concordance.CONFIRMED,
        treatment_concordance=Concordance.CONFIRMED,
        received_at=received_at,
    )


# The roster


def test_a_specialist_is_saved_and_read_back_with_every_detail(db: Database) -> None:
    draft = _draft(
        "  Prof.  Zoë   Okafor ",
        discipline=Discipline.HAEMATOLOGY,
        capacity=3,
        title="Prof. Dr. med.",
        cancer_types=frozenset({"lymphoma", "myeloma"}),
        phone="+44 20 7946 0000",
        email="z.okafor@example.org",
        fee_minor=45_000,
    )
    specialist_id = specialists.create_specialist(db, draft, now=NOW, actor=admin())
    info = specialists.get_specialist(db, specialist_id)
    assert info.name == "Prof. Zoë Okafor"  # spaces tidied
    assert info.draft == SpecialistDraft(
        name="Prof. Zoë Okafor",
        discipline=Discipline.HAEMATOLOGY,
        capacity=3,
        title="Prof. Dr. med.",
        cancer_types=frozenset({"lymphoma", "myeloma"}),
        phone="+44 20 7946 0000",
        email="z.okafor@example.org",
        fee_minor=45_000,
        active=True,
    )
    assert (info.version, info.absences) == (1, ())
    assert (info.active_cases, info.due_soon, info.overdue) == (0, 0, 0)


def test_the_roster_is_listed_by_name_whatever_the_accents(db: Database) -> None:
    for name in ("Dr. Zeno Abel", "Dr. Émile Roux", "Dr. Bea Cole"):
        _specialist(db, name)
    _specialist(db, "Dr. Ada Gone", active=False)
    assert [s.name for s in specialists.list_specialists(db, now=NOW)] == [
        "Dr. Ada Gone",
        "Dr. Bea Cole",
        "Dr. Émile Roux",
        "Dr. Zeno Abel",
    ]
    active = specialists.list_specialists(db, include_inactive=False, now=NOW)
    assert "Dr. Ada Gone" not in [s.name for s in active]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "   "}, "name", "name"),
        ({"capacity": 0}, "capacity", "at least 1"),
        ({"capacity": -1}, "capacity", "at least 1"),
        ({"fee_minor": -1}, "fee", "negative"),
        ({"fee_minor": 10**12}, "fee", "implausibly high"),
        ({"email": "ana.lima.example.org"}, "email", "not an e-mail address"),
        ({"email": "ana lima@example.org"}, "email", "not an e-mail address"),
        ({"cancer_types": frozenset({"breast", "spleen"})}, "cancer_types", "spleen"),
    ],
)
def test_bad_roster_input_names_the_field_and_saves_nothing(
    db: Database, changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        specialists.create_specialist(db, _draft(**changes), now=NOW, actor=admin())
    assert set(raised.value.errors) == {field}
    assert words in raised.value.errors[field]
    assert _count(db, "specialists") == 0 and _count(db, "specialist_cancer_types") == 0

    specialist_id = _specialist(db)
    with pytest.raises(ValidationError) as raised:
        specialists.update_specialist(
            db, specialist_id, _draft(**changes), expected_version=1, now=LATER, actor=admin()
        )
    assert set(raised.value.errors) == {field}
    info = specialists.get_specialist(db, specialist_id)
    assert info.draft == _draft() and info.version == 1


def test_every_bad_field_is_named_at_once(db: Database) -> None:
    with pytest.raises(ValidationError) as raised:
        specialists.create_specialist(
            db, _draft("", capacity=0, fee_minor=-5, email="nobody"), now=NOW, actor=admin()
        )
    assert set(raised.value.errors) == {"name", "capacity", "fee", "email"}


def test_an_update_is_saved_and_a_stale_update_is_refused(db: Database) -> None:
    specialist_id = _specialist(db)
    version = specialists.update_specialist(
        db,
        specialist_id,
        _draft(capacity=2, cancer_types=frozenset({"lung", "breast"}), email="ana@example.org"),
        expected_version=1,
        now=LATER,
        actor=admin(),
    )
    assert version == 2
    info = specialists.get_specialist(db, specialist_id)
    assert info.version == 2
    assert info.draft.capacity == 2 and info.draft.email == "ana@example.org"
    assert info.draft.cancer_types == frozenset({"lung", "breast"})

    # Someone who opened version 1 saves over it: refused, the saved edit stays.
    with pytest.raises(ConflictError, match="changed elsewhere"):
        specialists.update_specialist(
            db,
            specialist_id,
            _draft(capacity=9),
            expected_version=1,
            now=LATER + HOUR,
            actor=admin(),
        )
    assert specialists.get_specialist(db, specialist_id).draft == info.draft

    # Dropping a sub-specialty removes it.
    specialists.update_specialist(
        db,
        specialist_id,
        _draft(cancer_types=frozenset({"lung"})),
        expected_version=2,
        now=LATER,
        actor=admin(),
    )
    assert specialists.get_specialist(db, specialist_id).draft.cancer_types == {"lung"}
    assert _count(db, "specialist_cancer_types") == 1


def test_an_unknown_specialist_is_said_to_be_unknown(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no specialist number 42"):
        specialists.update_specialist(db, 42, _draft(), expected_version=1, now=NOW, actor=admin())
    with pytest.raises(NotFoundError, match="no specialist number 42"):
        specialists.get_specialist(db, 42)
    with pytest.raises(NotFoundError, match="no specialist number 42"):
        specialists.add_absence(db, 42, TODAY, TODAY, actor=admin())


# Absences


def test_absences_are_added_and_removed(db: Database) -> None:
    specialist_id = _specialist(db)
    later = specialists.add_absence(
        db, specialist_id, date(2026, 12, 20), date(2027, 1, 3), "  ", actor=admin()
    )
    first = specialists.add_absence(
        db, specialist_id, date(2026, 12, 1), date(2026, 12, 1), " ESMO congress ", actor=admin()
    )
    held = specialists.get_specialist(db, specialist_id).absences
    assert [(a.id, a.first_day, a.last_day, a.note) for a in held] == [
        (first, date(2026, 12, 1), date(2026, 12, 1), "ESMO congress"),
        (later, date(2026, 12, 20), date(2027, 1, 3), ""),
    ]
    specialists.remove_absence(db, first, actor=admin())
    assert [a.id for a in specialists.get_specialist(db, specialist_id).absences] == [later]
    with pytest.raises(NotFoundError, match=f"no absence number {first}"):
        specialists.remove_absence(db, first, actor=admin())


@pytest.mark.parametrize(
    ("first_day", "last_day", "words"),
    [
        (date(2026, 12, 5), date(2026, 12, 4), "ends (2026-12-04) before it starts"),
        (None, date(2026, 12, 4), "first and the last day"),
        (date(2026, 12, 5), None, "first and the last day"),
    ],
)
def test_a_bad_absence_is_refused_and_nothing_is_saved(
    db: Database, first_day: date | None, last_day: date | None, words: str
) -> None:
    specialist_id = _specialist(db)
    with pytest.raises(ValidationError) as raised:
        specialists.add_absence(db, specialist_id, first_day, last_day, actor=admin())
    assert words in raised.value.errors["absence"]
    assert _count(db, "specialist_absences") == 0


def test_an_absence_during_the_review_rules_the_specialist_out_until_it_is_removed(
    db: Database,
) -> None:
    case_id = _ready_case(db)
    away = _specialist(db, "Dr. Ana Lima")
    _specialist(db, "Dr. Ben Ode", cancer_types=frozenset({"lung"}))
    absence = specialists.add_absence(
        db, away, date(2026, 11, 24), date(2026, 11, 28), "leave", actor=admin()
    )
    ranked = _suggest(db, case_id)
    assert [(s.name, s.available) for s in ranked] == [
        ("Dr. Ben Ode", True),
        ("Dr. Ana Lima", False),
    ]
    assert ranked[1].reasons == ("away 24 Nov to 28 Nov (leave)",)

    specialists.remove_absence(db, absence, actor=admin())
    ranked = _suggest(db, case_id)
    assert [(s.name, s.available) for s in ranked] == [
        ("Dr. Ana Lima", True),
        ("Dr. Ben Ode", True),
    ]
    assert ranked[0].reasons == (
        "matches the cancer type",
        "available until the due date (25 Nov)",
        "0 of 5 slots used",
    )


def test_an_absence_that_ended_yesterday_does_not_rule_out(db: Database) -> None:
    case_id = _ready_case(db)
    back = _specialist(db)
    specialists.add_absence(db, back, date(2026, 11, 10), date(2026, 11, 22), actor=admin())
    [suggestion] = _suggest(db, case_id)
    assert suggestion.available


def test_suggestions_count_each_specialists_current_load(db: Database) -> None:
    busy = _specialist(db, "Dr. Ana Lima")
    idle = _specialist(db, "Dr. Zak Ito")
    for _ in range(2):
        _assign(db, _ready_case(db), busy)
    declined = _ready_case(db)
    _assign(db, declined, idle)
    [assignment] = specialists.case_assignments(db, declined)
    specialists.decline(db, assignment.id, reason="conflict", actor=admin("ines"), now=LATER)

    ranked = _suggest(db, _ready_case(db))
    assert [s.name for s in ranked] == ["Dr. Zak Ito", "Dr. Ana Lima"]  # a decline is no load
    assert "0 of 5 slots used" in ranked[0].reasons
    assert "2 of 5 slots used" in ranked[1].reasons


def test_suggestions_for_an_unknown_case_say_so(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no case number 99"):
        specialists.suggestions(db, 99, now=LATER)


# Assignment


def test_assigning_the_primary_reviewer_puts_a_ready_case_under_review(db: Database) -> None:
    case_id = _ready_case(db)
    ana = _specialist(db)
    before = cases.get_case(db, case_id, now=LATER)
    change = _assign(db, case_id, ana)
    assert change.moved_to is S.UNDER_REVIEW
    assert change.version_before == before.version
    assert change.message == (
        "Dr. Ana Lima is asked to be the primary reviewer of RD-2026-00001. "
        "The case is now under review."
    )
    detail = cases.get_case(db, case_id, now=LATER)
    assert detail.version == change.case_version
    assert detail.status is S.UNDER_REVIEW
    assert detail.specialist_name == "Dr. Ana Lima"
    last = detail.history[-1]
    assert (last.from_status, last.to_status, last.actor, last.at) == (
        S.READY_FOR_REVIEW,
        S.UNDER_REVIEW,
        "ines",
        LATER,
    )
    assert last.reason == "Assigned to Dr. Ana Lima"
    # The clock keeps running from when the records were complete.
    assert detail.clock.state is ClockState.RUNNING
    assert detail.clock.due_at == READY + 48 * HOUR == before.clock.due_at
    [assignment] = specialists.case_assignments(db, case_id)
    assert (assignment.specialist_id, assignment.specialist_name, assignment.role) == (
        ana,
        "Dr. Ana Lima",
        Role.PRIMARY,
    )
    assert assignment.status is AssignmentStatus.PROPOSED
    assert (assignment.assigned_at, assignment.assigned_by) == (LATER, "ines")
    assert assignment.override_reason == "" and assignment.answered_at is None
    assert _info(db, ana).active_cases == 1


def test_assigning_a_case_still_awaiting_records_keeps_its_status(db: Database) -> None:
    case_id = _new_case(db)
    ana = _specialist(db)
    change = _assign(db, case_id, ana)
    assert change.moved_to is None
    assert change.message.endswith("of RD-2026-00001.")
    detail = cases.get_case(db, case_id, now=LATER)
    assert detail.status is S.AWAITING_RECORDS
    assert detail.specialist_name == "Dr. Ana Lima"
    assert all("Assigned" not in h.reason for h in detail.history)
    assert _info(db, ana).active_cases == 1


def test_an_accepted_assignment_records_who_and_when_and_cannot_be_answered_again(
    db: Database,
) -> None:
    case_id = _ready_case(db)
    _assign(db, case_id, _specialist(db))
    [proposed] = specialists.case_assignments(db, case_id)
    change = specialists.accept(db, proposed.id, actor=admin("ana"), now=LATER + HOUR)
    assert change.message == "Dr. Ana Lima accepted." and change.moved_to is None
    [accepted] = specialists.case_assignments(db, case_id)
    assert accepted.status is AssignmentStatus.ACCEPTED
    assert (accepted.answered_at, accepted.answered_by) == (LATER + HOUR, "ana")
    assert cases.get_case(db, case_id, now=LATER).status is S.UNDER_REVIEW
    with pytest.raises(ValidationError, match="already accepted"):
        specialists.accept(db, proposed.id, actor=admin("ana"), now=LATER + HOUR)
    with pytest.raises(ValidationError, match="already accepted"):
        specialists.decline(db, proposed.id, reason="changed my mind", actor=admin("ana"))
    with pytest.raises(NotFoundError, match="no assignment number 77"):
        specialists.accept(db, 77, actor=admin("ana"))


def test_a_decline_needs_a_reason(db: Database) -> None:
    case_id = _ready_case(db)
    _assign(db, case_id, _specialist(db))
    [proposed] = specialists.case_assignments(db, case_id)
    before = cases.get_case(db, case_id, now=LATER)
    with pytest.raises(ValidationError) as raised:
        specialists.decline(db, proposed.id, reason="  ", actor=admin("ines"), now=LATER)
    assert set(raised.value.errors) == {"reason"}
    assert specialists.case_assignments(db, case_id) == [proposed]
    assert cases.get_case(db, case_id, now=LATER) == before


def test_a_declined_primary_sends_the_case_back_to_ready_for_review(db: Database) -> None:
    case_id = _ready_case(db)
    ana = _specialist(db)
    _assign(db, case_id, ana)
    [proposed] = specialists.case_assignments(db, case_id)
    change = specialists.decline(
        db, proposed.id, reason=" on call this week ", actor=admin("ines"), now=LATER + HOUR
    )
    assert change.moved_to is S.READY_FOR_REVIEW
    assert change.message == (
        "Dr. Ana Lima declined. The case is ready for review again: assign someone else."
    )
    detail = cases.get_case(db, case_id, now=LATER + HOUR)
    assert detail.status is S.READY_FOR_REVIEW
    assert detail.specialist_name is None
    assert detail.records_complete_at == READY  # the clock was not restarted
    assert detail.clock.due_at == READY + 48 * HOUR
    last = detail.history[-1]
    assert (last.from_status, last.to_status) == (S.UNDER_REVIEW, S.READY_FOR_REVIEW)
    assert last.reason == "Dr. Ana Lima declined: on call this week"
    [declined] = specialists.case_assignments(db, case_id)
    assert declined.status is AssignmentStatus.DECLINED
    assert declined.decline_reason == "on call this week"
    assert (declined.answered_at, declined.answered_by) == (LATER + HOUR, "ines")
    with sqlite3.connect(db.path) as conn:
        stored = conn.execute("SELECT specialist_id FROM cases WHERE id = ?", (case_id,)).fetchone()
    conn.close()
    assert stored == (None,)
    assert _info(db, ana).active_cases == 0
    row = next(r for r in case_list.fetch_page(db, CaseQuery(), now=LATER).rows)
    assert row.specialist == ""


def test_a_declined_primary_of_a_case_awaiting_records_leaves_the_status(db: Database) -> None:
    case_id = _new_case(db)
    _assign(db, case_id, _specialist(db))
    [proposed] = specialists.case_assignments(db, case_id)
    change = specialists.decline(db, proposed.id, reason="away", actor=admin("ines"), now=LATER)
    assert change.moved_to is None and change.message == "Dr. Ana Lima declined."
    detail = cases.get_case(db, case_id, now=LATER)
    assert detail.status is S.AWAITING_RECORDS and detail.specialist_name is None


def test_reassigning_needs_a_reason_and_keeps_the_replaced_assignment(db: Database) -> None:
    case_id = _ready_case(db)
    ana = _specialist(db, "Dr. Ana Lima")
    ben = _specialist(db, "Dr. Ben Ode")
    _assign(db, case_id, ana)
    before = cases.get_case(db, case_id, now=LATER)

    with pytest.raises(ValidationError) as raised:
        _assign(db, case_id, ben, reassign_reason="  ")
    assert set(raised.value.errors) == {"reassign_reason"}
    assert "already has a primary reviewer" in raised.value.errors["reassign_reason"]
    assert "Dr. Ben Ode" in raised.value.errors["reassign_reason"]
    assert len(specialists.case_assignments(db, case_id)) == 1
    assert cases.get_case(db, case_id, now=LATER) == before

    change = _assign(db, case_id, ben, reassign_reason="Ana is ill", now=LATER + HOUR)
    assert change.moved_to is None
    old, new = specialists.case_assignments(db, case_id)
    assert (old.specialist_name, old.status) == ("Dr. Ana Lima", AssignmentStatus.REPLACED)
    assert (old.ended_at, old.end_reason) == (LATER + HOUR, "Ana is ill")
    assert (new.specialist_name, new.status) == ("Dr. Ben Ode", AssignmentStatus.PROPOSED)
    detail = cases.get_case(db, case_id, now=LATER + HOUR)
    assert detail.status is S.UNDER_REVIEW and detail.specialist_name == "Dr. Ben Ode"
    assert (_info(db, ana).active_cases, _info(db, ben).active_cases) == (0, 1)


def test_an_accepted_reviewer_can_be_replaced_too(db: Database) -> None:
    case_id = _ready_case(db)
    ana = _specialist(db, "Dr. Ana Lima")
    _assign(db, case_id, ana)
    [first] = specialists.case_assignments(db, case_id)
    specialists.accept(db, first.id, actor=admin("ana"), now=LATER)
    _assign(db, case_id, _specialist(db, "Dr. Ben Ode"), reassign_reason="too slow")
    statuses = [a.status for a in specialists.case_assignments(db, case_id)]
    assert statuses == [AssignmentStatus.REPLACED, AssignmentStatus.PROPOSED]


def test_assigning_the_same_specialist_twice_is_refused(db: Database) -> None:
    case_id = _ready_case(db)
    ana = _specialist(db)
    _assign(db, case_id, ana)
    with pytest.raises(ValidationError) as raised:
        _assign(db, case_id, ana, reassign_reason="again")
    assert raised.value.errors == {"specialist": "Dr. Ana Lima is already the primary reviewer."}
    assert len(specialists.case_assignments(db, case_id)) == 1

    # Even when this very case fills their last slot: no talk of an override.
    other = _ready_case(db)
    solo = _specialist(db, "Dr. Sol One", capacity=1)
    _assign(db, other, solo)
    with pytest.raises(ValidationError) as raised:
        _assign(db, other, solo, reassign_reason="again")
    assert raised.value.errors == {"specialist": "Dr. Sol One is already the primary reviewer."}


def _full(db: Database) -> int:
    full = _specialist(db, "Dr. Fay Full", capacity=1)
    _assign(db, _ready_case(db), full)
    return full


def _absent(db: Database) -> int:
    absent = _specialist(db, "Dr. Ada Away")
    specialists.add_absence(
        db, absent, date(2026, 11, 23), date(2026, 11, 23), "congress", actor=admin()
    )
    return absent


def _inactive(db: Database) -> int:
    return _specialist(db, "Dr. Ivo Gone", active=False)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_absent, "away 23 Nov (congress)"),
        (_inactive, "inactive"),
        (_full, "full: 1 of 1 slots used"),
    ],
)
def test_a_ruled_out_specialist_needs_a_stated_override(
    db: Database, make: Callable[[Database], int], why: str
) -> None:
    specialist_id = make(db)
    case_id = _ready_case(db)
    before = cases.get_case(db, case_id, now=LATER)
    with pytest.raises(ValidationError) as raised:
        _assign(db, case_id, specialist_id)
    assert set(raised.value.errors) == {"override_reason"}
    assert why in raised.value.errors["override_reason"]
    assert specialists.case_assignments(db, case_id) == []
    assert cases.get_case(db, case_id, now=LATER) == before

    change = _assign(db, case_id, specialist_id, override_reason=" agreed by phone ")
    assert change.moved_to is S.UNDER_REVIEW
    [assignment] = specialists.case_assignments(db, case_id)
    assert assignment.override_reason == "agreed by phone"


def test_a_specialist_of_another_discipline_cannot_take_the_role(db: Database) -> None:
    case_id = _ready_case(db)
    pathologist = _specialist(db, "Dr. Pia Path", discipline=Discipline.PATHOLOGY)
    with pytest.raises(ValidationError) as raised:
        _assign(db, case_id, pathologist, override_reason="please")
    assert raised.value.errors == {
        "specialist": "Dr. Pia Path (Pathology) cannot be the primary reviewer."
    }
    assert [s.name for s in _suggest(db, case_id, Role.PATHOLOGY)] == ["Dr. Pia Path"]
    assert _suggest(db, case_id, Role.RADIOLOGY) == []
    with pytest.raises(NotFoundError, match="no specialist number 99"):
        _assign(db, case_id, 99)


def test_a_re_review_neither_moves_the_case_nor_becomes_its_reviewer(db: Database) -> None:
    case_id = _ready_case(db)
    pathologist = _specialist(db, "Dr. Pia Path", discipline=Discipline.PATHOLOGY)
    change = _assign(db, case_id, pathologist, Role.PATHOLOGY)
    assert change.moved_to is None
    assert change.message == (
        "Dr. Pia Path is asked to be the pathology re-reviewer of RD-2026-00001."
    )
    detail = cases.get_case(db, case_id, now=LATER)
    assert detail.status is S.READY_FOR_REVIEW and detail.specialist_name is None

    ana = _specialist(db)
    _assign(db, case_id, ana)  # a primary alongside: no reassignment reason needed
    roles = [(a.role, a.status) for a in specialists.case_assignments(db, case_id)]
    assert roles == [
        (Role.PATHOLOGY, AssignmentStatus.PROPOSED),
        (Role.PRIMARY, AssignmentStatus.PROPOSED),
    ]
    [pathology] = [a for a in specialists.case_assignments(db, case_id) if a.role is Role.PATHOLOGY]
    specialists.decline(db, pathology.id, reason="no slides", actor=admin("ines"), now=LATER)
    detail = cases.get_case(db, case_id, now=LATER)
    assert detail.status is S.UNDER_REVIEW and detail.specialist_name == "Dr. Ana Lima"


def test_a_case_assigned_while_on_hold_resumes_under_review(db: Database) -> None:
    case_id = _ready_case(db)
    cases.change_status(
        db, case_id, S.ON_HOLD, reason="patient abroad", actor=admin("ines"), now=LATER
    )
    change = _assign(db, case_id, _specialist(db), now=LATER + HOUR)
    assert change.moved_to is None
    detail = cases.get_case(db, case_id, now=LATER + HOUR)
    assert detail.status is S.ON_HOLD and detail.specialist_name == "Dr. Ana Lima"
    assert S.UNDER_REVIEW in detail.allowed_targets
    assert S.READY_FOR_REVIEW not in detail.allowed_targets
    cases.change_status(db, case_id, S.UNDER_REVIEW, actor=admin("ines"), now=LATER + 2 * HOUR)
    detail = cases.get_case(db, case_id, now=LATER + 2 * HOUR)
    assert detail.clock.due_at == READY + 48 * HOUR + 2 * HOUR  # the hold did not count


def test_a_reviewer_declining_while_the_case_is_on_hold_leaves_it_to_resume_ready(
    db: Database,
) -> None:
    case_id = _ready_case(db)
    _assign(db, case_id, _specialist(db))
    cases.change_status(
        db, case_id, S.ON_HOLD, reason="patient abroad", actor=admin("ines"), now=LATER
    )
    [proposed] = specialists.case_assignments(db, case_id)
    change = specialists.decline(
        db, proposed.id, reason="away", actor=admin("ines"), now=LATER + HOUR
    )
    assert change.moved_to is None
    detail = cases.get_case(db, case_id, now=LATER + HOUR)
    assert detail.status is S.ON_HOLD and detail.specialist_name is None
    # Nobody reviews it any more: it must not come back "under review" with no reviewer.
    assert S.READY_FOR_REVIEW in detail.allowed_targets
    assert S.UNDER_REVIEW not in detail.allowed_targets


@pytest.mark.parametrize("past", [S.OPINION_RECEIVED, S.CANCELLED])
def test_a_case_past_review_cannot_be_assigned(db: Database, past: S) -> None:
    case_id = _ready_case(db)
    ana = _specialist(db)
    if past is S.OPINION_RECEIVED:
        _assign(db, case_id, ana)
        opinions.record_opinion(db, case_id, _opinion(LATER), actor=admin("ines"), now=LATER)
    else:
        cases.change_status(
            db, case_id, past, reason="patient withdrew", actor=admin("ines"), now=LATER
        )
    before = cases.get_case(db, case_id, now=LATER)
    with pytest.raises(ValidationError) as raised:
        _assign(db, case_id, _specialist(db, "Dr. Ben Ode"), reassign_reason="x")
    assert raised.value.errors == {
        "case": f"RD-2026-00001 is {past.label.lower()}: it is past review."
    }
    assert cases.get_case(db, case_id, now=LATER) == before


def test_a_case_on_hold_after_its_opinion_cannot_be_assigned(db: Database) -> None:
    case_id = _ready_case(db)
    ana = _specialist(db)
    _assign(db, case_id, ana)
    opinions.record_opinion(db, case_id, _opinion(LATER), actor=admin("ines"), now=LATER)
    cases.change_status(
        db, case_id, S.ON_HOLD, reason="patient abroad", actor=admin("ines"), now=LATER
    )
    assert _info(db, ana).active_cases == 0  # answered: no longer on anyone's desk
    with pytest.raises(ValidationError, match="past review"):
        _assign(db, case_id, _specialist(db, "Dr. Ben Ode"), reassign_reason="x")


def test_an_unknown_case_cannot_be_assigned(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no case number 5"):
        _assign(db, 5, _specialist(db))


# Load on the roster


def test_the_roster_shows_active_due_soon_and_overdue_cases(db: Database) -> None:
    ana = _specialist(db, "Dr. Ana Lima")
    ben = _specialist(db, "Dr. Ben Ode")
    now = NOW + 44 * HOUR
    on_time = _ready_case(db, ready_at=NOW + 20 * HOUR)  # due in 24 h: on track
    soon = _ready_case(db, ready_at=NOW)  # due in 4 h of 48: due soon
    late = _ready_case(db, at=NOW - 3 * DAY, ready_at=NOW - 3 * DAY)  # due yesterday
    waiting = _new_case(db)  # records still missing: active, no clock
    answered = _ready_case(db)
    declined = _ready_case(db)
    for case_id in (on_time, soon, late, waiting, answered):
        _assign(db, case_id, ana, now=NOW + 21 * HOUR, override_reason="busy week")
    opinions.record_opinion(
        db, answered, _opinion(NOW + 22 * HOUR), actor=admin("ines"), now=NOW + 22 * HOUR
    )
    _assign(db, declined, ben, now=NOW + 21 * HOUR)
    [assignment] = specialists.case_assignments(db, declined)
    specialists.decline(
        db, assignment.id, reason="conflict", actor=admin("ines"), now=NOW + 22 * HOUR
    )
    pathologist = _specialist(db, "Dr. Pia Path", discipline=Discipline.PATHOLOGY)
    _assign(db, soon, pathologist, Role.PATHOLOGY, now=NOW + 21 * HOUR)

    info = _info(db, ana, now)
    assert (info.active_cases, info.due_soon, info.overdue) == (4, 1, 1)
    assert (_info(db, ben, now).active_cases, _info(db, pathologist, now).active_cases) == (0, 1)
    assert _info(db, pathologist, now).due_soon == 1
    # Two days later the case due soon is overdue too.
    info = _info(db, ana, now + 2 * DAY)
    assert (info.active_cases, info.due_soon, info.overdue) == (4, 0, 3)


# Finding a specialist by name


def test_a_specialist_is_found_by_name_ignoring_case_and_accents(db: Database) -> None:
    zoe = _specialist(db, "Dr. Zoë Müller")
    lima = _specialist(db, "Dr. Ana Lima")
    lima_souza = _specialist(db, "Dr. Ana Lima Souza")
    assert specialists.find_specialist(db, "DR. ZOE MULLER") == zoe
    assert specialists.find_specialist(db, "  dr.  zoë   müller ") == zoe
    assert specialists.find_specialist(db, "muller") == zoe  # a unique part is enough
    assert specialists.find_specialist(db, "souza") == lima_souza
    assert specialists.find_specialist(db, "Dr. Ana Lima") == lima  # the exact name wins


def test_an_ambiguous_or_unknown_name_is_refused(db: Database) -> None:
    _specialist(db, "Dr. Ana Lima")
    _specialist(db, "Dr. Ana Lopes")
    with pytest.raises(ValidationError) as raised:
        specialists.find_specialist(db, "ana")
    assert raised.value.errors == {
        "specialist": "'ana' could be several specialists: Dr. Ana Lima, Dr. Ana Lopes."
    }
    for unknown in ("nobody", "", "   "):
        with pytest.raises(NotFoundError, match="There is no specialist called"):
            specialists.find_specialist(db, unknown)


# The case list


def test_the_case_list_shows_filters_and_sorts_by_specialist(db: Database) -> None:
    ana = _specialist(db, "Dr. Ana Lima")
    zed = _specialist(db, "Dr. Émile Zed")
    bob = _specialist(db, "Dr. Bob Ray")
    first, second, third, unassigned = (_ready_case(db) for _ in range(4))
    _assign(db, first, zed)
    _assign(db, second, ana)
    _assign(db, third, bob)
    _assign(db, third, ana, reassign_reason="Bob is away")

    def page(query: CaseQuery) -> list[tuple[int, str]]:
        return [(r.id, r.specialist) for r in case_list.fetch_page(db, query, now=LATER).rows]

    assert page(CaseQuery(specialist_id=ana)) == [
        (second, "Dr. Ana Lima"),
        (third, "Dr. Ana Lima"),
    ]
    assert page(CaseQuery(specialist_id=bob)) == []  # replaced: no longer theirs
    assert page(CaseQuery(sort=SortKey.SPECIALIST)) == [
        (unassigned, ""),
        (second, "Dr. Ana Lima"),
        (third, "Dr. Ana Lima"),
        (first, "Dr. Émile Zed"),
    ]
    assert page(CaseQuery(sort=SortKey.SPECIALIST, descending=True)) == [
        (first, "Dr. Émile Zed"),
        (third, "Dr. Ana Lima"),
        (second, "Dr. Ana Lima"),
        (unassigned, ""),
    ]
    assert case_list.count_cases(db, CaseQuery(specialist_id=ana), now=LATER) == 2

    # Paging by specialist: one row at a time gives the same order.
    seen: list[int] = []
    after = None
    while True:
        result = case_list.fetch_page(
            db, CaseQuery(sort=SortKey.SPECIALIST), after=after, limit=1, now=LATER
        )
        seen += [r.id for r in result.rows]
        if result.next_cursor is None:
            break
        after = result.next_cursor
    assert seen == [unassigned, second, third, first]


def test_a_reviewer_lined_up_early_starts_when_the_records_are_complete(db: Database) -> None:
    lima = _specialist(db)
    case_id = _new_case(db)
    _assign(db, case_id, lima, now=NOW + HOUR)
    assert cases.get_case(db, case_id, now=NOW + HOUR).status is S.AWAITING_RECORDS
    for d in documents.case_records(db, case_id).documents:
        documents.set_document_status(
            db, d.id, DocumentStatus.RECEIVED, actor=admin("maria"), now=NOW + 3 * HOUR
        )
    detail = cases.get_case(db, case_id, now=NOW + 3 * HOUR)
    assert detail.status is S.UNDER_REVIEW
    assert detail.records_complete_at == NOW + 3 * HOUR  # the clock started at completion
    assert [h.reason for h in detail.history[-2:]] == [
        "All required records received or waived",
        "Already assigned to Dr. Ana Lima",
    ]


def test_an_override_reason_is_kept_only_when_it_overrode_something(db: Database) -> None:
    lima = _specialist(db)
    case_id = _ready_case(db)
    _assign(db, case_id, lima, override_reason="Agreed by phone")
    [assignment] = specialists.case_assignments(db, case_id)
    assert assignment.override_reason == ""


# The specialist's fee, quoted to the patient when they are assigned


def _quotes(db: Database, case_id: int) -> list[tuple[str, int, bool]]:
    return [
        (line.draft.description, line.draft.unit_price_minor, line.from_assignment)
        for line in costs.case_costs(db, case_id).lines
        if line.kind is LineKind.ESTIMATE
    ]


def _set_price(db: Database, code: str, price: int, *, active: bool = True) -> None:
    service = fee_schedule.find_service(db, code)
    fee_schedule.update_service(
        db,
        service.id,
        replace(service.draft, price_minor=price, active=active),
        expected_version=service.version,
        actor=admin(),
    )


@pytest.fixture
def euros(db: Database) -> Database:
    office.set_currency(db, "EUR", actor=admin())
    return db


def test_assigning_quotes_the_specialists_own_fee(euros: Database) -> None:
    _set_price(euros, "CONSULT", 40_000)
    case_id = _ready_case(euros)
    ana = _specialist(euros, fee_minor=45_000)
    change = _assign(euros, case_id, ana)
    assert _quotes(euros, case_id) == [("Second opinion consultation: Dr. Ana Lima", 45_000, True)]
    record = costs.case_costs(euros, case_id)
    assert record.totals.estimated == 45_000 and record.totals.final == 0
    assert record.lines[0].service_code == "CONSULT"
    assert [(e.action, e.actor) for e in record.history] == [
        ("Quoted 'Second opinion consultation: Dr. Ana Lima', EUR 450.00 on assignment.", "ines")
    ]
    assert cases.get_case(euros, case_id, now=LATER).version == change.case_version
    row = next(r for r in case_list.fetch_page(euros, CaseQuery(), now=LATER).rows)
    assert (row.total_minor, row.total_is_estimate, row.balance_minor) == (45_000, True, 0)


def test_without_a_fee_of_their_own_the_fee_schedule_price_is_quoted(euros: Database) -> None:
    _set_price(euros, "CONSULT", 40_000)
    _set_price(euros, "PATH", 25_000)
    case_id = _ready_case(euros)
    _assign(euros, case_id, _specialist(euros))
    pathologist = _specialist(euros, "Dr. Pia Path", discipline=Discipline.PATHOLOGY)
    _assign(euros, case_id, pathologist, Role.PATHOLOGY)
    assert _quotes(euros, case_id) == [
        ("Second opinion consultation: Dr. Ana Lima", 40_000, True),
        ("Pathology re-review: Dr. Pia Path", 25_000, True),
    ]


def test_nothing_is_quoted_when_both_fees_are_zero(euros: Database) -> None:
    case_id = _ready_case(euros)
    _assign(euros, case_id, _specialist(euros))
    assert costs.case_costs(euros, case_id).lines == ()
    assert costs.case_costs(euros, case_id).history == ()


def test_nothing_is_quoted_when_the_office_does_not_want_it(euros: Database) -> None:
    office.set_specialist_fee_estimate(euros, False, actor=admin())
    _set_price(euros, "CONSULT", 40_000)
    case_id = _ready_case(euros)
    _assign(euros, case_id, _specialist(euros, fee_minor=45_000))
    assert costs.case_costs(euros, case_id).lines == ()


def test_a_deactivated_service_is_not_quoted_but_the_specialists_fee_is(euros: Database) -> None:
    _set_price(euros, "CONSULT", 40_000, active=False)
    case_id = _ready_case(euros)
    _assign(euros, case_id, _specialist(euros))
    assert costs.case_costs(euros, case_id).lines == ()
    other = _ready_case(euros)
    _assign(euros, other, _specialist(euros, "Dr. Ben Ode", fee_minor=30_000))
    [line] = costs.case_costs(euros, other).lines
    assert (line.draft.description, line.service_code) == ("Primary reviewer: Dr. Ben Ode", None)


def test_a_reassigned_case_quotes_the_new_reviewer_instead(euros: Database) -> None:
    case_id = _ready_case(euros)
    _assign(euros, case_id, _specialist(euros, fee_minor=45_000))
    ben = _specialist(euros, "Dr. Ben Ode", fee_minor=38_000)
    _assign(euros, case_id, ben, reassign_reason="Ana is ill", now=LATER + HOUR)
    assert _quotes(euros, case_id) == [("Second opinion consultation: Dr. Ben Ode", 38_000, True)]
    history = [e.action for e in costs.case_costs(euros, case_id).history]
    assert history[:2] == [
        "Quoted 'Second opinion consultation: Dr. Ben Ode', EUR 380.00 on assignment.",
        "Removed estimate 'Second opinion consultation: Dr. Ana Lima', EUR 450.00: "
        "Dr. Ana Lima will not review.",
    ]
    row = next(r for r in case_list.fetch_page(euros, CaseQuery(), now=LATER).rows)
    assert row.estimate_minor == 38_000


def test_a_declining_reviewers_quote_is_withdrawn(euros: Database) -> None:
    case_id = _ready_case(euros)
    _assign(euros, case_id, _specialist(euros, fee_minor=45_000))
    costs.add_line(  # the office's own line stays
        euros, case_id, costs.LineDraft("Courier of slides", 1, 4_000), actor=admin("a"), now=LATER
    )
    [assignment] = specialists.case_assignments(euros, case_id)
    specialists.decline(euros, assignment.id, reason="away", actor=admin("ines"), now=LATER)
    assert _quotes(euros, case_id) == [("Courier of slides", 4_000, False)]
    assert costs.case_costs(euros, case_id).totals.estimated == 4_000


def test_a_charged_fee_stays_when_the_reviewer_is_replaced(euros: Database) -> None:
    case_id = _ready_case(euros)
    _assign(euros, case_id, _specialist(euros, fee_minor=45_000))
    [line] = costs.case_costs(euros, case_id).lines
    costs.charge_line(euros, line.id, actor=admin("a"), now=LATER)  # the work was partly done
    _assign(euros, case_id, _specialist(euros, "Dr. Ben Ode"), reassign_reason="Ana is ill")
    record = costs.case_costs(euros, case_id)
    assert [(x.draft.description, x.kind) for x in record.lines] == [
        ("Second opinion consultation: Dr. Ana Lima", LineKind.FINAL)
    ]
    assert record.totals.final == 45_000


def test_a_very_long_name_still_makes_a_quote_the_office_can_edit(euros: Database) -> None:
    case_id = _ready_case(euros)
    consult = fee_schedule.find_service(euros, "CONSULT")
    service_name = "Second opinion consultation with a written report " * 3  # 150 characters
    fee_schedule.update_service(
        euros,
        consult.id,
        replace(consult.draft, name=service_name),
        expected_version=consult.version,
        actor=admin(),
    )
    name = ("Prof. Dr. med. " + "Maximiliane-Theresia " * 14)[:200]  # the longest allowed
    _assign(euros, case_id, _specialist(euros, name.strip(), fee_minor=45_000))
    [line] = costs.case_costs(euros, case_id).lines
    assert len(line.draft.description) == costs.MAX_DESCRIPTION_CHARS
    assert line.draft.description.startswith("Second opinion consultation with a written")
    assert line.draft.description.endswith("…")
    costs.update_line(  # saved back as it is, the description is accepted
        euros,
        line.id,
        replace(line.draft, quantity=2),
        expected_version=line.version,
        actor=admin("a"),
        now=LATER,
    )


def test_a_name_longer_than_the_roster_holds_is_refused_with_its_length(db: Database) -> None:
    with pytest.raises(ValidationError, match="Keep the name to 200 characters") as caught:
        _specialist(db, "Dr. " + "A" * 300)
    assert "name" in caught.value.errors


def test_a_fee_is_checked_against_the_office_currency(db: Database) -> None:
    office.set_currency(db, "JPY", actor=admin())  # no decimals: 10 million yen is the ceiling
    with pytest.raises(ValidationError, match="implausibly high"):
        _specialist(db, "Dr. Sato", fee_minor=10_000_001)
    _specialist(db, "Dr. Sato", fee_minor=10_000_000)
