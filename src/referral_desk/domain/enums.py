"""The office's vocabulary: statuses, urgencies, reasons, sexes and cancer types."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    NEW = "new"
    AWAITING_RECORDS = "awaiting_records"
    READY_FOR_REVIEW = "ready_for_review"
    UNDER_REVIEW = "under_review"
    OPINION_RECEIVED = "opinion_received"
    LETTER_SENT = "letter_sent"
    CLOSED = "closed"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def rank(self) -> int:
        """Position in the workflow, for sorting a list in the order cases move."""
        return list(CaseStatus).index(self)


_STATUS_LABELS = {
    CaseStatus.NEW: "New",
    CaseStatus.AWAITING_RECORDS: "Awaiting records",
    CaseStatus.READY_FOR_REVIEW: "Ready for review",
    CaseStatus.UNDER_REVIEW: "Under review",
    CaseStatus.OPINION_RECEIVED: "Opinion received",
    CaseStatus.LETTER_SENT: "Letter sent",
    CaseStatus.CLOSED: "Closed",
    CaseStatus.ON_HOLD: "On hold",
    CaseStatus.CANCELLED: "Cancelled",
}


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Reason(StrEnum):
    """Why the patient asks for a second opinion (DESIGN.md, section 1); several may apply."""

    CONFIRM_DIAGNOSIS = "confirm_diagnosis"
    LACK_OF_TRUST = "lack_of_trust"
    MORE_INFORMATION = "more_information"
    PEACE_OF_MIND = "peace_of_mind"
    BETTER_OPTIONS = "better_options"
    RARE_CANCER = "rare_cancer"
    LACKS_EXPERTISE = "lacks_expertise"
    UNCLEAR_RESULTS = "unclear_results"
    SEVERAL_OPTIONS = "several_options"
    UNSURE_TREATMENT = "unsure_treatment"
    UNSURE_CHEMOTHERAPY = "unsure_chemotherapy"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    Reason.CONFIRM_DIAGNOSIS: "Confirm the diagnosis",
    Reason.LACK_OF_TRUST: "Lack of trust in the first physician",
    Reason.MORE_INFORMATION: "Needs more information about the disease",
    Reason.PEACE_OF_MIND: "Peace of mind",
    Reason.BETTER_OPTIONS: "Looking for better treatment options",
    Reason.RARE_CANCER: "Rare cancer type",
    Reason.LACKS_EXPERTISE: "Treating doctor lacks expertise in this cancer",
    Reason.UNCLEAR_RESULTS: "Unclear test results",
    Reason.SEVERAL_OPTIONS: "Several treatment options, unsure which",
    Reason.UNSURE_TREATMENT: "Unsure the planned treatment is best",
    Reason.UNSURE_CHEMOTHERAPY: "Unsure about proposed chemotherapy",
}


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    NOT_RECORDED = "not_recorded"

    @property
    def label(self) -> str:
        return "Not recorded" if self is Sex.NOT_RECORDED else self.value.capitalize()


# Cancer types by code; the code is what later checklists and specialists' expertise refer to.
CANCER_TYPES: dict[str, str] = {
    "breast": "Breast",
    "lung": "Lung",
    "colorectal": "Colorectal",
    "prostate": "Prostate",
    "pancreatic": "Pancreatic",
    "gastric": "Stomach / oesophagus",
    "liver": "Liver / biliary",
    "ovarian": "Ovarian",
    "cervical_uterine": "Cervix / uterus",
    "bladder_kidney": "Bladder / kidney",
    "head_neck": "Head and neck",
    "brain": "Brain / CNS",
    "melanoma": "Melanoma / skin",
    "sarcoma": "Sarcoma",
    "thyroid": "Thyroid",
    "acute_leukaemia": "Acute leukaemia",
    "chronic_leukaemia": "Chronic leukaemia",
    "lymphoma": "Lymphoma",
    "myeloma": "Myeloma",
    "paediatric": "Paediatric cancer",
    "other": "Other / unknown primary",
}


def cancer_type_label(code: str) -> str:
    return CANCER_TYPES.get(code, code)
