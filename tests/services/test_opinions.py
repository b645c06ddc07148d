"""The second opinion: recording it stops the clock; concordance and the major-change flag.

Real SQLite files.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.clock import ClockState
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.specialists import Concordance as C
from referral_desk.domain.specialists import Discipline
from referral_desk.services import case_list, cases, documents, opinions, specialists
from referral_desk.services.case_list import CaseQuery
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from tests.conftest import NOW, admin, case, patient, without_checklists

HOUR = timedelta(hours=1)
READY = NOW + HOUR  # records complete: due 48 hours later
ASSIGNED = NOW + 2 * HOUR
ANSWERED = NOW + 20 * HOUR  # when the specialist's opinion arrived
TYPED = NOW + 26 * HOUR  # when the office typed it in


def _case_under_review(db: Database) -> int:
    """A breast case, records complete at READY, reviewed by Dr. Ana Lima."""
    case_id = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW).id
    for d in documents.case_records(db, case_id).documents:
        documents.set_document_status(
            db, d.id, DocumentStatus.RECEIVED, actor=admin("maria"), now=READY
        )
    ana = specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Ana Lima", Discipline.MEDICAL_ONCOLOGY, 5, cancer_types=frozenset({"breast"})
        ),
        now=NOW,
        actor=admin(),
    )
    specialists.assign(db, case_id, ana, actor=admin("ines"), now=ASSIGNED, local_zone=UTC)
    assert cases.get_case(db, case_id, now=ASSIGNED).status is S.UNDER_REVIEW
    return case_id


def _draft(**changes: object) -> OpinionDraft:
    values: dict[str, object] = {
        "patient_summary": "The diagnosis is right. Hormone therapy alone is enough.",
        "recommendation": "Skip chemotherapy; start endocrine therapy.",
        "diagnosis_concordance": C.CONFIRMED,
        "treatment_concordance": C.MINOR_CHANGE,
        "received_at": ANSWERED,
        "referrer_notes": "Oncotype DX recurrence score 11.",
    }
    values.update(changes)
    return OpinionDraft(**values)  # type: ignore[arg-type]


def _record(
    db: Database,
    case_id: int,
    draft: OpinionDraft,
    *,
    now: datetime = TYPED,
    expected_version: int | None = None,
) -> CaseChange:
    return opinions.record_opinion(
        db, case_id, draft, actor=admin("ines"), now=now, expected_version=expected_version
    )


def _count(db: Database, table: str) -> int:
    with sqlite3.connect(db.path) as conn:
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.close()
    return count


def _row(db: Database, case_id: int, query: CaseQuery | None = None) -> case_list.CaseRow | None:
    rows = case_list.fetch_page(db, query or CaseQuery(), now=TYPED).rows
    return next((r for r in rows if r.id == case_id), None)


def test_recording_the_opinion_stops_the_clock_when_it_arrived(db: Database) -> None:
    case_id = _case_under_review(db)
    before = cases.get_case(db, case_id, now=TYPED)
    change = opinions.record_opinion(db, case_id, _draft(), actor=admin("ines"), now=TYPED)
    assert change.moved_to is S.OPINION_RECEIVED
    assert change.version_before == before.version
    assert change.message == "Opinion recorded: RD-2026-00001 is ready for its letter."

    detail = cases.get_case(db, case_id, now=TYPED + 100 * HOUR)
    assert detail.version == change.case_version
    assert detail.status is S.OPINION_RECEIVED
    assert detail.opinion_at == ANSWERED  # when it arrived, not when it was typed in
    assert detail.clock.state is ClockState.STOPPED
    assert detail.clock.remaining is None
    assert detail.clock.due_at == READY + 48 * HOUR
    assert detail.clock.answered_margin == READY + 48 * HOUR - ANSWERED  # on time
    assert not detail.major_change
    last = detail.history[-1]
    assert (last.from_status, last.to_status, last.actor, last.at, last.reason) == (
        S.UNDER_REVIEW,
        S.OPINION_RECEIVED,
        "ines",
        TYPED,
        "Opinion recorded",
    )
    row = _row(db, case_id)
    assert row is not None
    assert row.clock.state is ClockState.STOPPED and not row.major_change


def test_the_opinion_reads_back_as_it_was_recorded(db: Database) -> None:
    case_id = _case_under_review(db)
    assert opinions.get_opinion(db, case_id) is None
    draft = _draft(
        patient_summary="  Sie brauchen keine Chemotherapie.  ",
        recommendation=" Endokrine Therapie. ",
        referrer_notes=" Détails : score 11. ",
    )
    _record(db, case_id, draft)
    info = opinions.get_opinion(db, case_id)
    assert info is not None
    assert info.draft == _draft(
        patient_summary="Sie brauchen keine Chemotherapie.",
        recommendation="Endokrine Therapie.",
        referrer_notes="Détails : score 11.",
    )
    assert info.specialist_name == "Dr. Ana Lima"
    assert (info.recorded_at, info.recorded_by) == (TYPED, "ines")
    assert not info.major_change


@pytest.mark.parametrize(
    ("diagnosis", "treatment", "major"),
    [
        (C.MAJOR_CHANGE, C.CONFIRMED, True),
        (C.CONFIRMED, C.MAJOR_CHANGE, True),
        (C.MAJOR_CHANGE, C.MAJOR_CHANGE, True),
        (C.MINOR_CHANGE, C.MINOR_CHANGE, False),
        (C.NOT_ASSESSED, C.CONFIRMED, False),
    ],
)
def test_a_major_change_in_either_judgement_flags_the_case(
    db: Database, diagnosis: C, treatment: C, major: bool
) -> None:
    case_id = _case_under_review(db)
    other = _case_under_review(db)  # no opinion yet: never flagged
    change = _record(
        db, case_id, _draft(diagnosis_concordance=diagnosis, treatment_concordance=treatment)
    )
    assert change.message.endswith("It is a major change from the first opinion.") is major
    assert cases.get_case(db, case_id, now=TYPED).major_change is major
    info = opinions.get_opinion(db, case_id)
    assert info is not None and info.major_change is major
    assert (info.draft.diagnosis_concordance, info.draft.treatment_concordance) == (
        diagnosis,
        treatment,
    )
    row = _row(db, case_id)
    assert row is not None and row.major_change is major
    flagged = [r.id for r in case_list.fetch_page(db, CaseQuery(major_change_only=True)).rows]
    assert flagged == ([case_id] if major else [])
    assert other not in flagged
    assert case_list.count_cases(db, CaseQuery(major_change_only=True)) == int(major)


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (S.AWAITING_RECORDS, "awaiting records"),
        (S.READY_FOR_REVIEW, "ready for review"),
        (S.ON_HOLD, "on hold"),
        (S.CANCELLED, "cancelled"),
    ],
)
def test_an_opinion_on_a_case_not_under_review_is_refused(
    db: Database, status: S, label: str
) -> None:
    case_id = cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=NOW).id
    if status is not S.AWAITING_RECORDS:
        for d in documents.case_records(db, case_id).documents:
            documents.set_document_status(
                db, d.id, DocumentStatus.RECEIVED, actor=admin("maria"), now=READY
            )
    if status in (S.ON_HOLD, S.CANCELLED):
        cases.change_status(
            db, case_id, status, reason="patient asked", actor=admin("m"), now=READY
        )
    before = cases.get_case(db, case_id, now=TYPED)
    assert before.status is status
    with pytest.raises(ValidationError) as raised:
        _record(db, case_id, _draft())
    assert raised.value.errors == {
        "case": f"An opinion is recorded for a case under review; RD-2026-00001 is {label}."
    }
    assert cases.get_case(db, case_id, now=TYPED) == before
    assert _count(db, "opinions") == 0


def test_an_opinion_for_an_unknown_case_says_so(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no case number 8"):
        _record(db, 8, _draft())
    assert opinions.get_opinion(db, 8) is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"patient_summary": "   "}, "patient_summary", "summary the patient will read"),
        ({"recommendation": ""}, "recommendation", "recommendation"),
        ({"received_at": None}, "received_at", "date and time"),
        ({"received_at": TYPED + HOUR}, "received_at", "in the future"),
        ({"received_at": READY - HOUR}, "received_at", "before the records were complete"),
        ({"referrer_notes": "x" * 20_001}, "referrer_notes", "under 20,000"),
    ],
)
def test_a_bad_opinion_names_the_field_and_saves_nothing(
    db: Database, changes: dict[str, object], field: str, words: str
) -> None:
    case_id = _case_under_review(db)
    before = cases.get_case(db, case_id, now=TYPED)
    with pytest.raises(ValidationError) as raised:
        _record(db, case_id, _draft(**changes))
    assert set(raised.value.errors) == {field}
    assert words in raised.value.errors[field]
    assert cases.get_case(db, case_id, now=TYPED) == before
    assert opinions.get_opinion(db, case_id) is None
    assert _count(db, "opinions") == 0


def test_the_records_completion_time_is_given_when_the_opinion_predates_it(db: Database) -> None:
    case_id = _case_under_review(db)
    with pytest.raises(ValidationError) as raised:
        _record(db, case_id, _draft(received_at=READY - timedelta(seconds=1)))
    assert "(2026-11-23 11:00 UTC)" in raised.value.errors["received_at"]
    _record(db, case_id, _draft(received_at=READY))  # the same moment is possible


def test_an_opinion_can_be_amended_once_received(db: Database) -> None:
    case_id = _case_under_review(db)
    first = opinions.record_opinion(db, case_id, _draft(), actor=admin("ines"), now=TYPED)
    amended_at = TYPED + 2 * HOUR
    change = opinions.record_opinion(
        db,
        case_id,
        _draft(
            patient_summary="The tumour is not what was thought.",
            recommendation="Repeat the biopsy before any treatment.",
            diagnosis_concordance=C.MAJOR_CHANGE,
            received_at=ANSWERED - HOUR,
        ),
        actor=admin("pedro"),
        now=amended_at,
        expected_version=first.case_version,
    )
    assert change.moved_to is None
    assert change.message == "The opinion was amended. It is a major change from the first opinion."
    detail = cases.get_case(db, case_id, now=amended_at)
    assert detail.status is S.OPINION_RECEIVED
    assert detail.opinion_at == ANSWERED - HOUR
    assert detail.major_change
    assert detail.clock.state is ClockState.STOPPED
    assert detail.history[-1].to_status is S.OPINION_RECEIVED  # no new status line
    assert len(detail.history) == len(cases.get_case(db, case_id, now=TYPED).history)
    assert (detail.updated_at, detail.version) == (amended_at, change.case_version)
    info = opinions.get_opinion(db, case_id)
    assert info is not None
    assert info.draft.patient_summary == "The tumour is not what was thought."
    assert info.draft.diagnosis_concordance is C.MAJOR_CHANGE
    assert (info.recorded_at, info.recorded_by) == (amended_at, "pedro")
    assert _count(db, "opinions") == 1
    row = _row(db, case_id, CaseQuery(major_change_only=True))
    assert row is not None and row.major_change

    # Amended back: the flag goes too.
    opinions.record_opinion(db, case_id, _draft(), actor=admin("pedro"), now=amended_at + HOUR)
    assert not cases.get_case(db, case_id, now=amended_at).major_change
    assert _row(db, case_id, CaseQuery(major_change_only=True)) is None


def test_an_opinion_cannot_be_amended_after_the_letter(db: Database) -> None:
    case_id = _case_under_review(db)
    _record(db, case_id, _draft())
    cases.change_status(db, case_id, S.LETTER_SENT, actor=admin("ines"), now=TYPED + HOUR)
    with pytest.raises(ValidationError, match="RD-2026-00001 is letter sent"):
        _record(db, case_id, _draft(diagnosis_concordance=C.MAJOR_CHANGE), now=TYPED + 2 * HOUR)
    info = opinions.get_opinion(db, case_id)
    assert info is not None and info.draft == _draft()


def test_a_stale_opinion_is_refused(db: Database) -> None:
    case_id = _case_under_review(db)
    opened = cases.get_case(db, case_id, now=TYPED)
    cases.update_case(  # someone edits the case meanwhile
        db,
        case_id,
        expected_version=opened.version,
        patient=None,
        case=replace(case(), stage="IIB"),
        actor=admin("pedro"),
        now=TYPED,
    )
    with pytest.raises(ConflictError, match="RD-2026-00001 was changed by someone else"):
        _record(db, case_id, _draft(), expected_version=opened.version)
    assert opinions.get_opinion(db, case_id) is None
    assert cases.get_case(db, case_id, now=TYPED).status is S.UNDER_REVIEW

    current = cases.get_case(db, case_id, now=TYPED).version
    _record(db, case_id, _draft(), expected_version=current)
    assert cases.get_case(db, case_id, now=TYPED).status is S.OPINION_RECEIVED


def test_the_opinion_is_no_longer_the_reviewers_load(db: Database) -> None:
    case_id = _case_under_review(db)
    [ana] = specialists.list_specialists(db, now=TYPED)
    assert ana.active_cases == 1
    _record(db, case_id, _draft())
    [ana] = specialists.list_specialists(db, now=TYPED)
    assert ana.active_cases == 0


def test_the_opinion_is_credited_to_the_primary_reviewer(db: Database) -> None:
    case_id = _case_under_review(db)
    _record(db, case_id, _draft())
    with sqlite3.connect(db.path) as conn:
        stored = conn.execute(
            "SELECT o.specialist_id, c.specialist_id FROM opinions o JOIN cases c "
            "ON c.id = o.case_id"
        ).fetchone()
    conn.close()
    assert stored[0] == stored[1] is not None


def test_a_case_moved_to_opinion_received_by_hand_can_still_get_its_opinion(
    db: Database,
) -> None:
    without_checklists(db)
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
    for target in (S.READY_FOR_REVIEW, S.UNDER_REVIEW, S.OPINION_RECEIVED):
        cases.change_status(db, created.id, target, actor=admin("t"), now=NOW + HOUR)
    opinions.record_opinion(
        db,
        created.id,
        OpinionDraft("Summary", "Recommendation", C.CONFIRMED, C.CONFIRMED, NOW + HOUR),
        actor=admin("t"),
        now=NOW + 2 * HOUR,
    )
    stored = opinions.get_opinion(db, created.id)
    assert stored is not None and stored.draft.recommendation == "Recommendation"
    assert cases.get_case(db, created.id, now=NOW + 2 * HOUR).status is S.OPINION_RECEIVED
