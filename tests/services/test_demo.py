from __future__ import annotations

import itertools
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from referral_desk.db.engine import Database
from referral_desk.db.types import to_storage
from referral_desk.domain.costs import Approval, LineKind, PaymentMethod, payment_status
from referral_desk.domain.enums import CANCER_TYPES, CaseStatus
from referral_desk.domain.specialists import ROLE_DISCIPLINES, Concordance, Discipline, Role
from referral_desk.services import cases as cases_service
from referral_desk.services import (
    costs,
    demo,
    documents,
    fee_schedule,
    files,
    opinions,
    search_index,
    specialists,
)
from referral_desk.services import office as office_service
from referral_desk.services.case_list import CaseQuery, fetch_page
from referral_desk.services.database import open_database_file
from tests import conftest
from tests.conftest import NOW, admin


def _dump(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT c.reference, p.given_names, p.family_name, c.status, c.received_at "
            "FROM cases c JOIN patients p ON p.id = c.patient_id ORDER BY c.id"
        ).fetchall()
    conn.close()
    return rows


def test_demo_data_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        db = open_database_file(tmp_path / f"{name}.sqlite")
        demo.generate(db, 200, seed=7, now=NOW)
        db.dispose()
        dumps.append(_dump(tmp_path / f"{name}.sqlite"))
    assert dumps[0] == dumps[1]


def test_demo_office_has_every_status_and_names_in_many_scripts(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 1500, seed=1, now=NOW)
    rows = _dump(db.path)
    assert {CaseStatus(r[3]) for r in rows} == set(CaseStatus)
    scripts = {unicodedata.name(str(r[2])[0]).split()[0] for r in rows}
    assert {"LATIN", "CYRILLIC", "GREEK", "ARABIC", "DEVANAGARI", "CJK", "HANGUL"} <= scripts
    received = sorted(str(r[4]) for r in rows)
    assert received[0] < "2025-07" and received[-1] > "2026-11"  # 18 months up to now
    db.dispose()


def test_demo_over_fewer_months_packs_the_cases_into_them(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 600, seed=1, now=NOW, months=2)
    received = sorted(str(r[4]) for r in _dump(db.path))
    db.dispose()
    assert "2026-09-23" <= received[0] < "2026-10"  # about 61 days before NOW, no earlier
    assert received[-1] <= to_storage(NOW)
    by_month = Counter(r[:7] for r in received)
    assert by_month["2026-10"] > 200  # far busier than a month of the usual 18 (about 40)
    with pytest.raises(ValueError, match="at least 1"):
        demo.generate(db, 10, months=0)


def test_demo_continues_the_reference_numbers_of_an_existing_office(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 30, seed=1, now=NOW)
    demo.generate(db, 30, seed=2, now=NOW)
    references = [r[0] for r in _dump(db.path)]
    assert len(references) == len(set(references)) == 60
    db.dispose()


# --- Documents -------------------------------------------------------------------------------

S = CaseStatus
COMPLETE = {S.READY_FOR_REVIEW, S.UNDER_REVIEW, S.OPINION_RECEIVED, S.LETTER_SENT, S.CLOSED}
UNSETTLED = ("requested", "not_available")


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One demo office for the read-only checks below (1,500 cases: every status)."""
    db = open_database_file(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    result = demo.generate(db, 1500, seed=1, now=NOW)
    assert result.documents > 0 and result.files > 0
    yield db
    db.dispose()


def _rows(db: Database, sql: str) -> list[sqlite3.Row]:
    with sqlite3.connect(db.path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(sql).fetchall()
    conn.close()
    return rows


def _documents_dump(path: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        dumps = [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("case_documents", "document_events", "case_files", "blob_texts")
        ]
        dumps.append(conn.execute("SELECT sha256, size, mime, text_state FROM blobs").fetchall())
        dumps.append(conn.execute("SELECT rowid, * FROM case_search ORDER BY 1").fetchall())
        dumps.append(conn.execute("SELECT name, phone, email FROM referrers").fetchall())
    conn.close()
    return dumps


def test_demo_documents_and_files_are_the_same_for_the_same_seed(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        db = open_database_file(tmp_path / f"{name}.sqlite")
        demo.generate(db, 150, seed=7, now=NOW)
        db.dispose()
        dumps.append(_documents_dump(tmp_path / f"{name}.sqlite"))
    assert dumps[0] == dumps[1]
    assert dumps[0][0]  # documents were made


def test_every_case_has_its_checklist_with_statuses_that_fit_the_case(office: Database) -> None:
    checklists: dict[str, set[str]] = {}
    for row in _rows(office, "SELECT cancer_type, document_type FROM checklist_items"):
        checklists.setdefault(row["cancer_type"], set()).add(row["document_type"])
    documents: dict[int, list[sqlite3.Row]] = {}
    for row in _rows(office, "SELECT * FROM case_documents ORDER BY id"):
        documents.setdefault(row["case_id"], []).append(row)
    cases = _rows(office, "SELECT * FROM cases")
    seen: set[CaseStatus] = set()
    for case in cases:
        status = CaseStatus(case["status"])
        seen.add(status)
        docs = documents.get(case["id"], [])
        unsettled = [d for d in docs if d["required"] and d["status"] in UNSETTLED]
        assert case["missing_documents"] == len(unsettled), case["reference"]
        if status is S.NEW:
            assert docs == []  # the checklist is applied when the case is taken on
            continue
        assert {d["document_type"] for d in docs} == checklists[case["cancer_type"]]
        assert all(d["required"] for d in docs)
        for d in docs:
            assert case["received_at"] <= d["requested_at"] <= d["status_at"] <= case["updated_at"]
            assert (d["received_at"] is not None) == (d["status"] == "received")
            assert (d["chased_at"] is None) == (d["chase_count"] == 0)
            if d["chased_at"]:
                assert d["requested_at"] < d["chased_at"] <= case["updated_at"]
            if d["status"] == "waived":
                assert d["status_reason"]
        if status in COMPLETE or case["records_complete_at"] is not None:
            # Complete records: every one in or waived by the moment the clock started.
            assert case["missing_documents"] == 0 and not unsettled
            assert max(d["status_at"] for d in docs) == case["records_complete_at"]
            assert any(d["status"] == "received" for d in docs)
        if status is S.AWAITING_RECORDS:
            assert case["missing_documents"] >= 1
            assert any(d["status"] == "requested" for d in docs) or any(
                d["status"] == "not_available" for d in docs
            )
    assert seen == set(CaseStatus)
    statuses = {d["status"] for docs in documents.values() for d in docs}
    assert statuses == {"requested", "received", "not_available", "waived"}
    awaiting = [c for c in cases if c["status"] == "awaiting_records"]
    chased = {d["case_id"] for docs in documents.values() for d in docs if d["chase_count"]}
    assert any(c["id"] in chased for c in awaiting)
    mixed = [c for c in cases if c["status"] in ("on_hold", "cancelled")]
    assert {c["missing_documents"] > 0 for c in mixed} == {True, False}


def test_document_history_says_what_the_rows_say(office: Database) -> None:
    events: dict[int, list[sqlite3.Row]] = {}
    for row in _rows(office, "SELECT * FROM document_events ORDER BY id"):
        events.setdefault(row["case_document_id"], []).append(row)
    for d in _rows(office, "SELECT * FROM case_documents"):
        history = events[d["id"]]
        assert history[0]["action"] == "requested" and history[0]["at"] == d["requested_at"]
        assert [e["at"] for e in history] == sorted(e["at"] for e in history)
        assert sum(e["action"] == "chased" for e in history) == d["chase_count"]
        if d["status"] != "requested":
            last = [e for e in history if e["action"] == d["status"]]
            assert last and last[-1]["at"] == d["status_at"]


def test_files_are_real_shared_and_only_on_open_cases(office: Database) -> None:
    report = files.verify_files(office)
    assert report.ok and report.checked == len(_rows(office, "SELECT id FROM blobs")) >= 4
    attached = _rows(
        office,
        "SELECT c.status AS case_status, d.status, d.received_at, f.added_at, f.file_name, "
        "b.mime, b.text_state FROM case_files f JOIN case_documents d ON d.id = f.case_document_id "
        "JOIN cases c ON c.id = d.case_id JOIN blobs b ON b.id = f.blob_id",
    )
    assert len(attached) > report.checked  # stored once, shared by many cases
    assert {r["case_status"] for r in attached}.isdisjoint({"closed", "cancelled"})
    assert all(r["status"] == "received" and r["added_at"] == r["received_at"] for r in attached)
    assert {r["mime"] for r in attached} == {"application/pdf", "image/png"}
    assert {r["text_state"] for r in attached if r["mime"] == "application/pdf"} == {"done"}


def test_the_text_of_demo_pdfs_is_searchable_and_matches_a_reindex(office: Database) -> None:
    found = fetch_page(office, CaseQuery(text="allred her2"), limit=500, now=NOW).rows
    holders = {
        r["reference"]
        for r in _rows(
            office,
            "SELECT DISTINCT c.reference FROM cases c JOIN case_documents d ON d.case_id = c.id "
            "JOIN case_files f ON f.case_document_id = d.id "
            "WHERE f.file_name = 'histopathology_core_biopsy.pdf'",
        )
    }
    assert holders and {r.reference for r in found} == holders
    # The index the demo wrote is the one the app would write for the same case.
    sample = _rows(
        office,
        "SELECT d.case_id FROM case_documents d JOIN case_files f ON f.case_document_id = d.id "
        "GROUP BY d.case_id HAVING count(*) > 1 LIMIT 5",
    )
    ids = [r["case_id"] for r in sample]
    sql = f"SELECT rowid, * FROM case_search WHERE rowid IN ({','.join(map(str, ids))})"
    written = [tuple(r) for r in _rows(office, sql)]
    with office.write() as session:
        search_index.reindex(session, ids)
        rewritten = [tuple(r) for r in session.execute(text(sql)).all()]
    assert written == rewritten and all(r[-1] for r in written)


def test_the_chase_list_shows_what_the_demo_office_is_missing(office: Database) -> None:
    rows = documents.chase_list(office)
    assert rows
    assert {r.case_status for r in rows}.isdisjoint({S.CLOSED, S.CANCELLED})
    assert any(r.chase_count for r in rows) and any(r.status.value == "not_available" for r in rows)
    called = [r for r in rows if r.referrer != "Patient self-referral"]
    assert called and all(r.referrer_phone and "@" in r.referrer_email for r in called)


def test_a_demo_case_is_completed_by_attaching_files(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 300, seed=1, now=NOW)
    waiting = next(
        r
        for r in _rows(
            db,
            "SELECT id FROM cases WHERE status = 'awaiting_records' AND specialist_id IS NULL",
        )
    )["id"]
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n% a scan\n%%EOF\n")
    later = NOW + timedelta(hours=2)
    missing = documents.case_records(db, waiting).missing
    assert missing
    changes = [
        files.add_file(db, waiting, d.document_type, scan, actor=admin("t"), now=later)
        for d in missing
    ]
    assert changes[-1].change.moved_to is S.READY_FOR_REVIEW
    assert all(c.change.moved_to is None for c in changes[:-1])
    record = documents.case_records(db, waiting)
    assert record.status is S.READY_FOR_REVIEW and record.records_complete_at == later
    db.dispose()


def test_a_second_demo_reuses_the_stored_files_and_keeps_real_contacts(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 40, seed=1, now=NOW)
    first = _rows(db, "SELECT id, sha256 FROM blobs ORDER BY id")
    name = _rows(db, "SELECT name FROM referrers WHERE phone != '' LIMIT 1")[0]["name"]
    documents.set_referrer_contact(
        db, name, phone="+44 1632 960000", email="office@real.example", actor=admin()
    )
    demo.generate(db, 40, seed=2, now=NOW)
    assert [tuple(r) for r in _rows(db, "SELECT id, sha256 FROM blobs ORDER BY id")] == [
        tuple(r) for r in first
    ]
    assert documents.referrer_contact(db, name) == documents.ReferrerContact(
        name, "+44 1632 960000", "office@real.example"
    )
    assert files.verify_files(db).ok
    db.dispose()


@pytest.mark.parametrize(
    "moment",
    [NOW, NOW + timedelta(microseconds=7), NOW - timedelta(days=400, seconds=3, microseconds=1)],
)
def test_bulk_written_times_are_stored_like_every_other_time(moment: datetime) -> None:
    assert demo._stamp(moment) == to_storage(moment)


# --- Specialists, assignments and opinions ---------------------------------------------------

OPINION = {S.OPINION_RECEIVED, S.LETTER_SENT, S.CLOSED}
CURRENT = ("proposed", "accepted")


def _by_case(rows: list[sqlite3.Row]) -> dict[int, list[sqlite3.Row]]:
    grouped: dict[int, list[sqlite3.Row]] = {}
    for row in rows:
        grouped.setdefault(row["case_id"], []).append(row)
    return grouped


def test_the_demo_roster_covers_every_discipline_and_cancer_type(office: Database) -> None:
    roster = specialists.list_specialists(office, now=NOW)
    assert 12 <= len(roster) <= 16
    assert {s.draft.discipline for s in roster} == set(Discipline)
    assert all(3 <= s.draft.capacity <= 8 for s in roster)
    assert sum(not s.draft.active for s in roster) == 2
    assert all(s.draft.fee_minor > 0 and s.draft.email.endswith(".example") for s in roster)
    assert all(s.draft.phone for s in roster)
    scripts = {unicodedata.name(s.name[0]).split()[0] for s in roster}
    assert {"LATIN", "GREEK", "CYRILLIC", "ARABIC", "DEVANAGARI", "CJK", "HANGUL"} <= scripts
    reviewers = [
        s for s in roster if s.draft.active and s.draft.discipline in ROLE_DISCIPLINES[Role.PRIMARY]
    ]
    assert set().union(*(s.draft.cancer_types for s in reviewers)) == set(CANCER_TYPES)
    today = NOW.date()
    absences = [a for s in roster for a in s.absences]
    assert any(a.first_day <= today <= a.last_day for a in absences)  # away now
    assert any(a.first_day > today for a in absences)  # and later


def test_assignments_fit_each_case_status(office: Database) -> None:
    cases = _rows(office, "SELECT * FROM cases")
    assignments = _by_case(_rows(office, "SELECT * FROM assignments ORDER BY id"))
    opinions = {o["case_id"]: o for o in _rows(office, "SELECT * FROM opinions")}
    history = _by_case(_rows(office, "SELECT * FROM status_changes ORDER BY id"))
    expertise: dict[int, set[str]] = {}
    for row in _rows(office, "SELECT * FROM specialist_cancer_types"):
        expertise.setdefault(row["specialist_id"], set()).add(row["cancer_type"])
    matching = primaries = 0
    for case in cases:
        status = CaseStatus(case["status"])
        rows = assignments.get(case["id"], [])
        for role in ("primary", "pathology", "radiology"):
            current = [a for a in rows if a["role"] == role and a["status"] in CURRENT]
            assert len(current) <= 1, case["reference"]
        current = [a for a in rows if a["role"] == "primary" and a["status"] in CURRENT]
        assert case["specialist_id"] == (current[0]["specialist_id"] if current else None)
        if status is S.UNDER_REVIEW:
            assert len(current) == 1, case["reference"]
        if status in OPINION:
            assert [a["status"] for a in current] == ["accepted"], case["reference"]
            opinion = opinions[case["id"]]
            assert opinion["received_at"] == case["opinion_at"]
            assert opinion["specialist_id"] == case["specialist_id"]
            concordance = {opinion["diagnosis_concordance"], opinion["treatment_concordance"]}
            assert bool(case["major_change"]) == ("major_change" in concordance)
            assert opinion["patient_summary"] and opinion["recommendation"]
            assert opinion["referrer_notes"]
        else:
            assert case["id"] not in opinions and not case["major_change"]
        if status in (S.NEW, S.AWAITING_RECORDS, S.READY_FOR_REVIEW):
            assert all(a["status"] == "proposed" for a in rows), case["reference"]
        for a in rows:
            moments = [m for m in (a["assigned_at"], a["answered_at"], a["ended_at"]) if m]
            assert case["received_at"] <= a["assigned_at"] == min(moments)
            assert max(moments) <= (case["opinion_at"] or case["updated_at"])
            assert max(moments) <= case["updated_at"]
            assert (a["answered_at"] is None) == (a["answered_by"] is None)
            if a["status"] in ("proposed", "accepted", "declined"):
                assert (a["answered_at"] is None) == (a["status"] == "proposed")
            if a["status"] == "declined":
                assert a["decline_reason"] and a["answered_at"]
            if a["status"] == "replaced":
                assert a["end_reason"] and a["ended_at"]
            if a["role"] == "primary":
                primaries += 1
                matching += case["cancer_type"] in expertise[a["specialist_id"]]
        # The history still reads as one path, declines sending the case back included.
        steps = history[case["id"]]
        assert all(b["from_status"] == a["to_status"] for a, b in itertools.pairwise(steps))
        assert [s["at"] for s in steps] == sorted(s["at"] for s in steps)
        assert steps[-1]["to_status"] == case["status"]
    assert 0.8 < matching / primaries < 1  # mostly the cancer type's sub-specialists
    statuses = {(a["role"], a["status"]) for rows in assignments.values() for a in rows}
    assert {"proposed", "accepted", "declined", "replaced"} == {s for _, s in statuses}
    assert {"pathology", "radiology"} <= {role for role, _ in statuses}
    declined = [h for rows in history.values() for h in rows if "declined: " in h["reason"]]
    assert declined and all(h["to_status"] == "ready_for_review" for h in declined)


def test_opinions_are_mostly_confirmed_and_sometimes_a_major_change(office: Database) -> None:
    opinions = _rows(office, "SELECT * FROM opinions")
    assert len(opinions) > 1000
    counts = Counter(
        c for o in opinions for c in (o["diagnosis_concordance"], o["treatment_concordance"])
    )
    assert set(counts) == {c.value for c in Concordance}
    assert counts["confirmed"] > counts["minor_change"] > counts["major_change"]
    major = [
        o
        for o in opinions
        if "major_change" in (o["diagnosis_concordance"], o["treatment_concordance"])
    ]
    assert 0.04 < len(major) / len(opinions) < 0.12
    flagged = fetch_page(office, CaseQuery(major_change_only=True), limit=1000, now=NOW).rows
    assert {r.reference for r in flagged} == {
        r["reference"] for r in _rows(office, "SELECT reference FROM cases WHERE major_change")
    }
    assert flagged and all(r.major_change and r.specialist for r in flagged)


def test_the_specialists_workload_on_demo_data(office: Database) -> None:
    roster = specialists.list_specialists(office, now=NOW)
    expected = Counter(
        r["specialist_id"]
        for r in _rows(
            office,
            "SELECT a.specialist_id FROM assignments a JOIN cases c ON c.id = a.case_id "
            "WHERE a.status IN ('proposed', 'accepted') AND c.status IN ('new', "
            "'awaiting_records', 'ready_for_review', 'under_review', 'on_hold')",
        )
    )
    assert {s.id: s.active_cases for s in roster if s.active_cases} == dict(expected)
    assert sum(s.active_cases for s in roster) > 0
    for s in roster:
        assert s.due_soon + s.overdue <= s.active_cases
        assert s.active_cases <= s.draft.capacity, s.name  # a 1,500-case office has room
        if not s.draft.active:
            assert s.active_cases == 0


def test_a_demo_case_is_assigned_from_the_suggestions_and_gets_its_opinion(
    tmp_path: Path,
) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 300, seed=1, now=NOW)
    ready = _rows(
        db,
        "SELECT id FROM cases WHERE status = 'ready_for_review' AND specialist_id IS NULL",
    )[0]["id"]
    later = NOW + timedelta(minutes=5)
    best = specialists.suggestions(db, ready, now=later)[0]
    assert best.available and best.rank == 1
    change = specialists.assign(db, ready, best.specialist_id, actor=admin("t"), now=later)
    assert change.moved_to is S.UNDER_REVIEW
    assignment = specialists.case_assignments(db, ready)[-1]
    specialists.accept(db, assignment.id, actor=admin("t"), now=later)
    draft = opinions.OpinionDraft(
        patient_summary="A different treatment is better for you.",
        recommendation="Surgery first.",
        diagnosis_concordance=Concordance.CONFIRMED,
        treatment_concordance=Concordance.MAJOR_CHANGE,
        received_at=later + timedelta(minutes=1),
    )
    opinions.record_opinion(db, ready, draft, actor=admin("t"), now=later + timedelta(minutes=2))
    flagged = fetch_page(db, CaseQuery(major_change_only=True), limit=500, now=later).rows
    assert ready in {r.id for r in flagged}
    db.dispose()


def _reviews_dump(path: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        dumps = [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("specialists", "specialist_cancer_types", "specialist_absences")
        ]
        dumps.append(conn.execute("SELECT * FROM assignments ORDER BY id").fetchall())
        dumps.append(conn.execute("SELECT * FROM opinions ORDER BY case_id").fetchall())
        dumps.append(
            conn.execute("SELECT id, specialist_id, major_change FROM cases ORDER BY id").fetchall()
        )
        dumps.append(conn.execute("SELECT * FROM status_changes ORDER BY id").fetchall())
    conn.close()
    return dumps


def test_demo_reviews_are_the_same_for_the_same_seed(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        db = open_database_file(tmp_path / f"{name}.sqlite")
        demo.generate(db, 400, seed=7, now=NOW)
        db.dispose()
        dumps.append(_reviews_dump(tmp_path / f"{name}.sqlite"))
    assert dumps[0] == dumps[1]
    assert dumps[0][3] and dumps[0][4]  # assignments and opinions were made


def test_a_second_demo_keeps_one_roster_and_counts_its_open_cases(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    first = demo.generate(db, 300, seed=1, now=NOW)
    roster = _rows(db, "SELECT id, name FROM specialists ORDER BY id")
    absences = _rows(db, "SELECT * FROM specialist_absences ORDER BY id")
    second = demo.generate(db, 300, seed=2, now=NOW + timedelta(days=1))
    assert first.assignments > 0 and first.opinions > 0 and second.opinions > 0
    assert [tuple(r) for r in _rows(db, "SELECT id, name FROM specialists ORDER BY id")] == [
        tuple(r) for r in roster
    ]
    assert [tuple(r) for r in _rows(db, "SELECT * FROM specialist_absences ORDER BY id")] == [
        tuple(r) for r in absences
    ]
    assert _rows(db, "SELECT count(*) AS n FROM opinions")[0]["n"] == (
        first.opinions + second.opinions
    )
    db.dispose()


def test_no_demo_case_waits_in_ready_for_review_with_a_reviewer(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 600, seed=5, now=NOW)
    stuck = _rows(
        db,
        "SELECT reference FROM cases WHERE status = 'ready_for_review' "
        "AND specialist_id IS NOT NULL",
    )
    assert stuck == []
    db.dispose()


# --- Costs and payments ----------------------------------------------------------------------

CHARGED = ("opinion_received", "letter_sent", "closed")


def test_the_demo_office_works_in_euros_with_a_priced_fee_schedule(office: Database) -> None:
    assert office_service.get_profile(office).currency == "EUR"
    prices = {s.code: s for s in fee_schedule.list_services(office)}
    assert 45000 <= prices["CONSULT"].draft.price_minor <= 90000
    assert prices["PATH"].draft.price_minor == 30000 and prices["RAD"].draft.price_minor == 25000
    assert prices["COURIER"].draft.price_minor == 6000
    assert prices["TRANSL"].draft.price_minor == 12000
    tests = [s for s in prices.values() if s.draft.needs_approval]
    assert len(tests) >= 3 and all(15000 <= s.draft.price_minor <= 120000 for s in tests)
    roster = specialists.list_specialists(office, now=NOW)
    fees = [
        s.draft.fee_minor for s in roster if s.draft.discipline in ROLE_DISCIPLINES[Role.PRIMARY]
    ]
    assert min(fees) >= 45000 and max(fees) <= 90000


def test_demo_cases_have_quotes_charges_and_payments_that_fit_their_status(
    office: Database,
) -> None:
    cases = _rows(office, "SELECT * FROM cases")
    lines = _by_case(_rows(office, "SELECT * FROM cost_lines ORDER BY id"))
    payments = _by_case(_rows(office, "SELECT * FROM payments ORDER BY id"))
    current = _by_case(
        _rows(office, "SELECT * FROM assignments WHERE status IN ('proposed', 'accepted')")
    )
    seen: Counter[str] = Counter()
    for case in cases:
        status, own = case["status"], lines.get(case["id"], [])
        paid = sum(p["amount_minor"] for p in payments.get(case["id"], []))
        seen[payment_status(case["charges_minor"], paid, case["estimate_minor"]).value] += 1
        quoted = {line["assignment_id"] for line in own if line["assignment_id"]}
        # Every reviewer still on the case has their fee quoted (or charged), nobody else.
        assert quoted == {a["id"] for a in current.get(case["id"], [])}, case["reference"]
        if status in CHARGED:  # the review is done: its fees are charged
            assert case["charges_minor"] > 0
            assert all(line["kind"] == "final" for line in own if line["approval"] == "not_needed")
        else:  # no opinion yet: only a test the patient approved can have been charged
            assert all(line["approval"] == "approved" for line in own if line["kind"] == "final")
        for line in own:
            if line["approval"] in ("pending", "declined"):
                assert line["kind"] == "estimate"
            assert (line["approval_on"] is None) == (line["approval"] in ("not_needed", "pending"))
    assert {"paid", "partly_paid", "unpaid", "overpaid", "in_advance", "nothing_due"} <= set(seen)
    assert seen["paid"] > seen["partly_paid"] + seen["unpaid"]  # most patients have paid
    approvals = Counter(line["approval"] for rows in lines.values() for line in rows)
    assert {"not_needed", "pending", "approved", "declined"} == set(approvals)
    methods = {p["method"] for rows in payments.values() for p in rows}
    assert methods == {m.value for m in PaymentMethod}
    refunds = [p for rows in payments.values() for p in rows if p["amount_minor"] < 0]
    assert refunds and all(p["reason"] for p in refunds)
    listed = fetch_page(office, CaseQuery(awaiting_approval_only=True), limit=500, now=NOW).rows
    assert listed and all(r.awaiting_approval for r in listed)
    unpaid = fetch_page(office, CaseQuery(unpaid_only=True), limit=500, now=NOW).rows
    assert unpaid and all(r.balance_minor > 0 for r in unpaid)


def test_the_totals_kept_on_demo_cases_are_what_the_costs_service_computes(
    office: Database,
) -> None:
    sample = _rows(office, "SELECT * FROM cases WHERE id % 7 = 0")
    assert len(sample) > 150
    for case in sample:
        info = costs.case_costs(office, case["id"])
        pending = sum(
            line.approval is Approval.PENDING and line.kind is LineKind.ESTIMATE
            for line in info.lines
        )
        assert (
            case["charges_minor"],
            case["estimate_minor"],
            case["balance_minor"],
            case["awaiting_approval"],
        ) == (
            info.totals.final,
            info.totals.estimated,
            info.totals.balance,
            pending,
        ), case["reference"]


def test_demo_money_moves_between_the_case_arriving_and_today(office: Database) -> None:
    received = {c["id"]: c for c in _rows(office, "SELECT * FROM cases")}

    def day(stamp: str) -> str:  # the office's day, as the services date payments
        return datetime.fromisoformat(stamp + "+00:00").astimezone().date().isoformat()

    today = NOW.astimezone().date().isoformat()
    for p in _rows(office, "SELECT * FROM payments"):
        case = received[p["case_id"]]
        assert day(case["received_at"]) <= p["paid_on"] <= today
        assert p["paid_on"] == day(p["recorded_at"])
        assert case["received_at"] <= p["recorded_at"] <= to_storage(NOW)
    events = _by_case(_rows(office, "SELECT * FROM cost_events ORDER BY id"))
    for case_id, rows in events.items():
        case = received[case_id]
        moments = [e["at"] for e in rows]
        assert moments == sorted(moments)  # written in the order they happened
        assert case["received_at"] <= moments[0] and moments[-1] <= case["updated_at"]
    for line in _rows(office, "SELECT * FROM cost_lines WHERE approval_on IS NOT NULL"):
        case = received[line["case_id"]]
        assert day(case["received_at"]) <= line["approval_on"] <= today
    # Charges come before the letter: changing them later would have needed a reason.
    letters = {
        h["case_id"]: h["at"]
        for h in _rows(office, "SELECT * FROM status_changes WHERE to_status = 'letter_sent'")
    }
    for line in _rows(office, "SELECT * FROM cost_lines WHERE kind = 'final'"):
        if line["case_id"] in letters:
            assert line["updated_at"] < letters[line["case_id"]]


def _undated(action: str) -> str:
    return re.sub(r"\d{4}-\d{2}-\d{2}", "DAY", action)


def test_demo_cost_history_reads_as_the_services_write_it(tmp_path: Path) -> None:
    """Put a fresh case through the same steps with the services: the same history lines."""
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 600, seed=1, now=NOW)
    written = {_undated(r["action"]) for r in _rows(db, "SELECT action FROM cost_events")}
    declined = _rows(
        db,
        "SELECT a.specialist_id FROM assignments a JOIN cost_events e ON e.case_id = a.case_id "
        "JOIN specialists s ON s.id = a.specialist_id WHERE a.role = 'primary' "
        "AND a.status = 'declined' AND e.action LIKE '%' || s.name || ' will not review.'",
    )[0]["specialist_id"]
    test = _rows(
        db,
        "SELECT l.service_id, l.description, l.unit_price_minor FROM cost_lines l "
        "WHERE l.approval = 'approved' AND l.kind = 'final'",
    )[0]
    recent = (NOW - timedelta(days=300)).date().isoformat()  # not long before the new case
    refund = _rows(db, f"SELECT * FROM payments WHERE amount_minor < 0 AND paid_on > '{recent}'")[0]
    payment = _rows(
        db,
        f"SELECT * FROM payments WHERE reference != '' AND paid_on > '{recent}' "
        f"AND amount_minor >= {-refund['amount_minor']}",
    )[0]
    created = cases_service.create_case(
        db,
        conftest.case(),
        patient=conftest.patient(),
        actor=admin("t"),
        now=NOW - timedelta(days=2),
    )
    cases_service.change_status(
        db,
        created.id,
        S.READY_FOR_REVIEW,
        reason="Reviewing on what we have",
        actor=admin("t"),
        now=NOW - timedelta(days=2),
    )
    at = NOW - timedelta(days=1)
    override = "Agreed by phone"
    specialists.assign(db, created.id, declined, actor=admin("t"), now=at, override_reason=override)
    first = specialists.case_assignments(db, created.id)[-1]
    specialists.decline(
        db, first.id, reason="Away", actor=admin("t"), now=at + timedelta(minutes=1)
    )
    specialists.assign(
        db,
        created.id,
        declined,
        actor=admin("t"),
        now=at + timedelta(minutes=2),
        override_reason=override,
    )
    costs.add_line(
        db,
        created.id,
        costs.LineDraft(
            test["description"],
            1,
            test["unit_price_minor"],
            service_id=test["service_id"],
            needs_approval=True,
        ),
        actor=admin("t"),
        now=at + timedelta(minutes=3),
    )
    lines = {line.draft.description: line for line in costs.case_costs(db, created.id).lines}
    costs.answer_approval(
        db,
        lines[test["description"]].id,
        approved=True,
        on=at.astimezone().date(),
        actor=admin("t"),
        now=at,
    )
    for line in costs.case_costs(db, created.id).lines:
        costs.charge_line(db, line.id, actor=admin("t"), now=at + timedelta(minutes=5))
    costs.add_payment(db, created.id, _payment(payment), actor=admin("t"), now=NOW)
    costs.add_payment(db, created.id, _payment(refund), actor=admin("t"), now=NOW)
    history = costs.case_costs(db, created.id).history
    assert len(history) == 9
    for event in history:
        assert _undated(event.action) in written, event.action
    db.dispose()


def _payment(row: sqlite3.Row) -> costs.PaymentDraft:
    return costs.PaymentDraft(
        row["amount_minor"],
        date.fromisoformat(row["paid_on"]),
        PaymentMethod(row["method"]),
        row["reference"],
        row["reason"],
    )


def test_demo_costs_are_the_same_for_the_same_seed(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        db = open_database_file(tmp_path / f"{name}.sqlite")
        demo.generate(db, 300, seed=7, now=NOW)
        db.dispose()
        with sqlite3.connect(tmp_path / f"{name}.sqlite") as conn:
            dumps.append(
                [
                    conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                    for table in ("cost_lines", "payments", "cost_events", "fee_services")
                ]
                + [
                    conn.execute(
                        "SELECT charges_minor, estimate_minor, balance_minor, awaiting_approval "
                        "FROM cases ORDER BY id"
                    ).fetchall()
                ]
            )
        conn.close()
    assert dumps[0][:3] == dumps[1][:3] and dumps[0][4] == dumps[1][4]
    assert all(dumps[0][:3])
    # The fee schedule's prices and codes (its created time is the migration's).
    assert [r[1:5] for r in dumps[0][3]] == [r[1:5] for r in dumps[1][3]]


def test_a_demo_in_an_office_with_its_own_prices_and_currency_keeps_them(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    office_service.set_currency(db, "JPY", actor=admin())
    consult = fee_schedule.find_service(db, "CONSULT")
    fee_schedule.update_service(
        db,
        consult.id,
        fee_schedule.ServiceDraft("CONSULT", consult.name, 80000),
        expected_version=consult.version,
        actor=admin(),
    )
    demo.generate(db, 200, seed=1, now=NOW)
    assert office_service.get_profile(db).currency == "JPY"
    assert fee_schedule.find_service(db, "CONSULT").draft.price_minor == 80000
    assert fee_schedule.find_service(db, "PATH").draft.price_minor == 300  # ¥300, no cents
    fees = {s.draft.fee_minor for s in specialists.list_specialists(db, now=NOW)}
    assert 650 in fees and all(f < 1000 for f in fees)
    quoted = _rows(db, "SELECT action FROM cost_events WHERE action LIKE 'Quoted%'")
    assert quoted and all("JPY " in r["action"] and ".00" not in r["action"] for r in quoted)
    db.dispose()


def test_a_demo_in_an_office_that_does_not_quote_fees_on_assignment(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    office_service.set_specialist_fee_estimate(db, False, actor=admin())
    result = demo.generate(db, 300, seed=1, now=NOW)
    assert result.assignments > 0
    assert _rows(db, "SELECT id FROM cost_lines WHERE assignment_id IS NOT NULL") == []
    assert _rows(db, "SELECT id FROM cost_events WHERE action LIKE 'Quoted%'") == []
    db.dispose()
