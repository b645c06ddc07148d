from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from referral_desk.db import migrate
from referral_desk.db.engine import Database
from referral_desk.db.models import Base
from referral_desk.domain.documents import DEFAULT_DOCUMENT_TYPES, default_checklist
from referral_desk.domain.enums import CANCER_TYPES, CaseStatus
from referral_desk.services import case_list, cases, checklists, documents
from referral_desk.services.case_list import CaseQuery
from referral_desk.services.database import open_database_file
from referral_desk.services.errors import DatabaseUnavailableError
from tests.conftest import admin


def test_an_empty_file_is_upgraded_to_the_current_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "new.sqlite")
    assert migrate.upgrade(db, tmp_path / "backups") is None  # nothing to copy yet
    assert migrate.current_revision(db) == migrate.head_revision()
    with sqlite3.connect(db.path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "patients",
        "referrers",
        "cases",
        "case_reasons",
        "status_changes",
        "case_search",
    } <= tables


# SQLite cannot reflect expression indexes; test_the_list_order_uses_its_index checks that one.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_models_match_the_migrations(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": migrate.include_name, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    open_database_file(path).dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseUnavailableError, match="newer version of Referral Desk"):
        open_database_file(path)
    assert path.read_bytes() == before


def test_existing_data_is_copied_before_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "office.sqlite"
    db = open_database_file(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE keep_me (x)")
        conn.execute("INSERT INTO keep_me VALUES ('precious')")
    conn.close()
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")  # an office still on the oldest schema
    db.dispose()

    db = open_database_file(path, tmp_path / "backups")
    copies = list((tmp_path / "backups").glob("before-upgrade-*.sqlite"))
    assert len(copies) == 1
    with sqlite3.connect(copies[0]) as conn:
        assert conn.execute("SELECT x FROM keep_me").fetchone() == ("precious",)
    conn.close()
    db.dispose()


def test_the_migration_is_one_transaction(tmp_path: Path) -> None:
    """SQLAlchemy emits the BEGIN itself, so DDL cannot run half-applied."""
    db = Database(tmp_path / "tx.sqlite")
    statements: list[str] = []
    from sqlalchemy import event

    event.listen(
        db.engine,
        "before_cursor_execute",
        lambda *args: statements.append(args[2].split()[0].upper()),
    )
    migrate.upgrade(db)
    begin_at = next(i for i, s in enumerate(statements) if s == "BEGIN")
    first_ddl = next(i for i, s in enumerate(statements) if s == "CREATE")
    assert begin_at < first_ddl
    with db.engine.connect() as connection:
        assert not connection.connection.dbapi_connection.in_transaction  # committed
    db.dispose()


def test_a_migration_that_fails_halfway_leaves_the_old_schema_whole(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    (scripts / "versions" / "9999_breaks.py").write_text(
        '"""A migration that dies after its first statement."""\n'
        "from alembic import op\n"
        "import sqlalchemy as sa\n"
        f"revision = '9999'\ndown_revision = '{head}'\nbranch_labels = None\ndepends_on = None\n"
        "def upgrade():\n"
        "    op.create_table('half_done', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    op.add_column('cases', sa.Column('half_column', sa.Text))\n"
        "    raise RuntimeError('power cut')\n"
        "def downgrade():\n    pass\n",
        encoding="utf-8",
    )
    db = open_database_file(tmp_path / "office.sqlite")
    config = migrate.alembic_config()
    config.set_main_option("script_location", str(scripts))
    with db.engine.connect() as connection, pytest.raises(RuntimeError, match="power cut"):
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    db.dispose()

    with sqlite3.connect(tmp_path / "office.sqlite") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(cases)")}
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.close()
    assert "half_done" not in tables and "half_column" not in columns
    assert version == (head,)


def _at_revision(path: Path, revision: str) -> Database:
    db = Database(path)
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return db


_T = "2026-11-20 09:30:00.000000"  # stored UTC text, as 0001 wrote it


def _insert_0001_case(path: Path, reference: str, status: str, complete_at: str | None) -> None:
    """A case exactly as the previous version stored it: rows and its search entry."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO patients (given_names, family_name, name_folded, birth_date, sex, phone, "
            "email, address, preferred_language, consent_share_with_referrer, created_at, "
            "updated_at, version) VALUES ('Elif', 'Şahin', 'elif sahin', '1959-02-03', 'female', "
            "'', '', '', 'Turkish', 0, ?, ?, 1)",
            (_T, _T),
        )
        patient_id = conn.execute("SELECT max(id) FROM patients").fetchone()[0]
        conn.execute(
            "INSERT OR IGNORE INTO referrers (name, name_folded, created_at) "
            "VALUES ('Dr. Aylin Kaya', 'dr. aylin kaya', ?)",
            (_T,),
        )
        conn.execute(
            "INSERT INTO cases (reference, patient_id, referrer_id, cancer_type, diagnosis, stage, "
            "patient_questions, first_diagnosis, proposed_treatment, treatment_start, urgency, "
            "status, held_from, received_at, records_complete_at, opinion_at, hold_since, "
            "paused_seconds, due_at, clock_sort, created_at, created_by, updated_at, updated_by, "
            "version) VALUES (?, ?, 1, 'breast', 'Triple-negative carcinoma', '', '', '', '', "
            "NULL, 'routine', ?, NULL, ?, ?, NULL, NULL, 0, NULL, 2, ?, 'maria', ?, 'maria', 1)",
            (reference, patient_id, status, _T, complete_at, _T, _T),
        )
        case_id = conn.execute("SELECT max(id) FROM cases").fetchone()[0]
        conn.execute(
            "INSERT INTO status_changes (case_id, from_status, to_status, at, actor, reason) "
            "VALUES (?, NULL, 'new', ?, 'maria', 'Case taken in')",
            (case_id, _T),
        )
        conn.execute(
            "INSERT INTO case_search (rowid, reference, patient, referrer, diagnosis) "
            "VALUES (?, ?, 'elif sahin', 'dr. aylin kaya', 'breast triple-negative carcinoma')",
            (case_id, reference.lower()),
        )
    conn.close()


def test_cases_from_the_previous_version_survive_the_documents_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "office.sqlite"
    _at_revision(path, "0001").dispose()
    _insert_0001_case(path, "RD-2026-00007", "awaiting_records", None)
    _insert_0001_case(path, "RD-2026-00008", "new", None)

    db = open_database_file(path, tmp_path / "backups")
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert len(list((tmp_path / "backups").glob("before-upgrade-from-0001-*.sqlite"))) == 1
        now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

        def found(words: str) -> list[str]:
            page = case_list.fetch_page(db, CaseQuery(text=words), now=now)
            return [r.reference for r in page.rows]

        assert sorted(found("sahin")) == ["RD-2026-00007", "RD-2026-00008"]
        assert found("rd-2026-00007") == ["RD-2026-00007"]
        assert sorted(found("triple kaya")) == ["RD-2026-00007", "RD-2026-00008"]

        old = next(r for r in case_list.fetch_page(db, CaseQuery(), now=now).rows)
        assert old.missing_documents == 0
        for case_id in (1, 2):  # nothing requested behind the office's back
            records = documents.case_records(db, case_id)
            assert records.documents == ()
        assert documents.chase_list(db) == []
        assert cases.get_case(db, 1, now=now).status is CaseStatus.AWAITING_RECORDS

        assert [t.code for t in checklists.document_types(db)] == list(DEFAULT_DOCUMENT_TYPES)
        for cancer_type in CANCER_TYPES:
            assert checklists.checklist(db, cancer_type) == default_checklist(cancer_type)

        # Applied on request, the checklist works on an old case like on a new one.
        change = documents.reapply_checklist(db, 2, actor=admin("ines"), now=now)
        assert change.moved_to is CaseStatus.AWAITING_RECORDS
        records = documents.case_records(db, 2)
        assert len(records.documents) == 5 and all(d.missing for d in records.documents)
        change = documents.reapply_checklist(db, 1, actor=admin("ines"), now=now)
        assert change.moved_to is None  # it was awaiting records already
        assert len(documents.chase_list(db)) == 10
        assert found("sahin") != []  # the search still works after document changes
    finally:
        db.dispose()


def test_downgrading_the_documents_schema_keeps_the_cases(tmp_path: Path) -> None:
    path = tmp_path / "office.sqlite"
    _at_revision(path, "0001").dispose()
    _insert_0001_case(path, "RD-2026-00007", "new", None)
    db = open_database_file(path)
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    db.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT reference FROM cases").fetchall() == [("RD-2026-00007",)]
        assert conn.execute(
            "SELECT rowid FROM case_search WHERE case_search MATCH 'sahin'"
        ).fetchall() == [(1,)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "case_documents" not in tables and "blobs" not in tables


def _sqlite(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(sql, args).fetchall()
    conn.close()
    return rows


def test_cases_from_the_previous_version_survive_the_specialists_upgrade(tmp_path: Path) -> None:
    from referral_desk.domain.specialists import Concordance, Discipline
    from referral_desk.services import opinions, specialists
    from referral_desk.services.opinions import OpinionDraft
    from referral_desk.services.specialists import SpecialistDraft

    path = tmp_path / "office.sqlite"
    _at_revision(path, "0002").dispose()
    _insert_0001_case(path, "RD-2026-00007", "ready_for_review", _T)
    _insert_0001_case(path, "RD-2026-00008", "new", None)

    db = open_database_file(path, tmp_path / "backups")
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert len(list((tmp_path / "backups").glob("before-upgrade-from-0002-*.sqlite"))) == 1
        assert _sqlite(path, "SELECT reference, specialist_id, major_change FROM cases") == [
            ("RD-2026-00007", None, 0),
            ("RD-2026-00008", None, 0),
        ]
        # Added in place, not by copying the table: the list's expression index is still there.
        [(index_sql,)] = _sqlite(
            path, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_cases_clock'"
        )
        assert "coalesce(due_at, '')" in index_sql
        assert ("specialists", "specialist_id", "id") in [
            (r[2], r[3], r[4]) for r in _sqlite(path, "PRAGMA foreign_key_list(cases)")
        ]
        assert _sqlite(path, "PRAGMA foreign_key_check") == []
        assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]

        now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        old = {r.reference: r for r in case_list.fetch_page(db, CaseQuery(), now=now).rows}
        assert old["RD-2026-00007"].specialist == "" and not old["RD-2026-00007"].major_change

        # The office assigns the old case and records its opinion like any new one.
        ana = specialists.create_specialist(
            db,
            SpecialistDraft(
                "Dr. Ana Lima", Discipline.MEDICAL_ONCOLOGY, 3, cancer_types=frozenset({"breast"})
            ),
            now=now,
            actor=admin(),
        )
        [suggestion] = specialists.suggestions(db, 1, now=now, local_zone=UTC)
        assert suggestion.available and "matches the cancer type" in suggestion.reasons
        change = specialists.assign(db, 1, ana, actor=admin("ines"), now=now, local_zone=UTC)
        assert change.moved_to is CaseStatus.UNDER_REVIEW
        opinions.record_opinion(
            db,
            1,
            OpinionDraft(
                "Not the diagnosis that was given.",
                "Repeat the biopsy.",
                Concordance.MAJOR_CHANGE,
                Concordance.NOT_ASSESSED,
                now,
            ),
            actor=admin("ines"),
            now=now,
        )
        flagged = case_list.fetch_page(db, CaseQuery(major_change_only=True), now=now).rows
        assert [(r.reference, r.specialist) for r in flagged] == [("RD-2026-00007", "Dr. Ana Lima")]
        assert cases.get_case(db, 1, now=now).status is CaseStatus.OPINION_RECEIVED
        assert _sqlite(path, "PRAGMA foreign_key_check") == []
    finally:
        db.dispose()


def test_downgrading_the_specialists_schema_keeps_the_cases_and_their_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "office.sqlite"
    _at_revision(path, "0002").dispose()
    _insert_0001_case(path, "RD-2026-00007", "new", None)
    db = open_database_file(path)
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    db.dispose()
    assert _sqlite(path, "SELECT reference, missing_documents FROM cases") == [("RD-2026-00007", 0)]
    columns = {r[1] for r in _sqlite(path, "PRAGMA table_info(cases)")}
    assert "specialist_id" not in columns and "major_change" not in columns
    tables = {r[0] for r in _sqlite(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"specialists", "assignments", "opinions", "specialist_absences"}
    _at_revision(tmp_path / "fresh.sqlite", "0002").dispose()
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'"
    assert sorted(_sqlite(path, indexes)) == sorted(_sqlite(tmp_path / "fresh.sqlite", indexes))
    assert "ix_cases_clock" in {name for name, _sql in _sqlite(path, indexes)}
    assert _sqlite(path, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]


def _insert_0003_reviewer(path: Path, case_id: int, fee_minor: int) -> None:
    """A specialist assigned to the case as its primary reviewer, as 0003 stored them."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO specialists (name, name_folded, title, discipline, phone, email, "
            "fee_minor, capacity, active, created_at, updated_at, version) VALUES "
            "('Dr. Ana Lima', 'dr. ana lima', '', 'medical_oncology', '', '', ?, 5, 1, ?, ?, 1)",
            (fee_minor, _T, _T),
        )
        specialist_id = conn.execute("SELECT max(id) FROM specialists").fetchone()[0]
        conn.execute(
            "INSERT INTO specialist_cancer_types (specialist_id, cancer_type) VALUES (?, 'breast')",
            (specialist_id,),
        )
        conn.execute(
            "INSERT INTO assignments (case_id, specialist_id, role, status, assigned_at, "
            "assigned_by, override_reason, decline_reason, end_reason) "
            "VALUES (?, ?, 'primary', 'accepted', ?, 'ines', '', '', '')",
            (case_id, specialist_id, _T),
        )
        conn.execute(
            "UPDATE cases SET specialist_id = ?, status = 'under_review' WHERE id = ?",
            (specialist_id, case_id),
        )
    conn.close()


def test_cases_from_the_previous_version_survive_the_costs_upgrade(tmp_path: Path) -> None:
    from referral_desk.domain.costs import LineKind, PaymentMethod, PaymentStatus
    from referral_desk.services import costs, fee_schedule, office, specialists
    from referral_desk.services.costs import LineDraft, PaymentDraft
    from referral_desk.services.specialists import SpecialistDraft

    path = tmp_path / "office.sqlite"
    _at_revision(path, "0003").dispose()
    _insert_0001_case(path, "RD-2026-00007", "ready_for_review", _T)
    _insert_0001_case(path, "RD-2026-00008", "new", None)
    _insert_0003_reviewer(path, 1, fee_minor=45_000)
    before = _sqlite(path, "SELECT * FROM cases ORDER BY id")
    assignments = _sqlite(path, "SELECT * FROM assignments")

    db = open_database_file(path, tmp_path / "backups")
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert len(list((tmp_path / "backups").glob("before-upgrade-from-0003-*.sqlite"))) == 1
        # Every case keeps every value, with totals of zero after them.
        after = _sqlite(path, "SELECT * FROM cases ORDER BY id")
        assert [row[: len(before[0])] for row in after] == before
        totals = "SELECT charges_minor, estimate_minor, balance_minor, awaiting_approval FROM cases"
        assert _sqlite(path, totals) == [(0, 0, 0, 0), (0, 0, 0, 0)]
        assert _sqlite(path, "SELECT * FROM assignments") == assignments
        # Added in place, not by copying the table: the list's expression index is still there.
        [(index_sql,)] = _sqlite(
            path, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_cases_clock'"
        )
        assert "coalesce(due_at, '')" in index_sql
        assert _sqlite(path, "PRAGMA foreign_key_check") == []
        assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]

        services = fee_schedule.list_services(db)
        assert [s.code for s in services] == ["CONSULT", "COURIER", "PATH", "RAD", "TEST", "TRANSL"]
        assert all(s.draft.price_minor == 0 and s.draft.active for s in services)
        assert not office.get_profile(db).currency_is_set  # chosen by the office, not guessed

        # Nothing is quoted behind the office's back for the reviewer already at work.
        assert costs.case_costs(db, 1).lines == () and costs.case_costs(db, 1).history == ()

        now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        office.set_currency(db, "EUR", actor=admin())
        rows = {r.reference: r for r in case_list.fetch_page(db, CaseQuery(), now=now).rows}
        assert (rows["RD-2026-00007"].total_minor, rows["RD-2026-00007"].balance_minor) == (0, 0)

        # The old case is costed like a new one: a replacement reviewer's fee is quoted.
        ben = specialists.create_specialist(
            db,
            SpecialistDraft(
                "Dr. Ben Ode",
                specialists.Discipline.MEDICAL_ONCOLOGY,
                5,
                cancer_types=frozenset({"breast"}),
                fee_minor=38_000,
            ),
            now=now,
            actor=admin(),
        )
        specialists.assign(
            db, 1, ben, actor=admin("ines"), reassign_reason="Ana is away", now=now, local_zone=UTC
        )
        [quote] = costs.case_costs(db, 1).lines
        assert (quote.draft.unit_price_minor, quote.from_assignment) == (38_000, True)
        costs.charge_line(db, quote.id, actor=admin("ines"), now=now)
        costs.add_line(
            db, 2, LineDraft("Courier", 1, 4_000, LineKind.FINAL), actor=admin("a"), now=now
        )
        draft = PaymentDraft(20_000, now.date(), PaymentMethod.BANK_TRANSFER)
        costs.add_payment(db, 1, draft, actor=admin("ines"), now=now, local_zone=UTC)
        assert costs.case_costs(db, 1).totals.status is PaymentStatus.PARTLY_PAID
        unpaid = case_list.fetch_page(db, CaseQuery(unpaid_only=True), now=now).rows
        assert sorted((r.reference, r.balance_minor) for r in unpaid) == [
            ("RD-2026-00007", 18_000),
            ("RD-2026-00008", 4_000),
        ]
        assert _sqlite(path, "PRAGMA foreign_key_check") == []
    finally:
        db.dispose()


def test_downgrading_the_costs_schema_keeps_the_cases_and_their_index(tmp_path: Path) -> None:
    from referral_desk.domain.costs import PaymentMethod
    from referral_desk.services import costs, office
    from referral_desk.services.costs import LineDraft, PaymentDraft

    path = tmp_path / "office.sqlite"
    _at_revision(path, "0003").dispose()
    _insert_0001_case(path, "RD-2026-00007", "new", None)
    _insert_0003_reviewer(path, 1, fee_minor=0)
    before = _sqlite(path, "SELECT * FROM cases")
    db = open_database_file(path)
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    office.set_currency(db, "EUR", actor=admin())
    costs.add_line(db, 1, LineDraft("Consultation", 1, 45_000), actor=admin("a"), now=now)
    draft = PaymentDraft(10_000, now.date(), PaymentMethod.CASH)
    costs.add_payment(db, 1, draft, actor=admin("a"), now=now, local_zone=UTC)
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    db.dispose()

    columns = {r[1] for r in _sqlite(path, "PRAGMA table_info(cases)")}
    assert not columns & {"charges_minor", "estimate_minor", "balance_minor", "awaiting_approval"}
    names = [r[1] for r in _sqlite(path, "PRAGMA table_info(cases)")]
    kept = [
        i for i, name in enumerate(names) if name not in {"updated_at", "updated_by", "version"}
    ]
    rows = _sqlite(path, "SELECT * FROM cases")  # all but what the cost changes touched
    assert [[row[i] for i in kept] for row in rows] == [[row[i] for i in kept] for row in before]
    assert _sqlite(path, "SELECT reference, specialist_id FROM cases") == [("RD-2026-00007", 1)]
    tables = {r[0] for r in _sqlite(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"fee_services", "cost_lines", "payments", "cost_events"}
    assert {"specialists", "assignments"} <= tables
    assert _sqlite(path, "SELECT key FROM settings WHERE key LIKE 'office_%'") == []
    _at_revision(tmp_path / "fresh.sqlite", "0003").dispose()
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'"
    assert sorted(_sqlite(path, indexes)) == sorted(_sqlite(tmp_path / "fresh.sqlite", indexes))
    assert "ix_cases_clock" in {name for name, _sql in _sqlite(path, indexes)}
    assert _sqlite(path, "SELECT version_num FROM alembic_version") == [("0003",)]
    assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]
    assert _sqlite(path, "PRAGMA foreign_key_check") == []

    # And up again: an empty fee schedule, the cases still there.
    db = open_database_file(path)
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert _sqlite(path, "SELECT count(*) FROM fee_services") == [(6,)]
        assert _sqlite(path, "SELECT reference, balance_minor FROM cases") == [("RD-2026-00007", 0)]
    finally:
        db.dispose()


def _insert_0004_estimate(path: Path, case_id: int) -> None:
    """A quoted consultation, as 0004 stored it (the office currency pinned in EUR)."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO cost_lines (case_id, service_id, assignment_id, description, quantity, "
            "unit_price_minor, kind, approval, approval_on, approval_by, created_at, created_by, "
            "updated_at, updated_by, version) VALUES (?, NULL, NULL, 'Second opinion "
            "consultation', 1, 45000, 'estimate', 'not_needed', NULL, NULL, ?, 'ines', ?, "
            "'ines', 1)",
            (case_id, _T, _T),
        )
        conn.execute(
            "UPDATE cases SET estimate_minor = 45000 WHERE id = ?",
            (case_id,),
        )
        conn.execute(
            "INSERT OR IGNORE INTO settings (key, value) VALUES ('office_currency', 'EUR')"
        )
    conn.close()


def test_cases_from_the_previous_version_survive_the_letters_upgrade(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from referral_desk.domain.letters import LetterKind
    from referral_desk.services import letter_templates, letters

    path = tmp_path / "office.sqlite"
    _at_revision(path, "0004").dispose()
    _insert_0001_case(path, "RD-2026-00007", "opinion_received", _T)
    _insert_0001_case(path, "RD-2026-00008", "new", None)
    _insert_0004_estimate(path, 1)
    before = _sqlite(path, "SELECT * FROM cases ORDER BY id")
    lines = _sqlite(path, "SELECT * FROM cost_lines")

    db = open_database_file(path, tmp_path / "backups")
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert len(list((tmp_path / "backups").glob("before-upgrade-from-0004-*.sqlite"))) == 1
        assert _sqlite(path, "SELECT * FROM cases ORDER BY id") == before  # not a value changed
        assert _sqlite(path, "SELECT * FROM cost_lines") == lines
        [(index_sql,)] = _sqlite(
            path, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_cases_clock'"
        )
        assert "coalesce(due_at, '')" in index_sql
        assert _sqlite(path, "SELECT kind, version FROM letter_templates ORDER BY kind") == [
            ("estimate", 1),
            ("records_request", 1),
            ("referrer", 1),
            ("summary", 1),
        ]
        for kind in LetterKind:
            template = letter_templates.current_template(db, kind)
            assert letter_templates.check_template(kind, template.draft) == {}
        assert _sqlite(path, "SELECT count(*) FROM letters") == [(0,)]
        assert _sqlite(path, "PRAGMA foreign_key_check") == []
        assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]

        # The old case's quote becomes a letter like a new case's.
        now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        info = letters.generate(
            db, 1, LetterKind.ESTIMATE, actor=admin("ines"), now=now, locale="en_GB", local_zone=UTC
        )
        text = PdfReader(
            letters.save_copy(db, info.id, tmp_path / "estimate.pdf", actor=admin())
        ).pages[0]
        assert "€450.00" in text.extract_text() and "Şahin" in text.extract_text()
        assert letters.available_kinds(db, 1)[LetterKind.SUMMARY] == "No opinion recorded yet."
    finally:
        db.dispose()


def test_downgrading_the_letters_schema_keeps_the_cases_and_their_index(tmp_path: Path) -> None:
    from referral_desk.domain.letters import LetterKind
    from referral_desk.services import letters, office

    path = tmp_path / "office.sqlite"
    _at_revision(path, "0004").dispose()
    _insert_0001_case(path, "RD-2026-00007", "new", None)
    _insert_0004_estimate(path, 1)
    db = open_database_file(path)
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    office.set_office_details(
        db, office.OfficeDetails("Zürich office", phone="+41 44 000 00 00"), actor=admin()
    )
    letters.generate(db, 1, LetterKind.ESTIMATE, actor=admin("ines"), now=now, locale="en_GB")
    before = _sqlite(path, "SELECT * FROM cases")
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    db.dispose()

    assert _sqlite(path, "SELECT * FROM cases") == before
    tables = {r[0] for r in _sqlite(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"letters", "letter_templates", "office_assets"}
    assert {"cost_lines", "fee_services"} <= tables
    assert _sqlite(path, "SELECT key FROM settings WHERE key LIKE 'office_%' ORDER BY key") == [
        ("office_currency",)  # 0004's, kept; the letterhead details went with the letters
    ]
    _at_revision(tmp_path / "fresh.sqlite", "0004").dispose()
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'"
    assert sorted(_sqlite(path, indexes)) == sorted(_sqlite(tmp_path / "fresh.sqlite", indexes))
    assert "ix_cases_clock" in {name for name, _sql in _sqlite(path, indexes)}
    assert _sqlite(path, "SELECT version_num FROM alembic_version") == [("0004",)]
    assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]
    assert _sqlite(path, "PRAGMA foreign_key_check") == []

    # And up again: the templates seeded afresh, the cases still there.
    db = open_database_file(path)
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert _sqlite(path, "SELECT count(*) FROM letter_templates") == [(4,)]
        assert _sqlite(path, "SELECT reference FROM cases") == [("RD-2026-00007",)]
    finally:
        db.dispose()


def _insert_0005_letter_setup(path: Path) -> None:
    """The letterhead as 0005 stored it: settings the audit trail will meet as old rows."""
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('office_name', 'Zürich office')")
    conn.close()


def test_cases_from_the_previous_version_survive_the_users_audit_upgrade(tmp_path: Path) -> None:
    from referral_desk.services import audit_log

    path = tmp_path / "office.sqlite"
    _at_revision(path, "0005").dispose()
    _insert_0001_case(path, "RD-2026-00007", "opinion_received", _T)
    _insert_0001_case(path, "RD-2026-00008", "new", None)
    _insert_0004_estimate(path, 1)
    _insert_0005_letter_setup(path)
    before = {
        table: _sqlite(path, f"SELECT * FROM {table} ORDER BY 1")
        for table in ("patients", "cases", "status_changes", "cost_lines", "settings")
    }

    db = open_database_file(path, tmp_path / "backups")
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert len(list((tmp_path / "backups").glob("before-upgrade-from-0005-*.sqlite"))) == 1
        for table, rows in before.items():  # not a value changed
            assert _sqlite(path, f"SELECT * FROM {table} ORDER BY 1") == rows
        # Nobody has an account yet: the first start asks for the first administrator.
        assert _sqlite(path, "SELECT count(*) FROM users") == [(0,)]
        # The trail starts empty; what was done before it existed is not made up.
        assert _sqlite(path, "SELECT count(*) FROM audit_entries") == [(0,)]
        assert _sqlite(path, "SELECT id, entries, last_hash FROM audit_head") == [(1, 0, "0" * 64)]
        assert _sqlite(path, "PRAGMA foreign_key_check") == []
        assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]

        # The old cases are changed like new ones, and the chain starts from the beginning.
        cases.change_status(db, 2, CaseStatus.AWAITING_RECORDS, actor=admin("maria"))
        [(previous, actor, entity)] = _sqlite(
            path, "SELECT previous_hash, actor, entity FROM audit_entries"
        )
        assert (previous, actor, entity) == ("0" * 64, "maria", "case")
        assert audit_log.verify_chain(db).ok
    finally:
        db.dispose()


def test_downgrading_the_users_audit_schema_keeps_the_cases(tmp_path: Path) -> None:
    from referral_desk.services import accounts

    path = tmp_path / "office.sqlite"
    _at_revision(path, "0005").dispose()
    _insert_0001_case(path, "RD-2026-00007", "new", None)
    db = open_database_file(path)
    alex = accounts.create_first_administrator(db, "alex", "Alex", "a long enough password")
    cases.change_status(db, 1, CaseStatus.AWAITING_RECORDS, actor=alex)
    before = _sqlite(path, "SELECT * FROM cases")
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    db.dispose()

    assert _sqlite(path, "SELECT * FROM cases") == before
    tables = {r[0] for r in _sqlite(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"users", "audit_entries", "audit_head"}
    assert {"letters", "letter_templates", "cost_lines"} <= tables
    assert _sqlite(path, "SELECT name FROM sqlite_master WHERE type = 'trigger'") == []
    assert _sqlite(path, "SELECT version_num FROM alembic_version") == [("0005",)]
    assert _sqlite(path, "PRAGMA integrity_check") == [("ok",)]
    assert _sqlite(path, "PRAGMA foreign_key_check") == []

    # And up again: no accounts, an empty trail, the case still there.
    db = open_database_file(path)
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert _sqlite(path, "SELECT count(*) FROM users") == [(0,)]
        assert _sqlite(path, "SELECT entries FROM audit_head") == [(0,)]
        assert _sqlite(path, "SELECT reference, status FROM cases") == [
            ("RD-2026-00007", "awaiting_records")
        ]
    finally:
        db.dispose()
