"""The audit trail's hash chain: an edited, removed or inserted entry is found."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from referral_desk.domain.audit import GENESIS, AuditAction, AuditEntry, canonical, seal, verify

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _entries() -> list[AuditEntry]:
    return [
        AuditEntry(T0, "maria", AuditAction.CREATE, "case", "RD-2026-00001", case_id=1),
        AuditEntry(
            T0 + timedelta(minutes=1),
            "maria",
            AuditAction.CHANGE,
            "case",
            "RD-2026-00001",
            case_id=1,
            changes={"urgency": ("routine", "urgent"), "stage": ("", "IIA")},
        ),
        AuditEntry(T0 + timedelta(minutes=2), "ines", AuditAction.VIEW, "case", case_id=1),
    ]


def _chain(entries: list[AuditEntry]) -> list[tuple[int, AuditEntry, str, str]]:
    rows, previous = [], GENESIS
    for n, entry in enumerate(entries, start=1):
        digest = seal(entry, previous)
        rows.append((n, entry, previous, digest))
        previous = digest
    return rows


def test_an_untouched_chain_verifies() -> None:
    assert verify(_chain(_entries())) is None
    assert verify([]) is None


def test_the_same_entry_seals_alike_whatever_the_dict_order_or_time_zone() -> None:
    entry = _entries()[1]
    reordered = replace(entry, changes=dict(reversed(list(entry.changes.items()))))
    vienna = replace(entry, at=entry.at.astimezone(ZoneInfo("Europe/Vienna")))
    assert canonical(reordered) == canonical(entry) == canonical(vienna)


def test_an_edited_entry_is_found() -> None:
    rows = _chain(_entries())
    n, entry, previous, digest = rows[1]
    rows[1] = (n, replace(entry, changes={"urgency": ("routine", "routine")}), previous, digest)
    found = verify(rows)
    assert found is not None and found.entry_id == 2 and "changed" in found.reason


def test_a_removed_entry_is_found_at_the_one_after_it() -> None:
    rows = _chain(_entries())
    del rows[1]
    found = verify(rows)
    assert found is not None and found.entry_id == 3 and "removed" in found.reason


def test_a_chain_rebuilt_from_scratch_verifies_alone_so_its_last_hash_is_kept_apart() -> None:
    rows = _chain(_entries())
    forged = _chain([_entries()[0], _entries()[2]])  # re-sealed after dropping the middle
    assert verify(forged) is None  # a chain rebuilt from scratch verifies by itself...
    assert forged[1][3] != rows[2][3]  # ...but its last hash differs from the one on record
