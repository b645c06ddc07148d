"""How an audit entry reads on screen: what was done to which record, by field, in the words
and formats the rest of the app uses (local times, the office currency, labels for codes).

The trail stores plain, locale-free text (ISO times in UTC, integer minor units, codes);
this module is the one place that turns it into something a person reads, shared by the
audit viewer and a case's History tab.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from referral_desk.domain.access import UserRole
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.costs import Approval, LineKind, PaymentMethod
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus, Reason, Sex, Urgency, cancer_type_label
from referral_desk.domain.letters import LetterKind
from referral_desk.domain.specialists import AssignmentStatus, Concordance, Discipline, Role
from referral_desk.services.audit_log import AuditRow
from referral_desk.ui.formatting import local_time
from referral_desk.ui.money import amount_text

EMPTY = "—"
ARROW = "→"

# What someone did, as the middle of a sentence: "maria.intake changed case RD-2026-00012".
ACTION_WORDS: dict[AuditAction, str] = {
    AuditAction.CREATE: "created",
    AuditAction.CHANGE: "changed",
    AuditAction.DELETE: "deleted",
    AuditAction.VIEW: "opened",
    AuditAction.GENERATE: "generated",
    AuditAction.PRINT: "printed",
    AuditAction.EXPORT: "exported",
    AuditAction.SIGN_IN: "signed in",
    AuditAction.SIGN_IN_FAILED: "failed sign-in",
    AuditAction.SIGN_OUT: "signed out",
    AuditAction.LOCK: "locked the screen",
    AuditAction.BACKUP: "backed up the database",
    AuditAction.RESTORE: "restored the database",
}


def action_label(action: AuditAction) -> str:
    """The action on its own (a column, a filter): "Changed", "Failed sign-in"."""
    words = ACTION_WORDS[action]
    return words[0].upper() + words[1:]


_ENTITY_LABELS = {
    "file": "stored file",
    "fee": "fee schedule entry",
    "office image": "office image",
    "case reason": "reason",
    "user": "account",
}


def entity_label(entity: str) -> str:
    """How a kind of record is named in a sentence: "payment", "fee schedule entry"."""
    return _ENTITY_LABELS.get(entity, entity)


_FIELD_LABELS = {
    "consent_share_with_referrer": "Consent to share with the referrer",
    "email": "E-mail",
    "patient_id": "Patient",
    "referrer_id": "Referrer",
    "specialist_id": "Specialist",
    "service_id": "Fee schedule entry",
    "assignment_id": "Assignment",
    "case_id": "Case",
    "case_document_id": "Document",
    "blob_id": "Stored file",
    "document_type": "Document type",
    "status_reason": "Reason for the status",
    "chase_count": "Times chased",
    "chased_at": "Last chased",
    "requested_at": "Requested",
    "received_at": "Received",
    "added_at": "Added",
    "removed_at": "Removed",
    "assigned_at": "Assigned",
    "answered_at": "Answered",
    "ended_at": "Ended",
    "recorded_at": "Recorded",
    "sent_at": "Sent",
    "paid_on": "Paid on",
    "approval_on": "Approval date",
    "approval_by": "Approved by",
    "large_print": "Large print",
    "sha256": "Checksum (SHA-256)",
    "size": "Size (bytes)",
    "password_hash": "Password",
    "must_change_password": "Must choose a new password",
    "full_name": "Full name",
    "fee_minor": "Fee",
    "amount_minor": "Amount",
    "price_minor": "Price",
    "unit_price_minor": "Unit price",
    "first_day": "First day",
    "last_day": "Last day",
    "needs_approval": "Needs the patient's approval",
}


def field_label(name: str) -> str:
    """A field's name for people: given_names -> Given names, unit_price_minor -> Unit price."""
    known = _FIELD_LABELS.get(name)
    if known:
        return known
    words = name.removesuffix("_minor").removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


_SETTING_LABELS = {
    "idle_lock_minutes": "Screen lock after (minutes without use)",
    "max_file_bytes": "Largest file accepted (bytes)",
    "specialist_fee_estimate": "Quote the specialist's fee",
    "office_currency": "Office currency",
}


def setting_label(key: str) -> str:
    return _SETTING_LABELS.get(key) or field_label(key)


def _labelled(kind: type[StrEnum]) -> Callable[[str], str]:
    def label(value: str) -> str:
        try:
            return str(kind(value).label)  # type: ignore[attr-defined]
        except ValueError:  # a code since retired: still shown as stored
            return value

    return label


# Codes shown by their labels, by (record, field).
_CODED: dict[tuple[str, str], Callable[[str], str]] = {
    ("case", "status"): _labelled(CaseStatus),
    ("case", "urgency"): _labelled(Urgency),
    ("case", "cancer_type"): cancer_type_label,
    ("patient", "sex"): _labelled(Sex),
    ("document", "status"): _labelled(DocumentStatus),
    ("assignment", "role"): _labelled(Role),
    ("assignment", "status"): _labelled(AssignmentStatus),
    ("opinion", "diagnosis_concordance"): _labelled(Concordance),
    ("opinion", "treatment_concordance"): _labelled(Concordance),
    ("cost line", "kind"): _labelled(LineKind),
    ("cost line", "approval"): _labelled(Approval),
    ("payment", "method"): _labelled(PaymentMethod),
    ("letter", "kind"): _labelled(LetterKind),
    ("letter template", "kind"): _labelled(LetterKind),
    ("specialist", "discipline"): _labelled(Discipline),
    ("user", "role"): _labelled(UserRole),
}
_YES_NO = {"yes": "Yes", "no": "No"}


def _moment(text: str) -> str | None:
    """An ISO time stored in UTC, in local time; None when `text` is not one."""
    if "T" not in text or not text.endswith("+00:00"):
        return None
    try:
        return local_time(datetime.fromisoformat(text))
    except ValueError:
        return None


def value_text(entity: str, name: str, value: str, currency: str) -> str:
    """One stored value as it reads on screen; empty is "—"."""
    if value == "":
        return EMPTY
    coded = _CODED.get((entity, name))
    if coded is not None:
        return coded(value)
    if name.endswith("_minor"):
        try:
            return amount_text(int(value), currency)
        except ValueError:
            return value
    if value in _YES_NO:
        return _YES_NO[value]
    return _moment(value) or value


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: str
    after: str


def field_changes(row: AuditRow, currency: str) -> list[FieldChange]:
    """Every field the entry records, in a stable order, with values as they read."""
    entity = row.entity
    if entity == "setting":  # one "value" field: named by the setting itself
        label = setting_label(row.entity_id)
        return [
            FieldChange(name, label, *(_setting_value(row.entity_id, v) for v in pair))
            for name, pair in row.changes.items()
        ]
    # Numbers the entry itself resolves: the case's reference, the patient's name.
    known = {
        ("case_id", str(row.case_id)): row.case_reference,
        ("patient_id", str(row.patient_id)): row.patient_name,
    }

    def shown(name: str, value: str) -> str:
        return known.get((name, value)) or value_text(entity, name, value, currency)

    return [
        FieldChange(name, field_label(name), shown(name, before), shown(name, after))
        for name, (before, after) in sorted(row.changes.items())
    ]


def _setting_value(key: str, value: str) -> str:
    if value == "":
        return EMPTY
    if key == "specialist_fee_estimate":
        return {"1": "Yes", "0": "No"}.get(value, value)
    return value


def change_text(change: FieldChange) -> str:
    """One field's change, "Urgency Routine → Urgent"; a hidden value only says it changed."""
    if change.before == "set" and change.after == "changed":
        return f"{change.label} changed"
    return f"{change.label} {change.before} {ARROW} {change.after}"


def _case_name(row: AuditRow) -> str:
    return row.case_reference or f"case {row.case_id}"


def subject(
    row: AuditRow, user_names: Mapping[str, str] | None = None, *, within_case: bool = False
) -> str:
    """The record an entry is about, as it reads after the verb: "case RD-2026-00012",
    "payment in RD-2026-00012", "account maria.intake". `within_case`: read inside the
    case's own history, where naming the case again is noise ("the case", "payment")."""
    entity, label = row.entity, entity_label(row.entity)
    where = "" if within_case else f" in {_case_name(row)}"
    if entity == "case":
        return "the case" if within_case else f"case {row.case_reference or row.entity_id}"
    if entity == "patient":
        return f"patient {row.patient_name or row.entity_id}"
    if entity == "setting":
        return f"setting “{setting_label(row.entity_id)}”"
    if entity == "user":
        stored = row.changes.get("name", ("", ""))
        name = (user_names or {}).get(row.entity_id) or stored[1] or stored[0]
        return f"account {name}" if name else "an account"
    if entity == "case reason":
        code = row.entity_id.rpartition("/")[2]
        reason = _labelled(Reason)(code)
        return f"reason “{reason}”{where}"
    if row.case_id is not None:
        return f"{label}{where}"
    return label


# The field that tells a new or removed record from its siblings: "created document
# (Pathology report) in RD-2026-00012" says more than "created document".
_NAMING_FIELDS = {
    "document": "document_type",
    "referrer": "name",
    "specialist": "name",
    "fee": "name",
    "payment": "amount_minor",
    "cost line": "description",
    "letter": "kind",
    "letter template": "kind",
    "document type": "label",
    "assignment": "role",
    "specialist absence": "first_day",
}


def _naming_value(row: AuditRow, currency: str) -> str:
    name = _NAMING_FIELDS.get(row.entity)
    if name is None or name not in row.changes:
        return ""
    before, after = row.changes[name]
    value = after or before
    if not value:
        return ""
    if name == "document_type":  # a code: its label lives in the office's document types
        return value.replace("_", " ").capitalize()
    return value_text(row.entity, name, value, currency)


def summary(
    row: AuditRow,
    currency: str,
    *,
    user_names: Mapping[str, str] | None = None,
    most: int = 3,
    values: bool = True,
    within_case: bool = False,
) -> str:
    """The entry in one line, without who did it (said beside it):
    "changed case RD-2026-00012: Urgency Routine → Urgent". At most `most` fields are
    named (0: none); `values=False` names the changed fields without their values."""
    words = ACTION_WORDS[row.action]
    if row.action in (
        AuditAction.SIGN_IN,
        AuditAction.SIGN_IN_FAILED,
        AuditAction.SIGN_OUT,
        AuditAction.LOCK,
        AuditAction.BACKUP,
        AuditAction.RESTORE,
    ):
        if row.action is AuditAction.SIGN_IN and row.detail == "unlocked the screen":
            return "unlocked the screen"
        if row.action is AuditAction.LOCK and row.detail == "idle":
            return "screen locked after a while without use"
        return f"{words}: {row.detail}" if row.detail else words
    text = f"{words} {subject(row, user_names, within_case=within_case)}"
    named = _naming_value(row, currency)
    if named and row.action in (AuditAction.CREATE, AuditAction.DELETE):
        text += f" ({named})"
    if row.action is AuditAction.CHANGE and row.changes and most > 0:
        changes = [change_text(c) if values else c.label for c in field_changes(row, currency)]
        shown = ("; " if values else ", ").join(changes[:most])
        more = len(changes) - most
        text += f": {shown}" + (f"{';' if values else ''} and {more} more" if more > 0 else "")
    elif row.detail:
        text += f" ({row.detail})" if row.action is AuditAction.VIEW else f": {row.detail}"
    return text


def when_text(row: AuditRow) -> str:
    return local_time(row.at)


def record_text(row: AuditRow) -> str:
    """The record's kind and number, for the details: "payment 12"."""
    label = entity_label(row.entity)
    return f"{label} {row.entity_id}".strip()
