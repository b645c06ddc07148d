"""A case's documents: checklists, completeness and the clock, the chase list. Real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.clock import ClockState
from referral_desk.domain.documents import ChecklistItem, DocumentStatus, default_checklist
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.enums import Urgency
from referral_desk.domain.workflow import TransitionError
from referral_desk.services import case_list, cases, checklists, documents
from referral_desk.services.case_list import CaseQuery
from referral_desk.services.documents import CaseDocumentInfo
from referral_desk.services.errors import NotFoundError, ValidationError
from tests.conftest import NOW, admin, case, patient, without_checklists

BREAST = [
    "referral_letter",
    "consent_form",
    "pathology_report",
    "imaging_report",
    "treatment_plan",
]
HOUR = timedelta(hours=1)


def _new_case(db: Database, *, at: datetime = NOW, **changes: object) -> int:
    return cases.create_case(
        db, case(**changes), patient=patient(), actor=admin("maria"), now=at
    ).id


def _doc(db: Database, case_id: int, document_type: str) -> CaseDocumentInfo:
    held = documents.case_records(db, case_id).documents
    return next(d for d in held if d.document_type == document_type)


def _settle_all(db: Database, case_id: int, *, start: datetime = NOW + HOUR) -> None:
    for n, code in enumerate(BREAST):
        documents.set_document_status(
            db,
            _doc(db, case_id, code).id,
            DocumentStatus.RECEIVED,
            actor=admin("maria"),
            now=start + n * HOUR,
        )


def _count(db: Database, table: str) -> int:
    with sqlite3.connect(db.path) as conn:
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.close()
    return count


def _row(db: Database, case_id: int) -> case_list.CaseRow:
    return next(r for r in case_list.fetch_page(db, CaseQuery(), now=NOW).rows if r.id == case_id)


# Checklists applied to cases


def test_intake_requests_every_document_on_the_cancer_types_checklist(db: Database) -> None:
    case_id = _new_case(db)
    held = documents.case_records(db, case_id)
    assert held.status is S.AWAITING_RECORDS
    assert held.records_complete_at is None
    assert sorted(d.document_type for d in held.documents) == sorted(BREAST)
    for d in held.documents:
        assert d.required and d.missing
        assert d.status is DocumentStatus.REQUESTED
        assert (d.requested_at, d.status_by) == (NOW, "maria")
        assert d.files == ()
        assert [(e.label, e.actor, e.at) for e in d.history] == [("Requested", "maria", NOW)]
    assert _doc(db, case_id, "pathology_report").note == "with ER/PR/HER2 status"
    assert _doc(db, case_id, "pathology_report").label == "Pathology report"
    assert len(held.missing) == 5


def test_changing_the_cancer_type_requests_the_new_documents_and_keeps_received_ones(
    db: Database,
) -> None:
    case_id = _new_case(db)
    pathology = _doc(db, case_id, "pathology_report")
    documents.set_document_status(
        db, pathology.id, DocumentStatus.RECEIVED, actor=admin("maria"), now=NOW + HOUR
    )
    opened = cases.get_case(db, case_id, now=NOW)
    # Myeloma needs a bone-marrow report and blood tests, not a pathology report.
    cases.update_case(
        db,
        case_id,
        expected_version=opened.version,
        patient=None,
        case=case(cancer_type="myeloma"),
        actor=admin("ines"),
        now=NOW + 2 * HOUR,
    )
    held = {d.document_type: d for d in documents.case_records(db, case_id).documents}
    assert set(held) == {*BREAST, "bone_marrow_report", "blood_tests"}
    assert held["bone_marrow_report"].required
    assert held["bone_marrow_report"].status is DocumentStatus.REQUESTED
    assert held["bone_marrow_report"].requested_at == NOW + 2 * HOUR
    kept = held["pathology_report"]
    assert kept.id == pathology.id  # the same record, not a copy
    assert kept.status is DocumentStatus.RECEIVED and not kept.required
    assert kept.history[-1].label == "No longer required"
    assert _row(db, case_id).missing_documents == 6  # 4 breast ones still due + 2 new

    # Back to breast: the received report counts again, the myeloma ones stay, optional.
    opened = cases.get_case(db, case_id, now=NOW)
    cases.update_case(
        db,
        case_id,
        expected_version=opened.version,
        patient=None,
        case=case(),
        actor=admin("ines"),
        now=NOW + 3 * HOUR,
    )
    held = {d.document_type: d for d in documents.case_records(db, case_id).documents}
    assert held["pathology_report"].required
    assert held["pathology_report"].status is DocumentStatus.RECEIVED
    assert held["pathology_report"].history[-1].label == "Now required"
    assert not held["bone_marrow_report"].required
    assert _count(db, "case_documents") == 7
    assert _row(db, case_id).missing_documents == 4


def test_a_cancer_type_change_that_adds_a_document_sends_a_ready_case_back(db: Database) -> None:
    case_id = _new_case(db)
    _settle_all(db, case_id)
    assert cases.get_case(db, case_id, now=NOW).status is S.READY_FOR_REVIEW
    opened = cases.get_case(db, case_id, now=NOW)
    cases.update_case(
        db,
        case_id,
        expected_version=opened.version,
        patient=None,
        case=case(cancer_type="lung"),  # lung also needs the molecular report
        actor=admin("ines"),
        now=NOW + 9 * HOUR,
    )
    detail = cases.get_case(db, case_id, now=NOW + 9 * HOUR)
    assert detail.status is S.AWAITING_RECORDS
    assert detail.records_complete_at is None
    assert detail.clock.state is ClockState.NOT_STARTED
    last = detail.history[-1]
    assert (last.from_status, last.to_status) == (S.READY_FOR_REVIEW, S.AWAITING_RECORDS)
    assert "cancer type changed" in last.reason


def test_a_cancer_type_corrected_after_the_opinion_requests_nothing(db: Database) -> None:
    case_id = _new_case(db)
    _settle_all(db, case_id)
    for target in (S.UNDER_REVIEW, S.OPINION_RECEIVED):
        cases.change_status(db, case_id, target, actor=admin("m"), now=NOW + 9 * HOUR)
    opened = cases.get_case(db, case_id, now=NOW + 9 * HOUR)
    cases.update_case(
        db,
        case_id,
        expected_version=opened.version,
        patient=None,
        case=case(cancer_type="lung"),
        actor=admin("ines"),
        now=NOW + 10 * HOUR,
    )
    detail = cases.get_case(db, case_id, now=NOW + 10 * HOUR)
    assert detail.status is S.OPINION_RECEIVED and detail.missing_documents == 0
    kinds = {d.document_type for d in documents.case_records(db, case_id).documents}
    assert "molecular_report" not in kinds
    assert all(r.case_id != case_id for r in documents.chase_list(db))


def test_editing_a_checklist_does_not_change_existing_cases(db: Database) -> None:
    before = _new_case(db)
    checklists.save_checklist(
        db,
        "breast",
        [ChecklistItem("referral_letter"), ChecklistItem("slides_blocks")],
        actor=admin(),
    )
    held = documents.case_records(db, before)
    assert sorted(d.document_type for d in held.documents) == sorted(BREAST)
    assert all(d.required for d in held.documents)
    assert _row(db, before).missing_documents == 5

    after = _new_case(db)  # a new case gets the new checklist
    assert sorted(d.document_type for d in documents.case_records(db, after).documents) == [
        "referral_letter",
        "slides_blocks",
    ]


def test_reapplying_the_checklist_requests_the_documents_of_a_case_that_had_none(
    db: Database,
) -> None:
    without_checklists(db)
    case_id = _new_case(db)
    assert documents.case_records(db, case_id).documents == ()
    assert cases.get_case(db, case_id, now=NOW).status is S.NEW

    checklists.save_checklist(db, "breast", default_checklist("breast"), actor=admin())
    change = documents.reapply_checklist(db, case_id, actor=admin("ines"), now=NOW + HOUR)
    assert change.moved_to is S.AWAITING_RECORDS
    assert change.message == (
        "5 documents updated from the checklist. RD-2026-00001 is now awaiting records."
    )
    held = documents.case_records(db, case_id)
    assert held.status is S.AWAITING_RECORDS
    assert sorted(d.document_type for d in held.documents) == sorted(BREAST)
    assert all(d.requested_at == NOW + HOUR and d.status_by == "ines" for d in held.documents)
    assert cases.get_case(db, case_id, now=NOW).history[-1].reason == "Records requested"

    again = documents.reapply_checklist(db, case_id, actor=admin("ines"), now=NOW + 2 * HOUR)
    assert again.moved_to is None
    assert again.message == "The case already has every document on its checklist."
    assert _count(db, "case_documents") == 5


def test_the_first_document_requested_for_a_new_case_is_not_called_a_setback(
    db: Database,
) -> None:
    without_checklists(db)
    case_id = _new_case(db)
    change = documents.request_document(db, case_id, "consent_form", actor=admin("ines"), now=NOW)
    assert change.moved_to is S.AWAITING_RECORDS
    assert change.message == "RD-2026-00001 is now awaiting records."
    assert cases.get_case(db, case_id, now=NOW).history[-1].reason == "Records requested"


def test_reapplying_the_checklist_of_an_unknown_case_says_so(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no case number 999"):
        documents.reapply_checklist(db, 999, actor=admin("ines"), now=NOW)


# Completeness and the clock


@pytest.mark.parametrize(("urgency", "hours"), [(Urgency.ROUTINE, 48), (Urgency.URGENT, 24)])
def test_receiving_or_waiving_every_required_document_starts_the_clock(
    db: Database, urgency: Urgency, hours: int
) -> None:
    case_id = _new_case(db, urgency=urgency)
    *first, last = BREAST
    for n, code in enumerate(first):
        change = documents.set_document_status(
            db,
            _doc(db, case_id, code).id,
            DocumentStatus.RECEIVED,
            actor=admin("maria"),
            now=NOW + n * HOUR,
        )
        assert change.moved_to is None and change.message == ""
        assert cases.get_case(db, case_id, now=NOW).status is S.AWAITING_RECORDS
    complete_at = NOW + 7 * HOUR
    change = documents.set_document_status(
        db,
        _doc(db, case_id, last).id,
        DocumentStatus.WAIVED,
        reason="Patient has not started treatment; no plan exists yet",
        actor=admin("ines"),
        now=complete_at,
    )
    assert change.moved_to is S.READY_FOR_REVIEW
    assert change.message == "All required records are in: RD-2026-00001 is ready for review."

    detail = cases.get_case(db, case_id, now=complete_at + HOUR)
    assert detail.status is S.READY_FOR_REVIEW
    assert detail.records_complete_at == complete_at
    assert detail.clock.state is ClockState.RUNNING
    assert detail.clock.due_at == complete_at + timedelta(hours=hours)
    assert detail.clock.remaining == timedelta(hours=hours - 1)
    last_line = detail.history[-1]
    assert (last_line.from_status, last_line.to_status) == (S.AWAITING_RECORDS, S.READY_FOR_REVIEW)
    assert (last_line.at, last_line.actor) == (complete_at, "ines")
    assert last_line.reason == "All required records received or waived"
    assert _row(db, case_id).missing_documents == 0
    waived = _doc(db, case_id, last)
    assert waived.status_reason == "Patient has not started treatment; no plan exists yet"
    assert waived.history[-1].label == "Waived"


def test_reopening_a_required_document_sends_the_case_back_to_awaiting_records(
    db: Database,
) -> None:
    case_id = _new_case(db)
    _settle_all(db, case_id)
    pathology = _doc(db, case_id, "pathology_report")
    reopened_at = NOW + 20 * HOUR
    change = documents.set_document_status(
        db, pathology.id, DocumentStatus.REQUESTED, actor=admin("ines"), now=reopened_at
    )
    assert change.moved_to is S.AWAITING_RECORDS
    assert change.message == "RD-2026-00001 is awaiting records again."

    detail = cases.get_case(db, case_id, now=reopened_at)
    assert detail.status is S.AWAITING_RECORDS
    assert detail.records_complete_at is None
    assert detail.clock.state is ClockState.NOT_STARTED and detail.clock.due_at is None
    assert detail.history[-1].reason == (
        "Records incomplete again: Pathology report requested again"
    )
    reopened = _doc(db, case_id, "pathology_report")
    assert reopened.status is DocumentStatus.REQUESTED and reopened.missing
    assert (reopened.requested_at, reopened.received_at) == (reopened_at, None)
    assert reopened.history[-1].label == "Requested again"
    assert _row(db, case_id).missing_documents == 1

    # Received again later: the clock starts afresh from that moment.
    documents.set_document_status(
        db, pathology.id, DocumentStatus.RECEIVED, actor=admin("ines"), now=reopened_at + HOUR
    )
    assert cases.get_case(db, case_id, now=NOW).records_complete_at == reopened_at + HOUR


def test_records_completed_during_a_hold_resume_the_case_ready_for_review(
    db: Database,
) -> None:
    case_id = _new_case(db)
    cases.change_status(
        db, case_id, S.ON_HOLD, reason="Patient in hospital", actor=admin("ines"), now=NOW + HOUR
    )
    _settle_all(db, case_id, start=NOW + 2 * HOUR)
    detail = cases.get_case(db, case_id, now=NOW + 8 * HOUR)
    assert detail.status is S.ON_HOLD  # a hold is the office's decision: it stays
    assert detail.records_complete_at is None
    assert detail.allowed_targets == (S.READY_FOR_REVIEW, S.CANCELLED)

    resumed_at = NOW + 30 * HOUR
    cases.change_status(db, case_id, S.READY_FOR_REVIEW, actor=admin("ines"), now=resumed_at)
    detail = cases.get_case(db, case_id, now=resumed_at)
    assert detail.status is S.READY_FOR_REVIEW
    assert detail.records_complete_at == resumed_at  # the hold did not count
    assert detail.clock.due_at == resumed_at + timedelta(hours=48)


def test_a_record_reopened_during_a_hold_resumes_the_case_awaiting_records(
    db: Database,
) -> None:
    case_id = _new_case(db)
    _settle_all(db, case_id)
    cases.change_status(
        db,
        case_id,
        S.ON_HOLD,
        reason="Waiting for the patient",
        actor=admin("ines"),
        now=NOW + 10 * HOUR,
    )
    documents.set_document_status(
        db,
        _doc(db, case_id, "imaging_report").id,
        DocumentStatus.REQUESTED,
        actor=admin("ines"),
        now=NOW + 11 * HOUR,
    )
    assert cases.get_case(db, case_id, now=NOW).allowed_targets == (
        S.AWAITING_RECORDS,
        S.CANCELLED,
    )
    cases.change_status(db, case_id, S.AWAITING_RECORDS, actor=admin("ines"), now=NOW + 12 * HOUR)
    detail = cases.get_case(db, case_id, now=NOW + 12 * HOUR)
    assert detail.status is S.AWAITING_RECORDS
    assert detail.records_complete_at is None
    assert detail.clock.state is ClockState.NOT_STARTED


def test_a_document_not_available_still_counts_as_missing(db: Database) -> None:
    case_id = _new_case(db)
    _settle_all(db, case_id)
    imaging = _doc(db, case_id, "imaging_report")
    change = documents.set_document_status(
        db,
        imaging.id,
        DocumentStatus.NOT_AVAILABLE,
        reason="Scans were done abroad",
        actor=admin("ines"),
        now=NOW + 20 * HOUR,
    )
    assert change.moved_to is S.AWAITING_RECORDS
    assert _doc(db, case_id, "imaging_report").status_reason == "Scans were done abroad"
    assert [r.document_label for r in documents.chase_list(db)] == ["Imaging report"]


def test_waiving_without_a_reason_is_refused_and_nothing_changes(db: Database) -> None:
    case_id = _new_case(db)
    consent = _doc(db, case_id, "consent_form")
    version = cases.get_case(db, case_id, now=NOW).version
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as raised:
            documents.set_document_status(
                db, consent.id, DocumentStatus.WAIVED, reason=reason, actor=admin("ines"), now=NOW
            )
        assert raised.value.errors == {
            "reason": "Say why the case can go ahead without this document."
        }
    assert _doc(db, case_id, "consent_form") == consent
    assert cases.get_case(db, case_id, now=NOW).version == version


def test_setting_the_status_a_document_already_has_is_refused(db: Database) -> None:
    case_id = _new_case(db)
    consent = _doc(db, case_id, "consent_form")
    with pytest.raises(ValidationError, match="Consent form is already requested"):
        documents.set_document_status(
            db, consent.id, DocumentStatus.REQUESTED, actor=admin("ines"), now=NOW
        )
    assert _doc(db, case_id, "consent_form") == consent


def test_a_document_that_does_not_exist_is_reported(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no case document number 404"):
        documents.set_document_status(
            db, 404, DocumentStatus.RECEIVED, actor=admin("ines"), now=NOW
        )
    with pytest.raises(NotFoundError, match="no case number 404"):
        documents.case_records(db, 404)


def test_ready_for_review_by_hand_with_documents_missing_needs_a_reason(db: Database) -> None:
    case_id = _new_case(db)
    with pytest.raises(TransitionError, match="5 required documents are still missing"):
        cases.change_status(db, case_id, S.READY_FOR_REVIEW, actor=admin("ines"), now=NOW + HOUR)
    assert cases.get_case(db, case_id, now=NOW).status is S.AWAITING_RECORDS

    override_at = NOW + 2 * HOUR
    cases.change_status(
        db,
        case_id,
        S.READY_FOR_REVIEW,
        reason="Acute presentation: specialist agreed to start with what we have",
        actor=admin("ines"),
        now=override_at,
    )
    detail = cases.get_case(db, case_id, now=override_at)
    assert detail.status is S.READY_FOR_REVIEW and detail.records_complete_at == override_at

    # The next document to arrive does not undo the override, nor restart the clock.
    change = documents.set_document_status(
        db,
        _doc(db, case_id, "consent_form").id,
        DocumentStatus.RECEIVED,
        actor=admin("maria"),
        now=override_at + HOUR,
    )
    assert change.moved_to is None
    rest = [c for c in BREAST if c != "consent_form"]
    for n, code in enumerate(rest, start=2):
        documents.set_document_status(
            db,
            _doc(db, case_id, code).id,
            DocumentStatus.RECEIVED,
            actor=admin("maria"),
            now=override_at + n * HOUR,
        )
    detail = cases.get_case(db, case_id, now=override_at)
    assert detail.status is S.READY_FOR_REVIEW
    assert detail.records_complete_at == override_at
    assert detail.clock.due_at == override_at + timedelta(hours=48)
    assert [h.to_status for h in detail.history].count(S.READY_FOR_REVIEW) == 1


def test_a_requested_extra_document_can_make_a_ready_case_wait_again(db: Database) -> None:
    case_id = _new_case(db)
    _settle_all(db, case_id)
    change = documents.request_document(
        db, case_id, "slides_blocks", note="For re-review", actor=admin("ines"), now=NOW + 20 * HOUR
    )
    assert change.moved_to is S.AWAITING_RECORDS
    slides = _doc(db, case_id, "slides_blocks")
    assert slides.required and slides.note == "For re-review"
    assert cases.get_case(db, case_id, now=NOW).history[-1].reason == (
        "Records incomplete again: Slides / blocks requested"
    )


def test_an_optional_request_leaves_the_records_complete(db: Database) -> None:
    case_id = _new_case(db)
    _settle_all(db, case_id)
    change = documents.request_document(
        db, case_id, "discharge_summary", required=False, actor=admin("ines"), now=NOW + 20 * HOUR
    )
    assert change.moved_to is None
    assert cases.get_case(db, case_id, now=NOW).status is S.READY_FOR_REVIEW
    assert not _doc(db, case_id, "discharge_summary").missing
    assert documents.chase_list(db) == []

    # Made required later: now it is missing.
    change = documents.request_document(
        db, case_id, "discharge_summary", actor=admin("ines"), now=NOW + 21 * HOUR
    )
    assert change.moved_to is S.AWAITING_RECORDS
    assert _doc(db, case_id, "discharge_summary").history[-1].label == "Now required"


def test_requesting_a_document_twice_or_of_a_retired_type_is_refused(db: Database) -> None:
    case_id = _new_case(db)
    with pytest.raises(ValidationError, match="Consent form is already on RD-2026-00001"):
        documents.request_document(db, case_id, "consent_form", actor=admin("ines"), now=NOW)
    checklists.set_document_type_active(db, "slides_blocks", False, actor=admin())
    with pytest.raises(ValidationError, match="'slides_blocks' is not a document type in use"):
        documents.request_document(db, case_id, "slides_blocks", actor=admin("ines"), now=NOW)
    with pytest.raises(ValidationError, match="'x-ray' is not a document type in use"):
        documents.request_document(db, case_id, "x-ray", actor=admin("ines"), now=NOW)
    assert _count(db, "case_documents") == 5


def test_notes_on_a_document_are_kept_and_overlong_notes_refused(db: Database) -> None:
    case_id = _new_case(db)
    consent = _doc(db, case_id, "consent_form")
    documents.set_comment(db, consent.id, "  Signed copy promised by Friday  ", actor=admin("ines"))
    assert _doc(db, case_id, "consent_form").comment == "Signed copy promised by Friday"
    with pytest.raises(ValidationError, match="keep them under 4000"):
        documents.set_comment(db, consent.id, "x" * 4001, actor=admin("ines"))
    assert _doc(db, case_id, "consent_form").comment == "Signed copy promised by Friday"


def test_the_case_row_counts_the_missing_documents(db: Database) -> None:
    case_id = _new_case(db)
    complete_id = _new_case(db)
    _settle_all(db, complete_id)
    assert _row(db, case_id).missing_documents == 5
    for code in ("consent_form", "referral_letter"):
        documents.set_document_status(
            db, _doc(db, case_id, code).id, DocumentStatus.RECEIVED, actor=admin("maria"), now=NOW
        )
    assert _row(db, case_id).missing_documents == 3
    assert _row(db, complete_id).missing_documents == 0
    incomplete = case_list.fetch_page(db, CaseQuery(incomplete_only=True), now=NOW).rows
    assert [r.id for r in incomplete] == [case_id]


# Chasing what is missing


def _chase_key(db: Database) -> list[tuple[str, str]]:
    return [(r.reference, r.document_label) for r in documents.chase_list(db)]


def test_the_chase_list_puts_urgent_cases_first_then_the_longest_wait(db: Database) -> None:
    checklists.save_checklist(db, "breast", [ChecklistItem("consent_form")], actor=admin())
    early = _new_case(db, at=NOW)  # RD-2026-00001, routine
    late = _new_case(db, at=NOW + 2 * HOUR)  # RD-2026-00002, routine
    urgent = _new_case(db, at=NOW + 4 * HOUR, urgency=Urgency.URGENT)  # RD-2026-00003
    documents.request_document(db, early, "imaging_report", actor=admin("ines"), now=NOW + 3 * HOUR)
    assert _chase_key(db) == [
        ("RD-2026-00003", "Consent form"),
        ("RD-2026-00001", "Consent form"),
        ("RD-2026-00002", "Consent form"),
        ("RD-2026-00001", "Imaging report"),
    ]
    # A document requested again waits from the new request.
    consent = _doc(db, early, "consent_form").id
    documents.set_document_status(
        db, consent, DocumentStatus.RECEIVED, actor=admin("m"), now=NOW + 5 * HOUR
    )
    documents.set_document_status(
        db, consent, DocumentStatus.REQUESTED, actor=admin("m"), now=NOW + 6 * HOUR
    )
    assert _chase_key(db)[-1] == ("RD-2026-00001", "Consent form")
    assert {r.case_id for r in documents.chase_list(db)} == {early, late, urgent}


def test_the_chase_list_shows_whom_to_call(db: Database) -> None:
    case_id = _new_case(db)
    documents.set_referrer_contact(
        db,
        "dr. ines navarro, hospital del mar",  # as typed: case and accents do not matter
        phone=" +34 93 248 30 00 ",
        email="inavarro@hospitaldelmar.example",
        actor=admin(),
    )
    rows = documents.chase_list(db)
    assert len(rows) == 5
    first = rows[0]
    assert first.case_id == case_id and first.reference == "RD-2026-00001"
    assert first.patient_name == "Zoë Müller"
    assert first.referrer == "Dr. Inés Navarro, Hospital del Mar"
    assert (first.referrer_phone, first.referrer_email) == (
        "+34 93 248 30 00",
        "inavarro@hospitaldelmar.example",
    )
    assert first.urgency is Urgency.ROUTINE and first.case_status is S.AWAITING_RECORDS
    assert first.requested_at == NOW and first.chase_count == 0 and first.chased_at is None
    # One case, requested all at once: in the order of the document types.
    assert [r.document_label for r in rows] == [
        "Pathology report",
        "Imaging report",
        "First oncologist's treatment plan",
        "Referral letter",
        "Consent form",
    ]
    assert rows[0].note == "with ER/PR/HER2 status"


def test_a_case_without_a_referrer_is_chased_with_blank_contact(db: Database) -> None:
    _new_case(db, referrer_name="")
    rows = documents.chase_list(db)
    assert rows and all(
        (r.referrer, r.referrer_phone, r.referrer_email) == ("", "", "") for r in rows
    )


def test_referrer_contact_is_checked_before_it_is_saved(db: Database) -> None:
    _new_case(db)
    name = "Dr. Inés Navarro, Hospital del Mar"
    with pytest.raises(ValidationError, match="'navarro' is not an e-mail address"):
        documents.set_referrer_contact(db, name, phone="", email="navarro", actor=admin())
    with pytest.raises(ValidationError, match="phone number is too long"):
        documents.set_referrer_contact(db, name, phone="1" * 61, email="", actor=admin())
    with pytest.raises(NotFoundError, match=r"no referrer called 'Dr\. Nobody'"):
        documents.set_referrer_contact(db, "Dr. Nobody", phone="1", email="", actor=admin())
    assert documents.referrer_contact(db, name) == documents.ReferrerContact(name, "", "")
    assert documents.referrer_contact(db, "Dr. Nobody") is None


def test_the_chase_list_leaves_out_settled_documents_and_finished_cases(db: Database) -> None:
    open_id = _new_case(db)
    cancelled = _new_case(db)
    closed = _new_case(db)
    for code, status, reason in [
        ("referral_letter", DocumentStatus.RECEIVED, ""),
        ("consent_form", DocumentStatus.WAIVED, "Verbal consent recorded"),
        ("imaging_report", DocumentStatus.NOT_AVAILABLE, "Lost by the hospital"),
    ]:
        documents.set_document_status(
            db, _doc(db, open_id, code).id, status, reason=reason, actor=admin("m"), now=NOW
        )
    documents.request_document(
        db, open_id, "discharge_summary", required=False, actor=admin("m"), now=NOW
    )
    cases.change_status(
        db, cancelled, S.CANCELLED, reason="Patient withdrew", actor=admin("m"), now=NOW
    )
    cases.change_status(
        db, closed, S.READY_FOR_REVIEW, reason="Started anyway", actor=admin("m"), now=NOW
    )
    for target in (S.UNDER_REVIEW, S.OPINION_RECEIVED, S.LETTER_SENT, S.CLOSED):
        cases.change_status(db, closed, target, actor=admin("m"), now=NOW + HOUR)

    rows = documents.chase_list(db)
    assert {r.case_id for r in rows} == {open_id}
    assert sorted((r.document_label, r.status) for r in rows) == [
        ("First oncologist's treatment plan", DocumentStatus.REQUESTED),
        ("Imaging report", DocumentStatus.NOT_AVAILABLE),
        ("Pathology report", DocumentStatus.REQUESTED),
    ]


def test_marking_documents_chased_counts_each_chase_with_its_date(db: Database) -> None:
    case_id = _new_case(db)
    pathology = _doc(db, case_id, "pathology_report").id
    imaging = _doc(db, case_id, "imaging_report").id
    assert (
        documents.mark_chased(db, [pathology, imaging, pathology], actor=admin("m"), now=NOW) == 2
    )
    assert (
        documents.mark_chased(
            db, [pathology], actor=admin("ines"), note="Left a voicemail", now=NOW + 24 * HOUR
        )
        == 1
    )
    chased = _doc(db, case_id, "pathology_report")
    assert (chased.chase_count, chased.chased_at) == (2, NOW + 24 * HOUR)
    assert [(e.label, e.detail) for e in chased.history if e.action == "chased"] == [
        ("Chased", "Chase number 1"),
        ("Chased", "Left a voicemail"),
    ]
    once = _doc(db, case_id, "imaging_report")
    assert (once.chase_count, once.chased_at) == (1, NOW)
    row = next(r for r in documents.chase_list(db) if r.document_id == pathology)
    assert (row.chase_count, row.chased_at) == (2, NOW + 24 * HOUR)
    # Chasing does not count as a new request: the wait still runs from the first one.
    assert row.requested_at == NOW


def test_marking_nothing_or_a_vanished_document_chased_is_refused(db: Database) -> None:
    case_id = _new_case(db)
    pathology = _doc(db, case_id, "pathology_report")
    with pytest.raises(ValidationError, match="Choose the documents you chased"):
        documents.mark_chased(db, [], actor=admin("m"), now=NOW)
    with pytest.raises(NotFoundError, match="refresh the list"):
        documents.mark_chased(db, [pathology.id, 999], actor=admin("m"), now=NOW)
    assert _doc(db, case_id, "pathology_report") == pathology  # not even the one that exists


def test_a_document_received_elsewhere_since_the_list_was_shown_is_not_chased(
    db: Database,
) -> None:
    case_id = _new_case(db)
    pathology = _doc(db, case_id, "pathology_report").id
    imaging = _doc(db, case_id, "imaging_report").id
    documents.set_document_status(db, pathology, DocumentStatus.RECEIVED, actor=admin("other seat"))
    assert documents.mark_chased(db, [pathology, imaging], actor=admin("m"), now=NOW) == 1
    assert _doc(db, case_id, "pathology_report").chase_count == 0
    with pytest.raises(ValidationError, match="no longer missing"):
        documents.mark_chased(db, [pathology], actor=admin("m"), now=NOW)
