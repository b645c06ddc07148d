"""Shared fixtures: every test works on a real SQLite file in its own temporary folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from referral_desk.db.engine import Database
from referral_desk.domain.enums import Reason, Sex, Urgency
from referral_desk.domain.intake import CaseDraft, PatientDraft
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
        session.execute(text("DELETE FROM checklist_items"))
        session.commit()
