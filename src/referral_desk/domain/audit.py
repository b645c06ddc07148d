"""The audit trail's tamper evidence: each entry carries the hash of the one before, so an
entry edited, removed or inserted anywhere in the file breaks the chain from there on.

Pure: the service stores entries and hands them here to be sealed and checked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

GENESIS = "0" * 64  # the "previous hash" of the first entry


class AuditAction(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    VIEW = "view"  # a case or a document opened: who looked at which patient
    GENERATE = "generate"  # a letter made
    PRINT = "print"
    EXPORT = "export"  # a report, a case list, a saved copy
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    LOCK = "lock"
    BACKUP = "backup"  # a copy of the whole database saved (all patients' data)
    RESTORE = "restore"  # the database replaced by a backup


@dataclass(frozen=True)
class AuditEntry:
    """One thing someone did. `changes` holds field -> (old, new) for a change."""

    at: datetime  # UTC
    actor: str
    action: AuditAction
    entity: str  # "case", "patient", "document", "payment", "user", "setting", "report"...
    entity_id: str = ""
    case_id: int | None = None
    patient_id: int | None = None
    changes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    detail: str = ""


def canonical(entry: AuditEntry) -> bytes:
    """The entry as bytes that never depend on dict order or on how the time was typed."""
    at = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    body = {
        "at": at,
        "actor": entry.actor,
        "action": entry.action.value,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "case_id": entry.case_id,
        "patient_id": entry.patient_id,
        "changes": {k: list(v) for k, v in sorted(entry.changes.items())},
        "detail": entry.detail,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def seal(entry: AuditEntry, previous_hash: str) -> str:
    """This entry's hash: SHA-256 over the previous hash and the entry's canonical bytes."""
    return hashlib.sha256(previous_hash.encode("ascii") + b"\n" + canonical(entry)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    position: int  # 0-based index of the first entry that does not fit
    entry_id: int | None
    reason: str


def verify(
    entries: Iterable[tuple[int | None, AuditEntry, str, str]],
) -> ChainBreak | None:
    """Check (id, entry, previous_hash, hash) rows in order; the first break, or None.

    An edited entry no longer matches its own hash; a removed one leaves the next entry
    pointing at a hash that is not the one before it.
    """
    expected_previous = GENESIS
    for position, (entry_id, entry, previous_hash, stored_hash) in enumerate(entries):
        if previous_hash != expected_previous:
            return ChainBreak(
                position,
                entry_id,
                "an entry before this one was removed, inserted or changed",
            )
        if seal(entry, previous_hash) != stored_hash:
            return ChainBreak(position, entry_id, "this entry was changed after it was written")
        expected_previous = stored_hash
    return None
