from __future__ import annotations

import pytest

from referral_desk.domain.documents import (
    DEFAULT_DOCUMENT_TYPES,
    CaseDocumentState,
    ChecklistItem,
    DocumentRuleError,
    DocumentStatus,
    check_document_change,
    default_checklist,
    missing,
    plan_checklist,
    records_complete,
    status_after_records_change,
)
from referral_desk.domain.enums import CANCER_TYPES
from referral_desk.domain.enums import CaseStatus as S

D = DocumentStatus


def doc(
    code: str, status: DocumentStatus = D.REQUESTED, required: bool = True
) -> CaseDocumentState:
    return CaseDocumentState(code, required, status)


def test_every_cancer_type_has_a_checklist_of_known_document_types() -> None:
    for cancer_type in CANCER_TYPES:
        items = default_checklist(cancer_type)
        assert items, cancer_type
        assert {i.document_type for i in items} <= set(DEFAULT_DOCUMENT_TYPES)


def test_the_shipped_checklists_ask_for_what_each_cancer_needs() -> None:
    breast = {i.document_type: i.note for i in default_checklist("breast")}
    assert breast["pathology_report"] == "with ER/PR/HER2 status"
    assert {"imaging_report", "treatment_plan"} <= set(breast)
    leukaemia = {i.document_type for i in default_checklist("acute_leukaemia")}
    assert {"bone_marrow_report", "flow_cytometry", "cytogenetics", "blood_counts"} <= leukaemia


def test_records_are_complete_when_every_required_document_is_received_or_waived() -> None:
    assert records_complete(
        [doc("a", D.RECEIVED), doc("b", D.WAIVED), doc("c", D.REQUESTED, required=False)]
    )
    assert not records_complete([doc("a", D.RECEIVED), doc("b", D.NOT_AVAILABLE)])
    assert missing([doc("a", D.RECEIVED), doc("b", D.NOT_AVAILABLE), doc("c")]) == ["b", "c"]


def test_waiving_a_document_needs_a_reason() -> None:
    with pytest.raises(DocumentRuleError, match="why"):
        check_document_change(D.WAIVED, "  ")
    check_document_change(D.WAIVED, "Imaging not done; clinical diagnosis")
    check_document_change(D.RECEIVED, "")


def test_a_checklist_adds_what_is_missing_and_never_removes_anything() -> None:
    existing = [
        doc("pathology_report", D.RECEIVED),
        doc("blood_counts", D.RECEIVED),
        doc("imaging_report", D.RECEIVED, required=False),
    ]
    plan = plan_checklist(
        existing,
        [
            ChecklistItem("pathology_report"),
            ChecklistItem("imaging_report"),
            ChecklistItem("treatment_plan"),
        ],
    )
    assert [i.document_type for i in plan.to_request] == ["treatment_plan"]
    assert plan.now_required == ("imaging_report",)
    assert plan.no_longer_required == ("blood_counts",)


def test_reapplying_the_same_checklist_changes_nothing() -> None:
    checklist = default_checklist("breast")
    existing = [doc(item.document_type) for item in checklist]
    plan = plan_checklist(existing, checklist)
    assert plan.to_request == () and plan.now_required == () and plan.no_longer_required == ()


@pytest.mark.parametrize(
    ("status", "complete", "expected"),
    [
        (S.NEW, False, S.AWAITING_RECORDS),
        (S.NEW, True, S.READY_FOR_REVIEW),
        (S.AWAITING_RECORDS, True, S.READY_FOR_REVIEW),
        (S.AWAITING_RECORDS, False, None),
        (S.READY_FOR_REVIEW, False, S.AWAITING_RECORDS),
        (S.UNDER_REVIEW, False, S.AWAITING_RECORDS),
        (S.READY_FOR_REVIEW, True, None),
        (S.ON_HOLD, True, None),
        (S.OPINION_RECEIVED, False, None),
        (S.CLOSED, False, None),
        (S.CANCELLED, True, None),
    ],
)
def test_completeness_moves_the_case_both_ways(
    status: S, complete: bool, expected: S | None
) -> None:
    assert status_after_records_change(status, complete) == expected
