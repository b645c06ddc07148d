"""Shared fixtures: every test works on a real SQLite file in its own temporary folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from referral_desk.db import audit_trail
from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.enums import CaseStatus, Reason, Sex, Urgency
from referral_desk.domain.intake import CaseDraft, PatientDraft
from referral_desk.domain.reports import ReportRow, Timeliness
from referral_desk.domain.specialists import Concordance
from referral_desk.paths import DATA_DIR_ENV, AppPaths, resolve_paths
from referral_desk.services.database import open_database


@pytest.fixture(autouse=True)
def _no_real_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing a test runs may reach the user's real data folder."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env-data"))


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return resolve_paths(tmp_path / "data")


@pytest.fixture
def db(paths: AppPaths) -> Iterator[Database]:
    database = open_database(paths)
    yield database
    database.dispose()


NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


# Who acts in a test. A database without accounts takes the role given (as one made before
# accounts existed does), so these need no User rows.
def admin(name: str = "admin") -> Actor:
    return Actor(name, UserRole.ADMINISTRATOR)


def staff(name: str = "staff") -> Actor:
    return Actor(name, UserRole.STAFF)


def coordinator(name: str = "coordinator") -> Actor:
    return Actor(name, UserRole.COORDINATOR)


def manager(name: str = "manager") -> Actor:
    return Actor(name, UserRole.MANAGER)


def patient(**changes: object) -> PatientDraft:
    values: dict[str, object] = {
        "given_names": "Zoë",
        "family_name": "Müller",
        "birth_date": date(1968, 4, 12),
        "sex": Sex.FEMALE,
        "preferred_language": "German",
    }
    values.update(changes)
    return PatientDraft(**values)  # type: ignore[arg-type]


def case(**changes: object) -> CaseDraft:
    values: dict[str, object] = {
        "cancer_type": "breast",
        "diagnosis": "Invasive ductal carcinoma, ER+/PR+/HER2-",
        "stage": "IIA",
        "referrer_name": "Dr. Inés Navarro, Hospital del Mar",
        "reasons": frozenset({Reason.CONFIRM_DIAGNOSIS, Reason.UNSURE_CHEMOTHERAPY}),
        "patient_questions": "Is chemotherapy really needed?",
        "first_diagnosis": "Invasive ductal carcinoma",
        "proposed_treatment": "AC-T chemotherapy",
        "treatment_start": date(2026, 12, 10),
        "urgency": Urgency.ROUTINE,
    }
    values.update(changes)
    return CaseDraft(**values)  # type: ignore[arg-type]


def without_checklists(database: Database) -> None:
    """No document is required at intake: cases stay New, as in an office with no checklists.

    For tests of the workflow and the clock that have nothing to do with records.
    """
    with database.write() as session:
        session.info[audit_trail.ACTOR] = "test"
        session.execute(text("DELETE FROM checklist_items"))
        session.commit()


REPORT_T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # records complete


def report_row(n: int, **changes: object) -> ReportRow:
    """One case of a monthly report's list: a routine breast case answered on time."""
    values: dict[str, object] = {
        "case_id": n,
        "reference": f"RD-2026-{n:05d}",
        "patient": "Zoë Müller",
        "cancer_type": "breast",
        "referrer": "Dr. Navarro",
        "urgency": Urgency.ROUTINE,
        "specialist": "Dr. Ana Lima",
        "status": CaseStatus.LETTER_SENT,
        "received_at": REPORT_T0 - timedelta(hours=10),
        "records_complete_at": REPORT_T0,
        "opinion_at": REPORT_T0 + timedelta(hours=30),
        "intake": timedelta(hours=10),
        "turnaround": timedelta(hours=30),
        "timeliness": Timeliness.ON_TIME,
        "diagnosis_concordance": Concordance.CONFIRMED,
        "treatment_concordance": Concordance.MINOR_CHANGE,
        "final_total_minor": 50_000,
        "paid_minor": 20_000,
        "balance_minor": 30_000,
        "reasons": (Reason.CONFIRM_DIAGNOSIS,),
    }
    values.update(changes)
    return ReportRow(**values)  # type: ignore[arg-type]


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # PySide6 can crash while the interpreter tears down leftover Qt objects (a refcount
    # error in bool_dealloc, seen after the screen-lock tests follow the main-window ones);
    # every test has passed or failed by now, so leave without that teardown.
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
