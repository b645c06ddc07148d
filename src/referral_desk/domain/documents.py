"""Records each case needs: document types, checklists per cancer type, and completeness.

The 24-48 hour promise starts when every required document is received or waived; these are
the rules for that, with no storage or screens attached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from referral_desk.domain.enums import CaseStatus


class DocumentStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    NOT_AVAILABLE = "not_available"  # does not exist; the office should waive it or wait
    WAIVED = "waived"  # going ahead without it, for a stated reason

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def settles_requirement(self) -> bool:
        return self in (DocumentStatus.RECEIVED, DocumentStatus.WAIVED)


# Shipped defaults; the administrator may add types and edit checklists (stored in the database).
DEFAULT_DOCUMENT_TYPES: dict[str, str] = {
    "pathology_report": "Pathology report",
    "slides_blocks": "Slides / blocks",
    "imaging_report": "Imaging report",
    "imaging_files": "Imaging files",
    "blood_tests": "Blood tests and tumour markers",
    "molecular_report": "Molecular / genetic report",
    "treatment_plan": "First oncologist's treatment plan",
    "discharge_summary": "Discharge summary",
    "referral_letter": "Referral letter",
    "consent_form": "Consent form",
    "id_insurance": "ID / insurance",
    # Haematology needs its own records.
    "bone_marrow_report": "Bone-marrow report",
    "flow_cytometry": "Flow cytometry",
    "cytogenetics": "Cytogenetics / molecular",
    "blood_counts": "Blood counts",
}


@dataclass(frozen=True)
class ChecklistItem:
    document_type: str
    note: str = ""  # what exactly is needed, e.g. "with ER/PR/HER2 status"


def _items(*entries: str | tuple[str, str]) -> tuple[ChecklistItem, ...]:
    return tuple(
        ChecklistItem(*entry) if isinstance(entry, tuple) else ChecklistItem(entry)
        for entry in entries
    )


_EVERY_CASE = ("referral_letter", "consent_form")
_SOLID_TUMOUR = (*_EVERY_CASE, "pathology_report", "imaging_report", "treatment_plan")
_LEUKAEMIA = (
    *_EVERY_CASE,
    "bone_marrow_report",
    "flow_cytometry",
    "cytogenetics",
    "blood_counts",
    "treatment_plan",
)

DEFAULT_CHECKLISTS: dict[str, tuple[ChecklistItem, ...]] = {
    "breast": _items(
        *_EVERY_CASE,
        ("pathology_report", "with ER/PR/HER2 status"),
        "imaging_report",
        "treatment_plan",
    ),
    "lung": _items(*_SOLID_TUMOUR, ("molecular_report", "EGFR, ALK, PD-L1")),
    "colorectal": _items(*_SOLID_TUMOUR, ("molecular_report", "RAS/BRAF, MSI status")),
    "prostate": _items(
        *_EVERY_CASE,
        ("pathology_report", "with Gleason grade"),
        "imaging_report",
        ("blood_tests", "PSA history"),
        "treatment_plan",
    ),
    "melanoma": _items(*_SOLID_TUMOUR, ("molecular_report", "BRAF status")),
    "acute_leukaemia": _items(*_LEUKAEMIA),
    "chronic_leukaemia": _items(*_LEUKAEMIA),
    "lymphoma": _items(*_SOLID_TUMOUR, "blood_counts"),
    "myeloma": _items(
        *_EVERY_CASE, "bone_marrow_report", "blood_tests", "imaging_report", "treatment_plan"
    ),
}
# Cancer types without their own list get the solid-tumour basics.
FALLBACK_CHECKLIST = _items(*_SOLID_TUMOUR)


def default_checklist(cancer_type: str) -> tuple[ChecklistItem, ...]:
    return DEFAULT_CHECKLISTS.get(cancer_type, FALLBACK_CHECKLIST)


class DocumentRuleError(ValueError):
    """A document change the office's rules do not allow, with a message for the user."""


def check_document_change(status: DocumentStatus, reason: str) -> None:
    if status is DocumentStatus.WAIVED and not reason.strip():
        raise DocumentRuleError("Say why the case can go ahead without this document.")


@dataclass(frozen=True)
class CaseDocumentState:
    document_type: str
    required: bool
    status: DocumentStatus


@dataclass(frozen=True)
class ChecklistPlan:
    """What applying a checklist to a case changes: nothing is ever deleted."""

    to_request: tuple[ChecklistItem, ...]  # required now and not on the case yet
    now_required: tuple[str, ...]  # already on the case (e.g. received), now required
    no_longer_required: tuple[str, ...]  # kept with its files and history, just not required


def plan_checklist(
    existing: Iterable[CaseDocumentState], checklist: Iterable[ChecklistItem]
) -> ChecklistPlan:
    """Bring a case's documents in line with a checklist (at intake or on a cancer-type change)."""
    by_type = {doc.document_type: doc for doc in existing}
    wanted = {item.document_type: item for item in checklist}
    return ChecklistPlan(
        to_request=tuple(item for code, item in wanted.items() if code not in by_type),
        now_required=tuple(
            code for code, doc in by_type.items() if code in wanted and not doc.required
        ),
        no_longer_required=tuple(
            code for code, doc in by_type.items() if code not in wanted and doc.required
        ),
    )


def records_complete(documents: Iterable[CaseDocumentState]) -> bool:
    """Every required document received or waived (a case with no requirements is complete)."""
    return all(doc.status.settles_requirement for doc in documents if doc.required)


def missing(documents: Iterable[CaseDocumentState]) -> list[str]:
    return [
        doc.document_type
        for doc in documents
        if doc.required and not doc.status.settles_requirement
    ]


# Until the opinion is in, a new cancer type brings its checklist. Afterwards the records
# the opinion was based on are what counts: nothing more is requested by itself.
CHECKLIST_FOLLOWS_CANCER_TYPE = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.AWAITING_RECORDS,
        CaseStatus.READY_FOR_REVIEW,
        CaseStatus.UNDER_REVIEW,
        CaseStatus.ON_HOLD,
    }
)


def status_after_records_change(status: CaseStatus, complete: bool) -> CaseStatus | None:
    """Where the case moves when its records become complete or incomplete, or None to stay.

    Complete records move a case waiting for them to Ready for review (the clock starts then).
    A new case with documents still requested is awaiting records. A required document
    reopened before the opinion sends the case back to Awaiting records. Cases on hold,
    answered or closed are left where they are.
    """
    if complete and status in (CaseStatus.NEW, CaseStatus.AWAITING_RECORDS):
        return CaseStatus.READY_FOR_REVIEW
    if not complete and status is CaseStatus.NEW:
        return CaseStatus.AWAITING_RECORDS
    if not complete and status in (CaseStatus.READY_FOR_REVIEW, CaseStatus.UNDER_REVIEW):
        return CaseStatus.AWAITING_RECORDS
    return None
