"""The audit trail as the services leave it: every create, change and delete of a record
with its fields, the explicit entries for what leaves the database (exports, prints, reports),
an append-only table, and a chain where each entry carries the hash of the one before."""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from referral_desk.db import audit_trail
from referral_desk.db.audit_trail import MissingActorError
from referral_desk.db.engine import Database
from referral_desk.db.models import AuditHead, AuditRecord, Case
from referral_desk.domain.audit import GENESIS, AuditAction, seal
from referral_desk.domain.costs import PaymentMethod
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.letters import LetterKind
from referral_desk.domain.reports import Month
from referral_desk.services import (
    case_export,
    cases,
    costs,
    documents,
    files,
    letters,
    report_export,
    reports,
)
from referral_desk.services.case_list import CaseQuery
from referral_desk.services.errors import NotAllowedError
from tests.conftest import NOW, case, coordinator, manager, patient, staff

A = AuditAction


def _entries(db: Database, **where: object) -> list[AuditRecord]:
    query = select(AuditRecord).order_by(AuditRecord.id)
    for column, value in where.items():
        query = query.where(getattr(AuditRecord, column) == value)
    with db.read() as session:
        found = list(session.scalars(query))
        session.expunge_all()  # plain values once the read ends
    return found


def _changes(entry: AuditRecord) -> dict[str, tuple[str, str]]:
    return audit_trail.changes_from_json(entry.changes)


@pytest.fixture
def case_id(db: Database) -> int:
    return cases.create_case(db, case(), patient=patient(), actor=staff("maria"), now=NOW).id


def test_taking_in_a_case_records_the_new_records_with_their_values(
    db: Database, case_id: int
) -> None:
    [patient_entry] = _entries(db, entity="patient")
    [case_entry] = _entries(db, entity="case", action=A.CREATE.value)
    for entry in (patient_entry, case_entry):
        assert (entry.actor, entry.action) == ("maria", A.CREATE.value)
    assert _changes(patient_entry)["family_name"] == ("", "Müller")
    assert patient_entry.patient_id == int(patient_entry.entity_id)
    assert case_entry.entity_id == str(case_id) and case_entry.case_id == case_id
    assert case_entry.patient_id == patient_entry.patient_id  # who the case is about
    fields = _changes(case_entry)
    assert fields["reference"] == ("", "RD-2026-00001")
    assert fields["cancer_type"] == ("", "breast")
    assert "version" not in fields and "created_by" not in fields  # bookkeeping
    # The checklist's documents came in with the case, each naming it.
    requested = _entries(db, entity="document", action=A.CREATE.value)
    assert requested and {e.case_id for e in requested} == {case_id}
    # And the case moved on to Awaiting records, by the same hand.
    [moved] = _entries(db, entity="case", action=A.CHANGE.value)
    assert (moved.actor, _changes(moved)) == ("maria", {"status": ("new", "awaiting_records")})


def test_a_change_records_each_field_with_its_old_and_new_value(db: Database, case_id: int) -> None:
    detail = cases.get_case(db, case_id)
    cases.update_case(
        db,
        case_id,
        expected_version=detail.version,
        patient=None,
        case=replace(detail.case, diagnosis="Lobular carcinoma", stage="IIB"),
        actor=staff("tom"),
        now=NOW + timedelta(hours=1),
    )
    [change] = _entries(db, entity="case", action=A.CHANGE.value, actor="tom")
    # Only what the user changed: not the version, the time or who saved last.
    assert _changes(change) == {
        "diagnosis": ("Invasive ductal carcinoma, ER+/PR+/HER2-", "Lobular carcinoma"),
        "stage": ("IIA", "IIB"),
    }


def test_a_document_status_and_a_removed_cost_line_are_recorded(db: Database, case_id: int) -> None:
    document = documents.case_records(db, case_id).missing[0]
    documents.set_document_status(db, document.id, DocumentStatus.RECEIVED, actor=staff("tom"))
    [received] = _entries(db, entity="document", action=A.CHANGE.value)
    assert _changes(received)["status"] == ("requested", "received")
    assert "status_at" not in _changes(received)  # kept from the status itself

    costs.add_line(db, case_id, costs.LineDraft("Courier", 2, 2500), actor=staff("tom"))
    [line] = costs.case_costs(db, case_id).lines
    costs.remove_line(db, line.id, actor=staff("ines"))
    [removed] = _entries(db, entity="cost line", action=A.DELETE.value)
    assert (removed.actor, removed.entity_id, removed.case_id) == ("ines", str(line.id), case_id)
    assert _changes(removed)["description"] == ("Courier", "")
    assert _changes(removed)["quantity"] == ("2", "")


def test_a_payment_is_recorded_when_made_and_when_taken_back(db: Database, case_id: int) -> None:
    draft = costs.PaymentDraft(12_000, NOW.date(), PaymentMethod.CARD, reference="T-77")
    costs.add_payment(db, case_id, draft, actor=staff("tom"), now=NOW, local_zone=UTC)
    [payment] = costs.case_costs(db, case_id).payments
    costs.remove_payment(db, payment.id, reason="Typed twice", actor=staff("ines"))
    made, taken = _entries(db, entity="payment")
    assert (made.action, taken.action) == (A.CREATE.value, A.DELETE.value)
    assert _changes(made)["amount_minor"] == ("", "12000")
    assert _changes(taken)["reference"] == ("T-77", "")


def test_bookkeeping_alone_writes_no_entry(db: Database, case_id: int) -> None:
    before = len(_entries(db))
    with db.write() as session:
        session.info[audit_trail.ACTOR] = "clock"
        record = session.get(Case, case_id)
        assert record is not None
        # Derived from other records or kept for the list: never what someone did.
        record.updated_at = NOW + timedelta(days=1)
        record.clock_sort = 7
        record.paused_seconds = 60
        session.commit()
    with db.read() as session:
        assert session.get(Case, case_id).paused_seconds == 60  # type: ignore[union-attr]
    assert len(_entries(db)) == before


def test_a_change_without_an_author_is_refused(db: Database, case_id: int) -> None:
    before = len(_entries(db))
    with db.write() as session:
        record = session.get(Case, case_id)
        assert record is not None
        record.diagnosis = "Changed by nobody"
        with pytest.raises(MissingActorError, match="without saying who did it"):
            session.commit()
    assert cases.get_case(db, case_id).case.diagnosis != "Changed by nobody"
    assert len(_entries(db)) == before


def _raw(db: Database, sql: str) -> None:
    with sqlite3.connect(db.path) as conn:
        conn.execute(sql)
    conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entries SET actor = 'someone else'",
        "DELETE FROM audit_entries WHERE id = 1",
        "DELETE FROM audit_head",
    ],
)
def test_the_trail_cannot_be_edited_or_emptied_through_sql(
    db: Database, case_id: int, sql: str
) -> None:
    before = [(e.id, e.actor, e.hash) for e in _entries(db)]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        _raw(db, sql)
    assert [(e.id, e.actor, e.hash) for e in _entries(db)] == before


def test_each_entry_carries_the_hash_of_the_one_before(db: Database, case_id: int) -> None:
    costs.add_line(db, case_id, costs.LineDraft("Courier", 1, 2500), actor=staff("tom"))
    trail = _entries(db)
    assert len(trail) > 5
    previous = GENESIS
    for entry in trail:
        assert entry.previous_hash == previous
        assert entry.hash == seal(audit_trail.entry_of(entry), previous)
        previous = entry.hash
    with db.read() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        assert (head.entries, head.last_hash) == (len(trail), previous)


def test_a_refused_change_leaves_the_chain_as_it_was(db: Database, case_id: int) -> None:
    with db.read() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        before = (head.entries, head.last_hash)
    with pytest.raises(NotAllowedError, match="cannot"):
        costs.add_line(db, case_id, costs.LineDraft("Courier", 1, 2500), actor=manager())
    with db.read() as session:
        head = session.get(AuditHead, 1)
        assert head is not None and (head.entries, head.last_hash) == before


# --- What leaves the database: recorded explicitly --------------------------------------------


def test_a_monthly_report_and_its_export_are_recorded(db: Database, tmp_path: Path) -> None:
    report = reports.monthly_report(db, Month(2026, 10), now=NOW, zone=UTC, actor=manager("nadia"))
    [made] = _entries(db, action=A.GENERATE.value)
    assert (made.actor, made.entity, made.detail) == ("nadia", "report", "monthly report 2026-10")

    report_export.export_report(
        db, report, tmp_path / "October.xlsx", actor=manager("nadia"), locale="en_GB"
    )
    [exported] = _entries(db, action=A.EXPORT.value)
    assert (exported.actor, exported.entity) == ("nadia", "report")
    assert exported.detail == "monthly report 2026-10 as XLSX to October.xlsx"


def test_a_refused_export_writes_no_file_and_no_entry(db: Database, tmp_path: Path) -> None:
    report = reports.monthly_report(db, Month(2026, 10), now=NOW, zone=UTC, actor=manager())
    with pytest.raises(NotAllowedError, match="A staff member cannot export a report"):
        report_export.export_report(db, report, tmp_path / "r.csv", actor=staff(), locale="en_GB")
    assert not (tmp_path / "r.csv").exists()
    assert _entries(db, action=A.EXPORT.value) == []


def test_the_case_list_leaving_as_csv_is_recorded_once_it_has_gone(
    db: Database, case_id: int, tmp_path: Path
) -> None:
    rows = case_export.iter_records(
        db, CaseQuery(), actor=manager("nadia"), destination="cases.csv"
    )
    assert _entries(db, action=A.EXPORT.value) == []  # nothing has left yet
    with (tmp_path / "cases.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, case_export.COLUMNS)
        writer.writerows(rows)
    [exported] = _entries(db, action=A.EXPORT.value)
    assert (exported.actor, exported.entity) == ("nadia", "case list")
    assert exported.detail == "1 case as CSV to cases.csv"
    with pytest.raises(NotAllowedError, match="A staff member cannot export the case list"):
        case_export.iter_json_records(db, CaseQuery(), actor=staff())


def _letter(db: Database, case_id: int) -> letters.LetterInfo:
    return letters.generate(
        db, case_id, LetterKind.RECORDS_REQUEST, actor=coordinator("lena"), now=NOW, locale="en_GB"
    )


def test_a_letter_saved_printed_or_opened_is_recorded_with_its_patient(
    db: Database, case_id: int, tmp_path: Path
) -> None:
    info = _letter(db, case_id)
    [made] = _entries(db, entity="letter", action=A.CREATE.value)  # the record itself
    assert "content" not in _changes(made)  # the PDF's bytes are not copied into the trail

    letters.save_copy(db, info.id, tmp_path / "for the GP.pdf", actor=coordinator("lena"))
    letters.record_printed(db, [info.id], actor=coordinator("lena"))
    letters.export_for_viewing(db, info.id, tmp_path / "view", actor=manager("nadia"))
    saved, printed, viewed = (
        _entries(db, entity="letter", action=action.value)[0]
        for action in (A.EXPORT, A.PRINT, A.VIEW)
    )
    patient_id = cases.get_case(db, case_id).patient_id
    for entry in (saved, printed, viewed):
        assert (entry.entity_id, entry.case_id, entry.patient_id) == (
            str(info.id),
            case_id,
            patient_id,
        )
    assert saved.detail == "saved as for the GP.pdf" and saved.actor == "lena"
    assert viewed.actor == "nadia"
    with pytest.raises(NotAllowedError, match="A staff member cannot print letters"):
        letters.record_printed(db, [info.id], actor=staff())
    assert len(_entries(db, action=A.PRINT.value)) == 1


def test_a_batch_of_letters_written_to_one_file_is_recorded_per_letter(
    db: Database, case_id: int, tmp_path: Path
) -> None:
    second = cases.create_case(
        db, case(), patient=patient(given_names="Ana"), actor=staff("maria"), now=NOW
    ).id
    result = letters.generate_batch(
        db,
        [case_id, second],
        LetterKind.RECORDS_REQUEST,
        tmp_path / "pile.pdf",
        actor=coordinator("lena"),
        now=NOW,
        locale="en_GB",
    )
    exported = _entries(db, entity="letter", action=A.EXPORT.value)
    assert sorted(int(e.entity_id) for e in exported) == sorted(result.letter_ids)
    assert {e.case_id for e in exported} == {case_id, second}
    assert {e.detail for e in exported} == {"saved in pile.pdf"}


def test_a_case_file_saved_elsewhere_is_recorded(
    db: Database, case_id: int, tmp_path: Path
) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(_png())
    document = documents.case_records(db, case_id).missing[0]
    added = files.add_file(db, case_id, document.document_type, scan, actor=staff("tom"))
    assert added.file_id is not None
    files.save_copy(db, added.file_id, tmp_path / "copy.png", actor=manager("nadia"))
    [saved] = _entries(db, entity="file", action=A.EXPORT.value)
    assert (saved.actor, saved.entity_id, saved.case_id) == ("nadia", str(added.file_id), case_id)
    assert saved.detail == "saved as copy.png"


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_the_demo_office_is_traced_to_the_demo(db: Database) -> None:
    from referral_desk.services import demo

    demo.generate(db, 120, seed=3, now=NOW)
    actors = {e.actor for e in _entries(db)}
    # Its set-up (specialists, fees, currency), the letterhead, and the letters it sent.
    assert {"demo", "admin", "lena.coord"} <= actors
    sent = _entries(db, entity="letter", action=A.CHANGE.value)
    assert sent and all(_changes(e).get("sent_by", ("", ""))[1] == "lena.coord" for e in sent)


def test_every_stored_model_is_either_audited_or_listed_as_not_audited() -> None:
    # A new model must be classified, or its changes would slip past the trail unseen.
    from referral_desk.db.models import Base

    models = {mapper.class_ for mapper in Base.registry.mappers}
    unclassified = models - set(audit_trail.AUDITED) - audit_trail.NOT_AUDITED
    assert unclassified == set()
    assert set(audit_trail.AUDITED).isdisjoint(audit_trail.NOT_AUDITED)
