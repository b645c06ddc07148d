from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.clock import ClockState
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.enums import Urgency
from referral_desk.domain.workflow import TransitionError
from referral_desk.services import cases
from referral_desk.services.database import open_database_file
from referral_desk.services.errors import ConflictError, ValidationError
from tests.conftest import NOW, admin, case, patient, without_checklists


def _count(db: Database, table: str) -> int:
    with sqlite3.connect(db.path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_intake_saves_the_case_with_a_reference_and_a_first_history_line(db: Database) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    assert created.reference == "RD-2026-00001"
    detail = cases.get_case(db, created.id, now=NOW)
    assert detail.status is S.AWAITING_RECORDS  # the breast checklist's records are requested
    assert detail.patient_name == "Zoë Müller"
    assert detail.case == case()
    assert [(h.from_status, h.to_status, h.actor, h.reason) for h in detail.history] == [
        (None, S.NEW, "maria", "Case taken in"),
        (S.NEW, S.AWAITING_RECORDS, "maria", "Records requested"),
    ]
    assert detail.clock.state is ClockState.NOT_STARTED


def test_invalid_intake_names_every_wrong_field_and_saves_nothing(db: Database) -> None:
    with pytest.raises(ValidationError) as raised:
        cases.create_case(
            db,
            case(cancer_type="", treatment_start=date(2026, 1, 1)),
            patient=patient(family_name="", birth_date=date(2030, 1, 1)),
            actor=admin("maria"),
            now=NOW,
        )
    assert set(raised.value.errors) == {
        "cancer_type",
        "treatment_start",
        "family_name",
        "birth_date",
    }
    assert _count(db, "cases") == 0 and _count(db, "patients") == 0


def test_a_likely_duplicate_patient_is_found_whatever_the_accents(db: Database) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    matches = cases.find_possible_duplicates(db, "zoe", "MULLER", date(1968, 4, 12))
    assert [(m.name, m.references) for m in matches] == [("Zoë Müller", (created.reference,))]
    assert cases.find_possible_duplicates(db, "Zoë", "Müller", date(1968, 4, 13)) == []


def test_a_second_case_for_an_existing_patient_shares_the_patient(db: Database) -> None:
    first = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    patient_id = cases.get_case(db, first.id, now=NOW).patient_id
    second = cases.create_case(
        db, case(cancer_type="lung"), existing_patient_id=patient_id, actor=admin("maria"), now=NOW
    )
    assert second.reference == "RD-2026-00002"
    assert cases.get_case(db, second.id, now=NOW).patient_id == patient_id
    assert _count(db, "patients") == 1


def test_edits_are_saved_and_a_stale_edit_is_refused(db: Database) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    opened = cases.get_case(db, created.id, now=NOW)
    cases.update_case(
        db,
        created.id,
        expected_version=opened.version,
        patient=patient(phone="+49 30 1234"),
        case=case(stage="IIB"),
        actor=admin("tom"),
        now=NOW,
    )
    after = cases.get_case(db, created.id, now=NOW)
    assert after.case.stage == "IIB" and after.patient.phone == "+49 30 1234"
    with pytest.raises(ConflictError, match="changed by someone else"):
        cases.update_case(
            db,
            created.id,
            expected_version=opened.version,
            patient=patient(),
            case=case(stage="IV"),
            actor=admin("lena"),
            now=NOW,
        )
    assert cases.get_case(db, created.id, now=NOW).case.stage == "IIB"


def test_status_changes_drive_the_clock_and_the_history(db: Database) -> None:
    without_checklists(db)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    t = NOW
    for step, target in enumerate([S.AWAITING_RECORDS, S.READY_FOR_REVIEW, S.UNDER_REVIEW]):
        cases.change_status(
            db, created.id, target, actor=admin("tom"), now=t + timedelta(hours=step)
        )
    records_at = NOW + timedelta(hours=1)
    detail = cases.get_case(db, created.id, now=records_at + timedelta(hours=10))
    assert detail.records_complete_at == records_at
    assert detail.clock.due_at == records_at + timedelta(hours=48)
    assert detail.clock.remaining == timedelta(hours=38)

    hold = records_at + timedelta(hours=10)
    cases.change_status(
        db, created.id, S.ON_HOLD, reason="Patient in hospital", actor=admin("tom"), now=hold
    )
    paused = cases.get_case(db, created.id, now=hold + timedelta(days=2))
    assert paused.clock.state is ClockState.PAUSED
    assert paused.allowed_targets == (S.UNDER_REVIEW, S.CANCELLED)
    cases.change_status(
        db, created.id, S.UNDER_REVIEW, actor=admin("tom"), now=hold + timedelta(days=2)
    )
    resumed = cases.get_case(db, created.id, now=hold + timedelta(days=2))
    assert resumed.clock.due_at == records_at + timedelta(hours=48, days=2)

    cases.change_status(
        db,
        created.id,
        S.OPINION_RECEIVED,
        actor=admin("tom"),
        now=hold + timedelta(days=2, hours=3),
    )
    done = cases.get_case(db, created.id, now=NOW + timedelta(days=30))
    assert done.clock.state is ClockState.STOPPED
    assert [h.to_status for h in done.history] == [
        S.NEW,
        S.AWAITING_RECORDS,
        S.READY_FOR_REVIEW,
        S.UNDER_REVIEW,
        S.ON_HOLD,
        S.UNDER_REVIEW,
        S.OPINION_RECEIVED,
    ]
    assert done.history[4].reason == "Patient in hospital"


def test_a_refused_status_change_changes_nothing(db: Database) -> None:
    without_checklists(db)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    with pytest.raises(TransitionError):
        cases.change_status(db, created.id, S.LETTER_SENT, actor=admin("tom"), now=NOW)
    with pytest.raises(TransitionError, match="reason"):
        cases.change_status(db, created.id, S.CANCELLED, actor=admin("tom"), now=NOW)
    detail = cases.get_case(db, created.id, now=NOW)
    assert detail.status is S.NEW and len(detail.history) == 1


def test_making_a_case_urgent_brings_its_due_time_forward(db: Database) -> None:
    without_checklists(db)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    cases.change_status(db, created.id, S.READY_FOR_REVIEW, actor=admin("tom"), now=NOW)
    opened = cases.get_case(db, created.id, now=NOW)
    cases.update_case(
        db,
        created.id,
        expected_version=opened.version,
        patient=patient(),
        case=case(urgency=Urgency.URGENT),
        actor=admin("tom"),
        now=NOW,
    )
    detail = cases.get_case(db, created.id, now=NOW)
    assert detail.clock.due_at == NOW + timedelta(hours=24)
    assert detail.treatment_risk == "Urgent case."


def _take_in_cases(path: str, count: int) -> list[str]:
    db = open_database_file(Path(path))
    refs = [
        cases.create_case(
            db, case(), patient=patient(given_names=f"P{i}"), actor=admin("worker")
        ).reference
        for i in range(count)
    ]
    db.dispose()
    return refs


def test_references_stay_unique_when_several_programs_take_in_cases_at_once(
    db: Database,
) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        batches = pool.starmap(_take_in_cases, [(str(db.path), 15)] * 4)
    references = [ref for batch in batches for ref in batch]
    assert len(references) == 60 == len(set(references))
    numbers = sorted(int(ref.rsplit("-", 1)[1]) for ref in references)
    assert numbers == list(range(1, 61))


def test_a_deleted_case_never_frees_its_reference(db: Database) -> None:
    first = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    with sqlite3.connect(db.path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM cases WHERE id = ?", (first.id,))
    conn.close()
    second = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    assert second.reference == "RD-2026-00002"


def test_a_hold_after_the_opinion_keeps_the_answer_time_and_the_due_time(db: Database) -> None:
    without_checklists(db)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("a"), now=NOW)
    for hours, target in enumerate([S.READY_FOR_REVIEW, S.UNDER_REVIEW, S.OPINION_RECEIVED]):
        cases.change_status(
            db, created.id, target, actor=admin("a"), now=NOW + timedelta(hours=hours)
        )
    answered = cases.get_case(db, created.id, now=NOW)
    cases.change_status(
        db,
        created.id,
        S.ON_HOLD,
        reason="Patient travelling",
        actor=admin("a"),
        now=NOW + timedelta(days=1),
    )
    cases.change_status(
        db, created.id, S.OPINION_RECEIVED, actor=admin("a"), now=NOW + timedelta(days=5)
    )
    resumed = cases.get_case(db, created.id, now=NOW + timedelta(days=5))
    assert resumed.opinion_at == answered.opinion_at == NOW + timedelta(hours=2)
    assert resumed.clock.due_at == answered.clock.due_at == NOW + timedelta(hours=48)
    assert resumed.clock.answered_margin == timedelta(hours=46)


def test_a_hold_while_awaiting_records_does_not_move_the_later_due_time(db: Database) -> None:
    without_checklists(db)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("a"), now=NOW)
    cases.change_status(
        db, created.id, S.ON_HOLD, reason="Waiting for consent", actor=admin("a"), now=NOW
    )
    cases.change_status(db, created.id, S.NEW, actor=admin("a"), now=NOW + timedelta(days=3))
    cases.change_status(
        db, created.id, S.READY_FOR_REVIEW, actor=admin("a"), now=NOW + timedelta(days=4)
    )
    detail = cases.get_case(db, created.id, now=NOW + timedelta(days=4))
    assert detail.clock.due_at == NOW + timedelta(days=4, hours=48)
    assert detail.held_from is None


def test_a_cancelled_case_no_longer_waits_or_alarms(db: Database) -> None:
    created = cases.create_case(
        db, case(urgency=Urgency.URGENT), patient=patient(), actor=admin("a"), now=NOW
    )
    cases.change_status(
        db,
        created.id,
        S.CANCELLED,
        reason="Went ahead with the first plan",
        actor=admin("a"),
        now=NOW,
    )
    detail = cases.get_case(db, created.id, now=NOW)
    assert detail.clock.state is ClockState.STOPPED
    assert detail.treatment_risk is None


def test_the_version_returned_by_a_save_is_the_one_stored(db: Database) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW)
    opened = cases.get_case(db, created.id, now=NOW)
    version = cases.update_case(
        db,
        created.id,
        expected_version=opened.version,
        patient=patient(),
        case=case(stage="IIB"),
        actor=admin("tom"),
        now=NOW,
    )
    assert version == cases.get_case(db, created.id, now=NOW).version
    cases.update_case(
        db,
        created.id,
        expected_version=version,
        patient=patient(),
        case=case(stage="IIC"),
        actor=admin("tom"),
        now=NOW,
    )  # no false conflict
