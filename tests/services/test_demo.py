from __future__ import annotations

import itertools
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from referral_desk.db.engine import Database
from referral_desk.db.types import to_storage
from referral_desk.domain.enums import CANCER_TYPES, CaseStatus
from referral_desk.domain.specialists import ROLE_DISCIPLINES, Concordance, Discipline, Role
from referral_desk.services import demo, documents, files, opinions, search_index, specialists
from referral_desk.services.case_list import CaseQuery, fetch_page
from referral_desk.services.database import open_database_file
from tests.conftest import NOW


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
        files.add_file(db, waiting, d.document_type, scan, actor="t", now=later) for d in missing
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
    documents.set_referrer_contact(db, name, phone="+44 1632 960000", email="office@real.example")
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
    change = specialists.assign(db, ready, best.specialist_id, actor="t", now=later)
    assert change.moved_to is S.UNDER_REVIEW
    assignment = specialists.case_assignments(db, ready)[-1]
    specialists.accept(db, assignment.id, actor="t", now=later)
    draft = opinions.OpinionDraft(
        patient_summary="A different treatment is better for you.",
        recommendation="Surgery first.",
        diagnosis_concordance=Concordance.CONFIRMED,
        treatment_concordance=Concordance.MAJOR_CHANGE,
        received_at=later + timedelta(minutes=1),
    )
    opinions.record_opinion(db, ready, draft, actor="t", now=later + timedelta(minutes=2))
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
