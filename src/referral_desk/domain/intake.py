"""What intake and case edits must satisfy, with messages that name the field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from referral_desk.domain.enums import CANCER_TYPES, Reason, Sex, Urgency

MAX_AGE_YEARS = 125
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_DAY_FIRST = re.compile(r"^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*$")


class DateInputError(ValueError):
    pass


def parse_user_date(text: str) -> date | None:
    """Parse '1961-04-12' or '12.04.1961' / '12/04/1961' (day first); empty means not given."""
    if not text.strip():
        return None
    if m := _ISO.match(text):
        year, month, day = (int(g) for g in m.groups())
    elif m := _DAY_FIRST.match(text):
        day, month, year = (int(g) for g in m.groups())
    else:
        raise DateInputError(f"'{text.strip()}' is not a date; write it as YYYY-MM-DD.")
    try:
        return date(year, month, day)
    except ValueError:
        raise DateInputError(f"'{text.strip()}' is not a real calendar date.") from None


@dataclass(frozen=True)
class PatientDraft:
    given_names: str
    family_name: str
    birth_date: date | None
    sex: Sex = Sex.NOT_RECORDED
    phone: str = ""
    email: str = ""
    address: str = ""
    preferred_language: str = ""
    consent_share_with_referrer: bool = False


@dataclass(frozen=True)
class CaseDraft:
    """Everything staff type about a case (the patient is separate: new or existing)."""

    cancer_type: str
    diagnosis: str = ""
    stage: str = ""
    referrer_name: str = ""
    reasons: frozenset[Reason] = field(default_factory=frozenset)
    patient_questions: str = ""
    first_diagnosis: str = ""
    proposed_treatment: str = ""
    treatment_start: date | None = None
    urgency: Urgency = Urgency.ROUTINE


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Half of a UTF-16 pair, left by text decoded wrongly (a non-UTF-8 command line, a bad
# paste): no database or file can hold it, so it is refused like any other typing slip.
_BROKEN_CHARACTER = re.compile("[\ud800-\udfff]")
_PATIENT_TEXTS = {
    "given_names": "given names",
    "family_name": "family name",
    "phone": "phone number",
    "email": "e-mail address",
    "address": "address",
    "preferred_language": "preferred language",
}
_CASE_TEXTS = {
    "diagnosis": "diagnosis",
    "stage": "stage",
    "referrer_name": "referrer",
    "patient_questions": "patient's questions",
    "first_diagnosis": "first diagnosis",
    "proposed_treatment": "proposed treatment",
}


def _broken_texts(draft: PatientDraft | CaseDraft, labels: dict[str, str]) -> dict[str, str]:
    return {
        name: f"The {label} contains a broken character (from badly converted text); retype it."
        for name, label in labels.items()
        if _BROKEN_CHARACTER.search(getattr(draft, name))
    }


def validate_patient(draft: PatientDraft, today: date) -> dict[str, str]:
    """Field name -> message; empty when the patient may be saved."""
    errors: dict[str, str] = {}
    if not draft.family_name.strip() and not draft.given_names.strip():
        errors["family_name"] = "Enter the patient's name."
    elif not draft.family_name.strip():
        errors["family_name"] = "Enter the patient's family name."
    if draft.birth_date is None:
        errors["birth_date"] = "Enter the date of birth (it tells patients with one name apart)."
    elif draft.birth_date > today:
        errors["birth_date"] = "The date of birth is in the future."
    elif today.year - draft.birth_date.year > MAX_AGE_YEARS:
        errors["birth_date"] = f"The date of birth is more than {MAX_AGE_YEARS} years ago."
    if draft.email.strip() and not _EMAIL.match(draft.email.strip()):
        errors["email"] = "This does not look like an e-mail address."
    return _broken_texts(draft, _PATIENT_TEXTS) | errors


def validate_case(draft: CaseDraft, referral_date: date) -> dict[str, str]:
    """Field name -> message; `referral_date` is the (local) day the case was received."""
    errors: dict[str, str] = {}
    if draft.cancer_type not in CANCER_TYPES:
        errors["cancer_type"] = "Choose the cancer type."
    if draft.treatment_start is not None and draft.treatment_start < referral_date:
        errors["treatment_start"] = (
            f"The planned treatment start is before the referral ({referral_date.isoformat()})."
        )
    return _broken_texts(draft, _CASE_TEXTS) | errors
