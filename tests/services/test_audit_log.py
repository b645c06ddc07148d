from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.audit import AuditAction, AuditEntry
from referral_desk.domain.enums import Urgency
from referral_desk.services import accounts, acting, audit_log, cases, documents
from referral_desk.services.audit_log import AuditFilter
from referral_desk.services.cases import CaseCreated
from referral_desk.services.errors import NotAllowedError
from tests.conftest import admin, case, manager, patient, staff


def _two_cases(db: Database) -> tuple[CaseCreated, CaseCreated]:
    first = cases.create_case(db, case(), patient=patient(), actor=staff("maria"))
    second = cases.create_case(
        db, case(cancer_type="lung"), patient=patient(family_name="Okafor"), actor=staff("tom")
    )
    return first, second


def _ids(rows: list[audit_log.AuditRow]) -> list[int]:
    return [r.id for r in rows]


def test_each_filter_narrows_the_entries(db: Database) -> None:
    first, second = _two_cases(db)
    between = datetime.now(UTC)
    audit_log.opened_case(db, first.id, actor=manager("nadia"))
    everything = audit_log.entries(db)
    assert audit_log.count(db) == len(everything)
    assert _ids(everything) == sorted(_ids(everything), reverse=True)  # newest first

    def only(f: AuditFilter) -> list[audit_log.AuditRow]:
        rows = audit_log.entries(db, f)
        assert 0 < len(rows) < len(everything) and audit_log.count(db, f) == len(rows)
        return rows

    assert {r.actor for r in only(AuditFilter(actor="tom"))} == {"tom"}
    by_case = only(AuditFilter(case_id=first.id))
    assert {r.case_reference for r in by_case} == {first.reference}
    patient_id = by_case[0].patient_id
    by_patient = only(AuditFilter(patient_id=patient_id))
    assert {r.patient_name for r in by_patient} == {"Zoë Müller"}
    assert any(r.entity == "patient" for r in by_patient)  # her details, with no case
    views = only(AuditFilter(actions=frozenset({AuditAction.VIEW})))
    assert [(r.actor, r.case_id) for r in views] == [("nadia", first.id)]
    later = only(AuditFilter(since=between))
    assert _ids(later) == _ids(views)
    earlier = only(AuditFilter(until=between))
    assert set(_ids(earlier)) | set(_ids(later)) == set(_ids(everything))
    assert {r.actor for r in earlier} == {"maria", "tom"}
    # Filters combine.
    both = AuditFilter(actor="maria", case_id=second.id)
    assert audit_log.entries(db, both) == [] and audit_log.count(db, both) == 0
    assert audit_log.actors(db) == ["maria", "nadia", "tom"]


def test_keyset_paging_returns_every_entry_once(db: Database) -> None:
    _two_cases(db)
    everything = audit_log.entries(db)
    seen: list[int] = []
    before = None
    while page := audit_log.entries(db, before_id=before, limit=7):
        assert len(page) <= 7
        seen.extend(_ids(page))
        before = page[-1].id
    assert seen == _ids(everything) and len(set(seen)) == len(seen) > 7


def test_a_case_history_holds_its_own_entries_and_its_patients_details(db: Database) -> None:
    first, second = _two_cases(db)
    detail = cases.get_case(db, first.id)
    cases.update_case(
        db,
        first.id,
        expected_version=detail.version,
        patient=replace(detail.patient, phone="+49 30 1234567"),
        case=replace(detail.case, urgency=Urgency.URGENT),
        actor=staff("maria"),
    )
    history = audit_log.case_history(db, first.id)
    assert _ids(history) == sorted(_ids(history), reverse=True)
    assert {r.case_id for r in history} == {first.id, None}
    assert {r.entity for r in history if r.case_id is None} == {"patient"}
    changes = [r.changes for r in history if r.action is AuditAction.CHANGE][:2]
    assert {"urgency": ("routine", "urgent")} in changes
    assert {"phone": ("", "+49 30 1234567")} in changes
    assert all(r.case_id != second.id for r in history)
    assert audit_log.case_history(db, 999) == []


def test_opening_a_case_or_a_document_names_the_patient(db: Database) -> None:
    first, _second = _two_cases(db)
    document = documents.case_records(db, first.id).documents[0]
    audit_log.opened_case(db, first.id, actor=manager("nadia"))
    audit_log.opened_document(db, document.id, actor=staff("tom"), file_name="scan.pdf")
    opened = audit_log.entries(db, AuditFilter(actions=frozenset({AuditAction.VIEW})))
    assert [(r.actor, r.entity, r.case_reference, r.patient_name, r.detail) for r in opened] == [
        ("tom", "document", first.reference, "Zoë Müller", "scan.pdf"),
        ("nadia", "case", first.reference, "Zoë Müller", ""),
    ]


def test_patients_are_found_by_part_of_their_name(db: Database) -> None:
    _two_cases(db)
    assert [m.name for m in audit_log.find_patients(db, "MULL")] == ["Zoë Müller"]
    assert [m.name for m in audit_log.find_patients(db, "zoë")] == ["Zoë Müller", "Zoë Okafor"]
    assert audit_log.find_patients(db, "  ") == []
    assert audit_log.find_case(db, " rd-2026-00001 ".upper()) is not None
    assert audit_log.find_case(db, "RD-1999-00001") is None


def _raw(db: Database) -> sqlite3.Connection:
    return sqlite3.connect(db.path)


def test_an_untouched_trail_verifies(db: Database) -> None:
    _two_cases(db)
    report = audit_log.verify_chain(db)
    assert report.ok and report.entries == audit_log.count(db) > 10


def test_an_entry_edited_in_the_file_is_found(db: Database) -> None:
    _two_cases(db)
    victim = audit_log.entries(db, AuditFilter(actor="maria"))[3].id
    with _raw(db) as raw:
        # The trigger refuses first: the app cannot do this by accident.
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("UPDATE audit_entries SET actor = 'tom' WHERE id = ?", (victim,))
        raw.execute("DROP TRIGGER audit_entries_no_update")
        raw.execute("UPDATE audit_entries SET actor = 'tom' WHERE id = ?", (victim,))
    raw.close()
    report = audit_log.verify_chain(db)
    assert not report.ok
    assert report.problem == (
        f"Audit entry {victim} (number {victim}): this entry was changed after it was written."
    )


def test_a_removed_middle_entry_is_found(db: Database) -> None:
    _two_cases(db)
    victim = audit_log.entries(db)[5].id
    with _raw(db) as raw:
        raw.execute("DROP TRIGGER audit_entries_no_delete")
        raw.execute("DELETE FROM audit_entries WHERE id = ?", (victim,))
    raw.close()
    report = audit_log.verify_chain(db)
    assert not report.ok and report.problem is not None
    assert f"Audit entry {victim + 1}" in report.problem
    assert "an entry before this one was removed" in report.problem


def test_the_newest_entry_removed_is_found_by_the_head(db: Database) -> None:
    _two_cases(db)
    total = audit_log.count(db)
    with _raw(db) as raw:
        raw.execute("DROP TRIGGER audit_entries_no_delete")
        raw.execute("DELETE FROM audit_entries WHERE id = (SELECT max(id) FROM audit_entries)")
    raw.close()
    report = audit_log.verify_chain(db)
    assert not report.ok and report.entries == total - 1
    assert report.problem == (
        f"The audit trail should hold {total:,} entries ending in a known one, but holds "
        f"{total - 1:,}: entries were removed or added outside Referral Desk."
    )


def test_the_integrity_check_reports_its_progress(db: Database) -> None:
    with db.write() as session:
        entries = [
            AuditEntry(datetime.now(UTC), "maria", AuditAction.SIGN_IN, "user")
            for _ in range(10_500)
        ]
        acting.record_all(session, entries)
        session.commit()
    steps: list[tuple[int, int]] = []
    assert audit_log.verify_chain(db, progress=lambda done, total: steps.append((done, total)))
    assert steps and {total for _done, total in steps} == {10_500}
    done = [d for d, _total in steps]
    assert done == sorted(set(done)) and done[-1] <= 10_500


def _read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode())  # a BOM: Excel reads the names as UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_export_neutralises_formulas_and_is_recorded(db: Database, tmp_path: Path) -> None:
    first, _second = _two_cases(db)
    attack = '=HYPERLINK("http://x")'
    with pytest.raises(accounts.SignInRefused):
        accounts.sign_in(db, attack, "whatever password")  # the typed name is recorded
    target = tmp_path / "trail.csv"
    wanted = AuditFilter(case_id=first.id)
    steps: list[tuple[int, int]] = []
    written = audit_log.export_csv(
        db, wanted, target, actor=manager("nadia"), progress=lambda d, t: steps.append((d, t))
    )
    rows = _read_csv(target)
    assert rows[0] == list(audit_log.CSV_COLUMNS)
    assert written == len(rows) - 1 == audit_log.count(db, wanted)
    assert steps == [(written, written)]
    assert {r[6] for r in rows[1:]} == {first.reference}
    assert {r[7] for r in rows[1:]} == {"Zoë Müller"}
    changes = [r[8] for r in rows[1:] if r[4] == "case"]
    assert changes[0] == "status: new -> awaiting_records"
    assert "urgency:  -> routine" in changes[1]

    everyone = tmp_path / "everyone.csv"
    audit_log.export_csv(db, AuditFilter(), everyone, actor=admin("alex"))
    failed = next(r for r in _read_csv(everyone)[1:] if r[3] == "sign_in_failed")
    assert failed[2] == "'" + attack  # opens as text in a spreadsheet, never runs

    exports = audit_log.entries(db, AuditFilter(actions=frozenset({AuditAction.EXPORT})))
    assert [(e.actor, e.entity, e.detail) for e in exports] == [
        ("alex", "audit trail", f"{len(_read_csv(everyone)) - 1} entries to everyone.csv"),
        ("nadia", "audit trail", f"{written} entries to trail.csv"),
    ]


def test_a_cancelled_export_writes_nothing(db: Database, tmp_path: Path) -> None:
    _two_cases(db)
    target = tmp_path / "trail.csv"
    before = audit_log.count(db)
    assert (
        audit_log.export_csv(db, AuditFilter(), target, actor=admin(), cancelled=lambda: True) == 0
    )
    assert not target.exists() and audit_log.count(db) == before


def test_a_manager_may_export_the_trail_and_staff_may_not(db: Database, tmp_path: Path) -> None:
    _two_cases(db)
    with pytest.raises(NotAllowedError, match="A staff member cannot export the audit trail"):
        audit_log.export_csv(db, AuditFilter(), tmp_path / "staff.csv", actor=staff("tom"))
    with pytest.raises(NotAllowedError):
        audit_log.export_csv(
            db, AuditFilter(), tmp_path / "c.csv", actor=Actor("lena", UserRole.COORDINATOR)
        )
    assert not list(tmp_path.glob("*.csv"))
    assert audit_log.export_csv(db, AuditFilter(), tmp_path / "m.csv", actor=manager()) > 0


def test_an_account_demoted_meanwhile_exports_nothing(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)
    boss = accounts.create_first_administrator(db, "admin", "", "correct horse battery")
    nadia = accounts.add_user(
        db, "nadia", UserRole.MANAGER, "correct horse battery", actor=boss
    ).actor()
    accounts.change_role(db, "nadia", UserRole.STAFF, actor=boss)
    # Her window still holds the manager role; the service asks the database.
    with pytest.raises(NotAllowedError, match="A staff member cannot export"):
        audit_log.export_csv(db, AuditFilter(), tmp_path / "late.csv", actor=nadia)
    assert not (tmp_path / "late.csv").exists()
