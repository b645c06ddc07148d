"""Who may change what, checked where it counts: each role calls the real services directly
(as a script, or a screen that forgot to hide a button, would), and a refusal names the role
and leaves the database exactly as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path

import pytest

from referral_desk.db import audit_trail
from referral_desk.db.engine import Database
from referral_desk.db.models import User
from referral_desk.domain.access import Actor, Permission, UserRole
from referral_desk.domain.costs import PaymentMethod
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.letters import LetterKind
from referral_desk.domain.reports import Month, MonthlyReport
from referral_desk.domain.specialists import Discipline
from referral_desk.services import (
    cases,
    costs,
    documents,
    fee_schedule,
    letter_templates,
    letters,
    office,
    report_export,
    reports,
    settings,
    specialists,
)
from referral_desk.services.errors import NotAllowedError
from referral_desk.services.fee_schedule import ServiceDraft
from referral_desk.services.specialists import SpecialistDraft
from tests.conftest import NOW, admin, case, manager, patient, staff

# Who the office gives each kind of change to (the roles, written out by hand so a
# change to the table in domain/access shows up here as a failing test).
EVERYONE_BUT_MANAGERS = {UserRole.STAFF, UserRole.COORDINATOR, UserRole.ADMINISTRATOR}
MAY = {
    Permission.EDIT_CASES: EVERYONE_BUT_MANAGERS,
    Permission.EDIT_COSTS: EVERYONE_BUT_MANAGERS,
    Permission.LETTERS: {UserRole.COORDINATOR, UserRole.ADMINISTRATOR},
    Permission.OFFICE_SETTINGS: {UserRole.ADMINISTRATOR},
    Permission.REPORTS: {UserRole.MANAGER, UserRole.ADMINISTRATOR},
}


@dataclass(frozen=True)
class Office:
    """A case awaiting its records, a specialist to assign, and where exports go."""

    db: Database
    case_id: int
    document_id: int
    specialist_id: int
    folder: Path
    report: MonthlyReport  # made by a manager: exporting it is what is tried


def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db.path) as conn:
        rows = conn.execute(sql).fetchall()
    conn.close()
    return rows


def _template_change(o: Office, actor: Actor) -> object:
    current = letter_templates.current_template(o.db, LetterKind.RECORDS_REQUEST)
    draft = replace(current.draft, closing="With warm regards,")
    return letter_templates.save_template(
        o.db, LetterKind.RECORDS_REQUEST, draft, actor=actor, expected_version=current.version
    )


def _report_export(o: Office, actor: Actor) -> object:
    return report_export.export_report(
        o.db, o.report, o.folder / "november.csv", actor=actor, locale="en_GB"
    )


@dataclass(frozen=True)
class Attempt:
    permission: Permission
    act: Callable[[Office, Actor], object]
    state: Callable[[Office], object]  # what the change would change


ATTEMPTS = {
    "take in a case": Attempt(
        Permission.EDIT_CASES,
        lambda o, a: cases.create_case(
            o.db, case(), patient=patient(given_names="Ada"), actor=a, now=NOW
        ),
        lambda o: _rows(o.db, "SELECT count(*) FROM cases"),
    ),
    "change a case's status": Attempt(
        Permission.EDIT_CASES,
        lambda o, a: cases.change_status(
            o.db, o.case_id, CaseStatus.ON_HOLD, reason="The patient is travelling", actor=a
        ),
        lambda o: _rows(o.db, f"SELECT status FROM cases WHERE id = {o.case_id}"),
    ),
    "mark a document received": Attempt(
        Permission.EDIT_CASES,
        lambda o, a: documents.set_document_status(
            o.db, o.document_id, DocumentStatus.RECEIVED, actor=a
        ),
        lambda o: _rows(o.db, f"SELECT status FROM case_documents WHERE id = {o.document_id}"),
    ),
    "assign a specialist": Attempt(
        Permission.EDIT_CASES,
        lambda o, a: specialists.assign(o.db, o.case_id, o.specialist_id, actor=a, now=NOW),
        lambda o: _rows(o.db, "SELECT count(*) FROM assignments"),
    ),
    "add a cost line": Attempt(
        Permission.EDIT_COSTS,
        lambda o, a: costs.add_line(o.db, o.case_id, costs.LineDraft("Courier", 1, 2500), actor=a),
        lambda o: _rows(o.db, "SELECT count(*) FROM cost_lines"),
    ),
    "record a payment": Attempt(
        Permission.EDIT_COSTS,
        lambda o, a: costs.add_payment(
            o.db,
            o.case_id,
            costs.PaymentDraft(5000, NOW.date(), PaymentMethod.CASH),
            actor=a,
            now=NOW,
            local_zone=UTC,
        ),
        lambda o: _rows(o.db, "SELECT count(*) FROM payments"),
    ),
    "make a letter": Attempt(
        Permission.LETTERS,
        lambda o, a: letters.generate(
            o.db, o.case_id, LetterKind.RECORDS_REQUEST, actor=a, now=NOW, locale="en_GB"
        ),
        lambda o: _rows(o.db, "SELECT count(*) FROM letters"),
    ),
    "change a letter template": Attempt(
        Permission.LETTERS,
        _template_change,
        lambda o: _rows(o.db, "SELECT kind, max(version) FROM letter_templates GROUP BY kind"),
    ),
    "change the fee schedule": Attempt(
        Permission.OFFICE_SETTINGS,
        lambda o, a: fee_schedule.create_service(
            o.db, ServiceDraft("XRAY", "Chest X-ray", 9000), actor=a
        ),
        lambda o: _rows(o.db, "SELECT code, price_minor FROM fee_services ORDER BY code"),
    ),
    "change the office profile": Attempt(
        Permission.OFFICE_SETTINGS,
        lambda o, a: office.set_office_details(o.db, office.OfficeDetails("Elm Street"), actor=a),
        lambda o: _rows(o.db, "SELECT key, value FROM settings ORDER BY key"),
    ),
    "change the file size limit": Attempt(
        Permission.OFFICE_SETTINGS,
        lambda o, a: settings.set_max_file_mb(o.db, 12, actor=a),
        lambda o: _rows(o.db, "SELECT key, value FROM settings ORDER BY key"),
    ),
    "export a report": Attempt(
        Permission.REPORTS,
        _report_export,
        lambda o: sorted(p.name for p in o.folder.iterdir()),
    ),
}


@pytest.fixture
def setup(db: Database, tmp_path: Path) -> Office:
    created = cases.create_case(db, case(), patient=patient(), actor=staff("maria"), now=NOW)
    records = documents.case_records(db, created.id)
    specialist_id = specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Ana Lima", Discipline.MEDICAL_ONCOLOGY, 5, cancer_types=frozenset({"breast"})
        ),
        actor=staff(),
    )
    (tmp_path / "exports").mkdir()
    report = reports.monthly_report(db, Month(2026, 11), now=NOW, zone=UTC, actor=manager())
    return Office(
        db, created.id, records.missing[0].id, specialist_id, tmp_path / "exports", report
    )


def _trail(db: Database) -> list[tuple[object, ...]]:
    return _rows(db, "SELECT id, hash FROM audit_entries ORDER BY id")


@pytest.mark.parametrize("role", list(UserRole), ids=lambda r: r.value)
@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_each_role_may_do_what_the_office_gives_it_and_nothing_else(
    setup: Office, name: str, role: UserRole
) -> None:
    attempt = ATTEMPTS[name]
    actor = Actor(f"{role.value}.one", role)
    before, trail = attempt.state(setup), _trail(setup.db)
    if role in MAY[attempt.permission]:
        attempt.act(setup, actor)
        assert attempt.state(setup) != before
        assert _trail(setup.db) != trail  # and traced
        return
    with pytest.raises(NotAllowedError) as refused:
        attempt.act(setup, actor)
    message = str(refused.value)
    assert message.startswith(f"{role.person.capitalize()} cannot ")
    assert all(allowed.person in message for allowed in MAY[attempt.permission])
    assert attempt.state(setup) == before  # nothing saved
    assert _trail(setup.db) == trail  # and nothing traced as done


def test_the_trail_names_whoever_was_allowed(setup: Office) -> None:
    costs.add_line(setup.db, setup.case_id, costs.LineDraft("Courier", 1, 2500), actor=staff("tom"))
    [(actor,)] = _rows(setup.db, "SELECT actor FROM audit_entries WHERE entity = 'cost line'")
    assert actor == "tom"


def _account(db: Database, name: str, role: UserRole, *, active: bool = True) -> None:
    """An account as the lead's accounts service stores one; the hash is never checked here."""
    with db.write() as session:
        session.info[audit_trail.ACTOR] = "test"
        session.add(
            User(
                name=name,
                name_folded=name.casefold(),
                full_name="",
                role=role.value,
                password_hash="$argon2id$not-a-real-hash",
                active=active,
                must_change_password=False,
                failed_attempts=0,
                created_at=NOW,
                created_by="test",
                updated_at=NOW,
            )
        )
        session.commit()


def test_a_disabled_account_is_refused_whatever_its_role(setup: Office) -> None:
    _account(setup.db, "Olga", UserRole.ADMINISTRATOR, active=False)
    before = _rows(setup.db, "SELECT count(*) FROM cost_lines")
    with pytest.raises(NotAllowedError, match="'olga' has been disabled; ask an administrator"):
        costs.add_line(
            setup.db, setup.case_id, costs.LineDraft("Courier", 1, 2500), actor=admin("olga")
        )
    assert _rows(setup.db, "SELECT count(*) FROM cost_lines") == before


def test_an_unknown_name_is_refused_once_accounts_exist(setup: Office) -> None:
    # Before any account exists (a database from before accounts), the role given is taken.
    cases.change_status(
        setup.db, setup.case_id, CaseStatus.ON_HOLD, reason="Travelling", actor=admin("anyone")
    )
    _account(setup.db, "alex", UserRole.ADMINISTRATOR)
    trail = _trail(setup.db)
    with pytest.raises(NotAllowedError, match="There is no account named 'mallory'"):
        settings.set_max_file_mb(setup.db, 12, actor=admin("mallory"))
    assert settings.get_max_file_mb(setup.db) != 12 and _trail(setup.db) == trail
    settings.set_max_file_mb(setup.db, 12, actor=admin("Alex"))  # names ignore case
    assert settings.get_max_file_mb(setup.db) == 12


def test_the_role_stored_for_the_account_wins_over_the_one_claimed(setup: Office) -> None:
    """A window left open after an administrator took someone's rights away acts with the
    rights the account has now."""
    _account(setup.db, "sam", UserRole.STAFF)
    with pytest.raises(NotAllowedError, match=r"^A staff member cannot change the office profile"):
        office.set_office_details(
            setup.db, office.OfficeDetails("Sam's office"), actor=admin("sam")
        )
    assert office.get_profile(setup.db).name == ""
